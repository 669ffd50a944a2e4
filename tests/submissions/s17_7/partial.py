# %% ex1_alpha_hat_answer
alpha_hat = 1 / 3
# %% ex1_alpha_mle_answer
def alpha_mle(xs):
    return 1 / xs.sum()  # forgets the factor n from the n log(alpha) term
# %% ex2_gaussian_mean_mle_answer
def gaussian_mean_mle(x):
    import numpy
    return float(numpy.median(x.asnumpy()))  # the median: equal to the mean only for symmetric samples
