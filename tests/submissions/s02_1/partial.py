# %% ex1_lt_answer
lt = X <= Y  # wrong operator: positions where X == Y are also True
# %% ex1_gt_answer
gt = X > Y
# %% ex1_count_greater_answer
def count_greater(A, B):
    return (A > B).sum()  # a 0-d array where an int is asked: allowed (an equivalent form)
# %% ex2_c_answer
c = (a + b).T  # transposed: shape (4, 2, 3)
# %% ex2_broadcast_shape_answer
def broadcast_shape(shape_a, shape_b):
    # pads the shorter shape on the wrong side (trailing 1s instead of leading)
    n = max(len(shape_a), len(shape_b))
    a = list(shape_a) + [1] * (n - len(shape_a))
    b = list(shape_b) + [1] * (n - len(shape_b))
    return tuple(max(x, y) for x, y in zip(a, b))
