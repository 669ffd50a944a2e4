"""Final grades per the policy, as CSV for Canvas's and Moodle's gradebook imports (``d2lgrade export``).

Per student and assignment: autograded + hand-graded − late penalty. The hand-graded points and nbgrader's late
penalty are the gradebook's (the submission it holds: with grading on submit, the last one that counts by time);
the autograded points are the gradebook's too, except under ``counts = "best"``, where they are the best score the
queue recorded for the student (its hand-graded points are still those of the gradebook's submission). Plain data
(:class:`FinalGrade`) kept apart from the two renderings.
"""

from __future__ import annotations

import csv
import io
import warnings
from dataclasses import dataclass

from nbgrader.api import Gradebook
from sqlalchemy.exc import SAWarning

from d2lgrade.course.layout import Course
from d2lgrade.hub.submission_policy import Policy
from d2lgrade.serve.queue import Item

LAYOUTS = ("canvas", "moodle")
"""The gradebook import layouts (``d2lgrade export --layout``, whose choices repeat them: the command stays light)."""


@dataclass(frozen=True)
class FinalGrade:
    student: str
    assignment: str
    autograded: float
    by_hand: float
    late_penalty: float
    max_score: float

    @property
    def total(self) -> float:
        return max(self.autograded + self.by_hand - self.late_penalty, 0.0)


def final_grades(course: Course, policies: dict[str, Policy], done: list[Item]) -> list[FinalGrade]:
    """Every gradebook submission's final grade; ``done``: the queue's graded rows of this course."""
    best: dict[tuple[str, str], float] = {}
    for item in done:
        if item.score is not None:
            key = (item.student, item.assignment)
            best[key] = max(best.get(key, 0.0), item.score)
    found = []
    with warnings.catch_warnings(), Gradebook(course.db_url) as gb:
        warnings.filterwarnings("ignore", category=SAWarning)
        for assignment in gb.assignments:
            for sub in assignment.submissions:
                grades = [g for nb in sub.notebooks for g in nb.grades]
                by_hand = sum(g.manual_score for g in grades if g.manual_score is not None)
                auto = sum(g.auto_score or 0.0 for g in grades if g.manual_score is None)
                if policies.get(assignment.name, Policy()).counts == "best":
                    auto = best.get((sub.student.id, assignment.name), auto)
                found.append(FinalGrade(sub.student.id, assignment.name, auto, by_hand,
                                        sub.late_submission_penalty or 0.0, assignment.max_score))
    return sorted(found, key=lambda f: (f.student, f.assignment))


def _table(grades: list[FinalGrade]) -> tuple[list[str], list[str], dict[str, dict[str, float]], dict[str, float]]:
    assignments = sorted({g.assignment for g in grades})
    students = sorted({g.student for g in grades})
    cells: dict[str, dict[str, float]] = {s: {} for s in students}
    most: dict[str, float] = {}
    for g in grades:
        cells[g.student][g.assignment] = round(g.total, 2)
        most[g.assignment] = g.max_score
    return assignments, students, cells, most


def canvas_csv(grades: list[FinalGrade]) -> str:
    """Canvas's gradebook import: Student, ID, SIS User ID, SIS Login ID, Section, one column per assignment, a
    "Points Possible" row; students are matched by SIS Login ID (the hub login)."""
    assignments, students, cells, most = _table(grades)
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\n")
    w.writerow(["Student", "ID", "SIS User ID", "SIS Login ID", "Section", *assignments, "Total (d2lgrade)"])
    w.writerow(["    Points Possible", "", "", "", "", *(f"{most[a]:g}" for a in assignments),
                f"{sum(most.values()):g}"])
    for s in students:
        w.writerow([s, "", "", s, "", *(_cell(cells[s], a) for a in assignments), f"{sum(cells[s].values()):g}"])
    return out.getvalue()


def moodle_csv(grades: list[FinalGrade]) -> str:
    """Moodle's "Import grades from CSV": an identifier column (Username, mapped to the user field "username"), one
    column per grade item (map each to its item, or to "new grade item")."""
    assignments, students, cells, _ = _table(grades)
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\n")
    w.writerow(["Username", *assignments, "Total (d2lgrade)"])
    for s in students:
        w.writerow([s, *(_cell(cells[s], a) for a in assignments), f"{sum(cells[s].values()):g}"])
    return out.getvalue()


def _cell(row: dict[str, float], assignment: str) -> str:
    return f"{row[assignment]:g}" if assignment in row else ""
