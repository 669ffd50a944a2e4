# %% ex1_max_estimator_stats_answer
def max_estimator_stats(theta, n):
    bias = theta / (n + 1)  # sign: the max undershoots theta, so the bias is negative
    var = n * theta**2 / ((n + 1)**2 * (n + 2))
    return [bias, var**0.5, var + bias**2]
# %% ex1_twice_mean_stats_answer
def twice_mean_stats(theta, n):
    var = theta**2 / (3 * n)
    return [0.0, var**0.5, var]
# %% ex1_better_answer
better = "twice_mean"  # "the unbiased one is better"
# %% ex2_five_steps
State H0, choose alpha = 0.05 and power 0.8, collect data, compute the p-value, reject if p < 0.05.
# %% ex3_confidence_interval_answer
def confidence_interval(samples, t_star):
    N = samples.shape[0]
    half = t_star * samples.std() / np.sqrt(N)  # ddof=0: too short, most of all for N = 2
    return [samples.mean() - half, samples.mean() + half]
# %% ex3_interval_summary_answer
def simulate_intervals(seed, num_datasets):
    npx.random.seed(seed)
    data = np.random.normal(0, 1, size=(num_datasets, 2))
    mu_hat = data.mean(axis=1)
    half = 1.96 * data.std(axis=1, ddof=1) / np.sqrt(2)  # the book's t_star, not 1.0
    return np.stack([mu_hat - half, mu_hat + half], axis=1)

def interval_summary(seed, num_datasets):
    iv = simulate_intervals(seed, num_datasets)
    hit = (iv[:, 0] <= 0) * (iv[:, 1] >= 0)
    return np.stack([hit.mean(), (iv[:, 1] - iv[:, 0]).mean()])
# %% ex3_plot_code
import matplotlib.pyplot as plt
iv = simulate_intervals(0, 100).asnumpy()
plt.plot(iv.mean(axis=1), 'o')
plt.show()
# %% ex3_plot
Most intervals contain 0.
# %% ex3_discussion
Yes it contradicts it, the short intervals should contain the mean but they don't.
