"""Validate an answer report from the student's kernel against the exact grammar of :mod:`d2lgrade.judging.plain`.

Everything the kernel sends is hostile input: a cell can replace the serialiser, the probe or
``display`` and emit any JSON. A report is judged only if it is something ``to_plain`` could have
written for the probe it answers: every tag with exactly its keys and value types, arrays whose
data has exactly ``prod(shape)`` entries of the type their dtype implies, frames whose columns and
rows agree, bounded sizes. :func:`validate_report` is pure and never raises: it returns the report
or an :class:`Invalid` with a message the student may read.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from d2lgrade.judging.plain import MAX_DEPTH, MAX_ELEMENTS, MAX_ITEMS

MAX_STRING = 100_000
"""``to_plain`` cuts strings here; other strings (type names, messages, parameters) are far shorter."""
MAX_NAME = 10_000
MAX_INT_BITS = 14_000
"""About 4,200 decimal digits: more than JSON readers take (Python refuses over 4,300 by default)."""
MAX_NODES = 4 * MAX_ELEMENTS
"""Values and array entries in one report: a few answers at the largest size ``to_plain`` sends."""
MAX_NDIM = 64
LIBS = frozenset({"numpy", "mxnet", "mxnet.nd"})
_INTS = {f"int{n}": (-(2 ** (n - 1)), 2 ** (n - 1) - 1) for n in (8, 16, 32, 64)} | {
    f"uint{n}": (0, 2**n - 1) for n in (8, 16, 32, 64)}
_FLOATS = frozenset({"float16", "float32", "float64", "bfloat16", "float128", "longdouble"})
_COMPLEX = frozenset({"complex64", "complex128", "complex256"})
_OTHER = re.compile(r"^(object|[<>|=]?[USVa]\d*|datetime64(\[\w+\])?|timedelta64(\[\w+\])?|category|string)$")
"""Dtypes whose entries ``to_plain`` sends as tagged values (strings, objects, dates)."""
_NON_FINITE = frozenset({"nan", "inf", "-inf"})


@dataclass(frozen=True)
class Invalid:
    """Why a report was refused; shown to the student as the reason for a zero."""

    message: str


class _Reject(Exception):
    """Internal: the first thing found wrong, with where it is."""


def validate_report(report: Any, probe_id: str, cases: int | None, nonce: str | None = None) -> dict[str, Any] | Invalid:
    """``report`` if it is exactly what the probe writes for question ``probe_id`` (a value, plus one output
    per test input when ``cases`` is not None, echoing ``nonce`` if given); else why not."""
    try:
        return _report(report, probe_id, cases, nonce)
    except _Reject as exc:
        return Invalid(f"The answer report was malformed ({exc}); the notebook interfered with grading.")
    except Exception as exc:  # noqa: BLE001 - a validator bug must refuse the report, never crash grading
        return Invalid(f"The answer report could not be read ({type(exc).__name__}); "
                       "the notebook interfered with grading.")


def _report(report: Any, probe_id: str, cases: int | None, nonce: str | None) -> dict[str, Any]:
    keys = {"id", "value"} | ({"outputs"} if cases is not None else set()) | ({"nonce"} if nonce else set())
    _require(type(report) is dict and set(report) == keys, f"a report has exactly the keys {sorted(keys)}")
    _require(report["id"] == probe_id, "it is not for the question probed")
    if nonce:
        _require(report["nonce"] == nonce, "it does not carry this run's probe token")
    budget = _Budget()
    if report["value"] != {"t": "missing"}:
        _plain(report["value"], 0, budget)
    if cases is not None:
        outputs = report["outputs"]
        _require(type(outputs) is list and len(outputs) == cases,
                 "it needs one output per test input")
        for output in outputs:
            _plain(output, 0, budget)
    return report


class _Budget:
    """Counts values and entries across one report, so no report can be larger than the probe sends."""

    def __init__(self) -> None:
        self.left = MAX_NODES

    def spend(self, n: int) -> None:
        self.left -= n
        _require(self.left >= 0, "it is larger than any answer the probe sends")


def _require(condition: bool, what: str) -> None:
    if not condition:
        raise _Reject(what)


def _keys(plain: dict[str, Any], required: set[str], optional: frozenset[str] = frozenset()) -> None:
    keys = set(plain)
    _require(required <= keys <= required | optional,
             f"a {plain['t']!r} value has the keys {sorted(required | optional)}")


def _is_int(x: Any) -> bool:
    return type(x) is int and x.bit_length() <= MAX_INT_BITS


def _is_float(x: Any) -> bool:
    """A finite float, or the strings ``to_plain`` writes for nan and the infinities."""
    return (type(x) is float and math.isfinite(x)) or (type(x) is str and x in _NON_FINITE)


def _is_name(x: Any, limit: int = MAX_NAME) -> bool:
    return type(x) is str and len(x) <= limit


def _plain(plain: Any, depth: int, budget: _Budget) -> None:
    _require(depth <= MAX_DEPTH + 2, "it is nested deeper than the probe writes")
    _require(type(plain) is dict and type(plain.get("t")) is str, "a value is not a tagged dict")
    budget.spend(1)
    check = _TAGS.get(plain["t"])
    _require(check is not None, f"unknown tag {plain['t'][:40]!r}")
    check(plain, depth, budget)  # type: ignore[misc]


def _none(plain: dict[str, Any], depth: int, budget: _Budget) -> None:
    _keys(plain, {"t"})


def _scalar(test: Callable[[Any], bool], what: str) -> Callable[[dict[str, Any], int, _Budget], None]:
    def check(plain: dict[str, Any], depth: int, budget: _Budget) -> None:
        _keys(plain, {"t", "v"})
        _require(test(plain["v"]), f"a {plain['t']!r} value is not {what}")
    return check


def _complex(plain: dict[str, Any], depth: int, budget: _Budget) -> None:
    _keys(plain, {"t", "re", "im"})
    _require(_is_float(plain["re"]) and _is_float(plain["im"]), "a complex value has non-float parts")


def _items(plain: dict[str, Any], depth: int, budget: _Budget) -> None:
    _keys(plain, {"t", "items"})
    items = plain["items"]
    _require(type(items) is list and len(items) <= MAX_ITEMS, f"a {plain['t']!r} value has no bounded item list")
    for item in items:
        _plain(item, depth + 1, budget)


def _dict(plain: dict[str, Any], depth: int, budget: _Budget) -> None:
    _keys(plain, {"t", "items"})
    items = plain["items"]
    _require(type(items) is list and len(items) <= MAX_ITEMS, "a 'dict' value has no bounded item list")
    for pair in items:
        _require(type(pair) is list and len(pair) == 2, "a 'dict' item is not a [key, value] pair")
        _plain(pair[0], depth + 1, budget)
        _plain(pair[1], depth + 1, budget)


def _array(plain: dict[str, Any], depth: int, budget: _Budget) -> None:
    _keys(plain, {"t", "lib", "dtype", "shape", "data"}, frozenset({"scalar"}))
    _require(plain["lib"] in LIBS if type(plain["lib"]) is str else False, "an array comes from an unknown library")
    dtype, shape = plain["dtype"], plain["shape"]
    _require(_is_name(dtype, 100) and (dtype == "bool" or dtype in _INTS or dtype in _FLOATS or dtype in _COMPLEX
                                       or _OTHER.match(dtype) is not None), "an array has an unknown dtype")
    _require(type(shape) is list and len(shape) <= MAX_NDIM and all(type(n) is int and n >= 0 for n in shape),
             "an array's shape is not a list of non-negative ints")
    if "scalar" in plain:
        _require(plain["scalar"] is True and shape == [], "a scalar array has a shape")
    size = math.prod(shape)
    if size > MAX_ELEMENTS:
        _require(plain["data"] is None, "an array over the size limit carries data")
        return
    data = plain["data"]
    if not (dtype == "bool" or dtype in _INTS or dtype in _FLOATS or dtype in _COMPLEX):
        size = min(size, MAX_ITEMS)
    _require(type(data) is list and len(data) == size,
             f"an array of shape {tuple(shape)} must carry exactly {size} entries")
    budget.spend(size)
    _entries(dtype, data, depth, budget)


def _entries(dtype: str, data: list[Any], depth: int, budget: _Budget) -> None:
    if dtype == "bool":
        ok = all(type(x) is bool for x in data)
    elif dtype in _INTS:
        low, high = _INTS[dtype]
        ok = all(type(x) is int and low <= x <= high for x in data)
    elif dtype in _FLOATS:
        ok = all(_is_float(x) for x in data)
    elif dtype in _COMPLEX:
        ok = all(type(z) is list and len(z) == 2 and _is_float(z[0]) and _is_float(z[1]) for z in data)
    else:
        for x in data:
            _plain(x, depth + 1, budget)
        ok = True
    _require(ok, f"an array's entries are not all of dtype {dtype}")


def _frame(plain: dict[str, Any], depth: int, budget: _Budget) -> None:
    _keys(plain, {"t", "columns", "shape", "data"})
    columns, shape, data = plain["columns"], plain["shape"], plain["data"]
    _require(type(shape) is list and len(shape) == 2 and all(type(n) is int and n >= 0 for n in shape),
             "a frame's shape is not [rows, columns]")
    _require(type(columns) is list and type(data) is list and len(columns) == len(data) == shape[1],
             "a frame's columns, data and shape disagree")
    for name, column in zip(columns, data, strict=True):
        _plain(name, depth + 1, budget)
        _plain(column, depth + 1, budget)
        _require(column["t"] == "array" and column["shape"] == [shape[0]] and "scalar" not in column,
                 "a frame's column does not have the frame's number of rows")


def _series(plain: dict[str, Any], depth: int, budget: _Budget) -> None:
    _keys(plain, {"t", "data"})
    _plain(plain["data"], depth + 1, budget)
    column = plain["data"]
    _require(column["t"] == "array" and type(column["shape"]) is list and len(column["shape"]) == 1
             and "scalar" not in column, "a series does not hold a one-dimensional array")


def _function(plain: dict[str, Any], depth: int, budget: _Budget) -> None:
    if plain.get("params") is None:
        _keys(plain, {"t", "params"})
        return
    _keys(plain, {"t", "params", "required", "varargs"})
    params = plain["params"]
    _require(type(params) is list and len(params) <= MAX_ITEMS and all(_is_name(p, 1000) for p in params),
             "a function's parameters are not a list of names")
    _require(type(plain["required"]) is int and 0 <= plain["required"] <= len(params)
             and type(plain["varargs"]) is bool, "a function's parameter counts are wrong")


def _object(plain: dict[str, Any], depth: int, budget: _Budget) -> None:
    _keys(plain, {"t", "type"})
    _require(_is_name(plain["type"]), "an object's type is not a bounded string")


def _error(plain: dict[str, Any], depth: int, budget: _Budget) -> None:
    _keys(plain, {"t", "type", "message"})
    _require(_is_name(plain["type"]) and _is_name(plain["message"], 1000), "an error is not a bounded type and message")


_TAGS: dict[str, Callable[[dict[str, Any], int, _Budget], None]] = {
    "none": _none,
    "bool": _scalar(lambda v: type(v) is bool, "True or False"),
    "int": _scalar(_is_int, "an int of bounded size"),
    "float": _scalar(_is_float, "a float"),
    "complex": _complex,
    "str": _scalar(lambda v: _is_name(v, MAX_STRING), "a bounded string"),
    "tuple": _items,
    "list": _items,
    "set": _items,
    "dict": _dict,
    "array": _array,
    "frame": _frame,
    "series": _series,
    "function": _function,
    "object": _object,
    "error": _error,
}
"""Every tag ``to_plain`` and ``error`` write, with its exact grammar."""
