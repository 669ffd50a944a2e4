"""Reference solutions for §17.2 Eigendecompositions (D2L release 0.16.6, CC BY-SA 4.0)."""

from __future__ import annotations

import numpy as onp
from mxnet import np, npx

from d2lgrade.judging.reference import Function, Misconception, Value, regions
from solutions.context import default_context
from solutions.domain import has_negative, values

npx.set_np()
CTX = default_context()

NULL_TOL = 1e-4
"""Singular values below this (relative to the largest entry) count as zero: float32 arithmetic."""


def exercise1_matrix() -> np.ndarray:
    return np.array([[2, 1], [1, 2]], dtype="float32", ctx=CTX)


def exercise2_matrix() -> np.ndarray:
    return np.array([[2, 1], [0, 2]], dtype="float32", ctx=CTX)


def exercise3_matrix() -> np.ndarray:
    return np.array([[3.0, 0.1, 0.3, 1.0], [0.1, 1.0, 0.1, 0.2], [0.3, 0.1, 5.0, 0.0], [1.0, 0.2, 0.0, 1.8]],
                    dtype="float32", ctx=CTX)


def eigenvalues(A: np.ndarray) -> np.ndarray:
    """The eigenvalues of ``A``, repeated by algebraic multiplicity (real here), in increasing order."""
    return np.sort(np.linalg.eigvals(A))


def eigenvectors(A: np.ndarray) -> np.ndarray:
    """A basis of eigenvectors, one per row: for each distinct eigenvalue λ, the null space of A - λI.

    The null space is read from the SVD (the right singular vectors whose singular value vanishes),
    so a defective matrix gives fewer rows than its size, unlike ``eig``, which always returns n
    columns, some of them (nearly) parallel.
    """
    n = A.shape[0]
    scale = float(np.abs(A).max()) + 1
    distinct: list[float] = []
    for lam in eigenvalues(A).tolist():
        if all(abs(lam - d) > 1e-3 * scale for d in distinct):
            distinct.append(lam)
    rows = []
    for lam in distinct:
        _, s, v = np.linalg.svd(A - lam * np.eye(n, ctx=A.ctx))  # A - λI = ut diag(s) v
        for k in range(n):
            if float(s[k]) <= NULL_TOL * scale:
                rows.append(v[k])
    return np.stack(rows)


def gershgorin_lower_bound(A: np.ndarray) -> float:
    """Exercise 3: every eigenvalue lies in a disc centred at a_ii with radius sum_{j != i} |a_ij|.

    For a symmetric matrix the eigenvalues are real, so none is below min_i (a_ii - r_i).
    """
    radii = np.abs(A).sum(axis=1) - np.abs(np.diag(A))
    return float((np.diag(A) - radii).min())


def gershgorin_cases() -> list[tuple[np.ndarray]]:
    rng = onp.random.default_rng(1723)
    cases = [(exercise3_matrix(),)]
    fixed = [
        [[4.0, -1.0, 0.5], [-1.0, 3.0, -0.5], [0.5, -0.5, 6.0]],  # negative entries: |a_ij| matters
        [[2.0, 1.0], [1.0, 2.0]],
        [[-1.0, 0.2], [0.2, 5.0]],  # a negative diagonal entry gives the bound
    ]
    cases += [(np.array(m, dtype="float32", ctx=CTX),) for m in fixed]
    for n in (3, 5, 6):
        M = rng.normal(size=(n, n))
        S = (M + M.T) / 2 + onp.diag(rng.uniform(-2, 8, size=n))
        cases.append((np.array(S, dtype="float32", ctx=CTX),))
    return cases


def smallest_can_be_below(A: np.ndarray, threshold: float) -> bool:
    """Exercise 3: can the smallest eigenvalue be below ``threshold``? Not if Gershgorin's bound exceeds it."""
    return gershgorin_lower_bound(A) < threshold


GERSHGORIN_DOMAIN = regions(
    "A", size_2=lambda A: A.shape[0] == 2, larger=lambda A: A.shape[0] >= 3, negative_entries=has_negative,
    negative_diagonal=lambda A: bool((values(A).diagonal() < 0).any()),
    negative_off_diagonal=lambda A: bool(((values(A) - onp.diag(values(A).diagonal())) < 0).any()))

# Known wrong answers (d2lgrade.judging.reference.Misconception): each matched only by a wrong answer.
GERSHGORIN_MISTAKES = (
    Misconception("signed-radii", "A Gershgorin radius adds the absolute values of the off-diagonal entries.",
                  wrong=lambda A: float((np.diag(A) - (A.sum(axis=1) - np.diag(A))).min()),
                  code="def gershgorin_lower_bound(A):\n    radii = A.sum(axis=1) - np.diag(A)\n"
                       "    return float((np.diag(A) - radii).min())"),
    Misconception("largest-disc", "The bound must hold for every eigenvalue: take the lowest point of all the "
                  "discs, not of one.", wrong=lambda A: float((np.diag(A) - (np.abs(A).sum(axis=1) - np.abs(np.diag(A)))).max()),
                  code="def gershgorin_lower_bound(A):\n    radii = np.abs(A).sum(axis=1) - np.abs(np.diag(A))\n"
                       "    return float((np.diag(A) - radii).max())"),
)


REFERENCES = {
    "eigvals1": Value(lambda: eigenvalues(exercise1_matrix())),
    "eigvecs1": Value(lambda: eigenvectors(exercise1_matrix())),
    "eigvals2": Value(lambda: eigenvalues(exercise2_matrix())),
    "eigvecs2": Value(lambda: eigenvectors(exercise2_matrix())),
    "gershgorin_lower_bound": Function(gershgorin_lower_bound, gershgorin_cases, GERSHGORIN_DOMAIN,
                                       misconceptions=GERSHGORIN_MISTAKES),
    "below_half_possible": Value(lambda: smallest_can_be_below(exercise3_matrix(), 0.5)),
}
