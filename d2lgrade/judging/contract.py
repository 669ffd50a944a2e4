"""Answer contracts: what a question asks the student to produce, checked on plain data.

A contract is public: students see it in the notebook (``check.value("len_X", "int")``) and the same
object judges the form of an answer in the student's kernel (immediate feedback) and in the grader
(outside the student's process). ``normalize`` turns tagged plain data (see :mod:`d2lgrade.judging.plain`)
into one canonical Python value per kind, so that equivalent forms (a float or a 0-d array, a tuple
or a list of ints for a shape) compare equal, and returns a :class:`Problem` for anything else.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from d2lgrade.judging.plain import Plain

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

    def __post_init__(self) -> None:
        """An array whose data disagrees with its shape cannot exist: comparisons rely on it."""
        if not all(type(n) is int and n >= 0 for n in self.shape) or len(self.data) != math.prod(self.shape):
            raise ValueError(f"array of shape {self.shape} with {len(self.data)} entries")


@dataclass(frozen=True)
class Frame:
    """Canonical data frame: column names and one canonical array per column."""

    columns: tuple[str, ...]
    data: tuple[Array, ...]

    def __post_init__(self) -> None:
        if len(self.columns) != len(self.data):
            raise ValueError(f"frame with {len(self.columns)} column names and {len(self.data)} columns")


Canonical = float | int | bool | str | frozenset | tuple | Array | Frame


@dataclass(frozen=True)
class ValueContract:
    """A value of a given kind bound to a name (or returned by a function when ``name`` is empty)."""

    name: str
    kind: str
    shape: tuple[int | str | None, ...] | None = None
    """Axis lengths; a name or ``None`` for an axis of any length: ``("k", 2)`` is "shape (k, 2)" as the
    task writes it (``None`` reads as k, m, n, ...)."""
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
        if self.shape is not None and not all(n is None or (type(n) is int and n >= 0) or
                                              (isinstance(n, str) and n.isidentifier()) for n in self.shape):
            raise ValueError(f"shape={self.shape!r}: axis lengths are ints >= 0, or a name (or None) for any length")

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
            what += f" of shape {shape_text(self.shape)}"
            free = [name for n, name in zip(self.shape, _axis_names(self.shape), strict=True) if type(n) is not int]
            if free:
                what += f", any {' and '.join(free)},"
        if self.dtype is not None:
            what += f" with {self.dtype} entries"
        what = what.rstrip(",")
        if self.columns is not None:
            what += f" with columns {list(self.columns)}"
        return f"`{self.name}`: {what}" if self.name else what

    def normalize(self, plain: Plain) -> Canonical | Problem:
        """The canonical value of ``plain``, or the problem that keeps it from fitting the contract."""
        label = f"`{self.name}`" if self.name else "the returned value"
        if not isinstance(plain, dict):
            return Problem(f"{label} was not reported properly")
        if plain.get("t") == "error":
            return Problem(f"{label} could not be computed: {plain.get('type')}: {plain.get('message')}")
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

_LETTERS = "kmnpqr"
"""Names of the axes of any length in a declared shape, as the tasks write them: shape (k, 2)."""


def _axis_names(shape: tuple[int | str | None, ...]) -> list[str]:
    letters = iter(c for c in _LETTERS if c not in shape)
    return [str(n) if n is not None else next(letters, "k") for n in shape]


def shape_text(shape: tuple[int | str | None, ...]) -> str:
    """A declared shape as a student reads it: ``("k", 2)`` and ``(None, 2)`` are ``(k, 2)``."""
    parts = _axis_names(shape)
    return f"({parts[0]},)" if len(parts) == 1 else f"({', '.join(parts)})"


def axes_problem(got: tuple[int, ...], want: tuple[int | str | None, ...]) -> str | None:
    """How a shape differs from a declared one, axis by axis (a name or None fits any length); None if it fits.

    Only for shapes the student may know (declared in the public line): it names the lengths asked for.
    """
    if len(got) != len(want):
        return f"it has shape {got}: {_axes(len(got))}, not {len(want)}"
    wrong = [(i, g, w) for i, (g, w) in enumerate(zip(got, want, strict=True)) if type(w) is int and g != w]
    if not wrong:
        return None
    return f"it has shape {got}: " + ", ".join(f"axis {i} has length {g}, not {w}" for i, g, w in wrong)


def _axes(n: int) -> str:
    return "1 axis" if n == 1 else f"{n} axes"


MODE_FORMS = {
    "unordered": "rows (items) of a declared shape",
    "up_to_scale": "rows that are vectors: an array of declared shape (k, n)",
    "interval": "entries of a declared shape",
    "einsum": "a string",
}
"""What an answer judged in a mode other than ``values`` must be, so that its public line can say it."""


def mode_form_problem(contract: ValueContract, mode: str) -> str | None:
    """Why ``contract`` (a public line) is too loose for answers judged in ``mode`` (a hidden line), or None.

    The public check and grading apply one definition of an answer's form, this module; a mode that
    needs a form the public line does not declare would reject, when graded, answers the public check
    accepted (a flat ``[1., 0.]`` where rows of 2 are asked).
    """
    if mode == "einsum" and contract.kind != "str":
        return f"mode='einsum' judges {MODE_FORMS[mode]}: the public line must ask for kind 'str'"
    if mode in ("unordered", "up_to_scale", "interval") and contract.kind == "array" and not contract.shape:
        return (f"mode={mode!r} judges {MODE_FORMS[mode]}: declare shape=(...) in the public line (None for an "
                "axis of any length), so that the public check catches a wrong shape")
    if mode == "up_to_scale" and (contract.kind != "array" or len(contract.shape or ()) != 2):
        return f"mode='up_to_scale' judges {MODE_FORMS[mode]}: declare kind 'array' and shape=(None, n)"
    return None


def _what(plain: Plain) -> str:
    """A short, safe description of what a student gave (never the reference)."""
    tag = plain.get("t")
    if tag == "missing":
        return "it is not defined (run the cell that assigns it, and check the spelling)"
    if tag == "array":
        return f"it is an array of shape {tuple(plain.get('shape') or ())} and dtype {plain.get('dtype')}"
    if tag == "object":
        return f"it is an object of type {plain.get('type')}"
    if tag == "float" and plain.get("v") in ("nan", "inf", "-inf"):
        return f"it is {special_text(plain['v'])}"
    if tag in ("float", "bool"):
        return f"it is a {tag} ({plain.get('v')!r})"
    if tag in ("int", "str"):
        return f"it is a {tag} ({_short(plain.get('v'))})"
    return f"it is a {tag}"


def special_text(v: Any) -> str:
    """NaN and infinities said as what they are, with where they usually come from."""
    if v == "nan" or (isinstance(v, float) and math.isnan(v)):
        return "NaN (not a number: from 0/0, inf - inf, or a log or square root of a negative number?)"
    sign = "-" if (v == "-inf" or (isinstance(v, float) and v < 0)) else ""
    return f"{sign}infinity ({sign}inf: from a division by zero or an overflow?)"


def _short(v: Any) -> str:
    """repr of a student's int or string, cut: a 400-digit integer is described, not echoed."""
    if type(v) is int and v.bit_length() > 64:
        return f"an integer of about {int(v.bit_length() * 0.30103)} digits"
    text = repr(v)
    return text if len(text) <= 80 else f"{text[:77]}..."


def _float_of(v: Any) -> float:
    """Floats arrive as numbers, or as "nan", "inf", "-inf" strings."""
    if isinstance(v, str) and v not in ("nan", "inf", "-inf"):
        raise ValueError(f"not a float: {v[:20]!r}")
    return as_float(v) if type(v) is int else float(v)


def as_float(v: int | float) -> float:
    """``float(v)``, with ints too large for a float (10**400) mapped to the infinity of their sign."""
    try:
        return float(v)
    except OverflowError:
        return math.inf if v > 0 else -math.inf


def _scalar(plain: Plain) -> tuple[str, Any] | None:
    """(dtype category, value) of a Python or 0-d/size-1-scalar array number, else None."""
    tag = plain.get("t")
    if tag == "bool":
        return "b", plain["v"]
    if tag == "int":
        return "i", plain["v"]
    if tag == "float":
        return "f", _float_of(plain["v"])
    if tag == "array" and plain.get("shape") == [] and isinstance(plain.get("data"), list) \
            and len(plain["data"]) == 1 and isinstance(plain.get("dtype"), str):
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
    value = as_float(s[1])
    if math.isinf(value) and type(s[1]) is int:
        return Problem(f"{_what(plain)}, too large for a float")
    return value


def _int(c: ValueContract, plain: Plain) -> Canonical | Problem:
    s = _scalar(plain)
    if s is None or s[0] == "b":
        return Problem(_what(plain))
    if s[0] == "f" and not math.isfinite(s[1]):
        return Problem(f"it is {special_text(s[1])}")
    if s[0] == "f" and not float(s[1]).is_integer():
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
            return Problem("its axis lengths are not all non-negative ints")
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
        return _array_plain(plain)
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


def _array_plain(plain: Plain) -> Array | Problem:
    """A tagged array, only if its data is exactly ``prod(shape)`` entries of its dtype's kind."""
    shape, dtype, data = plain.get("shape"), plain.get("dtype"), plain.get("data")
    if not (isinstance(shape, list) and all(type(n) is int and n >= 0 for n in shape) and isinstance(dtype, str)):
        return Problem("it is an array that was not reported properly")
    if data is None:
        return Problem(f"it is an array of shape {tuple(shape)}, too large to grade")
    kind = _array_kind(dtype)
    if kind == "?":
        return Problem(f"it is an array of dtype {dtype}")
    if not isinstance(data, list) or len(data) != math.prod(shape) or not all(_ENTRY[kind](x) for x in data):
        return Problem(f"it is an array of shape {tuple(shape)} whose entries were not reported properly")
    values = tuple(_float_of(x) for x in data) if kind == "f" else tuple(data)
    return Array(tuple(shape), kind, values)


_ENTRY = {
    "b": lambda x: type(x) is bool,
    "i": lambda x: type(x) is int,
    "f": lambda x: type(x) in (int, float) or x in ("nan", "inf", "-inf"),
}
"""What each entry of an array of a dtype kind may be (floats may arrive as whole numbers from JSON)."""


def _array(c: ValueContract, plain: Plain) -> Canonical | Problem:
    array = _as_array(plain)
    if isinstance(array, Problem):
        return array
    if c.shape is not None:
        problem = axes_problem(array.shape, c.shape)
        if problem:
            return Problem(problem)
    ints_for_floats = c.dtype == "float" and array.kind == "i"
    if c.dtype is not None and array.kind != _DTYPES[c.dtype] and not ints_for_floats:
        return Problem(f"its entries are {dict(b='bool', i='int', f='float').get(array.kind)}")
    return array


def _frame(c: ValueContract, plain: Plain) -> Canonical | Problem:
    if plain.get("t") != "frame":
        return Problem(_what(plain))
    names, columns_data = plain.get("columns"), plain.get("data")
    if not (isinstance(names, list) and isinstance(columns_data, list) and len(names) == len(columns_data)
            and all(isinstance(x, dict) for x in names + columns_data)):
        return Problem("it is a data frame that was not reported properly")
    columns = tuple(str(col.get("v", "?")) for col in names)
    if c.columns is not None and columns != tuple(c.columns):
        return Problem(f"its columns are {list(columns)}")
    data = []
    for column in columns_data:
        array = _column(column)
        if isinstance(array, Problem):
            return array
        data.append(array)
    if len({a.shape for a in data}) > 1 or any(len(a.shape) != 1 for a in data):
        return Problem("it is a data frame whose columns do not all have one entry per row")
    return Frame(columns, tuple(data))


def _column(plain: Plain) -> Array | Problem:
    """A frame column: numbers as an array, anything else (strings, objects) compared as text."""
    array = _as_array(plain)
    if not isinstance(array, Problem):
        return array
    shape, data = plain.get("shape"), plain.get("data")
    if not (isinstance(shape, list) and len(shape) == 1 and isinstance(data, list) and len(data) == shape[0]
            and type(shape[0]) is int):
        return Problem("it is a data frame whose columns were not reported properly")
    return Array((shape[0],), "?", tuple(str(x) for x in data))


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
