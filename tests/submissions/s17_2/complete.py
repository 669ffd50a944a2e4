# %% ex1_eigvals1_answer
eigvals1 = [3.0, 1.0]  # (2 - λ)^2 - 1 = 0
# %% ex1_eigvecs1_answer
eigvecs1 = np.array([[1.0, 1.0], [-2.0, 2.0]])  # any non-zero multiples
# %% ex2_eigvals2_answer
import numpy as onp
eigvals2 = onp.linalg.eigvals(A2.asnumpy())
# %% ex2_eigvecs2_answer
# A2 - 2I = [[0, 1], [0, 0]]: its null space is spanned by (1, 0) alone
eigvecs2 = [[-3.0, 0.0]]
# %% ex2_strange
The only eigenvalue is 2 (twice), but A − 2I = [[0, 1], [0, 0]] has a one-dimensional null space, so there is only one eigenvector direction, (1, 0). Unlike the symmetric matrix of exercise 1, the eigenvectors do not span the plane, so W is not invertible and A cannot be written as W Σ W⁻¹: it is not diagonalizable.
# %% ex3_gershgorin_lower_bound_answer
def gershgorin_lower_bound(A):
    n = A.shape[0]
    best = None
    for i in range(n):
        radius = sum(abs(float(A[i, j])) for j in range(n) if j != i)
        low = float(A[i, i]) - radius
        best = low if best is None else min(best, low)
    return best
# %% ex3_below_half_possible_answer
below_half_possible = gershgorin_lower_bound(A3) < 0.5
