# %% ex1_d_cubic_answer
def d_cubic(x):
    return 3 * x ** 2 - 4 * x  # keeps the x of -4x
# %% ex2_d_log_inv_answer
def d_log_inv(x):
    return 1 / x  # sign lost: log(1/x) = -log(x)
# %% ex3_extremum_claim_answer
extremum_claim = False
# %% ex3_counterexample
False, for example f(x) = x² at x = 1.
# %% ex4_x_min_answer
x_min = 0.0  # takes the endpoint, where f = 0
