"""Compare a student's canonical answer with the reference's, to an explicit tolerance.

Runs in the grader only. Messages reach students: they say *how* an answer differs (its shape axis by
axis, NaN or infinite values it has, how many entries are off when judged to a tolerance), never what
the reference is; an exact answer is judged whole, with no count of wrong parts (docs/authoring.md,
"Messages").
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

from d2lgrade.judging.contract import Array, Canonical, Frame, as_float, special_text

MODES = ("values", "unordered", "up_to_scale", "einsum", "interval")
"""How answers are matched (``check.judge(..., mode=...)``):

- ``values`` (default): entry by entry, to the tolerance;
- ``unordered``: the rows (first axis) of an array, or the items of a list, in any order;
- ``up_to_scale``: the rows of an array as vectors, each up to a non-zero factor (sign included),
  in any order: eigenvectors, directions;
- ``einsum``: an einsum subscript string, judged by evaluating it and the reference's on the same
  random square matrices (in the grader; the string is data, never code);
- ``interval``: the reference is an array of shape ``(2, *S)`` of lower and upper bounds, and the
  answer (shape ``S``) must lie within them, widened by ``atol``: statistical judgement of
  simulations (a few standard errors around the truth), never a match of one random draw.
"""


@dataclass(frozen=True)
class Tolerance:
    """``|got - expected| <= atol + rtol * |expected|`` elementwise; both zero means exact."""

    rtol: float = 0.0
    atol: float = 0.0
    mode: str = "values"

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise ValueError(f"unknown mode {self.mode!r}; use one of {', '.join(MODES)}")

    @property
    def exact(self) -> bool:
        return self.rtol == 0 and self.atol == 0

    def describe(self) -> str:
        if self.exact:
            return "exact"
        return f"rtol={self.rtol:g}, atol={self.atol:g}"

    def stated(self) -> str | None:
        """The sentence a task text carries to state this tolerance (docs/authoring.md, "Task texts"); None
        when there is none to state: exact answers, and ``einsum`` and ``interval``, whose texts say how
        they are judged."""
        if self.exact or self.mode in ("einsum", "interval"):
            return None
        if self.mode == "up_to_scale":
            return (f"**Tolerance.** Each row may point at an angle of up to {self.angle_degrees():.2g}° from "
                    "its direction.")
        r, a = _power_of_ten(self.rtol), _power_of_ten(self.atol)
        bound = f"{a}" if not self.rtol else f"{r}\\,|r|" if not self.atol else f"{a} + {r}\\,|r|"
        right = "the right one" if not self.rtol else "the right one, $r$,"
        order = "Taken in any order, each" if self.mode == "unordered" else "Each"
        return f"**Tolerance.** {order} number may differ from {right} by at most ${bound}$."

    def angle_degrees(self) -> float:
        """The widest angle ``up_to_scale`` accepts between a row and its direction: 1 - cos(angle) <= rtol + atol."""
        return math.degrees(math.acos(max(-1.0, 1 - (self.rtol + self.atol))))

    def close(self, got: float, expected: float) -> bool:
        """Ints are compared exactly when the tolerance is exact, and as floats (huge ones as infinities) otherwise."""
        if type(got) is int and type(expected) is int and self.rtol == 0 and self.atol == 0:
            return got == expected
        got, expected = as_float(got), as_float(expected)
        if math.isnan(expected) or math.isnan(got):
            return math.isnan(expected) and math.isnan(got)
        if math.isinf(expected) or math.isinf(got):
            return got == expected
        return abs(got - expected) <= self.atol + self.rtol * abs(expected)


def _power_of_ten(x: float) -> str:
    """``10^{-4}`` for 0.0001 (LaTeX), other numbers as ``%g``."""
    if x > 0 and abs(math.log10(x) - round(math.log10(x))) < 1e-9:
        return f"10^{{{round(math.log10(x))}}}"
    return f"{x:g}"


def differs(got: Canonical, expected: Canonical, tol: Tolerance) -> str | None:
    """None when ``got`` matches ``expected`` (in ``tol.mode``); otherwise a message safe to show the student."""
    if tol.mode == "unordered":
        return _unordered_differs(got, expected, tol, _same)
    if tol.mode == "up_to_scale":
        return _unordered_differs(got, expected, tol, _parallel)
    if tol.mode == "einsum":
        return _einsum_differs(got, expected, tol)
    if tol.mode == "interval":
        return _interval_differs(got, expected, tol)
    return _values_differ(got, expected, tol)


def _values_differ(got: Canonical, expected: Canonical, tol: Tolerance) -> str | None:
    if isinstance(expected, Array):
        return _array_differs(got, expected, tol) if isinstance(got, Array) else "it is not an array"
    if isinstance(expected, Frame):
        return _frame_differs(got, expected, tol) if isinstance(got, Frame) else "it is not a data frame"
    if isinstance(expected, bool) or isinstance(got, bool):
        return None if got == expected and type(got) is type(expected) else NOT_RIGHT
    if isinstance(expected, (int, float)) and isinstance(got, (int, float)):
        if tol.close(got, expected):
            return None
        return _special(got) or f"{NOT_RIGHT}{_within(tol)}"
    if isinstance(expected, tuple) and isinstance(got, tuple):  # shapes and lists of shapes: exact, judged whole
        return None if len(got) == len(expected) and all(
            _values_differ(g, e, tol) is None for g, e in zip(got, expected, strict=True)) else NOT_RIGHT
    return None if got == expected else NOT_RIGHT


NOT_RIGHT = "not right"
"""The whole message for an exact answer that is wrong: no count or position of wrong parts (docs/authoring.md)."""


def _within(tol: Tolerance) -> str:
    return "" if tol.exact else f" ({tol.describe()})"


def _special(x: object) -> str | None:
    """'it is NaN ...' or 'it is infinity ...' for a non-finite number the student's answer gave, else None."""
    if isinstance(x, float) and not math.isfinite(x):
        return f"it is {special_text(x)}"
    return None


def _shape_differs(got: tuple[int, ...], expected: tuple[int, ...]) -> str | None:
    """A shape the public line did not declare: the student's axes, never the reference's lengths."""
    if got == expected:
        return None
    if len(got) != len(expected):
        axes = "1 axis" if len(got) == 1 else f"{len(got)} axes"
        return f"it has shape {got}, with {axes}: not the right number of axes"
    wrong = [i for i, (g, e) in enumerate(zip(got, expected, strict=True)) if g != e]
    lengths = ", ".join(f"axis {i} has length {got[i]}" for i in wrong)
    return f"it has shape {got}: {lengths}, which {'is' if len(wrong) == 1 else 'are'} not right"


def _array_differs(got: Array, expected: Array, tol: Tolerance) -> str | None:
    problem = _shape_differs(got.shape, expected.shape)
    if problem:
        return problem
    if expected.kind == "b" and got.kind != "b":
        return "its entries should be booleans (True/False)"
    wrong = [i for i, (g, e) in enumerate(zip(got.data, expected.data, strict=True)) if not _entry_close(g, e, tol)]
    if not wrong:
        return None
    specials = _specials_among(got.data[i] for i in wrong)
    if tol.exact:  # counts would be an oracle: change one entry, resubmit, watch the count
        return f"{NOT_RIGHT}{specials}"
    return f"{len(wrong)} of {len(expected.data)} entries are not right ({tol.describe()}){specials}"


def _specials_among(values: Iterable[object]) -> str:
    """'; it has NaN entries' (or infinite ones) when wrong entries of the student's answer are not finite."""
    kinds = {("NaN" if math.isnan(x) else "infinite") for x in values if isinstance(x, float) and not math.isfinite(x)}
    if not kinds:
        return ""
    what = " and ".join(k for k in ("NaN", "infinite") if k in kinds)
    hint = special_text(math.nan if "NaN" in kinds else math.inf).split(" (", 1)[1].rstrip(")")
    return f"; it has {what} entries ({hint})"


def _entry_close(got: object, expected: object, tol: Tolerance) -> bool:
    if isinstance(expected, bool) or isinstance(got, bool):
        return got is expected
    if isinstance(expected, (int, float)) and isinstance(got, (int, float)):
        return tol.close(got, expected)
    return got == expected


def _frame_differs(got: Frame, expected: Frame, tol: Tolerance) -> str | None:
    """Which columns are wrong is said with the student's own names only: the reference's columns could answer
    another question (which column a table should lose)."""
    if len(set(got.columns)) != len(got.columns):
        return "it has two columns with the same name"
    if set(got.columns) != set(expected.columns):
        return f"its columns are {_names(got.columns)}, which are not the right columns"
    by_name = dict(zip(got.columns, got.data, strict=True))
    for name, column in zip(expected.columns, expected.data, strict=True):
        problem = _array_differs(by_name[name], column, tol) if column.kind != "?" else (
            None if by_name[name].data == column.data else NOT_RIGHT
        )
        if problem and tol.exact and problem.startswith(NOT_RIGHT):  # judged whole: not which column
            return f"its values are {problem}"
        if problem:
            return f"column {_names((name,))[1:-1]}: {problem}"
    return None


def _names(columns: tuple[str, ...]) -> str:
    text = repr(list(columns))
    return text if len(text) <= 120 else f"{text[:117]}...]"


def _rows(value: Canonical) -> list[Canonical] | None:
    """The items of a tuple, or the rows (first axis) of an array, as separate canonical values."""
    if isinstance(value, tuple):
        return list(value)
    if isinstance(value, Array) and value.shape:
        n = value.shape[0]
        width = len(value.data) // n if n else 0
        return [Array(value.shape[1:], value.kind, value.data[i * width:(i + 1) * width]) for i in range(n)]
    return None


def _same(got: Canonical, expected: Canonical, tol: Tolerance) -> bool:
    return _values_differ(got, expected, tol) is None


def _parallel(got: Canonical, expected: Canonical, tol: Tolerance) -> bool:
    """Non-zero vectors on the same line: |<g, e>| = |g| |e| to the tolerance."""
    if not (isinstance(got, Array) and isinstance(expected, Array)) or got.shape != expected.shape:
        return False
    if got.kind not in "if" or expected.kind not in "if":
        return False
    g, e = [as_float(x) for x in got.data], [as_float(x) for x in expected.data]
    if not all(math.isfinite(x) for x in g + e):
        return False
    ng, ne = math.hypot(*g), math.hypot(*e)
    if not math.isfinite(ng) or ng <= tol.atol or ne == 0:
        return False
    cosine = abs(sum(x * y for x, y in zip(g, e, strict=True))) / (ng * ne)
    return abs(1 - cosine) <= tol.atol + tol.rtol


def _unordered_differs(got: Canonical, expected: Canonical, tol: Tolerance, match) -> str | None:  # type: ignore[no-untyped-def]
    """Judged whole: neither how many items match nor whether their number is right (for eigenvectors, the
    number of rows is part of the answer)."""
    got_rows, want_rows = _rows(got), _rows(expected)
    if got_rows is None or want_rows is None:
        return "it is not a list of items"
    unused = list(range(len(got_rows)))
    for want in want_rows:
        hit = next((i for i in unused if match(got_rows[i], want, tol)), None)
        if hit is None:
            break
        unused.remove(hit)
    else:
        if not unused:
            return None
    specials = _specials_among(x for row in got_rows for x in (row.data if isinstance(row, Array) else (row,)))
    if match is _parallel:
        return (f"its rows are not right{specials}: they must be the directions asked for, one row for each, in "
                "any order, each row any non-zero multiple (either sign) of its direction, at an angle under "
                f"{tol.angle_degrees():.2g}° to it")
    return f"its items, taken in any order, are not right{_within(tol)}{specials}"


def _einsum_differs(got: Canonical, expected: Canonical, tol: Tolerance) -> str | None:
    import numpy

    if not isinstance(got, str) or not isinstance(expected, str):
        return "it is not an einsum string"
    operands = expected.split("->")[0].count(",") + 1
    if len(got) > 200:
        return "it is longer than any subscript string the task needs"
    if got.split("->")[0].count(",") + 1 != operands:
        taken = got.split("->")[0].count(",") + 1
        return f"it takes {taken} operand{'s' if taken != 1 else ''}, which is not what the task asks"
    rng = numpy.random.default_rng(1701)
    for _ in range(3):
        matrix = rng.normal(size=(4, 4))
        want = numpy.einsum(expected, *[matrix] * operands)
        try:
            have = numpy.einsum(got, *[matrix] * operands)
        except Exception as exc:  # noqa: BLE001 - an invalid subscript string is a wrong answer
            return f"numpy.einsum rejects it ({str(exc)[:120]})"
        if numpy.shape(have) != numpy.shape(want) or not numpy.allclose(have, want, rtol=tol.rtol, atol=tol.atol):
            return "evaluated on random matrices, it does not give the asked quantity"
    return None


def _interval_differs(got: Canonical, expected: Canonical, tol: Tolerance) -> str | None:
    if not isinstance(expected, Array) or not expected.shape or expected.shape[0] != 2:
        raise ValueError("an interval reference must be an array of shape (2, ...): lower and upper bounds")
    if isinstance(got, (int, float)) and not isinstance(got, bool):
        got = Array((), "f", (as_float(got),))
    if not isinstance(got, Array):
        return "it is not an array"
    problem = _shape_differs(got.shape, expected.shape[1:])
    if problem:
        return problem
    if got.kind not in "if":
        return "its entries are not numbers"
    half = len(expected.data) // 2
    lower, upper = expected.data[:half], expected.data[half:]
    outside = sum(1 for g, lo, hi in zip(got.data, lower, upper, strict=True)
                  if not (lo - tol.atol <= as_float(g) <= hi + tol.atol))
    if outside:  # counts kept: a simulation's entry cannot be found by trying values (docs/authoring.md)
        specials = _specials_among(got.data)
        return (f"{outside} of {half} entries fall outside the range a correct simulation gives "
                f"(with near certainty){specials}")
    return None
