"""Reference solutions for §17.3 Single Variable Calculus (D2L release 0.16.6, CC BY-SA 4.0).

Derivatives come from MXNet's autograd (§2.5), never from a hand-derived formula: the notebook's
students derive the formula, the reference differentiates the function itself.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as onp
from mxnet import np, npx

from d2lgrade.judging.reference import Function, Misconception, Value, regions
from solutions.autodiff import grad_of
from solutions.context import default_context
from solutions.domain import has_negative, has_positive, has_zero, ndim, values

npx.set_np()
CTX = default_context()


def derivative(f: Callable[[np.ndarray], np.ndarray], x: np.ndarray) -> np.ndarray:
    """Elementwise f'(x) by autograd: for an elementwise f, the gradient of sum(f(x)) is f'(x)."""
    return grad_of(f, x, dtype="float32")


def cubic(x: np.ndarray) -> np.ndarray:
    return x ** 3 - 4 * x + 1


def log_inv(x: np.ndarray) -> np.ndarray:
    return np.log(1 / x)


def x_log_x(x: np.ndarray) -> np.ndarray:
    return x * np.log(x)


def d_cubic(x: np.ndarray) -> np.ndarray:
    """Exercise 1: d/dx (x^3 - 4x + 1)."""
    return derivative(cubic, x)


def d_log_inv(x: np.ndarray) -> np.ndarray:
    """Exercise 2: d/dx log(1/x), for x > 0."""
    return derivative(log_inv, x)


def d_cubic_cases() -> list[tuple[np.ndarray]]:
    rng = onp.random.default_rng(1731)
    return [
        (np.array([0.0, 1.0, -1.0, 2.0, -2.5], dtype="float32", ctx=CTX),),  # x = 0 catches a dropped constant term
        (np.array(rng.uniform(-4, 4, size=(3, 4)), dtype="float32", ctx=CTX),),
        (np.array(rng.uniform(-1, 1, size=(7,)), dtype="float32", ctx=CTX),),
        (np.array(-1.5, dtype="float32", ctx=CTX),),  # a 0-d array: "x" may be a single number
    ]


def d_log_inv_cases() -> list[tuple[np.ndarray]]:
    rng = onp.random.default_rng(1732)
    return [
        (np.array([1.0, 0.5, 2.0, 0.01, 100.0], dtype="float32", ctx=CTX),),
        (np.array(rng.uniform(0.05, 10, size=(2, 3)), dtype="float32", ctx=CTX),),
        (np.array(rng.uniform(0.2, 3, size=(6,)), dtype="float32", ctx=CTX),),
    ]


def stationary_implies_extremum() -> bool:
    """Exercise 3: test the claim on f(x) = x^3 at 0, where autograd gives f'(0) = 0.

    An extremum at 0 needs f(x) - f(0) of one sign on both sides of 0; x^3 changes sign there.
    """
    f = lambda x: x ** 3  # noqa: E731
    slope = float(derivative(f, np.array([0.0], ctx=CTX))[0])
    side = f(np.array([-1e-2, 1e-2], ctx=CTX)) - f(np.array([0.0, 0.0], ctx=CTX))
    is_extremum = bool(side[0] * side[1] > 0)
    return not (slope == 0 and not is_extremum)


def argmin_x_log_x(lo: float = 1e-3, hi: float = 1.0, steps: int = 60) -> float:
    """Exercise 4: where f'(x) = 0 for f(x) = x log x, by bisection on the autograd derivative.

    f' is increasing on (0, oo) (f'' = 1/x > 0), negative at ``lo`` and positive at ``hi``, so its
    root is the global minimum on x > 0; f(0) = 0 > f(root), so the endpoint 0 is not the minimum.
    """
    a, b = lo, hi
    for _ in range(steps):
        mid = (a + b) / 2
        if float(derivative(x_log_x, np.array([mid], ctx=CTX))[0]) < 0:
            a = mid
        else:
            b = mid
    return (a + b) / 2


D_CUBIC_DOMAIN = regions("x", negative=has_negative, zero=has_zero, positive=has_positive, no_axes=ndim(0),
                         vector=ndim(1), matrix=ndim(2))
D_LOG_INV_DOMAIN = regions(
    "x", at_0_01=lambda x: bool((values(x) <= 0.01).any()), at_100=lambda x: bool((values(x) >= 100).any()),
    below_1=lambda x: bool((values(x) < 1).any()), above_1=lambda x: bool((values(x) > 1).any()),
    matrix=ndim(2))
"""Exercise 2: "positive (between 0.01 and 100)"."""

# Known wrong answers (d2lgrade.judging.reference.Misconception): each matched only by a wrong answer.
D_LOG_INV_MISTAKES = (
    Misconception("sign-lost", "log(1/x) = -log(x): check the sign.", wrong=lambda x: 1 / x,
                  code="def d_log_inv(x):\n    return 1 / x"),
    Misconception("no-inner-derivative", "The chain rule needs the inner derivative, of 1/x, as well.",
                  wrong=lambda x: x * 1, code="def d_log_inv(x):\n    return 1 / (1 / x)"),
)
X_MIN_MISTAKES = (
    Misconception("endpoint", "f(0) = 0 is not the smallest value: f is negative just to the right of 0.",
                  wrong=0.0, code="x_min = 0.0"),
)


REFERENCES = {
    "d_cubic": Function(d_cubic, d_cubic_cases, D_CUBIC_DOMAIN),
    "d_log_inv": Function(d_log_inv, d_log_inv_cases, D_LOG_INV_DOMAIN, misconceptions=D_LOG_INV_MISTAKES),
    "extremum_claim": Value(stationary_implies_extremum),
    "x_min": Value(argmin_x_log_x, misconceptions=X_MIN_MISTAKES),
}
