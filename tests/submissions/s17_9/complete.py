# %% ex1_max_estimator_stats_answer
def max_estimator_stats(theta, n):
    # density of the max: n t^(n-1) / theta^n on [0, theta]
    mean = n * theta / (n + 1)
    second = n * theta**2 / (n + 2)
    var = second - mean**2
    bias = -theta / (n + 1)
    mse = 2 * theta**2 / ((n + 1) * (n + 2))  # = var + bias^2, simplified
    return [bias, var**0.5, mse]
# %% ex1_twice_mean_stats_answer
def twice_mean_stats(theta, n):
    # Var(X_i) = theta^2 / 12, so Var(2 mean) = 4 theta^2 / (12 n) = theta^2 / (3 n)
    sd = theta / np.sqrt(np.array(3.0 * n))
    return np.stack([np.array(0.0), sd, sd**2])
# %% ex1_better_answer
better = "max"
# %% ex2_five_steps
1. H0: the mean score of the test group equals that of the control group; HA: they differ (two-sided).
2. alpha = 0.05 (2.5% in each tail), power 0.8.
3. Pick the smallest difference d we care about and the group size n ≈ 2 (1.96 + 0.84)^2 sigma^2 / d^2
   per group; randomly split the volunteers, one group takes the medicine, the other a placebo.
4. Compute the two-sample t statistic (mean_T - mean_C) / sqrt(s_T^2/n_T + s_C^2/n_C) and its two-sided p-value.
5. Reject H0 if p <= 0.05, otherwise we don't have evidence of an effect.
# %% ex3_confidence_interval_answer
def confidence_interval(samples, t_star):
    N = samples.shape[0]
    mu_hat = samples.mean()
    sigma_hat = samples.std(ddof=1)
    half = t_star * sigma_hat / np.sqrt(N)
    return np.stack([mu_hat - half, mu_hat + half])
# %% ex3_interval_summary_answer
def simulate_intervals(seed, num_datasets):
    npx.random.seed(seed)
    data = np.random.normal(0, 1, size=(num_datasets, 2))
    mu_hat = data.mean(axis=1)
    half = 1.0 * data.std(axis=1, ddof=1) / np.sqrt(2)
    return np.stack([mu_hat - half, mu_hat + half], axis=1)

def interval_summary(seed, num_datasets):
    iv = simulate_intervals(seed, num_datasets)
    hit = (iv[:, 0] <= 0) * (iv[:, 1] >= 0)
    return [float(hit.mean()), float((iv[:, 1] - iv[:, 0]).mean())]
# %% ex3_plot_code
import matplotlib.pyplot as plt
iv = simulate_intervals(1, 100).asnumpy()
for i, (lo, hi) in enumerate(iv):
    plt.plot([lo, hi], [i, i], color='red' if lo > 0 or hi < 0 else 'blue')
plt.axvline(0, color='k')
plt.show()
# %% ex3_plot
About half of the intervals (red) miss 0. Some of the shortest ones are around 1 or -1 and don't contain 0.
# %% ex3_discussion
No: the 50% is about the procedure, over many datasets half of the intervals contain 0 (my summary gave
about 0.5). A single interval either contains 0 or not. I would not trust a short interval with N = 2:
it is short only because the two samples happened to be close, not because the mean is well estimated.
