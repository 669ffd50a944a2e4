"""Reference solutions for §17.10 Information Theory (D2L release 0.16.6, CC BY-SA 4.0).

Entropies in bits (base-2 logarithms, as the section uses). The KL divergence between two Gaussians is
computed by quadrature on MXNet (midpoint rule in float64), not from a closed form.
"""

from __future__ import annotations

import math

import numpy as onp
from mxnet import np, npx

from d2lgrade.judging.reference import Function, Misconception, Region, Value, regions
from solutions.context import default_context
from solutions.domain import has_zero, values

npx.set_np()
CTX = default_context()


def entropy(p) -> float:
    """Exercise 1: H(p) = -sum p_i log2 p_i in bits, with 0 log 0 = 0 (the book's nansum)."""
    p = np.array(p, dtype="float64", ctx=CTX).reshape(-1)
    positive = p > 0
    safe = np.where(positive, p, np.ones_like(p))
    return float(-(p * np.log2(safe)).sum())


def entropy_cases() -> list[tuple[np.ndarray]]:
    rng = onp.random.default_rng(1710)
    w = rng.random(10)
    cases = [
        onp.array([1.0]),                              # "I see a card": a certain event
        onp.full(4, 0.25),                             # the suit
        onp.full(52, 1 / 52),                          # one card
        onp.array([0.1, 0.5, 0.1, 0.3]),               # the book's example
        onp.array([0.5, 0.0, 0.25, 0.0, 0.25]),        # zero probabilities: 0 log 0 = 0
        w / w.sum(),
        onp.array([0.0, 1.0, 0.0]),
    ]
    return [(np.array(c, ctx=CTX),) for c in cases]


def uniform_bits(k) -> float:
    """Entropy of a uniform choice among ``k`` outcomes: log2 k."""
    return float(np.log2(np.array(k, dtype="float64", ctx=CTX)))


def card_bits() -> np.ndarray:
    """Exercise 1: a card (1 outcome), a suit (4), a card of the deck (52), a shuffled deck (52!).

    log2(52!) = sum_{i=1}^{52} log2 i: 52! itself (about 8e67) overflows float32.
    """
    deck = np.log2(np.arange(1, 53, dtype="float64", ctx=CTX)).sum()
    one_card = entropy(np.full((52,), 1 / 52, dtype="float64", ctx=CTX))
    suit = entropy(np.full((4,), 0.25, dtype="float64", ctx=CTX))
    certain = entropy(np.array([1.0], dtype="float64", ctx=CTX))
    return np.array([certain, suit, one_card, float(deck)], dtype="float64", ctx=CTX)


def monkey_bits() -> float:
    """44 equally likely keys per character."""
    return uniform_bits(44)


def typesetter_bits_per_word() -> float:
    """One of 2,000 equally likely words."""
    return uniform_bits(2000)


def typesetter_bits_per_char(letters_per_word: float = 4.5) -> float:
    """The bits of a word spread over its 4.5 letters on average (spaces not counted)."""
    return typesetter_bits_per_word() / letters_per_word


def lm_bits_per_char(perplexity: float = 15.0) -> float:
    """A perplexity of 15 per character: like a uniform choice among 15, log2 15 bits per character.

    (The book's (17.10.33) omits the minus sign: perplexity is p(x)^(-1/length(x)), and
    -log2 p(x) / length(x) = log2 PPL bits per character.)
    """
    return uniform_bits(perplexity)


def log_gauss(x: np.ndarray, mu: float, sigma: float) -> np.ndarray:
    return -0.5 * ((x - mu) / sigma) ** 2 - math.log(sigma) - 0.5 * math.log(2 * math.pi)


def kl_gauss(mu1: float, sigma1: float, mu2: float, sigma2: float) -> float:
    """Exercise 4: D_KL(N(mu1, sigma1^2) || N(mu2, sigma2^2)) in nats, by quadrature over mu1 +- 16 sigma1."""
    num = 400_000
    a, b = mu1 - 16 * sigma1, mu1 + 16 * sigma1
    width = (b - a) / num
    x = a + width * (np.arange(num, dtype="float64", ctx=CTX) + 0.5)
    log_p, log_q = log_gauss(x, mu1, sigma1), log_gauss(x, mu2, sigma2)
    return float((np.exp(log_p) * (log_p - log_q)).sum() * width)


def kl_gauss_cases() -> list[tuple[float, float, float, float]]:
    rng = onp.random.default_rng(17104)
    cases = [(0.0, 1.0, 0.0, 1.0),        # equal: 0
             (0.0, 1.0, 1.0, 1.0),        # shifted mean only
             (0.0, 1.0, 0.0, 2.0),        # wider q
             (0.0, 2.0, 0.0, 1.0),        # the reverse direction: not symmetric
             (1.5, 0.5, -2.0, 3.0),
             (-3.0, 4.0, 2.0, 0.7)]       # q much narrower than p
    for _ in range(4):
        mu1, mu2 = rng.uniform(-5, 5, size=2)
        s1, s2 = rng.uniform(0.2, 4, size=2)
        cases.append((float(mu1), float(s1), float(mu2), float(s2)))
    return cases


ENTROPY_DOMAIN = regions(
    "p", one_outcome=lambda p: p.size == 1, zero_probabilities=has_zero,
    certain_among_several=lambda p: p.size > 1 and float(values(p).max()) == 1.0,
    uniform=lambda p: p.size > 1 and float(values(p).std()) == 0, uneven=lambda p: float(values(p).std()) > 0)
KL_GAUSS_DOMAIN = (
    Region("equal distributions", lambda m1, s1, m2, s2: (m1, s1) == (m2, s2)),
    Region("means differ only", lambda m1, s1, m2, s2: m1 != m2 and s1 == s2),
    Region("q wider", lambda m1, s1, m2, s2: s2 > s1), Region("q narrower", lambda m1, s1, m2, s2: s2 < s1),
    Region("both orders of a pair", lambda m1, s1, m2, s2: (m1, s1) == (0.0, 2.0) and (m2, s2) == (0.0, 1.0)),
    Region("negative means", lambda m1, s1, m2, s2: m1 < 0 or m2 < 0),
)

# Known wrong answers (d2lgrade.judging.reference.Misconception): each matched only by a wrong answer.
ENTROPY_MISTAKES = (
    Misconception("nats", "The natural logarithm gives nats; entropies here are in bits.",
                  wrong=lambda p: entropy(p) * math.log(2),
                  code="def entropy(p):\n    safe = np.where(p > 0, p, np.ones_like(p))\n"
                       "    return float(-(p * np.log(safe)).sum())"),
)
MONKEY_MISTAKES = (
    Misconception("nats", "The natural logarithm gives nats; entropies here are in bits.",
                  wrong=lambda: math.log(44), code="import math\nmonkey_bits = math.log(44)"),
)
TYPESETTER_CHAR_MISTAKES = (
    Misconception("space-counted", "The task counts 4.5 characters per word, without the spaces.",
                  wrong=lambda: typesetter_bits_per_word() / 5.5,
                  code="import math\ntypesetter_bits_per_char = math.log2(2000) / 5.5"),
)
LM_MISTAKES = (
    Misconception("perplexity-as-bits", "A perplexity is a number of equally likely choices, not a number of bits.",
                  wrong=15.0, code="lm_bits_per_char = 15.0"),
)
KL_GAUSS_MISTAKES = (
    Misconception("swapped", "The divergence is not symmetric: the expectation is over P, the first distribution; "
                  "this is D(Q || P).", wrong=lambda m1, s1, m2, s2: kl_gauss(m2, s2, m1, s1),
                  code="import math\n\ndef kl_gauss(mu1, sigma1, mu2, sigma2):\n"
                       "    return math.log(sigma1 / sigma2) + (sigma2**2 + (mu1 - mu2)**2) / (2 * sigma1**2) - 0.5"),
    Misconception("bits", "This one is in nats: no division by ln 2.",
                  wrong=lambda m1, s1, m2, s2: kl_gauss(m1, s1, m2, s2) / math.log(2),
                  code="import math\n\ndef kl_gauss(mu1, sigma1, mu2, sigma2):\n"
                       "    nats = math.log(sigma2 / sigma1) + (sigma1**2 + (mu1 - mu2)**2) / (2 * sigma2**2) - 0.5\n"
                       "    return nats / math.log(2)"),
)


REFERENCES = {
    "entropy": Function(entropy, entropy_cases, ENTROPY_DOMAIN, misconceptions=ENTROPY_MISTAKES),
    "card_bits": Value(card_bits),
    "monkey_bits": Value(monkey_bits, misconceptions=MONKEY_MISTAKES),
    "typesetter_bits_per_word": Value(typesetter_bits_per_word),
    "typesetter_bits_per_char": Value(typesetter_bits_per_char, misconceptions=TYPESETTER_CHAR_MISTAKES),
    "lm_bits_per_char": Value(lm_bits_per_char, misconceptions=LM_MISTAKES),
    "kl_gauss": Function(kl_gauss, kl_gauss_cases, KL_GAUSS_DOMAIN, misconceptions=KL_GAUSS_MISTAKES),
}
