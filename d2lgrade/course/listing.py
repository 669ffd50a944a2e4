"""``d2lgrade list``: the course as data (assignments in book order, their questions)."""

from __future__ import annotations

import os
from typing import Any

from d2lgrade.course.layout import Course
from d2lgrade.judging.contract import FunctionContract, ValueContract
from d2lgrade.judging.spec import Question


def describe_contract(q: Question) -> str:
    if isinstance(q.contract, (ValueContract, FunctionContract)):
        return q.contract.describe()
    return "a written answer (markdown), graded by a person"


def course_listing(course: Course) -> dict[str, Any]:
    assignments = []
    for a in course.assignments():
        spec = course.spec(a)
        assignments.append({
            "assignment": a,
            "section": spec.section,
            "title": spec.title,
            "notebook": os.path.relpath(course.release_notebook(a), course.root),
            "points": sum(q.points for q in spec.questions),
            "questions": [
                {"id": q.id, "exercise": q.exercise, "kind": q.kind, "points": q.points,
                 "autograded": q.autograded, "contract": describe_contract(q)}
                for q in spec.questions
            ],
        })
    return {"course": str(course.config.CourseDirectory.get("course_id", "")), "assignments": assignments}


def render_listing(listing: dict[str, Any]) -> str:
    lines = []
    for a in listing["assignments"]:
        lines.append(f"{a['section']:<6} {a['title']}  ({a['assignment']}, {a['points']:g} points, {a['notebook']})")
        for q in a["questions"]:
            lines.append(f"    ex {q['exercise']:<2} {q['kind']:<9} {q['points']:>3g} pt  {q['id']}: {q['contract']}")
    return "\n".join(lines)
