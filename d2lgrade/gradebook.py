"""nbgrader's side of grading: the submitted copy, the gradebook, the autograded notebook.

``d2lgrade grade`` keeps nbgrader's course layout and database, so that formgrader (manual grading
of written answers), ``generate_feedback`` and ``export`` work on what it grades:

- ``submitted/<student>/<assignment>/<notebook>.ipynb``: the submission, byte for byte, written
  before anything reads it (with ``timestamp.txt``);
- the gradebook: one submission per student and assignment; ``auto_score`` of each autograded cell;
  written answers left for a person (or zero when untouched, as nbgrader does);
- ``autograded/<student>/<assignment>/<notebook>.ipynb``: the submission with locked cells
  restored by nbgrader's own preprocessors, the outputs of its run, and each test cell's verdict.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import re
import tempfile
import warnings
from pathlib import Path

import nbformat
from nbgrader.api import Gradebook, MissingEntry
from nbgrader.preprocessors import AssignLatePenalties, CheckCellMetadata, ClearHiddenTests, DeduplicateIds, OverwriteCells
from nbgrader.utils import compute_checksum, parse_utc
from sqlalchemy.exc import SAWarning

from d2lgrade.access import Access
from d2lgrade.course import Course
from d2lgrade.defang import defang
from d2lgrade.execute import is_test_cell
from d2lgrade.grade import Job
from d2lgrade.results import SubmissionResult

_QUIET = logging.getLogger("d2lgrade.nbgrader")
"""nbgrader's preprocessors warn for every answer cell a student changed (as every answer does): errors only."""
_QUIET.setLevel(logging.ERROR)


def write_atomic(path: Path, data: bytes, access: Access) -> None:
    """Write via a temporary file and rename, so a killed run leaves the old file or the new one; the file has
    the course's group and mode before it appears (``access``: see :mod:`d2lgrade.access`)."""
    access.folder(path.parent)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        access.descriptor(fd, path)
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def archive(course: Course, assignment: str, notebook: str, student: str, raw: bytes,
            submitted_at: str | None = None) -> Path:
    """Keep the submission exactly as received, in nbgrader's ``submitted/`` layout, with its time (nbgrader's
    own where it came through the exchange, else now). A different earlier submission is not overwritten:
    it moves to ``submitted-earlier/<student>/<assignment>/<its time>/``."""
    folder = course.folder("submitted_directory", "submitted") / student / assignment
    target = folder / f"{notebook}.ipynb"
    stamp = submitted_at or dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M:%S.%f %Z")
    if target.is_file() and target.read_bytes() == raw:
        if submitted_at or not (folder / "timestamp.txt").is_file():
            write_atomic(folder / "timestamp.txt", stamp.encode(), course.access)
        return target  # the same bytes (graded again, or graded where nbgrader collected them)
    if target.is_file():
        _keep_earlier(course, folder, student, assignment)
    write_atomic(target, raw, course.access)
    write_atomic(folder / "timestamp.txt", stamp.encode(), course.access)
    return target


def _keep_earlier(course: Course, folder: Path, student: str, assignment: str) -> None:
    try:
        when = (folder / "timestamp.txt").read_text().strip()
    except OSError:
        when = "unknown-time"
    safe = re.sub(r"[^0-9A-Za-z_.-]+", "_", when) or "unknown-time"
    earlier = course.access.folder(course.records_root / "submitted-earlier" / student / assignment / safe)
    for item in folder.iterdir():
        if item.is_file() and not item.is_symlink():
            write_atomic(earlier / item.name, item.read_bytes(), course.access)


def archive_refused(course: Course, assignment: str, name: str, raw: bytes) -> Path:
    """Keep a file intake refused, byte for byte, in ``refused/<assignment>/`` under its printable name."""
    path = course.records_root / "refused" / assignment / name.replace("/", "__")
    write_atomic(path, raw, course.access)
    return path


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
        from d2lgrade.build import Target, generate_release

        with tempfile.TemporaryDirectory() as tmp:
            generate_release(Target(course, assignment, Path(tmp), course.db_url))
    due = course.config.get("D2LGrade", {}).get("due_dates", {}).get(assignment)
    if due:
        with Gradebook(course.db_url) as gb:
            gb.update_or_create_assignment(assignment, duedate=parse_utc(due))
    protect_gradebook(course)


def protect_gradebook(course: Course) -> None:
    """A SQLite gradebook holds every student's scores: the course's group and file mode, like the rest
    (SQLite gives its journal files the database's mode)."""
    path = course.db_path
    if path is not None and path.is_file():
        course.access.file(path)


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
            _write_autograded(course, job, notebook, result)
        except Exception as exc:  # noqa: BLE001 - nbgrader rejects some tampered notebooks; scores stay recorded
            job.notes.append(f"nbgrader could not prepare this notebook for manual grading ({str(exc)[:200]}); "
                             "the scores are recorded, the submitted file is in submitted/.")


def _assign_late_penalty(course: Course, result: SubmissionResult, notebook: str) -> None:
    """nbgrader's own late-submission step, configured by the course (``c.LateSubmissionPlugin``): the
    same penalty whether ``nbgrader autograde`` or ``d2lgrade grade`` graded the submission."""
    resources = {"nbgrader": {"notebook": notebook, "assignment": result.assignment, "student": result.student,
                              "db_url": course.db_url}}
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=SAWarning)
        AssignLatePenalties(config=course.config).preprocess(nbformat.v4.new_notebook(), resources)


def submitted_timestamp(course: Course, assignment: str, student: str) -> dt.datetime | None:
    """The submission's time as nbgrader reads it from ``submitted/.../timestamp.txt``: the gradebook must
    hold the same, or the formgrader lists the submission as still to autograde."""
    path = course.folder("submitted_directory", "submitted") / student / assignment / "timestamp.txt"
    try:
        return parse_utc(path.read_text().strip())
    except (OSError, ValueError):
        return None


def _untouched(job: Job, grade_id: str) -> bool:
    """A written answer left as released (nbgrader's checksum test): zero, no grading needed."""
    if job.notebook is None:
        return True
    for cell in job.notebook.cells:
        meta = cell.metadata.get("nbgrader", {})
        if meta.get("grade_id") == grade_id:
            return meta.get("checksum") == compute_checksum(cell)
    return True


def _write_autograded(course: Course, job: Job, notebook: str, result: SubmissionResult) -> None:
    assert job.notebook is not None
    resources = {"nbgrader": {"notebook": notebook, "assignment": result.assignment, "student": result.student,
                              "db_url": course.db_url}}
    nb = nbformat.from_dict(job.notebook)
    for pp in (DeduplicateIds(log=_QUIET), OverwriteCells(log=_QUIET), ClearHiddenTests(log=_QUIET),
               CheckCellMetadata(log=_QUIET)):
        nb, resources = pp.preprocess(nb, resources)
    annotate(nb, job, result)
    folder = course.folder("autograded_directory", "autograded") / result.student / result.assignment
    write_atomic(folder / f"{notebook}.ipynb", nbformat.writes(defang(nb)).encode(), course.access)


def annotate(nb: nbformat.NotebookNode, job: Job, result: SubmissionResult) -> None:
    """The run's outputs in the student's cells, and each test cell's verdict as its output: the message,
    then the score as a result, which nbgrader reads as the cell's (partial) credit. Used for the
    autograded notebook of ``d2lgrade grade`` and of ``nbgrader autograde`` alike."""
    _copy_outputs(nb, job)
    verdicts = {q.id: q for q in result.questions}
    for cell in nb.cells:
        q = verdicts.get(cell.metadata.get("nbgrader", {}).get("grade_id"))
        if q is not None and is_test_cell(cell):
            text = f"{q.score:g} / {q.max_score:g} points. {q.output}\n"
            cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text=text),
                            nbformat.v4.new_output("execute_result", data={"text/plain": f"{q.score:g}"},
                                                   execution_count=None)]


def _copy_outputs(nb: nbformat.NotebookNode, job: Job) -> None:
    """Outputs of the run, matched by cell id (the run keeps ids), for the student's code cells."""
    executed = job.execution.notebook if job.execution else None
    if executed is None:
        return
    outputs = {c.get("id"): c.outputs for c in executed.cells if c.get("id")}
    for cell in nb.cells:
        if cell.cell_type == "code" and not is_test_cell(cell):
            cell.outputs = outputs.get(cell.get("id"), [])
