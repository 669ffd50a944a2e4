"""An assignment's submission policy: how many submissions, how far apart, which counts, what feedback before the due.

The instructor writes it in the course's ``nbgrader_config.py`` (``c.D2LGrade.policies = {"s02_1":
{"max_submissions": 5, "cooldown_minutes": 10, "counts": "last_before_due", "feedback_before_due": "messages"}}``,
the due date from ``c.D2LGrade.due_dates``); an assignment not named there gets :class:`Policy`'s defaults.
The grading service (``d2lgrade serve``) reads that file and publishes the policies to the exchange, which enforces
count and cooldown where a submission is received (:func:`refusal`), in the same transaction that stores it.
Plain data and functions: the exchange imports no course file and nothing of nbgrader here.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from dataclasses import dataclass
from typing import Any

COUNTS = ("last_before_due", "last", "best")
FEEDBACK = ("messages", "score", "nothing")


class PolicyError(ValueError):
    """A policy that cannot be applied: which assignment, which key, what it may be."""


@dataclass(frozen=True)
class Policy:
    max_submissions: int | None = None
    """None: only the exchange's own cap (hub.toml's)."""
    cooldown_minutes: float = 0.0
    counts: str = "last_before_due"
    """Which submission gives the grade: the last received before the due date (else the last, with nbgrader's late
    penalty), the last, or the best autograded score."""
    feedback_before_due: str = "messages"
    """Before the due date a student sees the feedback page (``messages``), the score only, or ``nothing`` (exams)."""
    due: str | None = None
    """The due date, ISO 8601 in UTC (from ``c.D2LGrade.due_dates``)."""

    @classmethod
    def from_dict(cls, assignment: str, data: Any) -> Policy:
        if not isinstance(data, dict):
            raise PolicyError(f"the policy of {assignment} is not a dict: write {{\"max_submissions\": 5, …}}")
        unknown = set(data) - {f.name for f in dataclasses.fields(cls)}
        if unknown:
            raise PolicyError(f"the policy of {assignment} has unknown keys {sorted(unknown)}: use max_submissions, "
                              "cooldown_minutes, counts, feedback_before_due")
        policy = cls(**data)
        policy.check(assignment)
        return policy

    def check(self, assignment: str) -> None:
        if self.max_submissions is not None and (not isinstance(self.max_submissions, int)
                                                 or self.max_submissions < 1):
            raise PolicyError(f"{assignment}: max_submissions must be a whole number ≥ 1 (or left out)")
        if not isinstance(self.cooldown_minutes, int | float) or self.cooldown_minutes < 0:
            raise PolicyError(f"{assignment}: cooldown_minutes must be a number ≥ 0")
        if self.counts not in COUNTS:
            raise PolicyError(f"{assignment}: counts must be one of {', '.join(COUNTS)}")
        if self.feedback_before_due not in FEEDBACK:
            raise PolicyError(f"{assignment}: feedback_before_due must be one of {', '.join(FEEDBACK)}")
        if self.due is not None:
            parse_time(self.due)

    def as_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def due_at(self) -> dt.datetime | None:
        return None if self.due is None else parse_time(self.due)

    def before_due(self, when: dt.datetime) -> bool:
        due = self.due_at()
        return due is None or when <= due


def parse_time(text: str) -> dt.datetime:
    """An ISO time, or the exchange's ``2026-12-05 14:03:07.123456 UTC``, as an aware UTC datetime."""
    try:
        value = dt.datetime.fromisoformat(text.removesuffix(" UTC").strip())
    except ValueError:
        raise PolicyError(f"{text!r} is not a time (write 2026-12-07 23:59:00 UTC)") from None
    return (value if value.tzinfo else value.replace(tzinfo=dt.UTC)).astimezone(dt.UTC)


def shown_time(when: dt.datetime) -> str:
    return when.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")


def allowance(policy: Policy, used: int) -> str:
    """What the student has left, in words: "2 of 5 submissions used (3 left)"."""
    if policy.max_submissions is None:
        return f"{used} submission{'s' if used != 1 else ''} used (no limit)"
    return f"{used} of {policy.max_submissions} submissions used ({max(policy.max_submissions - used, 0)} left)"


def summary(policy: Policy) -> str:
    """The policy in a few words, for the student: which submission counts, when feedback comes, the due date."""
    words = [{"last_before_due": "your last submission before the due date counts",
              "last": "your last submission counts", "best": "your best score counts"}[policy.counts]]
    if policy.cooldown_minutes:
        words.append(f"submissions at least {policy.cooldown_minutes:g} minutes apart")
    if policy.feedback_before_due != "messages":
        words.append({"score": "the score only until the due date",
                      "nothing": "score and feedback after the due date"}[policy.feedback_before_due])
    due = policy.due_at()
    if due is not None:
        words.append(f"due {shown_time(due)}")
    return "; ".join(words)


def refusal(policy: Policy, assignment: str, earlier: list[str], now: dt.datetime) -> str | None:
    """Why one more submission is refused now (None: it is accepted); ``earlier``: the receipt times of the
    student's submissions of the assignment, oldest first."""
    used = len(earlier)
    if policy.max_submissions is not None and used >= policy.max_submissions:
        return (f"{assignment}: {allowance(policy, used)}; no more submissions are accepted (your submissions are "
                "kept; ask your instructor if you need another)")
    if earlier and policy.cooldown_minutes:
        next_at = parse_time(earlier[-1]) + dt.timedelta(minutes=policy.cooldown_minutes)
        if now < next_at:
            return (f"{assignment}: {allowance(policy, used)}; the next is allowed at {shown_time(next_at)} "
                    f"({policy.cooldown_minutes:g} minutes after your last)")
    return None


def course_policies(policies: Any, due_dates: Any) -> dict[str, Policy]:
    """The policies ``nbgrader_config.py`` gives (``c.D2LGrade.policies``), each with its due date
    (``c.D2LGrade.due_dates``, any time nbgrader reads); assignments with a due date only get the defaults."""
    policies = dict(policies or {})
    due_dates = dict(due_dates or {})
    found = {}
    for assignment in sorted(set(policies) | set(due_dates)):
        data = dict(policies.get(assignment, {}))
        if assignment in due_dates:
            data["due"] = _iso(str(due_dates[assignment]))
        found[assignment] = Policy.from_dict(assignment, data)
    return found


def _iso(text: str) -> str:
    from dateutil import parser  # nbgrader's own reader of due dates (a dependency of nbgrader)

    try:
        value = parser.parse(text)
    except (ValueError, OverflowError):
        raise PolicyError(f"due date {text!r} is not a time (write 2026-12-07 23:59:00 UTC)") from None
    return (value if value.tzinfo else value.replace(tzinfo=dt.UTC)).astimezone(dt.UTC).isoformat()
