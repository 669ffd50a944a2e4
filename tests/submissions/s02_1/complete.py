# %% ex1_lt_answer
lt = X < Y
# %% ex1_gt_answer
gt = X > Y
# %% ex1_count_greater_answer
def count_greater(A, B):
    # a boolean tensor sums like 0/1; .item() turns the 0-d result into a Python number
    return int((A > B).sum().item())
# %% ex2_c_answer
c = a + b
print(c.shape)
# %% ex2_broadcast_shape_answer
def broadcast_shape(shape_a, shape_b):
    # pad the shorter shape with leading 1s, then take the larger length on each axis
    n = max(len(shape_a), len(shape_b))
    a = [1] * (n - len(shape_a)) + list(shape_a)
    b = [1] * (n - len(shape_b)) + list(shape_b)
    return [max(x, y) for x, y in zip(a, b)]  # a list is fine where a shape is asked
