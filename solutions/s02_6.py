"""Reference solutions for §2.6 Probability (D2L release 0.16.6, CC BY-SA 4.0).

The die simulation of exercise 1 is random, so it is never compared with one draw: its reference is a
band of ``K`` standard errors around the true probability 1/6 for every cumulative estimate (judge mode
``interval``).
"""

from __future__ import annotations

import itertools
import math

import numpy as onp
from mxnet import np, npx

from d2lgrade.judging.reference import Function, Misconception, Region, Value, regions
from solutions.context import default_context
from solutions.domain import has_zero, values

npx.set_np()
CTX = default_context()

FAIR_PROBS = [1.0 / 6] * 6

K = 7
"""Half-width of the accepted band, in standard errors. Measured before choosing it: in 20,000 simulated
paths for each hidden case (numpy, seed 7), the largest deviation anywhere on a path was 5.9 standard
errors, and 99.9 % of paths stayed within 5.0; the heavy tail comes from the first rows, where few rolls
are counted (10 equal faces in 10 rolls, probability 1e-7, is 7.1 standard errors). A wrong estimator
(per-group instead of cumulative estimates, the wrong axis, counts instead of frequencies) leaves it at once."""


# Exercise 1: the die experiment as a function of m, n and the seed.

def die_estimates(m: int, n: int, seed: int) -> np.ndarray:
    """The book's experiment: m groups of n rolls; row i holds the estimates after groups 0..i."""
    npx.random.seed(seed)
    counts = np.random.multinomial(n, FAIR_PROBS, size=m).as_in_ctx(CTX)
    cum_counts = counts.astype(np.float32).cumsum(axis=0)
    return cum_counts / cum_counts.sum(axis=1, keepdims=True)


def die_estimate_bounds(m: int, n: int, seed: int) -> np.ndarray:
    """Shape (2, m, 6): 1/6 -/+ K standard errors of a frequency after (i + 1) n rolls, clipped to [0, 1]."""
    p = 1.0 / 6
    rolls = np.arange(1, m + 1, dtype="float64", ctx=CTX).reshape(m, 1) * n
    se = np.sqrt(p * (1 - p) / rolls) * np.ones((1, 6), dtype="float64", ctx=CTX)
    return np.stack([np.clip(p - K * se, 0, 1), np.clip(p + K * se, 0, 1)])


def die_cases() -> list[tuple[int, int, int]]:
    return [(500, 10, 1), (50, 1, 2), (200, 100, 3), (1000, 5, 4), (10, 1000, 5), (1, 60, 6)]


def final_std(m: int, n: int) -> float:
    """Standard deviation of one final estimate: a Binomial(mn, 1/6) count divided by mn."""
    p = 1.0 / 6
    return math.sqrt(p * (1 - p) / (m * n))


def final_std_cases() -> list[tuple[int, int]]:
    return [(500, 10), (10, 500), (1, 1), (50, 1), (1000, 1000), (7, 3)]


# Exercise 2: bounds on P(A or B) and P(A and B) from P(A) and P(B) alone.

def union_bounds(pA: float, pB: float) -> np.ndarray:
    """max(pA, pB) <= P(A u B) <= min(1, pA + pB): nested events, then disjoint ones (or covering S)."""
    p = np.array([pA, pB], dtype="float64", ctx=CTX)
    return np.array([p.max(), np.minimum(p.sum(), 1.0)], dtype="float64", ctx=CTX)


def intersection_bounds(pA: float, pB: float) -> np.ndarray:
    """max(0, pA + pB - 1) <= P(A n B) <= min(pA, pB): as disjoint as possible, then nested."""
    p = np.array([pA, pB], dtype="float64", ctx=CTX)
    return np.array([np.maximum(p.sum() - 1.0, 0.0), p.min()], dtype="float64", ctx=CTX)


def bounds_cases() -> list[tuple[float, float]]:
    grid = [0.0, 0.2, 0.5, 0.7, 1.0]
    return [(a, b) for a, b in itertools.product(grid, grid)] + [(0.35, 0.9), (0.05, 0.1)]


# Exercise 3: a Markov chain A -> B -> C.

def markov_joint(pA: np.ndarray, pB_given_A: np.ndarray, pC_given_B: np.ndarray) -> np.ndarray:
    """P(A=i, B=j, C=k) = P(A=i) P(B=j | A=i) P(C=k | B=j): C depends on A only through B."""
    pA, pBA, pCB = (np.array(t, ctx=CTX) for t in (pA, pB_given_A, pC_given_B))
    return pA.reshape(-1, 1, 1) * np.expand_dims(pBA, 2) * np.expand_dims(pCB, 0)


def markov_cases() -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    rng = onp.random.default_rng(2603)
    cases = []
    for a, b, c in [(2, 2, 2), (2, 3, 4), (3, 2, 5), (4, 3, 2)]:
        tables = (rng.dirichlet(onp.ones(a)), rng.dirichlet(onp.ones(b), size=a), rng.dirichlet(onp.ones(c), size=b))
        cases.append(tuple(np.array(t, dtype="float64", ctx=CTX) for t in tables))
    # A with one value, and impossible values (probability 0) in every table
    tables = ([1.0], [[0.5, 0.0, 0.5]], [[1.0, 0.0], [0.3, 0.7], [0.0, 1.0]])
    cases.append(tuple(np.array(t, dtype="float64", ctx=CTX) for t in tables))
    return cases


# Exercise 4: the HIV tests of §2.6.2.6 (the numbers are stated in the notebook, as in the book).

P_H1 = 0.0015
TEST1 = (1.0, 0.01)  # P(D1 = 1 | H = 1), P(D1 = 1 | H = 0)
TEST2 = (0.98, 0.03)  # P(D2 = 1 | H = 1), P(D2 = 1 | H = 0)


def posterior(positive_given_h1: float, positive_given_h0: float) -> float:
    """P(H = 1 | all results positive), by Bayes' theorem, from the joint likelihoods under H = 1 and H = 0."""
    prior = np.array([1 - P_H1, P_H1], dtype="float64", ctx=CTX)
    likelihood = np.array([positive_given_h0, positive_given_h1], dtype="float64", ctx=CTX)
    joint = prior * likelihood
    return float(joint[1] / joint.sum())  # the sum over H is the marginal P(results)


def posterior_both_tests() -> float:
    """Test 1 and test 2 positive, errors conditionally independent given H."""
    return posterior(TEST1[0] * TEST2[0], TEST1[1] * TEST2[1])


def posterior_test1_twice_independent() -> float:
    """Test 1 positive twice, if its two runs erred independently given H."""
    return posterior(TEST1[0] ** 2, TEST1[1] ** 2)


def posterior_test1_twice_dependent() -> float:
    """Test 1 positive twice, if a second run always repeats the first run's result (fully dependent errors)."""
    return posterior(TEST1[0], TEST1[1])


DIE_DOMAIN = (*regions("m", one_group=lambda m: m == 1, many_groups=lambda m: m >= 1000),
              *regions("n", one_roll=lambda n: n == 1, many_rolls=lambda n: n >= 1000))
FINAL_STD_DOMAIN = (Region("m = n = 1", lambda m, n: m == n == 1), Region("m > n", lambda m, n: m > n),
                    Region("m < n", lambda m, n: m < n), Region("both large", lambda m, n: min(m, n) >= 1000))
BOUNDS_DOMAIN = (
    *regions("pA", zero=lambda p: p == 0, one=lambda p: p == 1, inside=lambda p: 0 < p < 1),
    *regions("pB", zero=lambda p: p == 0, one=lambda p: p == 1, inside=lambda p: 0 < p < 1),
    Region("pA + pB > 1", lambda a, b: a + b > 1), Region("pA + pB < 1", lambda a, b: a + b < 1),
    Region("pA + pB = 1", lambda a, b: a + b == 1), Region("pA = pB", lambda a, b: a == b),
)
MARKOV_DOMAIN = (
    Region("different sizes a, b, c", lambda pA, pBA, pCB: len({pA.shape[0], pBA.shape[1], pCB.shape[1]}) == 3),
    Region("a variable with one value", lambda pA, pBA, pCB: 1 in (pA.shape[0], pBA.shape[1], pCB.shape[1])),
    Region("probabilities 0", lambda pA, pBA, pCB: has_zero(values(pBA)) and has_zero(values(pCB))),
)

# Known wrong answers (d2lgrade.judging.reference.Misconception): each matched only by a wrong answer.
FINAL_STD_MISTAKES = (
    Misconception("variance", "That is the variance of the estimate; the standard deviation is its square root.",
                  wrong=lambda m, n: (1 / 6) * (5 / 6) / (m * n),
                  code="def final_std(m, n):\n    p = 1 / 6\n    return p * (1 - p) / (m * n)"),
    Misconception("one-group", "The final estimate pools all m groups of n rolls, not one group.",
                  wrong=lambda m, n: math.sqrt((1 / 6) * (5 / 6) / n),
                  code="def final_std(m, n):\n    p = 1 / 6\n    return (p * (1 - p) / n) ** 0.5"),
)
UNION_BOUNDS_MISTAKES = (
    Misconception("no-clamp", "A probability is at most 1: the upper bound pA + pB needs its clamp.",
                  wrong=lambda pA, pB: [max(pA, pB), pA + pB],
                  code="def union_bounds(pA, pB):\n    return (max(pA, pB), pA + pB)"),
)
INTERSECTION_BOUNDS_MISTAKES = (
    Misconception("no-clamp", "A probability is at least 0: the lower bound pA + pB - 1 needs its clamp.",
                  wrong=lambda pA, pB: [pA + pB - 1, min(pA, pB)],
                  code="def intersection_bounds(pA, pB):\n    return (pA + pB - 1, min(pA, pB))"),
    Misconception("product", "pA * pB is the probability only when A and B are independent; the bounds must hold "
                  "for any two events.", wrong=lambda pA, pB: [pA * pB, pA * pB],
                  code="def intersection_bounds(pA, pB):\n    return (pA * pB, pA * pB)"),
)
MARKOV_JOINT_MISTAKES = (
    Misconception("no-prior", "P(B | A) P(C | B) is the joint of B and C given A: the factor P(A) is missing.",
                  wrong=lambda pA, pBA, pCB: np.expand_dims(pBA, 2) * np.expand_dims(pCB, 0),
                  code="def markov_joint(pA, pB_given_A, pC_given_B):\n"
                       "    return pB_given_A.reshape(pB_given_A.shape + (1,)) * pC_given_B.reshape((1,) + pC_given_B.shape)"),
)
POST_TWICE_INDEP_MISTAKES = (
    Misconception("repeat-adds-nothing", "Counts the second run as adding no information; this part assumes the two "
                  "runs err independently.", wrong=posterior_test1_twice_dependent,
                  code="post_twice_indep = 0.0015 / (0.0015 + 0.9985 * 0.01)"),
)
POST_TWICE_DEP_MISTAKES = (
    Misconception("independent-runs", "Treats two runs of the same test as independent, but a repeated test can "
                  "repeat its own error.", wrong=posterior_test1_twice_independent,
                  code="post_twice_dep = 0.0015 / (0.0015 + 0.9985 * 0.01 ** 2)"),
)


REFERENCES = {
    "die_estimates": Function(die_estimate_bounds, die_cases, DIE_DOMAIN),
    "final_std": Function(final_std, final_std_cases, FINAL_STD_DOMAIN, misconceptions=FINAL_STD_MISTAKES),
    "union_bounds": Function(union_bounds, bounds_cases, BOUNDS_DOMAIN, misconceptions=UNION_BOUNDS_MISTAKES),
    "intersection_bounds": Function(intersection_bounds, bounds_cases, BOUNDS_DOMAIN,
                                    misconceptions=INTERSECTION_BOUNDS_MISTAKES),
    "markov_joint": Function(markov_joint, markov_cases, MARKOV_DOMAIN, misconceptions=MARKOV_JOINT_MISTAKES),
    "post_both": Value(posterior_both_tests),
    "post_twice_indep": Value(posterior_test1_twice_independent, misconceptions=POST_TWICE_INDEP_MISTAKES),
    "post_twice_dep": Value(posterior_test1_twice_dependent, misconceptions=POST_TWICE_DEP_MISTAKES),
}
