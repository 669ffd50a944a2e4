# %% ex1_theta_answer
import math
cos_theta = float(np.dot(v1, v2)) / math.sqrt(float(np.dot(v1, v1)) * float(np.dot(v2, v2)))
theta = math.degrees(math.acos(cos_theta))  # degrees where radians are asked
# %% ex2_P_answer
P = A2 * B2  # entrywise product, not the matrix product
# %% ex2_inverses_answer
inverses = True
# %% ex3_new_area_answer
new_area = 100 * float(np.linalg.det(M3))
# %% ex3_transformed_area_answer
def transformed_area(M, area):
    return area * float(np.linalg.det(M))  # forgets the absolute value: negative areas
# %% ex4_independent_answer
independent = {"S1", "S3"}  # misses that the third vector of S3 is the difference of the first two
# %% ex5_det_always_zero_answer
det_always_zero = True
# %% ex5_why
I tried a = 1, b = 2, c = 3, d = 4 and got determinant 0.
# %% ex6_images_orthogonal_answer
def images_orthogonal(A):
    # checks the rows of A instead of its columns
    return bool(abs(float(np.dot(A[0], A[1]))) <= 1e-6)
# %% ex7_trace_A4_answer
trace_A4 = "ij,jk,kl,li->"
