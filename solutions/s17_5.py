"""Reference solutions for §17.5 Integral Calculus (D2L release 0.16.6, CC BY-SA 4.0).

Every value is computed numerically on MXNet, in float64, with Simpson's rule on a grid: the exact
closed forms are the students' to find. The grids are fine enough that each reference is within
1e-7 of the exact value, far inside the 1e-4 the notebook states.

(The book's own "Truth" printed in §17.5.1 for the integral of x / (1 + x^2) over [0, 2] is
log(2) / 2; it is log(5) / 2, see :func:`book_example_17_5_1`.)
"""

from __future__ import annotations

import math
from collections.abc import Callable

from mxnet import np, npx

from d2lgrade.judging.reference import Misconception, Value
from solutions.context import default_context

npx.set_np()
CTX = default_context()
F64 = "float64"


def simpson_weights(n: int) -> np.ndarray:
    """Simpson weights 1, 4, 2, 4, ..., 4, 1 for n intervals (n even), without the h / 3 factor."""
    assert n % 2 == 0, "Simpson's rule needs an even number of intervals"
    w = np.ones(n + 1, dtype=F64, ctx=CTX)
    w[1:-1:2] = 4
    w[2:-1:2] = 2
    return w


def integrate(f: Callable[[np.ndarray], np.ndarray], a: float, b: float, n: int = 2000) -> float:
    """Simpson's rule for the integral of f over [a, b] on n equal intervals."""
    x = np.linspace(a, b, n + 1, dtype=F64, ctx=CTX)
    h = (b - a) / n
    return float((simpson_weights(n) * f(x)).sum() * h / 3)


def integrate_2d(f: Callable[[np.ndarray, np.ndarray], np.ndarray], x_range: tuple[float, float],
                 y_range: tuple[float, float], n: int = 400) -> float:
    """Simpson's rule on an (n + 1) x (n + 1) grid for the integral of f over a rectangle."""
    (a, b), (c, d) = x_range, y_range
    x = np.linspace(a, b, n + 1, dtype=F64, ctx=CTX).reshape(-1, 1)
    y = np.linspace(c, d, n + 1, dtype=F64, ctx=CTX).reshape(1, -1)
    w = simpson_weights(n)
    weights = w.reshape(-1, 1) * w.reshape(1, -1)
    return float((weights * f(x, y)).sum() * (b - a) / n * (d - c) / n / 9)


def book_example_17_5_1() -> float:
    """§17.5.1's example, the integral of x / (1 + x^2) over [0, 2]: about 0.8047 = log(5) / 2."""
    return integrate(lambda x: x / (1 + x ** 2), 0, 2)


def exercise1() -> float:
    """The integral of 1 / x over [1, 2]."""
    return integrate(lambda x: 1 / x, 1, 2)


def exercise2() -> float:
    """The integral of x sin(x^2) over [0, sqrt(pi)]."""
    return integrate(lambda x: x * np.sin(x ** 2), 0, math.sqrt(math.pi))


def exercise3() -> float:
    """The integral of x y over the unit square."""
    return integrate_2d(lambda x, y: x * y, (0, 1), (0, 1))


def f4(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    return x * y * (x ** 2 - y ** 2) / (x ** 2 + y ** 2) ** 3


def iterated(f: Callable[[np.ndarray, np.ndarray], np.ndarray], inner_hi: float, outer_hi: float,
             n: int = 2000, inner_lo: float = 1e-12, outer_lo: float = 1e-5) -> float:
    """The integral over (0, outer_hi] of (the integral over (0, inner_hi] of f(outer, inner) d inner).

    ``f`` takes (outer, inner). The integrand is singular at the origin (|f| is not integrable there,
    which is why the order matters), so both variables are changed to logarithms, t = e^s, dt = e^s ds,
    and Simpson's rule runs on a uniform grid in s. The inner grid reaches much closer to 0 than the
    outer one: then the inner integral is accurate for every outer point, as the iterated integral
    demands. What is left out is below 1e-9: the outer integrand vanishes linearly at 0, and the inner
    one is cut off ten million times closer to 0 than the outer one.
    """
    s = np.linspace(math.log(inner_lo), math.log(inner_hi), n + 1, dtype=F64, ctx=CTX)
    u = np.linspace(math.log(outer_lo), math.log(outer_hi), n + 1, dtype=F64, ctx=CTX)
    inner, outer = np.exp(s).reshape(1, -1), np.exp(u).reshape(-1, 1)
    w = simpson_weights(n)
    hs, hu = (s[1] - s[0]) / 3, (u[1] - u[0]) / 3
    inner_integrals = (f(outer, inner) * inner * w.reshape(1, -1)).sum(axis=1) * hs  # one per outer point
    return float((inner_integrals * outer.reshape(-1) * w).sum() * hu)


def exercise4_dy_dx() -> float:
    """The integral over x in [0, 2] of (the integral over y in [0, 1] of f(x, y) dy) dx."""
    return iterated(lambda x, y: f4(x, y), inner_hi=1.0, outer_hi=2.0)


def exercise4_dx_dy() -> float:
    """The integral over y in [0, 1] of (the integral over x in [0, 2] of f(x, y) dx) dy."""
    return iterated(lambda y, x: f4(x, y), inner_hi=2.0, outer_hi=1.0)

# Known wrong answers (d2lgrade.judging.reference.Misconception): each matched only by a wrong answer.
INTEGRAL1_MISTAKES = (
    Misconception("log10", "The antiderivative of 1/x is the natural logarithm, not log base 10.",
                  wrong=lambda: math.log10(2), code="import math\nintegral1 = math.log10(2)"),
)
INTEGRAL2_MISTAKES = (
    Misconception("limits-unchanged", "After substituting u = x², the limits of integration change as well.",
                  wrong=lambda: 0.5 * (1 - math.cos(math.sqrt(math.pi))),
                  code="import math\nintegral2 = 0.5 * (1 - math.cos(math.sqrt(math.pi)))"),
)
ITERATED_DX_DY_MISTAKES = (
    Misconception("order-never-matters", "Swapping the order of integration needs Fubini's condition, which this f "
                  "does not meet.", wrong=exercise4_dy_dx, code="iterated_dx_dy = iterated_dy_dx"),
)


REFERENCES = {
    "integral1": Value(exercise1, misconceptions=INTEGRAL1_MISTAKES),
    "integral2": Value(exercise2, misconceptions=INTEGRAL2_MISTAKES),
    "integral3": Value(exercise3),
    "iterated_dy_dx": Value(exercise4_dy_dx),
    "iterated_dx_dy": Value(exercise4_dx_dy, misconceptions=ITERATED_DX_DY_MISTAKES),
}
