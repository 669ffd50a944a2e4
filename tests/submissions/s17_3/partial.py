# %% ex1_d_cubic_answer
def d_cubic(x):
    # right, through the notebook's autograd helper
    return autograd_derivative(lambda t: t ** 3 - 4 * t + 1, x)
# %% ex2_d_log_inv_answer
def d_log_inv(x):
    return 1 / x  # sign lost: log(1/x) = -log(x)
# %% ex3_extremum_claim_answer
extremum_claim = False
# %% ex3_counterexample
False, for example f(x) = x² at x = 1.
# %% ex4_x_min_answer
x_min = 0.0  # takes the endpoint, where f = 0
