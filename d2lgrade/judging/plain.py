"""Turn live Python objects into plain, tagged JSON data and back.

This module is the only part of the grader that runs inside the student's kernel. Everything a
verdict depends on crosses the process boundary through :func:`to_plain`, so it must not trust the
objects it reads: it never calls a value's own ``__eq__``, ``__bool__``, ``__float__``, ``__repr__``
or ``__array__``, and reads built-in subclasses through their base type's methods. What comes out
is only ``dict``/``list``/``str``/``int``/``float``/``bool``/``None``, judged elsewhere.

The tags (key ``t``) are: ``none bool int float complex str tuple list set dict array frame
function object error``. Keep this module free of third-party imports at import time: the kernel
imports it before the student's code may have broken anything.
"""

from __future__ import annotations

import math
from typing import Any

Plain = dict[str, Any]

MAX_ELEMENTS = 1_000_000
"""Arrays larger than this are reported by shape only (a guard against memory-bomb answers)."""

MAX_ITEMS = 10_000
"""Containers longer than this are reported as too large."""

MAX_DEPTH = 20


def to_plain(value: object, depth: int = 0) -> Plain:
    """Describe ``value`` as tagged plain data, without running any of its own methods."""
    if depth > MAX_DEPTH:
        return {"t": "object", "type": "too deeply nested"}
    kind = type(value)
    if value is None:
        return {"t": "none"}
    if issubclass(kind, bool):
        return {"t": "bool", "v": bool(int.__int__(value))}  # type: ignore[arg-type]
    if issubclass(kind, int):
        return {"t": "int", "v": int.__int__(value)}  # type: ignore[arg-type]
    if issubclass(kind, float):
        return _float(float.__float__(value))  # type: ignore[arg-type]
    if issubclass(kind, complex):
        c = complex.__complex__(value)  # type: ignore[arg-type]
        return {"t": "complex", "re": _float(c.real)["v"], "im": _float(c.imag)["v"]}
    if issubclass(kind, str):
        return {"t": "str", "v": str.__str__(value)[:100_000]}  # type: ignore[arg-type]
    if issubclass(kind, (tuple, list)):
        items = tuple.__iter__(value) if issubclass(kind, tuple) else list.__iter__(value)  # type: ignore[arg-type]
        length = tuple.__len__(value) if issubclass(kind, tuple) else list.__len__(value)  # type: ignore[arg-type]
        if length > MAX_ITEMS:
            return {"t": "object", "type": f"{'tuple' if issubclass(kind, tuple) else 'list'} of {length} items"}
        tag = "tuple" if issubclass(kind, tuple) else "list"
        return {"t": tag, "items": [to_plain(item, depth + 1) for item in items]}
    if issubclass(kind, (set, frozenset)):
        members = list(set.__iter__(value) if issubclass(kind, set) else frozenset.__iter__(value))  # type: ignore[arg-type]
        if len(members) > MAX_ITEMS:
            return {"t": "object", "type": f"set of {len(members)} items"}
        return {"t": "set", "items": [to_plain(item, depth + 1) for item in members]}
    if issubclass(kind, dict):
        pairs = list(dict.items(value))  # type: ignore[arg-type]
        if len(pairs) > MAX_ITEMS:
            return {"t": "object", "type": f"dict of {len(pairs)} items"}
        return {"t": "dict", "items": [[to_plain(k, depth + 1), to_plain(v, depth + 1)] for k, v in pairs]}
    module = _library_of(kind)
    if module:
        return _library_value(value, module)
    if callable(value):
        return _function(value)
    return {"t": "object", "type": _type_name(kind)}


def _library_of(kind: type) -> str:
    """The numpy/mxnet/pandas module a type or one of its bases comes from ('' if none): subclasses
    defined in a notebook are read through their library base class."""
    for base in getattr(kind, "__mro__", (kind,)):
        module = getattr(base, "__module__", "") or ""
        if module.startswith(("numpy", "mxnet", "pandas")):
            return module
    return ""


def _float(x: float) -> Plain:
    if math.isnan(x):
        return {"t": "float", "v": "nan"}
    if math.isinf(x):
        return {"t": "float", "v": "inf" if x > 0 else "-inf"}
    return {"t": "float", "v": x}


def _type_name(kind: type) -> str:
    return f"{getattr(kind, '__module__', '?')}.{getattr(kind, '__qualname__', '?')}"


def _library_value(value: object, module: str) -> Plain:
    """numpy and mxnet arrays and scalars, and pandas frames, read through their base classes."""
    import numpy

    if isinstance(value, numpy.generic):
        return _numpy_array(numpy.asarray(numpy.ndarray.view(numpy.array([value]), numpy.ndarray)[0]), "numpy", scalar=True)
    if isinstance(value, numpy.ndarray):
        return _numpy_array(numpy.ndarray.view(value, numpy.ndarray), "numpy")
    if module.startswith("mxnet"):
        return _mxnet_value(value)
    if module.startswith("pandas"):
        return _pandas_value(value)
    if callable(value):
        return _function(value)
    return {"t": "object", "type": _type_name(type(value))}


def _numpy_array(array: Any, lib: str, scalar: bool = False) -> Plain:
    import numpy

    size = int(numpy.prod(array.shape, dtype=numpy.int64))
    dtype = array.dtype.newbyteorder("=") if array.dtype.byteorder in "<>" else array.dtype  # '>i2' is int16
    out: Plain = {"t": "array", "lib": lib, "dtype": str(dtype), "shape": [int(n) for n in array.shape]}
    if scalar:
        out["scalar"] = True
    if size > MAX_ELEMENTS:
        out["data"] = None
        return out
    kind = array.dtype.kind
    if kind == "b":
        out["data"] = [bool(x) for x in array.reshape(-1).tolist()]
    elif kind in "iu":
        out["data"] = [int(x) for x in array.reshape(-1).tolist()]
    elif kind == "f":
        out["data"] = [_float(float(x))["v"] for x in array.reshape(-1).tolist()]
    elif kind == "c":
        out["data"] = [[_float(z.real)["v"], _float(z.imag)["v"]] for z in array.reshape(-1).tolist()]
    else:
        out["data"] = [to_plain(x, MAX_DEPTH - 1) for x in array.reshape(-1).tolist()[:MAX_ITEMS]]
    return out


def _mxnet_value(value: object) -> Plain:
    import mxnet

    try:
        if isinstance(value, mxnet.numpy.ndarray):
            return _numpy_array(mxnet.numpy.ndarray.asnumpy(value), "mxnet")
        if isinstance(value, mxnet.nd.NDArray):
            return _numpy_array(mxnet.nd.NDArray.asnumpy(value), "mxnet.nd")
    except Exception as exc:  # noqa: BLE001 - MXNet computes lazily: an operation's failure surfaces on reading
        return {"t": "error", "type": "MXNetError", "message": _mxnet_unreadable(exc, value)}
    if callable(value):
        return _function(value)
    return {"t": "object", "type": _type_name(type(value))}


def _pandas_value(value: object) -> Plain:
    import pandas

    if isinstance(value, pandas.DataFrame):
        frame = pandas.DataFrame(value)
        columns = [to_plain(c, 1) for c in frame.columns.tolist()]
        data = [_numpy_array(frame.iloc[:, i].to_numpy(), "numpy") for i in range(frame.shape[1])]
        return {"t": "frame", "columns": columns, "shape": list(frame.shape), "data": data}
    if isinstance(value, pandas.Series):
        return {"t": "series", "data": _numpy_array(pandas.Series(value).to_numpy(), "numpy")}
    return {"t": "object", "type": _type_name(type(value))}


def _function(value: object) -> Plain:
    import inspect

    try:
        parameters = list(inspect.signature(value).parameters.values())  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return {"t": "function", "params": None}
    positional = [p for p in parameters if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    return {"t": "function", "params": [p.name for p in positional],
            "required": sum(1 for p in positional if p.default is p.empty),
            "varargs": any(p.kind is p.VAR_POSITIONAL for p in parameters)}


_MXNET_DTYPES = ("float32", "float64", "float16", "uint8", "int32", "int8", "int64", "bool", "int16", "uint16",
                 "uint32", "uint64", "bfloat16")
"""MXNet's type enum (mshadow's type flags), by number: "Unknown type enum 7" means bool."""


def _mxnet_unreadable(exc: BaseException, value: object) -> str:
    """Why an MXNet array cannot be read, in a student's words: MXNet runs operations lazily, so an
    operation that does not support its input's dtype (``.T`` of a bool array) fails only when the result
    is read, with a C++ message such as "Unknown type enum 7"."""
    try:
        detail = error_summary(str(exc))
    except BaseException:  # noqa: BLE001 - a hostile __str__ must not escape
        detail = ""
    dtype = ""
    if detail.startswith("Unknown type enum "):
        number = detail.removeprefix("Unknown type enum ").strip()
        if number.isdigit() and int(number) < len(_MXNET_DTYPES):
            dtype = _MXNET_DTYPES[int(number)]
    if dtype:
        return (f"an operation that made it does not support {dtype} arrays (MXNet says \"{detail}\"; `.T` of a "
                "bool array is one such). Convert the array before that operation (`.astype('float32')`) or "
                "compute it another way")
    return detail or "MXNet could not compute this array"


def error_summary(text: str, limit: int = 200) -> str:
    """The line of an error message a student needs: MXNet prefixes its message with a C++ trace."""
    lines = [line.strip() for line in str(text).splitlines() if line.strip()]
    if not lines:
        return ""
    line = lines[-1] if lines[0].startswith("Traceback") else lines[0]
    for prefix in ("MXNetError: ", "Check failed: "):
        line = line.removeprefix(prefix)
    return line[:limit]


def error(exc: BaseException) -> Plain:
    """Describe an exception raised by student code (type name and a bounded message)."""
    try:
        message = error_summary(str(exc))
    except BaseException:  # noqa: BLE001 - a hostile __str__ must not escape
        message = "<unprintable>"
    return {"t": "error", "type": type(exc).__name__, "message": message}


def from_plain(plain: Plain) -> Any:
    """Rebuild a live argument from plain data: the inputs the grader passes to students' functions."""
    tag = plain["t"]
    if tag == "none":
        return None
    if tag in ("bool", "int", "str"):
        return plain["v"]
    if tag == "float":
        v = plain["v"]
        return float(v) if isinstance(v, str) else v
    if tag in ("tuple", "list"):
        items = [from_plain(p) for p in plain["items"]]
        return tuple(items) if tag == "tuple" else items
    if tag == "array":
        return _array_from_plain(plain)
    if tag == "frame":
        return _frame_from_plain(plain)
    raise ValueError(f"cannot rebuild a {tag!r} argument")


def _frame_from_plain(plain: Plain) -> Any:
    import pandas

    columns = {from_plain(c): _column_from_plain(d) for c, d in zip(plain["columns"], plain["data"], strict=True)}
    return pandas.DataFrame(columns)


def _column_from_plain(plain: Plain) -> Any:
    import numpy

    if plain["dtype"] == "object":
        return numpy.array([from_plain(x) for x in plain["data"]], dtype=object)
    return _array_from_plain({**plain, "lib": "numpy"})


def _array_from_plain(plain: Plain) -> Any:
    import numpy

    data = [float(x) if isinstance(x, str) else x for x in plain["data"]]
    array = numpy.array(data, dtype=plain["dtype"]).reshape(plain["shape"])
    if plain["lib"] == "mxnet":
        from mxnet import np

        return np.array(array, dtype=array.dtype)
    return array
