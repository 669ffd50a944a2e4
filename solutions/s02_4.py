"""Reference solutions for §2.4 Calculus (D2L release 0.16.6, CC BY-SA 4.0).

Every derivative here comes from MXNet's ``autograd``, computed in float64 so that the references
are accurate to far below the tolerances of the tests.
"""

from __future__ import annotations

import math

import numpy as onp
from mxnet import autograd, np, npx

from d2lgrade.judging.reference import Function, Misconception, Value, regions
from solutions.autodiff import grad_of
from solutions.context import default_context
from solutions.domain import has_negative, has_zero, largest, size, smallest, values

npx.set_np()
CTX = default_context()


# Exercise 1: y = f(x) = x^3 - 1/x and its tangent line.

def f(x):
    """The function of exercise 1, as the notebook gives it."""
    return x ** 3 - 1 / x


def derivative(fn, x0: float) -> float:
    """``fn'(x0)`` for a scalar function, by autograd on a 0-d float64 array."""
    return float(grad_of(fn, float(x0), dtype="float64"))


def tangent_line(x0: float) -> np.ndarray:
    """Slope and intercept of the tangent of ``f`` at ``x0``: y = slope * x + intercept."""
    slope = derivative(f, x0)
    value = float(f(np.array(float(x0), dtype="float64", ctx=CTX)))
    return np.array([slope, value - slope * x0], dtype="float64", ctx=CTX)


def tangent_line_cases() -> list[tuple[float]]:
    # x0 = 1 is the public example; elsewhere an intercept written as f(x0) - slope (without x0)
    # or a slope with the wrong sign on the 1/x^2 term is wrong.
    return [(1.0,), (-1.0,), (0.5,), (-0.3,), (2.0,), (3.7,), (-2.2,), (0.05,), (-12.0,)]


TANGENT_LINE_DOMAIN = regions(
    "x0", negative=lambda x: x < 0, positive=lambda x: x > 0, near_0=lambda x: abs(x) <= 0.1,
    inside_minus_1_1=lambda x: abs(x) < 1, beyond_10=lambda x: abs(x) >= 10)


def plot_tangent() -> None:
    """Exercise 1's figure: f on both sides of its pole at 0, and the tangent at x = 1."""
    from matplotlib import pyplot as plt

    slope, intercept = tangent_line(1.0).tolist()
    _, ax = plt.subplots(figsize=(5, 3.5))
    for lo, hi in ((-3, -0.2), (0.2, 3)):
        x = np.linspace(lo, hi, 200, ctx=CTX)
        ax.plot(x.asnumpy(), f(x).asnumpy(), "C0-", label="f(x)" if lo > 0 else None)
    x = np.linspace(-3, 3, 50, ctx=CTX)
    ax.plot(x.asnumpy(), (slope * x + intercept).asnumpy(), "m--", label="tangent at x=1")
    ax.plot([1.0], [float(f(np.array(1.0)))], "ko")
    ax.set_ylim(-20, 20)
    ax.set_xlabel("x")
    ax.set_ylabel("y")
    ax.grid()
    ax.legend()
    plt.show()


# Exercise 2: f(x) = 3 x1^2 + 5 exp(x2).

def f2(x):
    return 3 * x[0] ** 2 + 5 * np.exp(x[1])


def gradient(fn, x: np.ndarray) -> np.ndarray:
    """The gradient of a scalar function of a tensor, by autograd, in the input's dtype."""
    return grad_of(fn, x)


def grad_f(x: np.ndarray) -> np.ndarray:
    """Exercise 2: [6 x1, 5 exp(x2)], computed by autograd."""
    return gradient(f2, np.array(x, dtype="float64", ctx=CTX))


def grad_f_cases() -> list[tuple[np.ndarray]]:
    rng = onp.random.default_rng(2402)
    points = [[1.0, 0.0], [-1.5, 2.0], [0.0, -3.0], *rng.uniform(-3, 3, size=(4, 2)).round(3).tolist()]
    return [(np.array(p, dtype="float32", ctx=CTX),) for p in points]


GRAD_F_DOMAIN = regions(
    "x", x1_negative=lambda x: values(x)[0] < 0, x1_zero=lambda x: values(x)[0] == 0,
    x1_positive=lambda x: values(x)[0] > 0, x2_negative=lambda x: values(x)[1] < 0,
    x2_zero=lambda x: values(x)[1] == 0, x2_positive=lambda x: values(x)[1] > 0)


# Exercise 3: f(x) = ||x||_2.

def grad_norm(x: np.ndarray) -> np.ndarray:
    """Exercise 3: x / ||x||_2 (x != 0), by autograd. It keeps the sign of every entry of x."""
    return gradient(lambda v: np.linalg.norm(v), np.array(x, dtype="float64", ctx=CTX))


def grad_norm_cases() -> list[tuple[np.ndarray]]:
    rng = onp.random.default_rng(2403)
    vectors = [onp.array([3.0, -4.0]), onp.array([-2.5]), rng.normal(size=3), rng.normal(size=5) * 100,
               -onp.abs(rng.normal(size=4)), rng.normal(size=6) * 0.01, onp.array([0.0, -3.0, 0.0])]
    return [(np.array(v.round(4), dtype="float32", ctx=CTX),) for v in vectors]


GRAD_NORM_DOMAIN = regions(
    "x", length_1=size(1), longer=lambda x: values(x).size >= 2, negative_entries=has_negative,
    all_negative=lambda x: bool((values(x) < 0).all()), zero_entries=has_zero, small_scale=smallest(0.05),
    large_scale=largest(100))
"""Exercise 3: x != 0 of any length n >= 1, "several lengths and scales, with negative entries"."""


# Exercise 4: the chain rule for u = f(x, y, z), x = x(a, b), y = y(a, b), z = z(a, b).

def chain_rule(du_dxyz: np.ndarray, dxyz_dab: np.ndarray) -> np.ndarray:
    """du/da = sum over v in (x, y, z) of du/dv dv/da, and likewise for b: a vector-Jacobian product."""
    return np.dot(np.array(du_dxyz, ctx=CTX), np.array(dxyz_dab, ctx=CTX))


def chain_rule_cases() -> list[tuple[np.ndarray, np.ndarray]]:
    rng = onp.random.default_rng(2404)
    cases = [(onp.array([1.0, 2.0, 3.0]), onp.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]]))]
    cases += [(rng.normal(size=3), rng.normal(size=(3, 2))) for _ in range(4)]
    cases.append((onp.array([0.0, -2.0, 1.5]), onp.array([[0.0, 0.0], [-1.0, 3.0], [2.0, 0.0]])))
    return [(np.array(g.round(4), dtype="float32", ctx=CTX), np.array(J.round(4), dtype="float32", ctx=CTX))
            for g, J in cases]


def u_fn(x, y, z):
    return x ** 2 * y + np.exp(z)


def x_fn(a, b):
    return a * b


def y_fn(a, b):
    return a + b ** 2


def z_fn(a, b):
    return a - b


def du_dab(a: float, b: float) -> np.ndarray:
    """[du/da, du/db] for the notebook's concrete u, x, y, z, by autograd through the composition."""
    ab = np.array([float(a), float(b)], dtype="float64", ctx=CTX)
    ab.attach_grad()
    with autograd.record():
        u = u_fn(x_fn(ab[0], ab[1]), y_fn(ab[0], ab[1]), z_fn(ab[0], ab[1]))
    u.backward()
    return ab.grad


def du_dab_cases() -> list[tuple[float, float]]:
    rng = onp.random.default_rng(2405)
    return [(1.0, 2.0), (-1.0, 0.5), (0.0, -1.5), (1.5, 0.0)] + [
        tuple(p) for p in rng.uniform(-2, 2, size=(4, 2)).round(3).tolist()]


def _signs(**more):
    return dict(negative=lambda v: v < 0, zero=lambda v: v == 0, positive=lambda v: v > 0, **more)


CHAIN_RULE_DOMAIN = (
    *regions("du_dxyz", negative_entries=has_negative, zero_entries=has_zero),
    *regions("dxyz_dab", negative_entries=has_negative, zero_entries=has_zero),
)
DU_DAB_DOMAIN = (*regions("a", **_signs()), *regions("b", **_signs()))

# Known wrong answers (d2lgrade.judging.reference.Misconception): each matched only by a wrong answer.
def _tangent_sign_slip(x0: float) -> list[float]:
    """The derivative of -1/x taken as -1/x^2 (it is +1/x^2)."""
    k = 3 * x0 ** 2 - 1 / x0 ** 2
    return [k, float(f(x0)) - k * x0]


def _tangent_through_1(x0: float) -> list[float]:
    """The intercept f(x0) - k, right only at x0 = 1."""
    k = 3 * x0 ** 2 + 1 / x0 ** 2
    return [k, float(f(x0)) - k]


TANGENT_SIGN_SLIP = Misconception(
    "derivative-of-minus-1-over-x", "Check the sign of the derivative of -1/x.", wrong=_tangent_sign_slip,
    code="def tangent_line(x0):\n    k = 3 * x0 ** 2 - 1 / x0 ** 2\n    return (k, f(x0) - k * x0)")
TANGENT_AT_1_MISTAKES = (
    Misconception("derivative-of-minus-1-over-x", TANGENT_SIGN_SLIP.hint, wrong=lambda: _tangent_sign_slip(1.0),
                  code="tangent_at_1 = (2.0, -2.0)"),
)
TANGENT_LINE_MISTAKES = (
    TANGENT_SIGN_SLIP,
    Misconception("intercept-at-1", "The intercept must make the line pass through (x0, f(x0)) for every x0, not "
                  "only for x0 = 1.", wrong=_tangent_through_1,
                  code="def tangent_line(x0):\n    k = 3 * x0 ** 2 + 1 / x0 ** 2\n    return (k, f(x0) - k)"),
)
GRAD_NORM_MISTAKES = (
    Misconception("sign-lost", "The gradient keeps the sign of each entry of x; this one loses it.",
                  wrong=lambda x: np.abs(x) / np.linalg.norm(x),
                  code="def grad_norm(x):\n    return np.abs(x) / np.linalg.norm(x)"),
    Misconception("squared-norm", "That is the gradient of the squared norm, not of the norm itself.",
                  wrong=lambda x: 2 * x, code="def grad_norm(x):\n    return 2 * x"),
)
DU_DAB_MISTAKES = (
    Misconception("inner-derivative-of-z", "Each path a -> z -> u or b -> z -> u needs its inner derivative: "
                  "check dz/db.",
                  wrong=lambda a, b: [2 * a * b * (a + b * b) * b + (a * b) ** 2 + math.exp(a - b),
                                      2 * a * b * (a + b * b) * a + (a * b) ** 2 * 2 * b + math.exp(a - b)],
                  code="def du_dab(a, b):\n    x, y, z = x_fn(a, b), y_fn(a, b), z_fn(a, b)\n"
                       "    du_da = 2 * x * y * b + x ** 2 + np.exp(z)\n"
                       "    du_db = 2 * x * y * a + x ** 2 * 2 * b + np.exp(z)\n    return [du_da, du_db]"),
)


REFERENCES = {
    "tangent_at_1": Value(lambda: tangent_line(1.0), misconceptions=TANGENT_AT_1_MISTAKES),
    "tangent_line": Function(tangent_line, tangent_line_cases, TANGENT_LINE_DOMAIN, misconceptions=TANGENT_LINE_MISTAKES),
    "grad_f": Function(grad_f, grad_f_cases, GRAD_F_DOMAIN),
    "grad_norm": Function(grad_norm, grad_norm_cases, GRAD_NORM_DOMAIN, misconceptions=GRAD_NORM_MISTAKES),
    "chain_rule": Function(chain_rule, chain_rule_cases, CHAIN_RULE_DOMAIN),
    "du_dab": Function(du_dab, du_dab_cases, DU_DAB_DOMAIN, misconceptions=DU_DAB_MISTAKES),
}
