"""Reference solutions for §17.8 Naive Bayes (D2L release 0.16.6, CC BY-SA 4.0).

Binary features and two classes, estimated by counting as in §17.8.4 but *without* Laplace smoothing
(plain relative frequencies, the maximum likelihood estimates of §17.7).
"""

from __future__ import annotations

import numpy as onp
from mxnet import np, npx

from d2lgrade.judging.reference import Function, Misconception, Region, Value, regions
from solutions.context import default_context
from solutions.domain import values

npx.set_np()
CTX = default_context()


def xor_data() -> tuple[np.ndarray, np.ndarray]:
    """The exercise's four points and their XOR labels."""
    X = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype="float32", ctx=CTX)
    y = np.array([0, 1, 1, 0], dtype="float32", ctx=CTX)
    return X, y


def class_priors(y: np.ndarray) -> np.ndarray:
    """P_y[c] = n_c / n for c = 0, 1."""
    y = np.array(y, dtype="float64", ctx=CTX)
    n_y = np.stack([(y == c).sum() for c in range(2)]).astype("float64")
    return n_y / n_y.sum()


def feature_probs(X: np.ndarray, y: np.ndarray) -> np.ndarray:
    """P_xy[i, c] = P(x_i = 1 | y = c) = n_ic / n_c, shape (d, 2), the book's P_xy layout."""
    X = np.array(X, dtype="float64", ctx=CTX)
    y = np.array(y, dtype="float64", ctx=CTX)
    columns = []
    for c in range(2):
        in_c = (y == c).astype("float64").reshape(-1, 1)
        columns.append((X * in_c).sum(axis=0) / in_c.sum())
    return np.stack(columns, axis=1)


def nb_posteriors(X: np.ndarray, y: np.ndarray) -> np.ndarray:
    """P(y = c | x_j) for every training point x_j (row j of ``X``), shape (n, 2).

    p(x | c) = prod_i P_xy[i, c]^x_i (1 - P_xy[i, c])^(1 - x_i) as in the book's ``bayes_pred``, times
    P_y[c], normalised over the two classes.
    """
    X = np.array(X, dtype="float64", ctx=CTX)
    P_xy, P_y = feature_probs(X, y), class_priors(y)
    x = X.reshape(X.shape[0], X.shape[1], 1)                      # (n, d, 1) against (d, 2)
    p_x_given_y = (P_xy * x + (1 - P_xy) * (1 - x)).prod(axis=1)  # (n, 2)
    joint = p_x_given_y * P_y
    return joint / joint.sum(axis=1, keepdims=True)


def nb_posteriors_cases() -> list[tuple[np.ndarray, np.ndarray]]:
    rng = onp.random.default_rng(1708)
    cases = []
    for n, d in [(6, 2), (10, 3), (8, 5), (20, 4)]:
        X = rng.integers(0, 2, size=(n, d))
        y = rng.integers(0, 2, size=n)
        y[:2] = [0, 1]  # both classes present
        cases.append((np.array(X, dtype="float32", ctx=CTX), np.array(y, dtype="float32", ctx=CTX)))
    # unbalanced classes, a feature constant within each class (probabilities 0 and 1 appear)
    X = onp.array([[1, 0, 1], [1, 1, 0], [1, 0, 0], [0, 1, 1], [0, 1, 0]])
    y = onp.array([0, 0, 0, 1, 1])
    cases.append((np.array(X, dtype="float32", ctx=CTX), np.array(y, dtype="float32", ctx=CTX)))
    # one feature (any d >= 1)
    X, y = onp.array([[1], [0], [1], [1], [0], [0]]), onp.array([0, 1, 0, 1, 1, 0])
    cases.append((np.array(X, dtype="float32", ctx=CTX), np.array(y, dtype="float32", ctx=CTX)))
    return cases


def classifies_correctly() -> str:
    """Exercise 1: every posterior is a tie, so no point is classified by the evidence."""
    post = nb_posteriors(*xor_data())
    _, y = xor_data()
    decided = (np.abs(post[:, 1] - post[:, 0]) > 1e-9)
    right = ((post[:, 1] > post[:, 0]) == (y == 1)) & decided
    return "yes" if bool(right.all()) else "no"


def _constant_in_a_class(X: np.ndarray, y: np.ndarray) -> bool:
    """Some feature never (or always) fires within some class: estimates of 0 or 1."""
    X, y = values(X), values(y)
    return any(len(set(X[y == c, i])) == 1 for c in (0, 1) for i in range(X.shape[1]))


NB_DOMAIN = (
    *regions("X", one_feature=lambda X: X.shape[1] == 1, more_features=lambda X: X.shape[1] >= 4),
    *regions("y", unbalanced=lambda y: abs(float(y.mean()) - 0.5) >= 0.1),
    Region("a feature constant within a class", _constant_in_a_class),
)

# Known wrong answers (d2lgrade.judging.reference.Misconception): each matched only by a wrong answer.
def _smoothed_feature_probs() -> np.ndarray:
    """The book's pseudo-counts, (n_ic + 1) / (n_c + 1), where the task asks for plain frequencies."""
    X, y = xor_data()
    n_c = class_priors(y) * y.shape[0]
    return (feature_probs(X, y) * n_c + 1) / (n_c + 1)


P_XY_MISTAKES = (
    Misconception("pseudo-counts", "The book's pseudo-counts smooth the frequencies; this task asks for the plain "
                  "ones.", wrong=_smoothed_feature_probs, code="P_xy = (np.array([[1, 1], [1, 1]]) + 1) / (2 + 1)"),
)
NB_POSTERIORS_MISTAKES = (
    Misconception("unnormalised", "p(x | y) p(y) is the joint; the posterior divides it by its sum over the classes.",
                  wrong=lambda X, y: nb_posteriors(X, y) * _evidence(X, y),
                  code="def nb_posteriors(X, y):\n    X = X.astype('float32')\n"
                       "    P_y = np.array([(y == 0).mean(), (y == 1).mean()])\n"
                       "    P_xy = np.stack([X[y == 0].mean(axis=0), X[y == 1].mean(axis=0)], axis=1)\n"
                       "    x = X.reshape(X.shape[0], X.shape[1], 1)\n"
                       "    return (P_xy * x + (1 - P_xy) * (1 - x)).prod(axis=1) * P_y"),
)


def _evidence(X: np.ndarray, y: np.ndarray) -> np.ndarray:
    """p(x_j) for every training point, shape (n, 1): the normaliser of nb_posteriors."""
    X = np.array(X, dtype="float64", ctx=CTX)
    P_xy, P_y = feature_probs(X, y), class_priors(y)
    x = X.reshape(X.shape[0], X.shape[1], 1)
    return ((P_xy * x + (1 - P_xy) * (1 - x)).prod(axis=1) * P_y).sum(axis=1, keepdims=True)


REFERENCES = {
    "P_y": Value(lambda: class_priors(xor_data()[1])),
    "P_xy": Value(lambda: feature_probs(*xor_data()), misconceptions=P_XY_MISTAKES),
    "nb_posteriors": Function(nb_posteriors, nb_posteriors_cases, NB_DOMAIN, misconceptions=NB_POSTERIORS_MISTAKES),
    "posteriors": Value(lambda: nb_posteriors(*xor_data())),
    "classifies_correctly": Value(classifies_correctly),
}
