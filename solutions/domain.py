"""Predicates for the domains the references declare (``Function(..., domain=...)``): what part of a
task's stated inputs a hidden case falls in. They take MXNet arrays, NumPy arrays, lists or numbers."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as onp


def values(x: Any) -> onp.ndarray:
    """Any array-like as a NumPy array (MXNet's via ``asnumpy``)."""
    return onp.asarray(x.asnumpy() if hasattr(x, "asnumpy") else x, dtype=float)


def has_negative(x: Any) -> bool:
    return bool((values(x) < 0).any())


def has_positive(x: Any) -> bool:
    return bool((values(x) > 0).any())


def has_zero(x: Any) -> bool:
    return bool((values(x) == 0).any())


def all_zero(x: Any) -> bool:
    return bool((values(x) == 0).all())


def largest(at_least: float) -> Callable[[Any], bool]:
    """Some entry at least this large in size."""
    return lambda x: bool(onp.abs(values(x)).max(initial=0) >= at_least)


def smallest(at_most: float) -> Callable[[Any], bool]:
    """Every entry at most this large in size (a small scale)."""
    return lambda x: bool(onp.abs(values(x)).max(initial=0) <= at_most)


def ndim(*counts: int) -> Callable[[Any], bool]:
    return lambda x: values(x).ndim in counts


def ndim_at_least(count: int) -> Callable[[Any], bool]:
    return lambda x: values(x).ndim >= count


def size(*counts: int) -> Callable[[Any], bool]:
    return lambda x: values(x).size in counts


def square(x: Any) -> bool:
    shape = values(x).shape
    return len(shape) == 2 and shape[0] == shape[1]
