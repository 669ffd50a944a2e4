"""Compare a student's canonical answer with the reference's, to an explicit tolerance.

Runs in the grader only. Messages say *how* an answer differs (shape, count of wrong entries), never
what the reference is, because they reach students.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from d2lgrade.contract import Array, Canonical, Frame


@dataclass(frozen=True)
class Tolerance:
    """``|got - expected| <= atol + rtol * |expected|`` elementwise; both zero means exact."""

    rtol: float = 0.0
    atol: float = 0.0

    def describe(self) -> str:
        if self.rtol == 0 and self.atol == 0:
            return "exact"
        return f"rtol={self.rtol:g}, atol={self.atol:g}"

    def close(self, got: float, expected: float) -> bool:
        if math.isnan(expected) or math.isnan(got):
            return math.isnan(expected) and math.isnan(got)
        if math.isinf(expected) or math.isinf(got):
            return got == expected
        return abs(got - expected) <= self.atol + self.rtol * abs(expected)


def differs(got: Canonical, expected: Canonical, tol: Tolerance) -> str | None:
    """None when ``got`` matches ``expected``; otherwise a message safe to show the student."""
    if isinstance(expected, Array):
        return _array_differs(got, expected, tol) if isinstance(got, Array) else "it is not an array"
    if isinstance(expected, Frame):
        return _frame_differs(got, expected, tol) if isinstance(got, Frame) else "it is not a data frame"
    if isinstance(expected, bool) or isinstance(got, bool):
        return None if got == expected and type(got) is type(expected) else "the value is not right"
    if isinstance(expected, (int, float)) and isinstance(got, (int, float)):
        return None if tol.close(float(got), float(expected)) else f"the value is not right ({tol.describe()})"
    if isinstance(expected, tuple) and isinstance(got, tuple):
        if len(got) != len(expected):
            return f"it has {len(got)} entries; {len(expected)} are expected"
        wrong = [i for i, (g, e) in enumerate(zip(got, expected)) if differs(g, e, tol) is not None]
        return f"entries at positions {wrong} are not right" if wrong else None
    return None if got == expected else "the answer is not right"


def _array_differs(got: Array, expected: Array, tol: Tolerance) -> str | None:
    if got.shape != expected.shape:
        return f"it has shape {got.shape}, which is not the expected shape"
    if expected.kind == "b" and got.kind != "b":
        return "its entries should be booleans (True/False)"
    wrong = sum(1 for g, e in zip(got.data, expected.data) if not _entry_close(g, e, tol))
    if wrong:
        return f"{wrong} of {len(expected.data)} entries are not right ({tol.describe()})"
    return None


def _entry_close(got: object, expected: object, tol: Tolerance) -> bool:
    if isinstance(expected, bool) or isinstance(got, bool):
        return got is expected
    if isinstance(expected, (int, float)) and isinstance(got, (int, float)):
        return tol.close(float(got), float(expected))
    return got == expected


def _frame_differs(got: Frame, expected: Frame, tol: Tolerance) -> str | None:
    if set(got.columns) != set(expected.columns):
        missing = [c for c in expected.columns if c not in got.columns]
        extra = [c for c in got.columns if c not in expected.columns]
        return f"its columns differ (missing: {missing}, unexpected: {extra})"
    by_name = dict(zip(got.columns, got.data))
    for name, column in zip(expected.columns, expected.data):
        problem = _array_differs(by_name[name], column, tol) if column.kind != "?" else (
            None if by_name[name].data == column.data else "values differ"
        )
        if problem:
            return f"column {name!r}: {problem}"
    return None
