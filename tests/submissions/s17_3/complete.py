# %% ex1_d_cubic_answer
def d_cubic(x):
    return 3 * x ** 2 - 4
# %% ex2_d_log_inv_answer
def d_log_inv(x):
    # log(1/x) = -log(x)
    return -1 / x
# %% ex3_extremum_claim_answer
extremum_claim = False
# %% ex3_counterexample
False. f(x) = x³ has f'(0) = 3·0² = 0, but f(x) < 0 for x < 0 and f(x) > 0 for x > 0, so 0 is neither a maximum nor a minimum.
# %% ex4_x_min_answer
import math
x_min = np.array(math.exp(-1))  # f'(x) = log(x) + 1 = 0; a 0-d array is fine
