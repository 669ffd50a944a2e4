"""nbgrader's gradebook rows: what ``d2lgrade grade`` records, so nbgrader's own tools work on it.

The formgrader (manual grading of written answers), ``generate_feedback`` and ``export`` read the
gradebook: one submission per student and assignment, with the time nbgrader reads from
``submitted/`` (:mod:`d2lgrade.course.records`); ``auto_score`` of each autograded cell; written
answers left for a person (or zero when untouched, as nbgrader does); nbgrader's late penalty; and
the autograded notebook beside them (:mod:`d2lgrade.nbgrader.autograded`) with nbgrader's ``timestamp.txt`` and
``submission_secret.txt``, which ``generate_feedback`` carries into ``feedback/`` and ``release_feedback`` reads.
"""

from __future__ import annotations

import functools
import os
import stat
import tempfile
import threading
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar, cast

import nbformat
from nbgrader.api import Gradebook, MissingEntry
from nbgrader.preprocessors import AssignLatePenalties
from nbgrader.utils import compute_checksum, parse_utc
from sqlalchemy.exc import SAWarning

from d2lgrade.course.layout import SUBMISSION_SECRET, TIMESTAMP, Course
from d2lgrade.course.records import protect_gradebook, submitted_timestamp, write_atomic
from d2lgrade.grading.steps import Job
from d2lgrade.judging.results import SubmissionResult
from d2lgrade.nbgrader.autograded import write_autograded
from d2lgrade.nbgrader.release import Target, generate_release

F = TypeVar("F", bound=Callable[..., Any])
_WRITER = threading.RLock()
"""One writer of the gradebook per process at a time: grading on submit records from several threads (its lanes),
and nbgrader's find-or-create of a student, submission or assignment is not safe against a second one in between."""


def _one_writer(write: F) -> F:
    @functools.wraps(write)
    def written(*args: Any, **kwargs: Any) -> Any:
        with _WRITER:
            return write(*args, **kwargs)
    return cast(F, written)


@_one_writer
def ensure_assignment(course: Course, assignment: str) -> None:
    """Register the assignment in this gradebook if the build ran against another database, with the due
    date ``nbgrader_config.py`` gives it (``c.D2LGrade.due_dates``), which nbgrader's late penalty reads."""
    if course.db_path is not None:
        course.access.folder(course.db_path.parent)  # a demo's records folder, made before SQLite creates the file
    with Gradebook(course.db_url) as gb:
        try:
            gb.find_assignment(assignment)
            known = True
        except MissingEntry:
            known = False
    if not known:
        with tempfile.TemporaryDirectory() as tmp:
            generate_release(Target(course, assignment, Path(tmp), course.db_url))
    due = course.config.get("D2LGrade", {}).get("due_dates", {}).get(assignment)
    if due:
        with Gradebook(course.db_url) as gb:
            gb.update_or_create_assignment(assignment, duedate=parse_utc(due))
    protect_gradebook(course)


@_one_writer
def record(course: Course, job: Job, notebook: str) -> None:
    """Store the scores of ``job`` in the gradebook and write the autograded notebook."""
    result = job.result
    assert result is not None
    verdicts = {q.id: q for q in result.questions}
    with warnings.catch_warnings(), Gradebook(course.db_url) as gb:
        # nbgrader 0.9's ORM code trips SQLAlchemy 2's autoflush warning; the rows are written all the same
        warnings.filterwarnings("ignore", category=SAWarning)
        gb.update_or_create_student(result.student)
        stamp = submitted_timestamp(course, result.assignment, result.student)
        gb.update_or_create_submission(result.assignment, result.student, **({"timestamp": stamp} if stamp else {}))
        for q in job.assignment.bundle.questions:
            grade = gb.find_grade(q.id, notebook, result.assignment, result.student)
            verdict = verdicts.get(q.id)
            if q.autograded:
                grade.auto_score = verdict.score if verdict else 0.0
                grade.needs_manual_grade = grade.manual_score is not None
                continue
            untouched = _untouched(job, q.id)
            grade.auto_score = 0.0 if untouched else None
            grade.needs_manual_grade = not untouched and grade.manual_score is None
            comment = gb.find_comment(q.id, notebook, result.assignment, result.student)
            comment.auto_comment = "No response." if untouched else None
        gb.db.commit()
    _assign_late_penalty(course, result, notebook)
    if job.notebook is not None:
        try:
            write_autograded(course, job, notebook, result)
        except Exception as exc:  # noqa: BLE001 - nbgrader rejects some tampered notebooks; scores stay recorded
            job.notes.append(f"nbgrader could not prepare this notebook for manual grading ({str(exc)[:200]}); "
                             "the scores are recorded, the submitted file is in submitted/.")
            return
        carry_nbgrader_files(course, result.assignment, result.student)


def carry_nbgrader_files(course: Course, assignment: str, student: str) -> None:
    """nbgrader's own files of the submission, from ``submitted/`` into ``autograded/`` as nbgrader's autograde
    copies them: without them ``generate_feedback`` makes feedback that ``release_feedback`` cannot release.
    Regular files only (a link is never followed), with the course's modes."""
    source = course.folder("submitted_directory", "submitted") / student / assignment
    target = course.folder("autograded_directory", "autograded") / student / assignment
    if not target.is_dir():
        return  # nothing autograded to go with them
    for name in (TIMESTAMP, SUBMISSION_SECRET):
        raw = _regular_file(source / name)
        if raw is not None and _regular_file(target / name) != raw:
            write_atomic(target / name, raw, course.access)


def _regular_file(path: Path) -> bytes | None:
    """The bytes of a small regular file, opened without following a link; None for anything else."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError:
        return None
    with os.fdopen(fd, "rb") as f:
        return f.read(4096) if stat.S_ISREG(os.fstat(f.fileno()).st_mode) else None


def _assign_late_penalty(course: Course, result: SubmissionResult, notebook: str) -> None:
    """nbgrader's own late-submission step, configured by the course (``c.LateSubmissionPlugin``): the
    same penalty whether ``nbgrader autograde`` or ``d2lgrade grade`` graded the submission."""
    resources = {"nbgrader": {"notebook": notebook, "assignment": result.assignment, "student": result.student,
                              "db_url": course.db_url}}
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=SAWarning)
        AssignLatePenalties(config=course.config).preprocess(nbformat.v4.new_notebook(), resources)


def _untouched(job: Job, grade_id: str) -> bool:
    """A written answer left as released (nbgrader's checksum test): zero, no grading needed."""
    if job.notebook is None:
        return True
    for cell in job.notebook.cells:
        meta = cell.metadata.get("nbgrader", {})
        if meta.get("grade_id") == grade_id:
            return meta.get("checksum") == compute_checksum(cell)
    return True


