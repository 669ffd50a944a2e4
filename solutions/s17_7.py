"""Reference solutions for §17.7 Maximum Likelihood (D2L release 0.16.6, CC BY-SA 4.0).

Both estimates are found as the book finds them in §17.7.2: by minimising the negative
log-likelihood with gradients from ``autograd``, not from a closed form.
"""

from __future__ import annotations

import numpy as onp
from mxnet import autograd, np, npx

from d2lgrade.judging.reference import Function, Misconception, Value, regions
from solutions.context import default_context
from solutions.domain import has_negative, largest, smallest, values

npx.set_np()
CTX = default_context()


def exponential_rate_mle(xs, steps: int = 200, lr: float = 0.5) -> float:
    """Exercise 1 (corrected): the MLE of alpha for the density alpha * exp(-alpha x), x >= 0.

    The negative log-likelihood of the data is -(n log(alpha) - alpha * sum(x)). We descend it in
    t = log(alpha), which keeps alpha positive, with the gradient divided by n.
    """
    x = np.array(xs, dtype="float64", ctx=CTX).reshape(-1)
    n = x.shape[0]
    t = np.array(0.0, dtype="float64", ctx=CTX)
    t.attach_grad()
    for _ in range(steps):
        with autograd.record():
            alpha = np.exp(t)
            nll = -(n * np.log(alpha) - alpha * x.sum())
        nll.backward()
        t = t - lr * t.grad / n
        t.attach_grad()
    return float(np.exp(t))


def alpha_hat_single() -> float:
    """Exercise 1: one observation, the number 3."""
    return exponential_rate_mle([3.0])


def alpha_mle(xs) -> float:
    return exponential_rate_mle(xs)


def alpha_mle_cases() -> list[tuple[np.ndarray]]:
    rng = onp.random.default_rng(1707)
    sizes_rates = [(1, 0.5), (5, 2.0), (40, 0.1), (200, 7.0), (3, 1.0)]
    cases = [(np.array(rng.exponential(1 / rate, size=n), ctx=CTX),) for n, rate in sizes_rates]
    return [(np.array([3.0], ctx=CTX),), *cases]


def descend_gaussian_mean(x, steps: int = 100, lr: float = 0.5) -> float:
    """Exercise 2: the MLE of the mean of N(mu, 1) from the samples ``x``.

    The negative log-likelihood is sum((x - mu)^2) / 2 plus a constant; we descend it in mu with the
    gradient divided by the number of samples.
    """
    x = np.array(x, dtype="float64", ctx=CTX).reshape(-1)
    n = x.shape[0]
    mu = np.array(0.0, dtype="float64", ctx=CTX)
    mu.attach_grad()
    for _ in range(steps):
        with autograd.record():
            nll = ((x - mu) ** 2).sum() / 2
        nll.backward()
        mu = mu - lr * mu.grad / n
        mu.attach_grad()
    return float(mu)


def gaussian_mean_mle(x) -> float:
    """Exercise 2, with the contract's single parameter."""
    return descend_gaussian_mean(x)


def gaussian_mean_mle_cases() -> list[tuple[np.ndarray]]:
    rng = onp.random.default_rng(1717)
    cases = [
        onp.array([2.5]),                                   # one sample
        onp.array([1.0, 2.0, 3.0, 10.0]),                   # an outlier: the median differs
        rng.normal(-4.0, 1.0, size=7),                       # negative mean, odd length
        rng.normal(0.3, 1.0, size=1000),
        onp.array([-1.0, -1.0, 5.0]),                       # median -1, mean 1
    ]
    return [(np.array(c, ctx=CTX),) for c in cases]


ALPHA_MLE_DOMAIN = regions(
    "xs", one_observation=lambda xs: xs.size == 1, many=lambda xs: xs.size >= 100,
    small_values_high_rate=smallest(2.0), large_values_low_rate=largest(20))
GAUSSIAN_MEAN_DOMAIN = regions(
    "x", one_sample=lambda x: x.size == 1, many=lambda x: x.size >= 1000, negative_mean=lambda x: float(x.mean()) < 0,
    positive_mean=lambda x: float(x.mean()) > 0, negative_samples=has_negative,
    an_outlier=lambda x: x.size > 2 and abs(float(onp.median(values(x))) - float(x.mean())) > 1)

# Known wrong answers (d2lgrade.judging.reference.Misconception): each matched only by a wrong answer.
ALPHA_MLE_MISTAKES = (
    Misconception("missing-n", "The log-likelihood has n log(alpha), one term per sample: its derivative keeps the n.",
                  wrong=lambda xs: float(1 / np.array(xs).sum()), code="def alpha_mle(xs):\n    return 1 / xs.sum()"),
)
GAUSSIAN_MEAN_MISTAKES = (
    Misconception("median", "The median equals the maximum likelihood estimate only for symmetric samples.",
                  wrong=lambda x: float(onp.median(np.array(x).asnumpy())),
                  code="def gaussian_mean_mle(x):\n    import numpy\n    return float(numpy.median(x.asnumpy()))"),
)


REFERENCES = {
    "alpha_hat": Value(alpha_hat_single),
    "alpha_mle": Function(alpha_mle, alpha_mle_cases, ALPHA_MLE_DOMAIN, misconceptions=ALPHA_MLE_MISTAKES),
    "gaussian_mean_mle": Function(gaussian_mean_mle, gaussian_mean_mle_cases, GAUSSIAN_MEAN_DOMAIN,
                                  misconceptions=GAUSSIAN_MEAN_MISTAKES),
}
