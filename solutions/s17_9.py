"""Reference solutions for §17.9 Statistics (D2L release 0.16.6, CC BY-SA 4.0).

Exercise 1: exact bias, standard deviation and MSE of the two estimators of theta for Unif(0, theta),
each checked at build time against a Monte Carlo estimate on MXNet. Exercise 3: the confidence
interval of §17.9.3 and the statistical bounds that judge simulated intervals.
"""

from __future__ import annotations

import functools
import math

import numpy as onp
from mxnet import np, npx

from d2lgrade.judging.reference import Function, Misconception, Value, regions
from solutions.context import default_context
from solutions.domain import values

npx.set_np()
CTX = default_context()

# ---------------------------------------------------------------- exercise 1: two estimators


def max_estimator_stats(theta: float, n: int) -> np.ndarray:
    """[bias, std, MSE] of max(X_1..X_n), X_i ~ Unif(0, theta).

    P(max <= t) = (t / theta)^n, so E[max] = n theta / (n + 1) and E[max^2] = n theta^2 / (n + 2).
    """
    theta = np.array(theta, dtype="float64", ctx=CTX)
    mean = n * theta / (n + 1)
    var = n * theta**2 / (n + 2) - mean**2
    bias = mean - theta
    return np.stack([bias, np.sqrt(var), var + bias**2])


def twice_mean_stats(theta: float, n: int) -> np.ndarray:
    """[bias, std, MSE] of 2 * mean(X_1..X_n): unbiased, Var = 4 (theta^2 / 12) / n."""
    theta = np.array(theta, dtype="float64", ctx=CTX)
    var = 4 * theta**2 / 12 / n
    bias = 2 * theta / 2 - theta
    return np.stack([bias, np.sqrt(var), var + bias**2])


def monte_carlo_stats(estimator: str, theta: float, n: int, trials: int = 200_000, seed: int = 0):
    """Monte Carlo [bias, variance, MSE] and their standard errors, from ``trials`` datasets on MXNet."""
    npx.random.seed(seed)
    X = np.random.uniform(0, theta, size=(trials, n), ctx=CTX).astype("float64")
    est = X.max(axis=1) if estimator == "max" else 2 * X.mean(axis=1)
    err, dev = est - theta, est - est.mean()
    values = np.stack([err.mean(), (dev**2).mean(), (err**2).mean()])
    errors = np.stack([err.std(), (dev**2).std(), (err**2).std()]) / math.sqrt(trials)
    return values.asnumpy(), errors.asnumpy()


def stats_cases() -> list[tuple[float, int]]:
    # n = 1 and 2: the two MSEs tie; larger n: the max wins. Several scales of theta.
    return [(1.0, 1), (2.5, 2), (0.3, 3), (4.0, 10), (7.0, 50), (1.0, 100)]


@functools.cache
def validated_stats_cases() -> tuple[tuple[float, int], ...]:
    """The hidden cases, after checking both exact formulas against Monte Carlo at each of them."""
    for theta, n in stats_cases():
        for name, exact_fn in (("max", max_estimator_stats), ("twice_mean", twice_mean_stats)):
            bias, std, mse = exact_fn(theta, n).asnumpy()
            mc, se = monte_carlo_stats(name, theta, n)
            exact = onp.array([bias, std**2, mse])
            slack = 6 * se + 1e-12 * theta**2
            assert (abs(mc - exact) <= slack).all(), (
                f"{name} estimator at theta={theta}, n={n}: exact {exact} vs Monte Carlo {mc} (6 SE: {slack})")
    return tuple(stats_cases())


def better_estimator() -> str:
    """Exercise 1: compare the MSEs for every n >= 3 (they tie at n = 1, 2): the max wins throughout."""
    wins = [float(max_estimator_stats(1.0, n)[2]) < float(twice_mean_stats(1.0, n)[2]) for n in range(3, 1001)]
    ties = [abs(float(max_estimator_stats(1.0, n)[2]) - float(twice_mean_stats(1.0, n)[2])) < 1e-15 for n in (1, 2)]
    assert all(ties)
    return "max" if all(wins) else ("twice_mean" if not any(wins) else "neither")


# ---------------------------------------------------------------- exercise 3: confidence intervals


def confidence_interval(samples: np.ndarray, t_star: float) -> np.ndarray:
    """The interval (17.9.13) with t_star: mean -/+ t_star * sigma_hat / sqrt(N), sigma_hat with ddof=1."""
    x = np.array(samples, dtype="float64", ctx=CTX).reshape(-1)
    N = x.shape[0]
    mu_hat = x.mean()
    sigma_hat = x.std(ddof=1)
    half = t_star * sigma_hat / math.sqrt(N)
    return np.stack([mu_hat - half, mu_hat + half])


def confidence_interval_cases() -> list[tuple[np.ndarray, float]]:
    rng = onp.random.default_rng(1709)
    cases = [(rng.normal(0, 1, size=2), 1.0) for _ in range(4)]
    cases.append((onp.array([3.0, 3.0]), 1.0))                       # zero width
    cases.append((rng.normal(5, 2, size=5), 2.776))                    # N = 5: sqrt(N) is not sqrt(2)
    cases.append((rng.normal(-1, 3, size=1000), 1.96))                 # the book's setting
    return [(np.array(s, ctx=CTX), t) for s, t in cases]


def simulate_intervals(seed: int, num_datasets: int, N: int = 2, t_star: float = 1.0) -> np.ndarray:
    """``num_datasets`` intervals, one per dataset of N samples of N(0, 1), as rows [lower, upper]."""
    npx.random.seed(seed)
    samples = np.random.normal(0, 1, size=(num_datasets, N), ctx=CTX).astype("float64")
    mu_hat = samples.mean(axis=1)
    half = t_star * samples.std(axis=1, ddof=1) / math.sqrt(N)
    return np.stack([mu_hat - half, mu_hat + half], axis=1)


def summarize(intervals: np.ndarray) -> np.ndarray:
    """[fraction of the intervals that contain 0, mean width]."""
    covered = ((intervals[:, 0] <= 0) & (intervals[:, 1] >= 0)).astype("float64")
    return np.stack([covered.mean(), (intervals[:, 1] - intervals[:, 0]).mean()])


@functools.cache
def interval_truth(t_star: float = 1.0) -> tuple[tuple[float, float], tuple[float, float]]:
    """Per-dataset mean and standard deviation of (covered, width) for N = 2 samples of N(0, 1).

    With N = 2, T = (mu_hat - 0) / (sigma_hat / sqrt 2) has Student's t with 1 degree of freedom (the
    Cauchy law), so P(|T| <= t) = 2 arctan(t) / pi; the width is t_star |X_1 - X_2|, and X_1 - X_2 is
    N(0, 2). Checked here against two million simulated datasets on MXNet.
    """
    t = np.array(t_star, dtype="float64", ctx=CTX)
    p = float(2 * np.arctan(t) / math.pi)
    mean_width = float(t * 2 / math.sqrt(math.pi))
    sd_width = float(t * math.sqrt(2 - 4 / math.pi))
    mc = summarize(simulate_intervals(17, 2_000_000, t_star=t_star)).asnumpy()
    assert abs(mc[0] - p) < 6 * math.sqrt(p * (1 - p) / 2e6), (mc, p)
    assert abs(mc[1] - mean_width) < 6 * sd_width / math.sqrt(2e6), (mc, mean_width)
    return (p, mean_width), (math.sqrt(p * (1 - p)), sd_width)


def interval_summary_bounds(seed: int, num_datasets: int) -> np.ndarray:
    """Interval judgement: [lower; upper] bounds for [coverage, mean width] of ``num_datasets`` intervals.

    Five standard errors of a ``num_datasets``-dataset average around the truth: a right simulation
    falls outside with probability below 1e-6; ``seed`` does not move the bounds.
    """
    (p, w), (sd_p, sd_w) = interval_truth()
    mean = np.array([p, w], dtype="float64", ctx=CTX)
    half = 5 * np.array([sd_p, sd_w], dtype="float64", ctx=CTX) / math.sqrt(num_datasets)
    return np.stack([mean - half, mean + half])


def interval_summary_cases() -> list[tuple[int, int]]:
    return [(0, 100), (1, 100), (2, 20_000), (3, 50_000)]


def interval_summary(seed: int, num_datasets: int) -> np.ndarray:
    """What a student's function computes (used by the notebook's solution cells, not to judge)."""
    return summarize(simulate_intervals(seed, num_datasets))


def plot_intervals(intervals: np.ndarray) -> None:
    """Exercise 3: one horizontal segment per interval, red when it misses the true mean 0."""
    import matplotlib.pyplot as plt

    iv = intervals.asnumpy()
    misses = (iv[:, 0] > 0) | (iv[:, 1] < 0)
    plt.figure(figsize=(6, 8))
    for i, (lo, hi) in enumerate(iv):
        plt.hlines(i, lo, hi, colors="tab:red" if misses[i] else "tab:blue")
    plt.axvline(0, color="black", linestyle="--")
    plt.xlabel("interval for the mean (true mean 0)")
    plt.ylabel("dataset")
    plt.title(f"{len(iv)} intervals, N = 2, t_star = 1.0: {int(misses.sum())} miss 0")
    plt.show()


STATS_DOMAIN = (*regions("theta", below_1=lambda t: t < 1, above_1=lambda t: t > 1),
                *regions("n", one=lambda n: n == 1, two=lambda n: n == 2, large=lambda n: n >= 50))
CONFIDENCE_DOMAIN = (
    *regions("samples", two=lambda s: s.size == 2, more=lambda s: 2 < s.size < 100, many=lambda s: s.size >= 1000,
             equal_samples=lambda s: float(values(s).std()) == 0),
    *regions("t_star", one=lambda t: t == 1, other=lambda t: t != 1),
)
SUMMARY_DOMAIN = regions("num_datasets", the_books_100=lambda k: k == 100, tens_of_thousands=lambda k: k >= 20_000)

# Known wrong answers (d2lgrade.judging.reference.Misconception): each matched only by a wrong answer.
MAX_STATS_MISTAKES = (
    Misconception("bias-sign", "The bias is E[estimate] - theta: the maximum undershoots theta.",
                  wrong=lambda theta, n: max_estimator_stats(theta, n) * np.array([-1.0, 1.0, 1.0], dtype="float64", ctx=CTX),
                  code="def max_estimator_stats(theta, n):\n    bias = theta / (n + 1)\n"
                       "    var = n * theta**2 / ((n + 1)**2 * (n + 2))\n    return [bias, var**0.5, var + bias**2]"),
    Misconception("variance-for-std", "The middle entry is the standard deviation, not the variance.",
                  wrong=lambda theta, n: _with_variance(max_estimator_stats(theta, n)),
                  code="def max_estimator_stats(theta, n):\n    bias = -theta / (n + 1)\n"
                       "    var = n * theta**2 / ((n + 1)**2 * (n + 2))\n    return [bias, var, var + bias**2]"),
)
TWICE_MEAN_MISTAKES = (
    Misconception("variance-for-std", "The middle entry is the standard deviation, not the variance.",
                  wrong=lambda theta, n: _with_variance(twice_mean_stats(theta, n)),
                  code="def twice_mean_stats(theta, n):\n    var = theta**2 / (3 * n)\n    return [0.0, var, var]"),
    Misconception("variance-of-one-draw", "Var(2 X̄) = 4 Var(X̄) = 4 Var(X) / n: the factor 4 or the 1/n is missing.",
                  wrong=lambda theta, n: [0.0, theta / math.sqrt(12 * n), theta**2 / (12 * n)],
                  code="def twice_mean_stats(theta, n):\n    var = theta**2 / (12 * n)\n    return [0.0, var**0.5, var]"),
)
BETTER_MISTAKES = (
    Misconception("unbiased-is-better", "Unbiased is not the same as better: compare the mean squared errors.",
                  wrong="twice_mean", code='better = "twice_mean"'),
)
CONFIDENCE_MISTAKES = (
    Misconception("ddof-0", "The interval uses the sample standard deviation with ddof=1 (17.9.9).",
                  wrong=lambda s, t: _interval(s, t, ddof=0),
                  code="def confidence_interval(samples, t_star):\n    N = samples.shape[0]\n"
                       "    half = t_star * samples.std() / np.sqrt(N)\n"
                       "    return [samples.mean() - half, samples.mean() + half]"),
    Misconception("no-sqrt-n", "The standard error of the mean divides the standard deviation by sqrt(N).",
                  wrong=lambda s, t: _interval(s, t, ddof=1, sqrt_n=False),
                  code="def confidence_interval(samples, t_star):\n    half = t_star * samples.std(ddof=1)\n"
                       "    return [samples.mean() - half, samples.mean() + half]"),
)


def _with_variance(stats: np.ndarray) -> np.ndarray:
    """[bias, variance, mse] where [bias, standard deviation, mse] is asked."""
    return stats * np.array([1.0, 0.0, 1.0], dtype="float64", ctx=CTX) + \
        stats ** 2 * np.array([0.0, 1.0, 0.0], dtype="float64", ctx=CTX)


def _interval(samples: np.ndarray, t_star: float, ddof: int, sqrt_n: bool = True) -> np.ndarray:
    s = np.array(samples, dtype="float64", ctx=CTX)
    half = t_star * s.std(ddof=ddof) / (math.sqrt(s.shape[0]) if sqrt_n else 1.0)
    return np.stack([s.mean() - half, s.mean() + half])


REFERENCES = {
    "max_estimator_stats": Function(max_estimator_stats, validated_stats_cases, STATS_DOMAIN, misconceptions=MAX_STATS_MISTAKES),
    "twice_mean_stats": Function(twice_mean_stats, validated_stats_cases, STATS_DOMAIN, misconceptions=TWICE_MEAN_MISTAKES),
    "better": Value(better_estimator, misconceptions=BETTER_MISTAKES),
    "confidence_interval": Function(confidence_interval, confidence_interval_cases, CONFIDENCE_DOMAIN,
                                    misconceptions=CONFIDENCE_MISTAKES),
    "interval_summary": Function(interval_summary_bounds, interval_summary_cases, SUMMARY_DOMAIN),
}
