"""Answer contracts: what a question asks the student to produce, checked on plain data.

A contract is public: students see it in the notebook (``check.value("len_X", "int")``) and the same
object judges the form of an answer in the student's kernel (immediate feedback) and in the grader
(outside the student's process). ``normalize`` turns tagged plain data (see :mod:`d2lgrade.plain`)
into one canonical Python value per kind, so that equivalent forms (a float or a 0-d array, a tuple
or a list of ints for a shape) compare equal, and returns a :class:`Problem` for anything else.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from d2lgrade.plain import Plain

KINDS = ("number", "int", "bool", "str", "choice", "choices", "shape", "shapes", "array", "frame")
"""Value kinds a contract may ask for."""

_DTYPES = {"bool": "b", "int": "i", "float": "f"}


@dataclass(frozen=True)
class Problem:
    """Why an answer does not have the promised form; shown to the student."""

    message: str


@dataclass(frozen=True)
class Array:
    """Canonical array: shape, dtype category (``b``, ``i`` or ``f``) and flat data."""

    shape: tuple[int, ...]
    kind: str
    data: tuple[Any, ...]


@dataclass(frozen=True)
class Frame:
    """Canonical data frame: column names and one canonical array per column."""

    columns: tuple[str, ...]
    data: tuple[Array, ...]


Canonical = float | int | bool | str | frozenset | tuple | Array | Frame


@dataclass(frozen=True)
class ValueContract:
    """A value of a given kind bound to a name (or returned by a function when ``name`` is empty)."""

    name: str
    kind: str
    shape: tuple[int, ...] | None = None
    dtype: str | None = None
    options: tuple[str, ...] | None = None
    columns: tuple[str, ...] | None = None

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"unknown answer kind {self.kind!r}; use one of {', '.join(KINDS)}")
        if self.dtype is not None and self.dtype not in _DTYPES:
            raise ValueError(f"unknown dtype {self.dtype!r}; use one of {', '.join(_DTYPES)}")
        if self.kind in ("choice", "choices") and not self.options:
            raise ValueError(f"a {self.kind!r} answer needs options=(...)")

    def describe(self) -> str:
        """One line a student reads: the name and what it must hold."""
        what = {
            "number": "a number (int, float or 0-d array)",
            "int": "an integer",
            "bool": "True or False",
            "str": "a string",
            "choice": f"one of {', '.join(repr(o) for o in self.options or ())}",
            "choices": f"a set of options from {', '.join(repr(o) for o in self.options or ())}",
            "shape": "a shape: a tuple of ints",
            "shapes": "a list of shapes (tuples of ints)",
            "array": "an array",
            "frame": "a pandas DataFrame",
        }[self.kind]
        if self.shape is not None:
            what += f" of shape {self.shape}"
        if self.dtype is not None:
            what += f" with {self.dtype} entries"
        if self.columns is not None:
            what += f" with columns {list(self.columns)}"
        return f"`{self.name}`: {what}" if self.name else what

    def normalize(self, plain: Plain) -> Canonical | Problem:
        """The canonical value of ``plain``, or the problem that keeps it from fitting the contract."""
        label = f"`{self.name}`" if self.name else "the returned value"
        if plain.get("t") == "error":
            return Problem(f"{label} could not be computed: {plain['type']}: {plain['message']}")
        value = _NORMALIZERS[self.kind](self, plain)
        if isinstance(value, Problem):
            return Problem(f"{label} should be {self.describe_what()}, but {value.message}")
        return value

    def describe_what(self) -> str:
        return self.describe().split(": ", 1)[1] if self.name else self.describe()


@dataclass(frozen=True)
class FunctionContract:
    """A function the student defines: its name, parameter names and what it returns."""

    name: str
    params: tuple[str, ...]
    returns: ValueContract
    example: tuple[Any, ...] | None = field(default=None, compare=False)

    def describe(self) -> str:
        return f"`{self.name}({', '.join(self.params)})` returning {self.returns.describe()}"

    def check_signature(self, plain: Plain) -> Problem | None:
        if plain.get("t") != "function":
            return Problem(f"`{self.name}` should be a function {self.describe()}, but {_what(plain)}")
        params = plain.get("params")
        if params is None or plain.get("varargs"):
            return None
        wanted = len(self.params)
        required = plain.get("required", len(params))
        if not (required <= wanted <= len(params)):
            takes = f"{required}" if required == len(params) else f"{required} to {len(params)}"
            return Problem(f"`{self.name}` should take {wanted} parameter(s) ({', '.join(self.params)}), "
                           f"but it takes {takes}")
        return None


Contract = ValueContract | FunctionContract


def _what(plain: Plain) -> str:
    """A short, safe description of what a student gave (never the reference)."""
    tag = plain.get("t")
    if tag == "missing":
        return "it is not defined (run the cell that assigns it, and check the spelling)"
    if tag == "array":
        return f"it is an array of shape {tuple(plain['shape'])} and dtype {plain['dtype']}"
    if tag == "object":
        return f"it is an object of type {plain.get('type')}"
    if tag in ("int", "float", "bool", "str"):
        return f"it is a {tag} ({plain['v']!r})"
    return f"it is a {tag}"


def _float_of(v: Any) -> float:
    """Floats arrive as numbers, or as "nan", "inf", "-inf" strings."""
    return float(v)


def _scalar(plain: Plain) -> tuple[str, Any] | None:
    """(dtype category, value) of a Python or 0-d/size-1-scalar array number, else None."""
    tag = plain.get("t")
    if tag == "bool":
        return "b", plain["v"]
    if tag == "int":
        return "i", plain["v"]
    if tag == "float":
        return "f", _float_of(plain["v"])
    if tag == "array" and plain["shape"] == [] and plain.get("data") is not None:
        kind = _array_kind(plain["dtype"])
        value = plain["data"][0]
        return kind, _float_of(value) if kind == "f" else value
    return None


def _array_kind(dtype: str) -> str:
    if dtype.startswith("bool"):
        return "b"
    if dtype.startswith(("int", "uint")):
        return "i"
    if dtype.startswith(("float", "bfloat")):
        return "f"
    return "?"


def _number(c: ValueContract, plain: Plain) -> Canonical | Problem:
    s = _scalar(plain)
    if s is None or s[0] == "b":
        return Problem(_what(plain))
    return float(s[1])


def _int(c: ValueContract, plain: Plain) -> Canonical | Problem:
    s = _scalar(plain)
    if s is None or s[0] == "b":
        return Problem(_what(plain))
    if s[0] == "f" and not (math.isfinite(s[1]) and float(s[1]).is_integer()):
        return Problem(f"{_what(plain)}, which is not a whole number")
    return int(s[1])


def _bool(c: ValueContract, plain: Plain) -> Canonical | Problem:
    s = _scalar(plain)
    if s is None or s[0] != "b":
        return Problem(_what(plain))
    return bool(s[1])


def _str(c: ValueContract, plain: Plain) -> Canonical | Problem:
    if plain.get("t") != "str":
        return Problem(_what(plain))
    return plain["v"]


def _option(c: ValueContract, plain: Plain) -> str | Problem:
    if plain.get("t") != "str":
        return Problem(_what(plain))
    wanted = plain["v"].strip()
    for option in c.options or ():
        if option.lower() == wanted.lower():
            return option
    return Problem(f"{plain['v']!r} is not one of the options")


def _choice(c: ValueContract, plain: Plain) -> Canonical | Problem:
    return _option(c, plain)


def _choices(c: ValueContract, plain: Plain) -> Canonical | Problem:
    if plain.get("t") not in ("set", "list", "tuple"):
        return Problem(_what(plain))
    chosen = [_option(c, item) for item in plain["items"]]
    for item in chosen:
        if isinstance(item, Problem):
            return item
    return frozenset(chosen)  # type: ignore[arg-type]


def _shape_of(plain: Plain) -> tuple[int, ...] | Problem:
    if plain.get("t") not in ("tuple", "list"):
        return Problem(_what(plain))
    dims = []
    for item in plain["items"]:
        s = _scalar(item)
        if s is None or s[0] != "i" or s[1] < 0:
            return Problem("its entries are not all non-negative ints")
        dims.append(int(s[1]))
    return tuple(dims)


def _shape(c: ValueContract, plain: Plain) -> Canonical | Problem:
    return _shape_of(plain)


def _shapes(c: ValueContract, plain: Plain) -> Canonical | Problem:
    if plain.get("t") not in ("tuple", "list"):
        return Problem(_what(plain))
    shapes = [_shape_of(item) for item in plain["items"]]
    for s in shapes:
        if isinstance(s, Problem):
            return Problem(f"one entry is not a shape ({s.message})")
    return tuple(shapes)  # type: ignore[arg-type]


def _as_array(plain: Plain) -> Array | Problem:
    """Arrays from mxnet or numpy, Python scalars as 0-d arrays, nested lists of numbers."""
    tag = plain.get("t")
    if tag == "array":
        if plain.get("data") is None:
            return Problem(f"it is an array of shape {tuple(plain['shape'])}, too large to grade")
        kind = _array_kind(plain["dtype"])
        if kind == "?":
            return Problem(f"it is an array of dtype {plain['dtype']}")
        data = tuple(_float_of(x) for x in plain["data"]) if kind == "f" else tuple(plain["data"])
        return Array(tuple(plain["shape"]), kind, data)
    s = _scalar(plain)
    if s is not None:
        return Array((), s[0], (s[1],))
    if tag in ("list", "tuple"):
        parts = [_as_array(item) for item in plain["items"]]
        for p in parts:
            if isinstance(p, Problem):
                return Problem("it is a list whose entries are not all numbers")
        shapes = {p.shape for p in parts}  # type: ignore[union-attr]
        if len(shapes) > 1:
            return Problem("it is a ragged nested list")
        inner = shapes.pop() if shapes else ()
        kinds = {p.kind for p in parts}  # type: ignore[union-attr]
        kind = "f" if "f" in kinds else ("i" if "i" in kinds else ("b" if kinds else "f"))
        data = tuple(x for p in parts for x in p.data)  # type: ignore[union-attr]
        return Array((len(parts), *inner), kind, data)
    return Problem(_what(plain))


def _array(c: ValueContract, plain: Plain) -> Canonical | Problem:
    array = _as_array(plain)
    if isinstance(array, Problem):
        return array
    if c.shape is not None and array.shape != tuple(c.shape):
        return Problem(f"it has shape {array.shape}")
    ints_for_floats = c.dtype == "float" and array.kind == "i"
    if c.dtype is not None and array.kind != _DTYPES[c.dtype] and not ints_for_floats:
        return Problem(f"its entries are {dict(b='bool', i='int', f='float').get(array.kind)}")
    return array


def _frame(c: ValueContract, plain: Plain) -> Canonical | Problem:
    if plain.get("t") != "frame":
        return Problem(_what(plain))
    columns = tuple(str(col.get("v", "?")) for col in plain["columns"])
    if c.columns is not None and columns != tuple(c.columns):
        return Problem(f"its columns are {list(columns)}")
    data = []
    for column in plain["data"]:
        array = _as_array(column)
        if isinstance(array, Problem):
            array = Array(tuple(column["shape"]), "?", tuple(str(x) for x in column.get("data") or ()))
        data.append(array)
    return Frame(columns, tuple(data))


_NORMALIZERS = {
    "number": _number,
    "int": _int,
    "bool": _bool,
    "str": _str,
    "choice": _choice,
    "choices": _choices,
    "shape": _shape,
    "shapes": _shapes,
    "array": _array,
    "frame": _frame,
}
