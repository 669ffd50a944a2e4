"""Reference solutions for §2.5 Automatic Differentiation (D2L release 0.16.6, CC BY-SA 4.0).

The exercises probe MXNet's own autograd, so every reference *runs* it and reports what it observed
(a value, a shape, whether a call raised); nothing here is a number written down from the book.
"""

from __future__ import annotations

import math

import numpy as onp
from mxnet import autograd, np, npx

from d2lgrade.judging.reference import Function, Misconception, Value, regions
from solutions.autodiff import grad_of
from solutions.context import default_context
from solutions.domain import has_negative, ndim, ndim_at_least

npx.set_np()
CTX = default_context()


# Exercise 2: running the backward pass twice.

def _recorded_y(grad_req: str = "write"):
    """The book's first example: x = (0, 1, 2, 3), y = 2 x.x, recorded."""
    x = np.arange(4.0, ctx=CTX)
    x.attach_grad(grad_req=grad_req)
    with autograd.record():
        y = 2 * np.dot(x, x)
    return x, y


def second_backward_raises() -> bool:
    """True when a second ``y.backward()`` (no ``retain_graph``) raises: MXNet freed the graph."""
    _, y = _recorded_y()
    y.backward()
    try:
        y.backward()
    except Exception:  # noqa: BLE001 - the observable fact is only *whether* it raised
        return True
    return False


def grad_after_two_backwards(grad_req: str = "write") -> np.ndarray:
    """``x.grad`` after ``y.backward(retain_graph=True)`` then ``y.backward()``.

    With the default ``grad_req='write'`` the second pass overwrites the first (4x, not 8x as in
    frameworks that accumulate); with ``grad_req='add'`` the two passes add up (8x).
    """
    x, y = _recorded_y(grad_req)
    y.backward(retain_graph=True)
    y.backward()
    return x.grad


# Exercise 3: the book's control-flow function on a vector or matrix.

def f(a):
    """§2.5.4's ``f``, as the notebook gives it."""
    b = a * 2
    while np.linalg.norm(b) < 1000:
        b = b * 2
    if b.sum() > 0:  # noqa: SIM108 - the book's control-flow example, kept in its form
        c = b
    else:
        c = 100 * b
    return c


def d_shape() -> tuple[int, ...]:
    """The shape of ``d = f(a)`` for a random (3, 4) matrix ``a``: that of ``a`` (f(a) = k a)."""
    npx.random.seed(2503)
    a = np.random.normal(size=(3, 4), ctx=CTX)
    return tuple(f(a).shape)


def control_flow_grad(a: np.ndarray) -> np.ndarray:
    """``a.grad`` after ``d = f(a); d.backward()``: the gradient of d.sum(), k in every entry."""
    return grad_of(f, a)


def control_flow_grad_cases() -> list[tuple[np.ndarray]]:
    # Vectors and matrices of different norms (so the loop runs a different number of times) and
    # sums of both signs (so both branches are taken); entries of different sizes and signs, so that
    # applying the scalar f entry by entry gives a different factor in different entries.
    rng = onp.random.default_rng(2504)
    shapes_scales = [((5,), 1.0), ((3, 4), 1.0), ((2, 3), 30.0), ((4,), 0.01), ((2, 2, 3), 5.0), ((6,), 200.0)]
    cases = []
    for shape, scale in shapes_scales:
        while True:
            a = rng.normal(size=shape) * scale
            if abs(a.sum()) > 0.2 * scale:  # a sum clearly away from 0: the branch is unambiguous
                break
        a = a if (a.sum() > 0) == (len(cases) % 2 == 0) else -a  # alternate the branches
        cases.append((np.array(a.round(4), dtype="float32", ctx=CTX),))
    return cases


# Exercise 4: a redesigned control-flow function.

def g(a):
    """Square, triple while the sum is below 10, then a branch on the sign of the sum of ``a``."""
    b = a * a
    while b.sum() < 10:
        b = 3 * b
    if a.sum() > 0:
        return (b * a).sum()
    return b.sum()


def g_value(a: np.ndarray) -> float:
    return float(g(np.array(a, ctx=CTX)))


def grad_g(a: np.ndarray) -> np.ndarray:
    """The gradient of ``g`` at ``a``, by autograd: 3^n * 3 a^2 or 3^n * 2 a, n frozen at its value."""
    return grad_of(g, a)


def g_cases() -> list[tuple[np.ndarray]]:
    # Inputs away from the places where g jumps: sum(a^2) * 3^n not close to 10 or 30, and sum(a)
    # not close to 0. Both branches, loops of 0 to several steps, and a matrix.
    rng = onp.random.default_rng(2505)
    shapes_scales = [((3,), 1.0), ((4,), 0.1), ((2, 3), 0.5), ((5,), 3.0), ((2,), 0.03), ((3, 2), 1.5)]
    cases = []
    for shape, scale in shapes_scales:
        while True:
            a = (rng.normal(size=shape) * scale).round(4)
            s = float((a * a).sum())
            if s >= 10:
                loop_ok = s > 10.5
            else:
                steps = math.ceil(math.log(10 / s, 3))
                ratio = s * 3 ** steps / 10  # in [1, 3): close to either end is close to a jump
                loop_ok = 1.05 < ratio < 2.9
            if loop_ok and abs(a.sum()) > 0.1 * scale:
                break
        a = a if (a.sum() > 0) == (len(cases) % 2 == 0) else -a  # alternate the branches
        cases.append((np.array(a, dtype="float32", ctx=CTX),))
    return cases


# Exercise 5: the derivative of sin, by autograd.

def sin_grad(x: np.ndarray) -> np.ndarray:
    """d sin(x) / dx at every entry of ``x``, by autograd (never by writing cos): y = sin(x) is not a
    scalar, so MXNet differentiates y.sum(), whose gradient is d sin(x_i)/dx_i."""
    return grad_of(np.sin, x)


def sin_grad_cases() -> list[tuple[np.ndarray]]:
    rng = onp.random.default_rng(2506)
    return [
        (np.array([0.0, math.pi / 2, math.pi, -1.0], dtype="float32", ctx=CTX),),
        (np.array(rng.uniform(-10, 10, size=20).round(4), dtype="float32", ctx=CTX),),
        (np.array(rng.uniform(-3, 3, size=(3, 4)).round(4), dtype="float32", ctx=CTX),),
        (np.array(2.5, dtype="float32", ctx=CTX),),
    ]


def plot_sin_and_grad() -> None:
    """Exercise 5's figure: sin(x) and its autograd derivative on [-2 pi, 2 pi]."""
    from matplotlib import pyplot as plt

    x = np.linspace(-2 * math.pi, 2 * math.pi, 200, ctx=CTX)
    plt.figure(figsize=(5, 3))
    plt.plot(x.asnumpy(), np.sin(x).asnumpy(), label="f(x) = sin(x)")
    plt.plot(x.asnumpy(), sin_grad(x).asnumpy(), "m--", label="df/dx (autograd)")
    plt.xlabel("x")
    plt.grid()
    plt.legend()
    plt.show()


# Exercises 3 to 5: "an MXNet array of any shape", sums of both signs, both branches and loops of g
CONTROL_FLOW_DOMAIN = regions(
    "a", vector=ndim(1), matrix=ndim(2), three_axes=ndim_at_least(3), positive_sum=lambda a: float(a.sum()) > 0,
    negative_sum=lambda a: float(a.sum()) < 0, tiny_norm_many_doublings=lambda a: float(abs(a).max()) < 0.1,
    large_norm_no_doubling=lambda a: float(abs(a).max()) > 100)
G_DOMAIN = regions(
    "a", vector=ndim(1), matrix=ndim(2), positive_sum=lambda a: float(a.sum()) > 0,
    negative_sum=lambda a: float(a.sum()) < 0, loop_runs=lambda a: float((a * a).sum()) < 10,
    loop_does_not_run=lambda a: float((a * a).sum()) >= 10)
SIN_GRAD_DOMAIN = regions(
    "x", no_axes=ndim(0), vector=ndim(1), matrix=ndim(2), negative_entries=has_negative,
    beyond_2_pi=lambda x: float(abs(x).max()) > 6.3, zeros_of_cos=lambda x: bool((abs(abs(x) - 1.5707964) < 1e-6).any()))

# Known wrong answers (d2lgrade.judging.reference.Misconception): each matched only by a wrong answer.
GRAD_AFTER_TWO_MISTAKES = (
    Misconception("assumed-accumulation", "Assumes the two passes add up, as in frameworks that accumulate "
                  "gradients; with MXNet's default `grad_req`, run it and look at `x.grad`.",
                  wrong=lambda: grad_after_two_backwards("add"),
                  code="grad_after_two = 8 * np.arange(4.0)  # two passes of 4x, added up"),
)
GRAD_AFTER_TWO_ADD_MISTAKES = (
    Misconception("assumed-overwrite", "Assumes `grad_req='add'` changes nothing; run both backward calls and "
                  "look at `x.grad`.", wrong=grad_after_two_backwards,
                  code="grad_after_two_add = 4 * np.arange(4.0)"),
)
D_SHAPE_MISTAKES = (
    Misconception("scalar", "f(a) is no longer a scalar when a is a matrix: look at what f does to each entry.",
                  wrong=lambda: (), code="d_shape = ()"),
)


def _entrywise_control_flow_grad(a: np.ndarray) -> np.ndarray:
    """f applied to each entry on its own: a different factor per entry."""
    flat = np.array(a, ctx=CTX).reshape(-1)
    grads = [float(grad_of(f, flat[i])) for i in range(flat.shape[0])]
    return np.array(grads, ctx=CTX).reshape(a.shape)


CONTROL_FLOW_GRAD_MISTAKES = (
    Misconception("entrywise", "f is applied to the whole array at once: its loop and its branch depend on the "
                  "norm and the sum of all entries, not on each entry alone.", wrong=_entrywise_control_flow_grad,
                  code="def control_flow_grad(a):\n    grads = []\n    for v in a.reshape(-1):\n        v = v.copy()\n"
                       "        v.attach_grad()\n        with autograd.record():\n            d = f(v)\n"
                       "        d.backward()\n        grads.append(float(v.grad))\n"
                       "    return np.array(grads).reshape(a.shape)"),
)


REFERENCES = {
    "second_raises": Value(second_backward_raises),
    "grad_after_two": Value(grad_after_two_backwards, misconceptions=GRAD_AFTER_TWO_MISTAKES),
    "grad_after_two_add": Value(lambda: grad_after_two_backwards("add"), misconceptions=GRAD_AFTER_TWO_ADD_MISTAKES),
    "d_shape": Value(d_shape, misconceptions=D_SHAPE_MISTAKES),
    "control_flow_grad": Function(control_flow_grad, control_flow_grad_cases, CONTROL_FLOW_DOMAIN,
                                  misconceptions=CONTROL_FLOW_GRAD_MISTAKES),
    "g": Function(g_value, g_cases, G_DOMAIN),
    "grad_g": Function(grad_g, g_cases, G_DOMAIN),
    "sin_grad": Function(sin_grad, sin_grad_cases, SIN_GRAD_DOMAIN),
}
