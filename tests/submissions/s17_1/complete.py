# %% ex1_theta_answer
import math
cos_theta = float(np.dot(v1, v2)) / math.sqrt(float(np.dot(v1, v1)) * float(np.dot(v2, v2)))
theta = math.acos(cos_theta)
# %% ex2_P_answer
P = A2 @ B2
# %% ex2_inverses_answer
inverses = bool((np.abs(P - np.eye(2)) < 1e-6).all())
# %% ex3_new_area_answer
new_area = 100 * abs(float(np.linalg.det(M3)))
# %% ex3_transformed_area_answer
def transformed_area(M, area):
    # the area scales by |det M| = |ad - bc|; the sign only records a flip of orientation
    a, b, c, d = float(M[0, 0]), float(M[0, 1]), float(M[1, 0]), float(M[1, 1])
    return abs(a * d - b * c) * area
# %% ex4_independent_answer
independent = [name for name, S in [("S1", S1), ("S2", S2), ("S3", S3)]
               if abs(float(np.linalg.det(S))) > 1e-6]
# %% ex5_det_always_zero_answer
det_always_zero = True
# %% ex5_why
True: A = [[ca, cb], [da, db]], so det A = ca·db − cb·da = 0 for all a, b, c, d. Both columns are multiples of (c, d), so A has rank 1.
# %% ex6_images_orthogonal_answer
def images_orthogonal(A):
    # A e1 and A e2 are the columns of A: they are orthogonal when the off-diagonal entry of A^T A is 0
    gram = np.dot(A.T, A)
    return bool(abs(float(gram[0, 1])) <= 1e-6)
# %% ex7_trace_A4_answer
trace_A4 = "ab, bc, cd, da ->"
