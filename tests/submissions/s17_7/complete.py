# %% ex1_alpha_hat_answer
# log L = log(alpha) - 3 alpha; d/dalpha = 1/alpha - 3 = 0; the second derivative -1/alpha^2 < 0
alpha_hat = 1 / 3
# %% ex1_alpha_mle_answer
def alpha_mle(xs):
    # log L = n log(alpha) - alpha * sum(x)  =>  alpha = n / sum(x)
    return xs.shape[0] / xs.sum()  # a 0-d array
# %% ex2_gaussian_mean_mle_answer
def gaussian_mean_mle(x):
    # -log L = sum (x_i - mu)^2 / 2 + const; derivative -sum(x_i - mu) = 0  =>  mu = mean
    return float(x.mean())
