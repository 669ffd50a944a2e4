"""Grading many submissions of one assignment: intake, grading core, results, gradebook.

Per assignment: the bundle is loaded and the gradebook prepared once. Per submission: the bytes
are archived first, graded by the core, then written (results JSON, atomically) and recorded. A
submission that cannot be graded gets a zero with its reason; the batch goes on.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from d2lgrade.course import Course
from d2lgrade.grade import Assignment, grade_bytes
from d2lgrade.gradebook import archive, ensure_assignment, record, write_atomic
from d2lgrade.results import SubmissionResult, gradescope_json

_STUDENT_ID = re.compile(r"[^A-Za-z0-9_.\-]+")


@dataclass(frozen=True)
class Submission:
    """A file to grade and the student it belongs to."""

    student: str
    path: Path


def student_id(name: str) -> str:
    """A gradebook-safe student id from a file or folder name."""
    cleaned = _STUDENT_ID.sub("-", name).strip("-.")
    return cleaned or "unnamed"


def find_submissions(target: Path) -> list[Submission]:
    """One file (student = its stem), or a folder of ``<student>.ipynb`` or ``<student>/*.ipynb``.

    Every file of a folder is taken, whatever its extension, so that a wrongly named file gets a
    zero with a reason instead of silently disappearing.
    """
    if target.is_file():
        return [Submission(student_id(target.stem), target)]
    if not target.is_dir():
        raise FileNotFoundError(f"{target}: no such file or folder")
    found: list[Submission] = []
    for entry in sorted(target.iterdir()):
        if entry.name.startswith("."):
            continue
        if entry.is_file():
            found.append(Submission(student_id(entry.stem), entry))
        elif entry.is_dir():
            files = sorted(p for p in entry.iterdir() if p.is_file() and not p.name.startswith("."))
            notebooks = [p for p in files if p.suffix == ".ipynb"] or files
            if notebooks:
                found.append(Submission(student_id(entry.name), notebooks[0]))
    return _distinct(found)


def _distinct(found: list[Submission]) -> list[Submission]:
    """Two files of one student id (alice.ipynb, alice.txt) both get graded: the later ones are named
    by their whole file name, so neither result overwrites the other."""
    seen: set[str] = set()
    out = []
    for sub in found:
        student = sub.student
        if student in seen:
            student = student_id(sub.path.name)
            n = 2
            while student in seen:
                student, n = f"{student_id(sub.path.name)}-{n}", n + 1
        seen.add(student)
        out.append(Submission(student, sub.path))
    return out


def results_path(output: Path, assignment: str, student: str) -> Path:
    return output / assignment / f"{student}.json"


def grade_submissions(course: Course, assignment_id: str, submissions: Iterable[Submission], output: Path,
                      gradebook: bool = True, log: Callable[[str], None] = print) -> list[SubmissionResult]:
    """Grade each submission; write ``<output>/<assignment>/<student>.json``; record in the gradebook."""
    assignment = Assignment.load(course.bundle_path(assignment_id))
    notebook = assignment.bundle.notebook
    if gradebook:
        ensure_assignment(course, assignment_id)
    results = []
    for sub in submissions:
        raw = sub.path.read_bytes()
        if gradebook:
            archive(course, assignment_id, notebook, sub.student, raw)
        job = grade_bytes(assignment, raw, sub.student, sub.path.name)
        result = job.result
        assert result is not None
        if not sub.path.name.endswith(".ipynb") and result.problem is None:
            result = _with_note(result, f"{sub.path.name} does not end in .ipynb; it was graded as a notebook.")
        write_atomic(results_path(output, assignment_id, sub.student),
                     json.dumps(gradescope_json(result), indent=2).encode())
        if gradebook:
            record(course, job, notebook)
        log(f"{assignment_id} {sub.student}: {result.score:g} / {result.max_score:g}"
            + (f"  ({result.problem})" if result.problem else ""))
        results.append(result)
    return results


def _with_note(result: SubmissionResult, note: str) -> SubmissionResult:
    from dataclasses import replace

    return replace(result, notes=(*result.notes, note))
