"""Reference solutions for §2.3 Linear Algebra (D2L release 0.16.6, CC BY-SA 4.0).

Exercises 1, 2 and the "why" of 3 are proofs, graded by a person with the rubric in the notebook.
Every other answer is computed here on MXNet: yes/no answers by trying the claim on tensors, shapes
and lengths by asking MXNet, norms by ``np.linalg.norm`` itself.
"""

from __future__ import annotations

import numpy as onp
from mxnet import np, npx

from d2lgrade.judging.reference import Function, Misconception, Region, Value, regions
from solutions.context import default_context
from solutions.domain import all_zero, has_negative, has_positive, ndim, ndim_at_least, square, values

npx.set_np()
CTX = default_context()

LEN_AXIS_OPTIONS = ("axis 0", "axis 1", "the last axis", "the longest axis", "no fixed axis")
"""Exercise 5's options, as the notebook lists them."""


def section_matrix() -> np.ndarray:
    """``A`` of §2.3.3: ``np.arange(20).reshape(5, 4)``."""
    return np.arange(20, ctx=CTX).reshape(5, 4)


def section_tensor() -> np.ndarray:
    """``X`` of §2.3.4: ``np.arange(24).reshape(2, 3, 4)``."""
    return np.arange(24, ctx=CTX).reshape(2, 3, 4)


def _random(shape: tuple[int, ...], seed: int, low: float = -5.0, high: float = 5.0) -> np.ndarray:
    rng = onp.random.default_rng(seed)
    return np.array(rng.uniform(low, high, size=shape), dtype="float32", ctx=CTX)


# Exercise 3: A + A^T is symmetric for every square A (the proof is the FREE part).

def sum_with_transpose_symmetric() -> bool:
    """Checked on random square matrices of several sizes: S = A + A^T equals S^T exactly."""
    checks = []
    for n, seed in zip((1, 2, 3, 5, 8), range(2301, 2306)):
        A = _random((n, n), seed)
        S = A + A.T
        checks.append(bool((S == S.T).all()))
    return all(checks)


# Exercises 4 and 5: len() of a tensor.

def len_of_section_tensor() -> int:
    return len(section_tensor())


def len_axis() -> str:
    """The axis whose length len() gives, found by comparing len(X) with X.shape on many shapes."""
    shapes = [(2, 3, 4), (4, 3, 2), (1, 5), (7,), (3, 3), (2, 1, 6, 5), (5, 2, 2, 2, 3)]
    tensors = [np.zeros(s, ctx=CTX) for s in shapes]
    if all(len(X) == X.shape[0] for X in tensors):
        return "axis 0"
    return "no fixed axis"


# Exercise 6: A / A.sum(axis=1).

def naive_division_raises() -> bool:
    """True if MXNet refuses ``A / A.sum(axis=1)`` for the section's 5x4 ``A`` (shapes (5, 4) and (5,))."""
    A = section_matrix()
    try:
        (A / A.sum(axis=1)).wait_to_read()
    except Exception:  # noqa: BLE001 - any error counts; its text is MXNet's business
        return True
    return False


def row_normalize(A: np.ndarray) -> np.ndarray:
    """Divide each row by its sum: keepdims keeps the sums as an (m, 1) column that broadcasts along rows."""
    return A / A.sum(axis=1, keepdims=True)


def row_normalize_cases() -> list[tuple[np.ndarray]]:
    """Square matrices (where ``A / A.sum(axis=1)`` runs but divides columns), tall, wide, one row."""
    shapes = [(4, 4), (3, 3), (6, 2), (2, 7), (1, 5), (5, 4)]
    cases = [(_random(s, 2310 + i, low=0.5, high=9.5),) for i, s in enumerate(shapes)]
    # entries of both signs (row sums kept away from 0), and one column: every entry divided by itself
    mixed = onp.array([[3.0, -1.0, 2.5], [-2.0, -4.0, 1.0], [0.5, 6.0, -2.5], [-1.5, 0.0, -0.5]])
    cases += [(np.array(mixed, dtype="float32", ctx=CTX),), (_random((4, 1), 2316, low=0.5, high=9.5),)]
    return cases


ROW_NORMALIZE_DOMAIN = regions(
    "A", square=square, tall=lambda A: A.shape[0] > A.shape[1], wide=lambda A: A.shape[0] < A.shape[1],
    one_row=lambda A: A.shape[0] == 1, one_column=lambda A: A.shape[1] == 1, negative_entries=has_negative)


# Exercise 7: Manhattan distance.

def manhattan(p: np.ndarray, q: np.ndarray) -> np.ndarray:
    """Blocks along avenues plus blocks along streets: the L1 norm of p - q (§2.3.10)."""
    return np.abs(p - q).sum()


def manhattan_cases() -> list[tuple[np.ndarray, np.ndarray]]:
    rng = onp.random.default_rng(2307)
    points = [rng.uniform(-20, 20, size=(2, 2)) for _ in range(6)]
    points.append(onp.array([[3.0, -4.0], [-1.0, 2.0]]))  # coordinates of both signs on both axes
    points.append(onp.array([[5.0, 5.0], [5.0, 5.0]]))  # the same point
    points.append(onp.array([[2.0, -3.0], [2.0, 7.5]]))  # a straight route along one axis
    return [(np.array(p[0], dtype="float32", ctx=CTX), np.array(p[1], dtype="float32", ctx=CTX)) for p in points]


MANHATTAN_DOMAIN = (
    *regions("p", negative_coordinate=has_negative, positive_coordinate=has_positive),
    *regions("q", negative_coordinate=has_negative, positive_coordinate=has_positive),
    Region("the same point", lambda p, q: bool((values(p) == values(q)).all())),
    Region("one coordinate shared (a straight route)", lambda p, q: bool((values(p) == values(q)).sum() == 1)),
    Region("moves of both signs", lambda p, q: has_negative(values(q) - values(p)) and has_positive(
        values(q) - values(p))),
)


def can_travel_diagonally() -> bool:
    """On a grid of avenues and streets the blocks are built over: every path follows the two axes."""
    return False


# Exercise 8: shapes of sums along each axis.

def sum_shapes(shape: tuple[int, ...] = (2, 3, 4)) -> list[tuple[int, ...]]:
    X = np.zeros(shape, ctx=CTX)
    return [tuple(X.sum(axis=i).shape) for i in range(len(shape))]


# Exercise 9: np.linalg.norm on tensors with 3 or more axes.

def linalg_norm(X: np.ndarray) -> np.ndarray:
    """What the exercise asks students to reproduce: MXNet's own ``np.linalg.norm(X)``."""
    return np.linalg.norm(X)


def root_sum_of_squares(X: np.ndarray) -> np.ndarray:
    """The answer to "what does it compute?": the square root of the sum of the squares of all entries,
    whatever the number of axes (the L2 norm of X flattened; the Frobenius norm when X is a matrix)."""
    return np.sqrt((X ** 2).sum())


def linalg_norm_cases() -> list[tuple[np.ndarray]]:
    shapes = [(2, 3, 4), (3, 1, 5), (2, 2, 3, 2), (4, 3, 2, 1), (2, 3, 2, 2, 3), (1, 2, 1, 3, 2), (6,), (3, 5)]
    return [(_random(s, 2390 + i),) for i, s in enumerate(shapes)] + [(np.zeros((2, 2, 2), ctx=CTX),)]


NORM_ANY_DOMAIN = regions(
    "X", one_axis=ndim(1), two_axes=ndim(2), three_axes=ndim(3), four_axes=ndim(4),
    five_axes=ndim_at_least(5), negative_entries=has_negative, all_zero=all_zero)
"""Exercise 9: "any number of axes (1 or more)", "entries of both signs"."""

# Known wrong answers (d2lgrade.judging.reference.Misconception): each matched only by a wrong answer.
LEN_X_MISTAKES = (
    Misconception("size", "That is the number of entries; `len` counts along one axis only.",
                  wrong=lambda: int(section_tensor().size), code="len_X = X.size"),
)
ROW_NORMALIZE_MISTAKES = (
    Misconception("column-sums", "`sum(axis=0)` adds down the columns: each entry is divided by its column's sum, "
                  "not its row's.", wrong=lambda A: A / A.sum(axis=0),
                  code="def row_normalize(A):\n    return A / A.sum(axis=0)"),
    Misconception("total-sum", "Divides by the sum of the whole matrix, not by the sum of each row.",
                  wrong=lambda A: A / A.sum(), code="def row_normalize(A):\n    return A / A.sum()"),
)
MANHATTAN_MISTAKES = (
    Misconception("euclidean", "That is the straight-line (Euclidean, L2) distance, which cuts across the blocks.",
                  wrong=lambda p, q: np.linalg.norm(p - q),
                  code="def manhattan(p, q):\n    return np.linalg.norm(p - q)"),
    Misconception("signed-legs", "A leg's length cannot be negative: the differences of coordinates can be.",
                  wrong=lambda p, q: (q - p).sum(), code="def manhattan(p, q):\n    return (q - p).sum()"),
)
SUM_SHAPES_MISTAKES = (
    Misconception("keepdims", "Those are the shapes with `keepdims=True`; a plain sum removes the axis it sums over.",
                  wrong=lambda: [(1, 3, 4), (2, 1, 4), (2, 3, 1)],
                  code="sum_shapes = [(1, 3, 4), (2, 1, 4), (2, 3, 1)]"),
)
NORM_ANY_MISTAKES = (
    Misconception("l1", "The sum of absolute values is the L1 norm; `np.linalg.norm` computes another one.",
                  wrong=lambda X: np.abs(X).sum(), code="def norm_any(X):\n    return np.abs(X).sum()"),
    Misconception("no-sqrt", "The sum of squares is the norm squared: the square root is missing.",
                  wrong=lambda X: (X * X).sum(), code="def norm_any(X):\n    return (X * X).sum()"),
)


REFERENCES = {
    "always_symmetric": Value(sum_with_transpose_symmetric),
    "len_X": Value(len_of_section_tensor, misconceptions=LEN_X_MISTAKES),
    "len_axis": Value(len_axis),
    "naive_raises": Value(naive_division_raises),
    "row_normalize": Function(row_normalize, row_normalize_cases, ROW_NORMALIZE_DOMAIN, misconceptions=ROW_NORMALIZE_MISTAKES),
    "manhattan": Function(manhattan, manhattan_cases, MANHATTAN_DOMAIN, misconceptions=MANHATTAN_MISTAKES),
    "can_go_diagonally": Value(can_travel_diagonally),
    "sum_shapes": Value(sum_shapes, misconceptions=SUM_SHAPES_MISTAKES),
    "norm_any": Function(linalg_norm, linalg_norm_cases, NORM_ANY_DOMAIN, misconceptions=NORM_ANY_MISTAKES),
}
