"""The book's automatic-differentiation recipe (§2.5), shared by the references that take gradients."""

from __future__ import annotations

from collections.abc import Callable

from mxnet import autograd, np, npx

from solutions.context import default_context

npx.set_np()
CTX = default_context()


def grad_of(fn: Callable[[np.ndarray], np.ndarray], x: object, dtype: str | None = None) -> np.ndarray:
    """The gradient of ``fn`` at ``x`` by autograd, on ``CTX``; ``dtype`` None keeps ``x``'s own.

    For a non-scalar head MXNet differentiates its sum, so for an elementwise ``fn`` this is the
    elementwise derivative (§2.5.2).
    """
    x = np.array(x, ctx=CTX) if dtype is None else np.array(x, dtype=dtype, ctx=CTX)
    x.attach_grad()
    with autograd.record():
        y = fn(x)
    y.backward()
    return x.grad
