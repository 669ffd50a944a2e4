# %% ex1_eigvals1_answer
eigvals1 = np.array([1.0, 3.0])
# %% ex1_eigvecs1_answer
import numpy as onp
w, V = onp.linalg.eig(A1.asnumpy())
eigvecs1 = V  # eig returns eigenvectors as columns; here the rows happen to be eigenvectors too (symmetric)
# %% ex2_eigvals2_answer
eigvals2 = np.array([2.0, 0.0])  # reads the diagonal and the missing entry wrongly
# %% ex2_eigvecs2_answer
w2, V2 = onp.linalg.eig(A2.asnumpy())
eigvecs2 = V2.T  # two columns from eig, but they are parallel: only one eigenvector
# %% ex2_strange
The eigenvalues are the same, 2 and 2, which is strange because in exercise 1 they were different.
# %% ex3_gershgorin_lower_bound_answer
def gershgorin_lower_bound(A):
    # forgets the absolute value of the off-diagonal entries
    radii = A.sum(axis=1) - np.diag(A)
    return float((np.diag(A) - radii).min())
# %% ex3_below_half_possible_answer
below_half_possible = False
