"""Reference solutions for §2.7 Documentation (D2L release 0.16.6, CC BY-SA 4.0).

Every reference is what MXNet itself reports by introspection (``dir``, ``hasattr``,
``inspect.signature``), on the installed MXNet 1.9.1: nothing is copied from a web page.
"""

from __future__ import annotations

import inspect

import mxnet
from mxnet import np, npx

from d2lgrade.judging.reference import Misconception, Value
from solutions.context import default_context

npx.set_np()
CTX = default_context()

RANDOM_CANDIDATES = ("normal", "uniform", "multinomial", "shuffle", "choice", "randn",
                     "seed", "binomial", "poisson", "permutation")
"""Names of NumPy's ``numpy.random``; several of them are missing from ``mxnet.np.random``."""

DTYPE_OPTIONS = ("float16", "float32", "float64", "int32", "int64")

NORMAL_PARAM_OPTIONS = ("loc", "scale", "size", "dtype", "ctx", "out", "mean", "std", "shape", "device")

SEED_OPTIONS = ("mxnet.np.random.seed", "mxnet.npx.random.seed", "mxnet.np.seed")


def names_in_np_random() -> set[str]:
    """The candidates that ``dir(np.random)`` lists."""
    return {name for name in RANDOM_CANDIDATES if name in dir(np.random)}


def ones_default_dtype() -> str:
    """The dtype ``np.ones`` gives when none is asked for (its signature's default, float32)."""
    return str(np.ones((1,), ctx=CTX).dtype)


def normal_params() -> set[str]:
    """The parameter names of ``np.random.normal``, as ``help`` shows them."""
    return {name for name in inspect.signature(np.random.normal).parameters if name in NORMAL_PARAM_OPTIONS}


def seed_location() -> str:
    """The one candidate that exists and is callable."""
    found = []
    for option in SEED_OPTIONS:
        obj = mxnet
        try:
            for part in option.split(".")[1:]:
                obj = getattr(obj, part)
        except AttributeError:
            continue
        if callable(obj):
            found.append(option)
    assert len(found) == 1, found
    return found[0]

# Known wrong answers (d2lgrade.judging.reference.Misconception): each matched only by a wrong answer.
ONES_DTYPE_MISTAKES = (
    Misconception("numpy-default", "That is NumPy's default; MXNet's `np` has its own: ask MXNet, not NumPy's "
                  "documentation.", wrong="float64", code='ones_dtype = "float64"'),
)
RANDOM_NAMES_MISTAKES = (
    Misconception("numpy-docs", "That list comes from NumPy's `numpy.random`; `mxnet.np.random` has fewer "
                  "functions: look at `dir(np.random)`.",
                  wrong={"normal", "uniform", "multinomial", "shuffle", "choice", "randn", "seed", "permutation",
                         "binomial", "poisson"},
                  code='random_names = {"normal", "uniform", "multinomial", "shuffle", "choice", "randn", "seed",\n'
                       '                "permutation", "binomial", "poisson"}'),
)


REFERENCES = {
    "random_names": Value(names_in_np_random, misconceptions=RANDOM_NAMES_MISTAKES),
    "ones_dtype": Value(ones_default_dtype, misconceptions=ONES_DTYPE_MISTAKES),
    "normal_params": Value(normal_params),
    "seed_function": Value(seed_location),
}
