"""Reference solutions for §17.1 Geometry and Linear Algebraic Operations (D2L release 0.16.6, CC BY-SA 4.0)."""

from __future__ import annotations

import math

import numpy as onp
from mxnet import np, npx

from d2lgrade.judging.reference import Function, Misconception, Value, regions
from solutions.context import default_context
from solutions.domain import values

npx.set_np()
CTX = default_context()

ORTHOGONAL_ATOL = 1e-6
"""Exercise 6: a dot product this small counts as zero (the tolerance the notebook states)."""


def angle(v: np.ndarray, w: np.ndarray) -> float:
    """Exercise 1: the angle of §17.1.2, arccos of the normalized dot product, in radians."""
    cosine = np.dot(v, w) / (np.linalg.norm(v) * np.linalg.norm(w))
    return float(np.arccos(np.clip(cosine, -1, 1)))


def exercise1_vectors() -> tuple[np.ndarray, np.ndarray]:
    v1 = np.array([1, 0, -1, 2], dtype="float32", ctx=CTX)
    v2 = np.array([3, 1, 0, 1], dtype="float32", ctx=CTX)
    return v1, v2


def exercise2_matrices() -> tuple[np.ndarray, np.ndarray]:
    A = np.array([[1, 2], [0, 1]], dtype="float32", ctx=CTX)
    B = np.array([[1, -2], [0, 1]], dtype="float32", ctx=CTX)
    return A, B


def product(A: np.ndarray, B: np.ndarray) -> np.ndarray:
    """Exercise 2: the matrix product AB."""
    return np.dot(A, B)


def are_inverses(A: np.ndarray, B: np.ndarray) -> bool:
    """Exercise 2: B is A's inverse when AB is the identity (for square matrices BA then is too)."""
    identity = np.eye(A.shape[0], ctx=CTX)
    both = np.concatenate([np.abs(np.dot(A, B) - identity), np.abs(np.dot(B, A) - identity)])
    return bool((both < 1e-6).all())


def transformed_area(M: np.ndarray, area: float) -> float:
    """Exercise 3: a linear map scales every area by |det M| (§17.1.8); the sign is orientation only."""
    return float(area * np.abs(np.linalg.det(M)))


def exercise3_matrix() -> np.ndarray:
    return np.array([[2, 3], [1, 2]], dtype="float32", ctx=CTX)


def transformed_area_cases() -> list[tuple[np.ndarray, float]]:
    rng = onp.random.default_rng(1703)
    fixed = [
        ([[2, 3], [1, 2]], 100.0),  # the exercise
        ([[0, 1], [1, 0]], 5.0),  # a reflection: det = -1, the area is unchanged
        ([[1, 4], [2, 3]], 2.5),  # det = -5: a naive area * det is negative
        ([[1, 2], [2, 4]], 10.0),  # singular: the figure collapses onto a line
        ([[3, 0], [0, 0.5]], 7.0),
        ([[0.5, -1.5], [2, 1]], 0.25),  # an area below 1
    ]
    cases = [(np.array(m, dtype="float32", ctx=CTX), a) for m, a in fixed]
    for _ in range(3):
        cases.append((np.array(rng.normal(size=(2, 2)), dtype="float32", ctx=CTX), float(rng.uniform(1, 50))))
    return cases


VECTOR_SETS = {
    "S1": [[1, 0, -1], [2, 1, -1], [3, 1, 1]],
    "S2": [[3, 1, 1], [1, 1, 1], [0, 0, 0]],
    "S3": [[1, 1, 0], [0, 1, -1], [1, 0, 1]],
}


def independent_sets() -> set[str]:
    """Exercise 4: a set of vectors is linearly independent when the matrix they form has full rank."""
    chosen = set()
    for label, vectors in VECTOR_SETS.items():
        V = np.array(vectors, dtype="float32", ctx=CTX)
        if int(np.linalg.matrix_rank(V)) == len(vectors):
            chosen.add(label)
    return chosen


def outer_product_determinants_vanish(trials: int = 200) -> bool:
    """Exercise 5: det([c; d] [a, b]) over many random a, b, c, d; True if it is always zero."""
    rng = onp.random.default_rng(1705)
    for _ in range(trials):
        a, b, c, d = rng.normal(size=4) * 10
        A = np.dot(np.array([[c], [d]], ctx=CTX), np.array([[a, b]], ctx=CTX))
        scale = float(np.abs(A).max()) ** 2 + 1
        if abs(float(np.linalg.det(A))) > 1e-5 * scale:
            return False
    return True


def images_orthogonal(A: np.ndarray) -> bool:
    """Exercise 6: Ae1 and Ae2 are A's columns; they are orthogonal when their dot product is zero."""
    e1 = np.array([1, 0], dtype=A.dtype, ctx=A.ctx)
    e2 = np.array([0, 1], dtype=A.dtype, ctx=A.ctx)
    return bool(np.abs(np.dot(np.dot(A, e1), np.dot(A, e2))) <= ORTHOGONAL_ATOL)


def images_orthogonal_cases() -> list[tuple[np.ndarray]]:
    rng = onp.random.default_rng(1706)
    fixed = [
        # True: orthogonal columns
        [[1, -4], [2, 2]],  # ... while the rows are not: checking A A^T (rows) fails here
        [[3, 2], [-6, 1]],
        [[1, -2], [1, 2]],
        [[2, 0], [0, 3]],  # ... without A being an orthogonal matrix (A^T A = diag(4, 9), not I)
        [[2, -2], [2, 2]],  # a scaled rotation
        [[0.6, -0.56], [0.8, 0.42]],  # in float32 the dot product is about -3e-8, not exactly 0
        [[0, 5], [0, 1]],  # Ae1 = 0 is orthogonal to every vector
        # False
        [[1, 2], [4, -2]],  # rows orthogonal, columns not
        [[2, 4], [2, -1]],  # rows orthogonal, columns not
        [[3, 1], [1, 3]],
        [[1, 2], [2, 4]],  # singular, parallel columns
        [[2, 3], [1, 1]],
    ]
    cases = [(np.array(m, dtype="float32", ctx=CTX),) for m in fixed]
    for _ in range(4):  # random matrices: almost surely not orthogonal
        cases.append((np.array(rng.normal(size=(2, 2)), dtype="float32", ctx=CTX),))
    return cases


TRACE_A4 = "ij,jk,kl,li->"


def trace_a4_subscripts() -> str:
    """Exercise 7: tr(A^4) = a_ij a_jk a_kl a_li; checked here against MXNet on a random matrix."""
    A = np.random.normal(size=(5, 5), ctx=CTX)
    want = np.trace(np.dot(np.dot(A, A), np.dot(A, A)))
    got = np.einsum(TRACE_A4, A, A, A, A)
    assert abs(float(got - want)) <= 1e-3 * (1 + abs(float(want))), "trace subscripts disagree with MXNet"
    return TRACE_A4


def _det(M: np.ndarray) -> float:
    m = values(M)
    return float(m[0, 0] * m[1, 1] - m[0, 1] * m[1, 0])


TRANSFORMED_AREA_DOMAIN = (
    *regions("M", keeps_orientation=lambda M: _det(M) > 0, flips_orientation=lambda M: _det(M) < 0,
             singular=lambda M: _det(M) == 0),
    *regions("area", below_1=lambda a: a < 1, above_1=lambda a: a > 1),
)
IMAGES_ORTHOGONAL_DOMAIN = regions(
    "A", orthogonal=lambda A: images_orthogonal(A), not_orthogonal=lambda A: not images_orthogonal(A),
    a_zero_column=lambda A: bool((abs(values(A)).sum(axis=0) == 0).any()),
    rows_orthogonal_columns_not=lambda A: abs(float((values(A)[0] * values(A)[1]).sum())) <= 1e-6
    and not images_orthogonal(A),
    negative_entries=lambda A: bool((values(A) < 0).any()))

# Known wrong answers (d2lgrade.judging.reference.Misconception): each matched only by a wrong answer.
THETA_MISTAKES = (
    Misconception("degrees", "The angle is asked in radians, not degrees.",
                  wrong=lambda: math.degrees(angle(*exercise1_vectors())),
                  code="import math\ncos_theta = float(np.dot(v1, v2)) / math.sqrt(float(np.dot(v1, v1)) * "
                       "float(np.dot(v2, v2)))\ntheta = math.degrees(math.acos(cos_theta))"),
)
P_MISTAKES = (
    Misconception("entrywise", "`*` multiplies entry by entry; the matrix product is `np.dot` (or `@`).",
                  wrong=lambda: exercise2_matrices()[0] * exercise2_matrices()[1], code="P = A2 * B2"),
)
TRANSFORMED_AREA_MISTAKES = (
    Misconception("signed-area", "The determinant's sign is the orientation, not the area: an area is never "
                  "negative.", wrong=lambda M, area: float(area * np.linalg.det(M)),
                  code="def transformed_area(M, area):\n    return area * float(np.linalg.det(M))"),
)
IMAGES_ORTHOGONAL_MISTAKES = (
    Misconception("rows", "The images of the basis vectors are the columns of A, not its rows.",
                  wrong=lambda A: bool(abs(float(np.dot(A[0], A[1]))) <= 1e-6),
                  code="def images_orthogonal(A):\n    return bool(abs(float(np.dot(A[0], A[1]))) <= 1e-6)"),
)


REFERENCES = {
    "theta": Value(lambda: angle(*exercise1_vectors()), misconceptions=THETA_MISTAKES),
    "P": Value(lambda: product(*exercise2_matrices()), misconceptions=P_MISTAKES),
    "inverses": Value(lambda: are_inverses(*exercise2_matrices())),
    "new_area": Value(lambda: transformed_area(exercise3_matrix(), 100.0)),
    "transformed_area": Function(transformed_area, transformed_area_cases, TRANSFORMED_AREA_DOMAIN,
                                 misconceptions=TRANSFORMED_AREA_MISTAKES),
    "independent": Value(independent_sets),
    "det_always_zero": Value(outer_product_determinants_vanish),
    "images_orthogonal": Function(images_orthogonal, images_orthogonal_cases, IMAGES_ORTHOGONAL_DOMAIN,
                                  misconceptions=IMAGES_ORTHOGONAL_MISTAKES),
    "trace_A4": Value(trace_a4_subscripts),
}
