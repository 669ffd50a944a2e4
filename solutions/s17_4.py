"""Reference solutions for §17.4 Multivariable Calculus (D2L release 0.16.6, CC BY-SA 4.0).

Gradients come from MXNet's autograd applied to the functions as the exercises write them.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as onp
from mxnet import autograd, np, npx

from d2lgrade.judging.reference import Function, Misconception, Region, Value, regions
from solutions.autodiff import grad_of
from solutions.context import default_context
from solutions.domain import all_zero, has_negative, has_zero, largest, size, smallest

npx.set_np()
CTX = default_context()


def gradient(f: Callable[[np.ndarray], np.ndarray], x: np.ndarray) -> np.ndarray:
    """The gradient of a scalar function ``f`` at ``x``, by autograd."""
    return grad_of(f, x, dtype="float32")


# Exercise 1: beta is a row vector (1 x n), x a column vector (n x 1); both are passed as 1-D arrays.

def df_beta(x: np.ndarray, beta: np.ndarray) -> np.ndarray:
    """Gradient in x of f(x) = beta x (a 1 x 1 matrix), as a 1-D array."""
    row = np.array(beta, dtype="float32", ctx=CTX).reshape(1, -1)
    return gradient(lambda z: np.dot(row, z.reshape(-1, 1)).sum(), x)


def dg_beta(x: np.ndarray, beta: np.ndarray) -> np.ndarray:
    """Gradient in x of g(x) = x^T beta^T (a 1 x 1 matrix), as a 1-D array."""
    row = np.array(beta, dtype="float32", ctx=CTX).reshape(1, -1)
    return gradient(lambda z: np.dot(z.reshape(-1, 1).T, row.T).sum(), x)


def beta_cases() -> list[tuple[np.ndarray, np.ndarray]]:
    rng = onp.random.default_rng(1741)
    cases = []
    for n in (1, 3, 5, 8):
        x = np.array(rng.normal(size=n), dtype="float32", ctx=CTX)
        beta = np.array(rng.normal(size=n) * 3, dtype="float32", ctx=CTX)
        cases.append((x, beta))
    cases.append((np.zeros(4, ctx=CTX), np.array([1.0, -2.0, 0.5, 3.0], ctx=CTX)))
    return cases


def grad_norm(v: np.ndarray) -> np.ndarray:
    """Exercise 2: the gradient of the Euclidean norm at v != 0."""
    return gradient(lambda z: np.linalg.norm(z), v)


def grad_norm_cases() -> list[tuple[np.ndarray]]:
    rng = onp.random.default_rng(1742)
    cases = [(np.array([3.0, -4.0], ctx=CTX),), (np.array([0.0, 0.0, 2.0], ctx=CTX),), (np.array([-2.5], ctx=CTX),)]
    for n, scale in ((5, 1.0), (10, 0.1), (4, 50.0)):
        cases.append((np.array(rng.normal(size=n) * scale, dtype="float32", ctx=CTX),))
    return cases


BETA_DOMAIN = (
    *regions("x", length_1=size(1), longer=lambda x: x.size > 1, zero_vector=all_zero, negative_entries=has_negative),
    *regions("beta", negative_entries=has_negative),
)
GRAD_NORM_DOMAIN = regions(
    "v", length_1=size(1), longer=lambda v: v.size > 1, negative_entries=has_negative, zero_entries=has_zero,
    small_scale=smallest(0.5), large_scale=largest(50))
"""Exercise 2: "a non-zero 1-D MXNet array of shape (n,) (float32, any n)"."""


def log_sum_exp(z: np.ndarray) -> np.ndarray:
    """L = log(e^x + e^y) for z = (x, y), shifted by max(z) so that exp cannot overflow.

    The shift is a constant for autograd; L is unchanged by it, so its gradient is L's.
    """
    m = float(z.max())
    return m + np.log(np.exp(z - m).sum())


def grad_L(x: float, y: float) -> np.ndarray:
    """Exercise 3: the gradient (dL/dx, dL/dy) at (x, y)."""
    return gradient(log_sum_exp, np.array([x, y], ctx=CTX))


def grad_L_cases() -> list[tuple[float, float]]:
    # (100, 98): e^100 overflows float32, so exp(x) / (exp(x) + exp(y)) in float32 gives nan there;
    # (100, -100) and (-100, 100): 200 apart, where shifting by the smaller coordinate (or the mean)
    # overflows too: only the shift by the larger one (or 1 / (1 + e^(y - x))) stays finite
    return [(0.0, 0.0), (1.0, 2.0), (-3.0, 0.5), (20.0, -20.0), (-50.0, -49.0), (100.0, 98.0),
            (100.0, -100.0), (-100.0, 100.0), (-100.0, -100.0)]


def _signs_up_to_100(**more):
    """A coordinate of Exercise 3: any real number "as large as 100 in size", as the task says."""
    return dict(negative=lambda v: v < 0, zero=lambda v: v == 0, positive=lambda v: v > 0,
                size_100=lambda v: abs(v) >= 100, **more)


GRAD_L_DOMAIN = (
    *regions("x", **_signs_up_to_100()),
    *regions("y", **_signs_up_to_100()),
    Region("x = y", lambda x, y: x == y),
    Region("far apart: |x - y| >= 100", lambda x, y: abs(x - y) >= 100),
    Region("both near -100 (e^x, e^y underflow)", lambda x, y: max(x, y) <= -100),
)


def gradient_component_sum() -> float:
    """Exercise 3: the sum of the gradient's components, at a random point (it is the same everywhere)."""
    rng = onp.random.default_rng(1743)
    x, y = rng.normal(size=2) * 3
    return float(grad_L(float(x), float(y)).sum())


def f4(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    return x ** 2 * y + x * y ** 2


def critical_points(half_width: float = 2.0, steps: int = 401, tol: float = 1e-6) -> np.ndarray:
    """Exercise 4: the grid points of [-2, 2]^2 where autograd's gradient of f vanishes.

    One backward pass gives the gradient at every grid point: f is summed over independent points.
    The grid contains (0, 0) and the zeros of the gradient are isolated, so the search finds them.
    """
    axis = np.linspace(-half_width, half_width, steps, ctx=CTX)
    X, Y = np.meshgrid(axis, axis, indexing="ij")
    X.attach_grad()
    Y.attach_grad()
    with autograd.record():
        z = f4(X, Y)
    z.backward()
    norm = np.sqrt(X.grad ** 2 + Y.grad ** 2)
    hits = np.stack([X.reshape(-1), Y.reshape(-1)], axis=1)[norm.reshape(-1) <= tol]
    return hits


def critical_point() -> np.ndarray:
    points = critical_points()
    assert points.shape[0] == 1, f"expected one critical point, found {points.shape[0]}"
    return points[0]


def classify_critical_point() -> str:
    """Exercise 4: along x = y, f(x, x) = 2x^3: compare f near the point with f at the point."""
    p = critical_point()
    t = np.array([-1e-2, 1e-2], ctx=CTX)
    along = f4(p[0] + t, p[1] + t) - f4(p[0], p[1])
    if float(along.min()) < 0 < float(along.max()):
        return "neither"
    return "minimum" if float(along.min()) >= 0 else "maximum"

# Known wrong answers (d2lgrade.judging.reference.Misconception): each matched only by a wrong answer.
GRAD_NORM_MISTAKES = (
    Misconception("squared-norm", "That is the gradient of the squared norm, not of the norm itself.",
                  wrong=lambda v: 2 * v, code="def grad_norm(v):\n    return 2 * v"),
    Misconception("sign-lost", "The gradient keeps the sign of each entry of v; this one loses it.",
                  wrong=lambda v: np.abs(v) / np.linalg.norm(v),
                  code="def grad_norm(v):\n    return np.abs(v) / np.linalg.norm(v)"),
)
POINT_KIND_MISTAKES = (
    Misconception("one-direction", "Looking along one direction is not enough: f must be compared in every "
                  "direction around the point.", wrong="minimum", code='point_kind = "minimum"'),
)


REFERENCES = {
    "df_beta": Function(df_beta, beta_cases, BETA_DOMAIN),
    "dg_beta": Function(dg_beta, beta_cases, BETA_DOMAIN),
    "grad_norm": Function(grad_norm, grad_norm_cases, GRAD_NORM_DOMAIN, misconceptions=GRAD_NORM_MISTAKES),
    "grad_L": Function(grad_L, grad_L_cases, GRAD_L_DOMAIN),
    "grad_sum": Value(gradient_component_sum),
    "critical_point": Value(critical_point),
    "point_kind": Value(classify_critical_point, misconceptions=POINT_KIND_MISTAKES),
}
