"""Reference solutions for §2.1 Data Manipulation (D2L release 0.16.6, CC BY-SA 4.0)."""

from __future__ import annotations

import numpy as onp
from mxnet import np, npx

from d2lgrade.judging.reference import Function, Misconception, Region, Value, regions
from solutions.context import default_context
from solutions.domain import has_negative, values

npx.set_np()
CTX = default_context()


def section_tensors() -> tuple[np.ndarray, np.ndarray]:
    """``X`` and ``Y`` as §2.1.2 defines them before comparing them with ``X == Y``."""
    X = np.arange(12, ctx=CTX).reshape(3, 4)
    Y = np.array([[2, 1, 4, 3], [1, 2, 3, 4], [4, 3, 2, 1]], ctx=CTX)
    return X, Y


def less_than(X: np.ndarray, Y: np.ndarray) -> np.ndarray:
    """Exercise 1: comparisons are lifted elementwise like arithmetic; the result holds booleans."""
    return X < Y


def greater_than(X: np.ndarray, Y: np.ndarray) -> np.ndarray:
    return X > Y


def count_greater(A: np.ndarray, B: np.ndarray) -> int:
    """Exercise 1: a boolean tensor sums like 0/1, after broadcasting ``A`` and ``B``."""
    return int((A > B).sum())


def count_greater_cases() -> list[tuple[np.ndarray, np.ndarray]]:
    rng = onp.random.default_rng(2101)
    shapes = [((3, 4), (3, 4)), ((2, 3), (1, 3)), ((4, 1), (1, 5)), ((2, 3, 4), (3, 1)), ((5,), (5,))]
    return [
        (np.array(rng.integers(-5, 6, size=a), dtype="float32", ctx=CTX),
         np.array(rng.integers(-5, 6, size=b), dtype="float32", ctx=CTX))
        for a, b in shapes
    ] + [
        (np.full((2, 3), 1.0, ctx=CTX), np.zeros(3, ctx=CTX)),  # every position greater
        (np.full((4,), -1.0, ctx=CTX), np.zeros((2, 1), ctx=CTX)),  # none greater: the count is 0
    ]


COUNT_GREATER_DOMAIN = (
    Region("equal shapes", lambda A, B: A.shape == B.shape),
    Region("shapes that broadcast", lambda A, B: A.shape != B.shape),
    Region("different numbers of axes", lambda A, B: A.ndim != B.ndim),
    *regions("A", negative_entries=has_negative),
    Region("ties: A == B somewhere", lambda A, B: bool((values(A) == values(B)).any())),
    Region("no position greater", lambda A, B: not (values(A) > values(B)).any()),
    Region("every position greater", lambda A, B: bool((values(A) > values(B)).all())),
)


def broadcast_tensors() -> tuple[np.ndarray, np.ndarray]:
    """Exercise 2's three-axis operands, given in the notebook."""
    a = np.arange(3, ctx=CTX).reshape(3, 1, 1)
    b = np.arange(8, ctx=CTX).reshape(1, 2, 4)
    return a, b


def broadcast_sum(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Exercise 2: axes of length 1 are copied along, on every axis, as in the 2-D example."""
    return a + b


def broadcast_shape(shape_a: tuple[int, ...], shape_b: tuple[int, ...]) -> tuple[int, ...]:
    """Exercise 2: the shape MXNet gives ``a + b``, found by letting MXNet broadcast zeros."""
    return tuple((np.zeros(shape_a, ctx=CTX) + np.zeros(shape_b, ctx=CTX)).shape)


def broadcast_shape_of_tuples(shape_a: tuple[int, ...], shape_b: tuple[int, ...]) -> tuple[int, ...]:
    """Exercise 2b as the task asks it, without creating a tensor: align the shapes on the right (the
    shorter one padded with 1s on the left); on each axis the length is the one that is not 1.

    The notebook's solution; ``broadcast_shape`` (MXNet's own result) is the reference it is graded against.
    """
    n = max(len(shape_a), len(shape_b))
    a = (1,) * (n - len(shape_a)) + tuple(shape_a)
    b = (1,) * (n - len(shape_b)) + tuple(shape_b)
    return tuple(y if x == 1 else x for x, y in zip(a, b, strict=True))


def broadcast_shape_cases() -> list[tuple[tuple[int, ...], tuple[int, ...]]]:
    return [((3, 1, 1), (1, 2, 4)), ((2, 1, 4), (3, 1)), ((5, 1), (1, 1, 6)), ((4,), (2, 3, 1)),
            ((1, 1, 1, 2), (3, 1, 2)), ((2, 3, 4), (2, 3, 4)), ((), (2, 3)), ((4, 1), ())]


# Exercise 2b: "two shapes whose tensors broadcast together" (every length at least 1, as the task says)
BROADCAST_SHAPE_DOMAIN = (
    Region("equal shapes", lambda a, b: tuple(a) == tuple(b)),
    Region("the first has fewer axes", lambda a, b: len(a) < len(b)),
    Region("the second has fewer axes", lambda a, b: len(a) > len(b)),
    Region("1s in both shapes", lambda a, b: 1 in a and 1 in b),
    Region("a shape with no axes, ()", lambda a, b: not a or not b),
)

# Known wrong answers (d2lgrade.judging.reference.Misconception): each matched only by a wrong answer.
LT_MISTAKES = (
    Misconception("or-equal", "`<=` is also True where the two entries are equal; the comparison asked for is strict.",
                  wrong=lambda: np.less_equal(*section_tensors()), code="lt = X <= Y"),
)
COUNT_GREATER_MISTAKES = (
    Misconception("or-equal", "`>=` also counts the positions where A and B are equal; the count asked for is strict.",
                  wrong=lambda A, B: int((A >= B).sum()),
                  code="def count_greater(A, B):\n    return int((A >= B).sum())"),
)
BROADCAST_SHAPE_MISTAKES = (
    Misconception("pad-right", "A shorter shape gets 1s on the wrong side: broadcasting lines shapes up from their "
                  "last axis, so the missing axes are the leading ones.",
                  wrong=lambda a, b: tuple(max(x, y) for x, y in zip(list(a) + [1] * (max(len(a), len(b)) - len(a)),
                                                                     list(b) + [1] * (max(len(a), len(b)) - len(b)))),
                  code="def broadcast_shape(shape_a, shape_b):\n    n = max(len(shape_a), len(shape_b))\n"
                       "    a = list(shape_a) + [1] * (n - len(shape_a))\n    b = list(shape_b) + [1] * (n - len(shape_b))\n"
                       "    return tuple(max(x, y) for x, y in zip(a, b))"),
    Misconception("zip-from-left", "`zip` pairs axes from the left and stops at the shorter shape: broadcasting pairs "
                  "them from the last axis and keeps every axis of the longer shape.",
                  wrong=lambda a, b: tuple(max(x, y) for x, y in zip(a, b)),
                  code="def broadcast_shape(shape_a, shape_b):\n    return tuple(max(x, y) for x, y in zip(shape_a, shape_b))"),
)


REFERENCES = {
    "lt": Value(lambda: less_than(*section_tensors()), misconceptions=LT_MISTAKES),
    "gt": Value(lambda: greater_than(*section_tensors())),
    "count_greater": Function(count_greater, count_greater_cases, COUNT_GREATER_DOMAIN, misconceptions=COUNT_GREATER_MISTAKES),
    "c": Value(lambda: broadcast_sum(*broadcast_tensors())),
    "broadcast_shape": Function(broadcast_shape, broadcast_shape_cases, BROADCAST_SHAPE_DOMAIN,
                                misconceptions=BROADCAST_SHAPE_MISTAKES),
}
