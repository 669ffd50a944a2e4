# %% ex1_proof
Let $\mathbf{A} \in \mathbb{R}^{m \times n}$ and $\mathbf{B} = \mathbf{A}^\top$, which is $n \times m$ with
$b_{ij} = a_{ji}$. Then $\mathbf{B}^\top$ is $m \times n$ again, and its $(i, j)$ entry is
$b_{ji} = a_{ij}$ for all $i, j$. Same shape, same entries, so $(\mathbf{A}^\top)^\top = \mathbf{A}$.
# %% ex2_proof
The sum needs $\mathbf{A}, \mathbf{B} \in \mathbb{R}^{m \times n}$ (same shape). Both sides are $n \times m$ and
$[(\mathbf{A}+\mathbf{B})^\top]_{ij} = [\mathbf{A}+\mathbf{B}]_{ji} = a_{ji} + b_{ji} = [\mathbf{A}^\top]_{ij} + [\mathbf{B}^\top]_{ij}$,
so the two matrices are equal.
# %% ex3_always_symmetric_answer
B = np.random.normal(size=(4, 4))
S = B + B.T
print((S == S.T).all())
always_symmetric = True
# %% ex3_why
$(\mathbf{A} + \mathbf{A}^\top)^\top = \mathbf{A}^\top + (\mathbf{A}^\top)^\top = \mathbf{A}^\top + \mathbf{A} = \mathbf{A} + \mathbf{A}^\top$
by exercises 2 and 1 and because addition commutes, so it equals its transpose.
# %% ex4_len_X_answer
len_X = len(X)
# %% ex5_len_axis_answer
for shape in [(2, 3, 4), (4, 3, 2), (7,), (1, 5), (3, 2, 2, 6)]:
    T = np.zeros(shape)
    print(shape, len(T))
len_axis = "  Axis 0 "  # case and surrounding spaces do not matter
# %% ex6_naive_raises_answer
try:
    A / A.sum(axis=1)
    naive_raises = False
except Exception as e:
    print(type(e).__name__)
    naive_raises = True
# %% ex6_row_normalize_answer
def row_normalize(A):
    # turn the row sums into a column (m, 1) so that broadcasting divides along each row
    return A / A.sum(axis=1).reshape(-1, 1)
# %% ex7_manhattan_answer
def manhattan(p, q):
    return float(abs(p[0] - q[0]) + abs(p[1] - q[1]))
# %% ex7_can_go_diagonally_answer
can_go_diagonally = False
# %% ex8_sum_shapes_answer
sum_shapes = [list(X.sum(axis=i).shape) for i in range(3)]  # lists work as shapes too
# %% ex9_norm_any_answer
def norm_any(X):
    # square root of the sum of squares of all entries, whatever the number of axes
    return np.sqrt((X * X).sum())
