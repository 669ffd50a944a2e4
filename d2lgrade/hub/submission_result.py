"""What grading on submit tells a student about one submission, as plain data the exchange keeps and shows them.

``d2lgrade serve`` posts one after grading (``POST courses/<c>/submissions/<id>/result``); the exchange checks it
here and lists the latest with the submission, to its student and the staff only. Only what the assignment's policy
shows now goes in: with feedback held until the due date, the score is left out, not hidden by the client. The
Assignment List's line for the submission is :func:`describe`'s sentence.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Any

STATES = ("graded", "failed")
SHOWN = ("messages", "score", "held")


class ResultError(ValueError):
    """A result the exchange will not keep: which key, what it may be."""


@dataclass(frozen=True)
class SubmissionResult:
    state: str
    """``graded``, or ``failed`` (it could not be graded: ``reason`` says why and what to do)."""
    shown: str = "messages"
    """What the student may see now: the feedback page (``messages``), the score only, or nothing until the due."""
    score: float | None = None
    max_score: float | None = None
    by_hand: int = 0
    """Written answers left for a person: their points come later."""
    late_penalty: float = 0.0
    counted: bool = True
    """False: received after the due date while an on-time submission gives the grade."""
    reason: str = ""

    @classmethod
    def from_dict(cls, data: Any) -> SubmissionResult:
        if not isinstance(data, dict):
            raise ResultError("a result is a JSON object: {\"state\": \"graded\", \"score\": …}")
        unknown = set(data) - {f.name for f in dataclasses.fields(cls)}
        if unknown:
            raise ResultError(f"a result has no keys {sorted(unknown)}")
        try:
            result = cls(**data)
        except TypeError as e:
            raise ResultError(f"a result needs a state ({e})") from None
        result.check()
        return result

    def check(self) -> None:
        if self.state not in STATES or self.shown not in SHOWN:
            raise ResultError(f"state must be one of {STATES} and shown one of {SHOWN}")
        for name in ("score", "max_score"):
            value = getattr(self, name)
            if value is not None and not _finite(value):
                raise ResultError(f"{name} must be a number")
        if self.shown == "held" and self.score is not None:
            raise ResultError("a result held until the due date carries no score")
        if not _finite(self.late_penalty) or not isinstance(self.by_hand, int) or self.by_hand < 0:
            raise ResultError("late_penalty must be a number and by_hand a whole number ≥ 0")
        if not isinstance(self.counted, bool) or not isinstance(self.reason, str) or len(self.reason) > 1000:
            raise ResultError("counted must be true or false and reason a text of at most 1000 characters")

    def as_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def _finite(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def describe(result: SubmissionResult | None, waiting: bool) -> str:
    """The submission's state in a few words: "graded: 4 / 6 points (1 written answer to be graded by hand)"."""
    if result is None:
        return "waiting to be graded" if waiting else ""
    if result.state == "failed":
        return f"could not be graded: {result.reason}"
    if result.shown == "held":
        return "graded; the score and feedback come after the due date"
    words = f"graded: {result.score:g} / {result.max_score:g} points"
    if result.late_penalty:
        words += f", {max(result.score - result.late_penalty, 0):g} after the late penalty (−{result.late_penalty:g})"
    if result.by_hand:
        words += f" ({result.by_hand} written answer{'s' if result.by_hand != 1 else ''} to be graded by hand)"
    if not result.counted:
        words += "; received after the due date, it does not count (your last before the due date does)"
    return words
