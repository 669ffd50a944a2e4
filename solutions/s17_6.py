"""Reference solutions for §17.6 Random Variables (D2L release 0.16.6, CC BY-SA 4.0).

Every number is computed by numerical integration on MXNet (the midpoint rule of §17.5, in float64),
never copied from a derivation or from the book.
"""

from __future__ import annotations

from mxnet import np, npx

from d2lgrade.judging.reference import Function, Misconception, Value, regions
from solutions.context import default_context

npx.set_np()
CTX = default_context()


def midpoints(a: float, b: float, num: int = 400_000) -> tuple[np.ndarray, float]:
    """Midpoints of ``num`` equal cells of ``[a, b]`` and the cell width (float64, on ``CTX``)."""
    width = (b - a) / num
    x = a + width * (np.arange(num, dtype="float64", ctx=CTX) + 0.5)
    return x, width


def tail_prob(a: float) -> float:
    """Exercise 1: P(X > a) for the density 1/x^2 on [1, inf).

    P(X > a) = 1 - P(1 <= X <= a) for a >= 1; below 1 the density is zero, so the whole mass lies
    above ``a`` and the probability is 1.
    """
    a = float(a)
    if a <= 1:
        return 1.0
    # x = e^t, dx = e^t dt: the integrand 1/x^2 dx becomes e^(-t) dt on [0, log a], smooth for any a
    t, width = midpoints(0.0, float(np.log(np.array(a, dtype="float64", ctx=CTX))))
    return float(1 - (np.exp(-t) * width).sum())


def tail_prob_cases() -> list[tuple[float]]:
    # 0.5 and 1.0: below the support a naive 1/a exceeds 1; 0 and below: 1/a raises or is negative
    # ("a real number a"); 1e3: a long range of integration
    return [(2.0,), (0.5,), (1.0,), (1.25,), (3.0,), (10.0,), (1000.0,), (0.0,), (-2.0,), (-1000.0,)]


TAIL_PROB_DOMAIN = regions(
    "a", negative=lambda a: a < 0, zero=lambda a: a == 0, between_0_and_1=lambda a: 0 < a < 1,
    at_1=lambda a: a == 1, above_1=lambda a: a > 1, large=lambda a: a >= 1000)
"""Exercise 1b: "a real number a", on both sides of x = 1 where the density starts."""


def laplace_moments() -> tuple[float, float]:
    """Exercise 2: mean and standard deviation of the density exp(-|x|)/2, integrated over [-60, 60]."""
    x, width = midpoints(-60.0, 60.0, 1_200_000)
    p = np.exp(-np.abs(x)) / 2
    mean = (x * p * width).sum()
    var = ((x - mean) ** 2 * p * width).sum()
    return float(mean), float(np.sqrt(var))


def chebyshev_bound(mean: float = 1.0, std: float = 2.0, threshold: float = 9.0) -> float:
    """Exercise 3: the largest P(X > threshold) that Chebyshev's inequality (17.6.20) allows.

    X > 9 implies |X - 1| >= 8 = 4 standard deviations, so P(X > 9) <= 1/4^2.
    """
    alpha = (threshold - mean) / std
    return float(np.array(1.0, dtype="float64", ctx=CTX) / alpha**2)


def believe() -> str:
    """Exercise 3: 25% of the samples above 9 is more than Chebyshev allows."""
    return "yes" if chebyshev_bound() >= 0.25 else "no"


def joint_moments(num: int = 2000) -> dict[str, float]:
    """Exercise 4: moments of p(x, y) = 4xy on [0, 1]^2 by the 2-D midpoint rule."""
    x, width = midpoints(0.0, 1.0, num)
    X, Y = x.reshape(-1, 1), x.reshape(1, -1)
    p = 4 * X * Y * width * width
    e_x, e_y, e_xy = (X * p).sum(), (Y * p).sum(), (X * Y * p).sum()
    return {"e_x": float(e_x), "e_y": float(e_y), "e_xy": float(e_xy), "cov": float(e_xy - e_x * e_y)}

# Known wrong answers (d2lgrade.judging.reference.Misconception): each matched only by a wrong answer.
LAPLACE_STD_MISTAKES = (
    Misconception("variance", "That is the variance; the standard deviation is its square root.",
                  wrong=lambda: laplace_moments()[1] ** 2, code="laplace_std = 2.0"),
)
CHEBYSHEV_MISTAKES = (
    Misconception("alpha-not-squared", "Chebyshev's bound falls with the square of the number of standard "
                  "deviations.", wrong=lambda: 1 / ((9.0 - 1.0) / 2.0), code="chebyshev_max = 1 / 4"),
)
COV_XY_MISTAKES = (
    Misconception("uniform-means", "E[X] and E[Y] are the means under this density, not the uniform one's 1/2.",
                  wrong=lambda: joint_moments()["e_xy"] - 0.25, code="cov_xy = e_xy - 1 / 4"),
)


REFERENCES = {
    "p_gt_2": Value(lambda: tail_prob(2.0)),
    "tail_prob": Function(tail_prob, tail_prob_cases, TAIL_PROB_DOMAIN),
    "laplace_mean": Value(lambda: laplace_moments()[0]),
    "laplace_std": Value(lambda: laplace_moments()[1], misconceptions=LAPLACE_STD_MISTAKES),
    "chebyshev_max": Value(chebyshev_bound, misconceptions=CHEBYSHEV_MISTAKES),
    "believe": Value(believe),
    "e_xy": Value(lambda: joint_moments()["e_xy"]),
    "cov_xy": Value(lambda: joint_moments()["cov"], misconceptions=COV_XY_MISTAKES),
}
