"""Typed grading results, and their renderings (Gradescope JSON, a course table).

The dataclasses are what grading produces; nothing here computes a score. Rendering lives in plain
functions below them so that the same result can be written as JSON, stored in nbgrader's
gradebook and printed in a table without any of those knowing about the others.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

PASSED, FAILED, MANUAL = "passed", "failed", "manual"


@dataclass(frozen=True)
class QuestionResult:
    """The verdict on one graded part."""

    id: str
    exercise: int
    kind: str
    score: float
    max_score: float
    status: str
    output: str
    misconception: str | None = None
    """The id of the known wrong answer (a reference's declared misconception) this answer matched, if any."""
    answer: str | None = None
    """A short plain rendering of a wrong answer's value (at most 80 characters), so that a class report can
    group equal wrong answers; None for right, missing or unreadable answers."""


@dataclass(frozen=True)
class SubmissionResult:
    """The verdict on one submission of one assignment."""

    assignment: str
    student: str
    source: str
    questions: tuple[QuestionResult, ...] = ()
    problem: str | None = None
    """Set when the submission could not be graded as a whole (unreadable file, wrong assignment)."""
    notes: tuple[str, ...] = field(default=())

    @property
    def autograded(self) -> tuple[QuestionResult, ...]:
        return tuple(q for q in self.questions if q.status != MANUAL)

    @property
    def score(self) -> float:
        return sum(q.score for q in self.autograded)

    @property
    def max_score(self) -> float:
        return sum(q.max_score for q in self.autograded)

    @property
    def manual_points(self) -> float:
        return sum(q.max_score for q in self.questions if q.status == MANUAL)

    @property
    def totals(self) -> Totals:
        return Totals(self.score, self.max_score, self.manual_points, self.problem is not None)


@dataclass(frozen=True)
class Totals:
    """A submission's points (or a sum of several), in the one wording the CLI, the course table, the results
    JSON and the Otter report all use, so that an instructor reads the same numbers the same way everywhere."""

    score: float
    max_score: float
    by_hand: float
    """Points of written answers, left for a person (nbgrader's formgrader)."""
    ungradable: bool = False
    """The submission (or one of those summed) could not be graded as a whole: a zero with a reason."""

    def __str__(self) -> str:
        """``12 / 12 autograded, 5 to grade by hand``."""
        by_hand = f", {self.by_hand:g} to grade by hand" if self.by_hand else ""
        return f"{self.score:g} / {self.max_score:g} autograded{by_hand}"

    def cell(self) -> str:
        """The same numbers for a table cell: ``12 / 12 +5`` (``!``: not gradable, see its results JSON)."""
        by_hand = f" +{self.by_hand:g}" if self.by_hand else ""
        return f"{self.score:g} / {self.max_score:g}{by_hand}" + (" !" if self.ungradable else "")

    def __add__(self, other: Totals) -> Totals:
        return Totals(self.score + other.score, self.max_score + other.max_score, self.by_hand + other.by_hand,
                      self.ungradable or other.ungradable)


def entry_name(q: QuestionResult) -> str:
    """A question's test name in results JSON: the same for ``d2lgrade grade`` and the Otter zip."""
    return f"Exercise {q.exercise}: {q.id}"


def gradescope_json(result: SubmissionResult, visibility: str = "visible") -> dict[str, Any]:
    """Gradescope's results format: ``score``, ``tests[]`` (name, score, max_score, output, visibility)."""
    tests = [
        {
            "name": entry_name(q),
            "score": round(q.score, 5),
            "max_score": round(q.max_score, 5),
            "status": q.status,
            "output": q.output,
            "visibility": visibility,
            **_extra_data(q),
        }
        for q in result.autograded
    ]
    lines = [f"{result.assignment}: {result.totals}."]
    if result.problem:
        lines.append(result.problem)
    lines.extend(result.notes)
    return {"score": round(result.score, 5), "output": "\n".join(lines), "stdout_visibility": "hidden",
            "tests": tests}


def _extra_data(q: QuestionResult) -> dict[str, Any]:
    """What a class report groups by, under Gradescope's ``extra_data`` (its schema has no other free keys)."""
    extra = {"misconception": q.misconception, "answer": q.answer}
    extra = {k: v for k, v in extra.items() if v is not None}
    return {"extra_data": extra} if extra else {}


TABLE_LEGEND = ("Each cell: autograded score / max, +points of written answers to grade by hand "
                "(! = not gradable, reason in its results JSON).")


def course_table(results: Iterable[SubmissionResult], assignments: Sequence[str]) -> str:
    """A student × assignment table of each submission's totals, and each student's sum in words."""
    cells: dict[str, dict[str, Totals]] = {}
    for r in results:
        cells.setdefault(r.student, {})[r.assignment] = r.totals
    header = ["student", *assignments, "total"]
    rows = [[s, *(cells[s][a].cell() if a in cells[s] else "-" for a in assignments), str(_sum(cells[s].values()))]
            for s in sorted(cells)]
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
    fmt = "  ".join(f"{{:<{w}}}" for w in widths)
    lines = [fmt.format(*header), fmt.format(*("-" * w for w in widths)), *(fmt.format(*r) for r in rows)]
    return "\n".join([*(line.rstrip() for line in lines), TABLE_LEGEND])


def _sum(totals: Iterable[Totals]) -> Totals:
    return sum(totals, Totals(0, 0, 0))
