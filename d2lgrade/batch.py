"""Grading many submissions of one assignment: intake, grading core, results, gradebook.

Per assignment: the bundle is loaded and the gradebook prepared once. Per submission: the bytes
are read once through a no-follow descriptor, archived, graded by the core, then written (results
JSON, atomically) and recorded. Nothing one submission does escapes its own job: each batch step
runs under a catch-all that logs the traceback to ``<output>/<assignment>/grading.log`` and gives
that student a zero with a reason; the batch goes on. Intake never follows a link, never renames
on a clash, and lists every file it does not grade with the reason.
"""

from __future__ import annotations

import csv
import json
import logging
import os
import re
import stat
import sys
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path

from d2lgrade.access import Access
from d2lgrade.cluster import grade_on_cluster
from d2lgrade.course import Course
from d2lgrade.grade import INTERNAL_ERROR, MAX_NOTEBOOK_BYTES, Assignment, Job, rejected_result
from d2lgrade.gradebook import archive, archive_refused, ensure_assignment, record, write_atomic
from d2lgrade.ledger import Ledger, digest
from d2lgrade.progress import Progress
from d2lgrade.results import SubmissionResult, gradescope_json
from d2lgrade.workers import Work, grade_all

LOG = logging.getLogger("d2lgrade.grading")
_STUDENT_ID = re.compile(r"[^A-Za-z0-9_.\-]+")


@dataclass(frozen=True)
class Submission:
    """A file to grade and the student it belongs to."""

    student: str
    path: Path
    submitted_at: str | None = None
    """nbgrader's timestamp (``timestamp.txt`` of its ``submitted/`` layout), kept as the submission's time."""


@dataclass(frozen=True)
class Refusal:
    """A file that is not graded, and why (the student id it would have had, when one is safe to use)."""

    name: str
    reason: str
    student: str | None = None
    path: Path | None = None
    """The refused entry, kept byte for byte under ``refused/`` when it is a regular file."""


@dataclass
class Intake:
    """What a submissions folder holds: files to grade, and every file not graded with its reason."""

    submissions: list[Submission] = field(default_factory=list)
    refused: list[Refusal] = field(default_factory=list)
    timestamps: dict[str, str] = field(default_factory=dict)
    """Student id -> nbgrader's submission time, where the folder had one."""


@dataclass
class BatchReport:
    """The batch's outcome for the summary and the exit status."""

    results: list[SubmissionResult] = field(default_factory=list)
    refused: list[Refusal] = field(default_factory=list)
    internal_errors: list[str] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)
    """Students whose submission was graded before with the same bytes and bundle (not regraded)."""


def shown(name: str | Path) -> str:
    """A file name as printable ASCII whatever its bytes (non-UTF-8 names arrive as surrogates)."""
    return os.fsencode(str(name)).decode("ascii", "backslashreplace")


def say(text: str) -> None:
    """Print a line that no stdout encoding can refuse."""
    enc = getattr(sys.stdout, "encoding", None) or "ascii"
    print(text.encode(enc, "backslashreplace").decode(enc, "replace"), flush=True)


def student_id(name: str) -> str:
    """A gradebook-safe student id from a file or folder name."""
    cleaned = _STUDENT_ID.sub("-", name).strip("-.")
    return cleaned or "unnamed"


def read_roster(path: Path) -> set[str]:
    """Student ids from a CSV with a header: the ``id`` (or ``student_id``) column, else the first."""
    with path.open(newline="", encoding="utf-8-sig") as f:
        rows = list(csv.reader(f))
    if not rows:
        return set()
    header = [h.strip().lower() for h in rows[0]]
    col = next((header.index(h) for h in ("id", "student_id", "student") if h in header), 0)
    return {r[col].strip() for r in rows[1:] if len(r) > col and r[col].strip()}


def _kind(mode: int) -> str:
    for test, name in ((stat.S_ISLNK, "a symbolic link"), (stat.S_ISFIFO, "a named pipe (fifo)"),
                       (stat.S_ISSOCK, "a socket"), (stat.S_ISCHR, "a device"), (stat.S_ISBLK, "a device")):
        if test(mode):
            return name
    return "not a regular file"


def find_submissions(target: Path, roster: set[str] | None = None, assignment: str | None = None) -> Intake:
    """One file (student = its stem), or a folder of ``<student>.ipynb``, ``<student>/*.ipynb`` or, as
    nbgrader's ``collect`` and ``zip_collect`` leave them, ``<student>/<assignment>/*.ipynb`` (with the
    submission time from ``timestamp.txt``).

    Every entry of a folder is accounted for: graded, or refused with a reason (links, fifos,
    dotfiles, id clashes, ids not on the roster). Nothing is followed and nothing is renamed.
    """
    intake = Intake()
    try:
        st = os.lstat(target)
    except FileNotFoundError:
        raise FileNotFoundError(f"{shown(target)}: no such file or folder") from None
    if not stat.S_ISDIR(st.st_mode):
        candidates = [(student_id(target.stem), student_id(target.stem), target, st)]
    else:
        candidates = []
        for entry in sorted(target.iterdir(), key=lambda p: os.fsencode(p.name)):
            nested = entry / assignment if assignment else None
            if nested is not None and not entry.is_symlink() and nested.is_dir() and not nested.is_symlink():
                candidates += _nbgrader_entry(entry, nested, intake)
            else:
                candidates += _entry(entry, intake)
    _assign_ids(candidates, intake, roster, target if stat.S_ISDIR(st.st_mode) else target.parent)
    return intake


def _nbgrader_entry(entry: Path, nested: Path, intake: Intake) -> list[tuple[str, str, Path, os.stat_result]]:
    """``<student>/<assignment>/`` of nbgrader's layout: its notebook; ``timestamp.txt`` read, not graded."""
    found = _entry(nested, intake)
    stamp = nested / "timestamp.txt"
    intake.refused[:] = [r for r in intake.refused if r.path != stamp]  # nbgrader's own file, not an extra
    if stamp.is_file() and not stamp.is_symlink():
        intake.timestamps[student_id(entry.name)] = stamp.read_text(errors="replace").strip()[:64]
    return [(student_id(entry.name), entry.name, path, st) for _, _, path, st in found if path != stamp]


def _entry(entry: Path, intake: Intake) -> list[tuple[str, str, Path, os.stat_result]]:
    """A folder entry as (id, raw stem, path, lstat) candidates; refusals go straight to the intake."""
    st = os.lstat(entry)
    if entry.name.startswith("."):
        intake.refused.append(Refusal(shown(entry.name), "its name starts with a dot (a hidden file); "
                                      "rename it to <student>.ipynb to have it graded", path=entry))
        return []
    if stat.S_ISDIR(st.st_mode):
        files = []
        for p in sorted(entry.iterdir(), key=lambda p: os.fsencode(p.name)):
            if p.name.startswith("."):
                intake.refused.append(Refusal(shown(Path(entry.name, p.name)), "its name starts with a dot (a hidden file)",
                                              path=p))
            else:
                files.append(p)
        notebooks = [p for p in files if p.suffix == ".ipynb"] or files
        for extra in notebooks[1:] + [p for p in files if p not in notebooks]:
            intake.refused.append(Refusal(shown(Path(entry.name, extra.name)), f"only one file per student folder is graded "
                                          f"({shown(notebooks[0].name)} was taken)", path=extra))
        return [(student_id(entry.name), entry.name, notebooks[0], os.lstat(notebooks[0]))] if notebooks else []
    return [(student_id(entry.stem), entry.stem, entry, st)]


def _assign_ids(candidates: list[tuple[str, str, Path, os.stat_result]], intake: Intake,
                roster: set[str] | None, root: Path) -> None:
    """An id is kept only by a file whose name is already exactly that id and unique; clashes are refused."""
    by_id: dict[str, list[tuple[str, Path, os.stat_result]]] = {}
    for sid, stem, path, st in candidates:
        by_id.setdefault(sid, []).append((stem, path, st))
    for sid, group in by_id.items():
        exact = [g for g in group if g[0] == sid]
        owner = exact[0] if len(exact) == 1 else group[0] if len(group) == 1 else None
        for stem, path, st in group:
            name = shown(path.relative_to(root))
            if owner is None or (stem, path) != owner[:2]:
                others = ", ".join(shown(p.name) for _, p, _ in group if p != path)
                intake.refused.append(Refusal(name, f"its name cleans to student id {sid!r}, which clashes with "
                                              f"{others}; rename it to your exact student id", None, path))
            elif roster is not None and sid not in roster:
                intake.refused.append(Refusal(name, f"{sid!r} is not a student id on the roster", None, path))
            elif not stat.S_ISREG(st.st_mode):
                intake.refused.append(Refusal(name, f"it is {_kind(st.st_mode)}, not a regular file; "
                                              "submit the notebook file itself", sid))
            else:
                intake.submissions.append(Submission(sid, path, intake.timestamps.get(sid)))
    intake.submissions.sort(key=lambda s: s.student)


def read_submission(path: Path) -> bytes:
    """The file's bytes, read once without following links or blocking on a fifo; ValueError says why not."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | getattr(os, "O_NOCTTY", 0))
    except OSError as exc:
        raise ValueError(f"{shown(path.name)} could not be opened ({exc.strerror}); "
                         "submit the notebook file itself, not a link") from exc
    with os.fdopen(fd, "rb") as f:
        mode = os.fstat(f.fileno()).st_mode
        if not stat.S_ISREG(mode):
            raise ValueError(f"{shown(path.name)} is {_kind(mode)}, not a regular file")
        return f.read(MAX_NOTEBOOK_BYTES + 1)  # one byte over is enough for check_size to refuse it


def results_path(output: Path, assignment: str, student: str) -> Path:
    return output / assignment / f"{student}.json"


def grade_submissions(course: Course, assignment_id: str, submissions: Iterable[Submission] | Intake,
                      output: Path, gradebook: bool = True, log: Callable[[str], None] = say) -> list[SubmissionResult]:
    """Grade each submission afresh (see :func:`run_batch`); the results, in order of the students."""
    return run_batch(course, assignment_id, submissions, output, gradebook, log, regrade=True).results


def run_batch(course: Course, assignment_id: str, submissions: Iterable[Submission] | Intake, output: Path,
              gradebook: bool = True, log: Callable[[str], None] = say, jobs: int = 1,
              regrade: bool = False, cluster: str | None = None, pool: ProcessPoolExecutor | None = None,
              progress: Progress | None = None) -> BatchReport:
    """The batch loop: one catch-all per submission, a log file for the instructor, a report for the summary.

    Submissions whose bytes were already graded against the same bundle are kept as they are unless
    ``regrade``; a batch killed at any moment and run again ends as an uninterrupted run would. Grading
    runs in this process (one job), on ``jobs`` worker processes (``pool``'s, when several batches share them),
    or on the Dask scheduler at ``cluster``. ``progress``: one bar for several batches (kept open)."""
    intake = submissions if isinstance(submissions, Intake) else Intake(list(submissions))
    assignment = Assignment.load(course.bundle_path(assignment_id))
    if gradebook:
        ensure_assignment(course, assignment_id)
    handler = logging.FileHandler(_log_file(course.access, output / assignment_id / "grading.log"), encoding="utf-8",
                                  errors="backslashreplace")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
    logging.getLogger("d2lgrade").addHandler(handler)
    report = BatchReport(refused=list(intake.refused))
    ledger = Ledger(output / assignment_id, digest(course.bundle_path(assignment_id).read_bytes()), course.access)
    shown_progress = progress or Progress(len(intake.submissions), log)
    try:
        works = _works(course, assignment, intake.submissions, ledger, output, gradebook, regrade, report,
                       shown_progress)
        graded = {s.student for s in intake.submissions}
        graded_jobs = grade_on_cluster(assignment, works, cluster) if cluster else grade_all(assignment, works, jobs, pool)
        for (sub, sha), job in graded_jobs:
            result = _finish(course, sub, job, output, gradebook, report)
            if not job.failed_step and result.problem != INTERNAL_ERROR:
                ledger.remember(sub.student, sha, gradebook)
            report.results.append(result)
            shown_progress.done(sub.student, result)
        report.results.sort(key=lambda r: r.student)
        for refusal in intake.refused:
            LOG.warning("not graded: %s: %s", refusal.name, refusal.reason)
            log(f"{assignment_id} not graded: {refusal.name}: {refusal.reason}")
            if refusal.student and refusal.student not in graded:
                _write_refusal(assignment, refusal, output, course.access)
            if gradebook:
                _archive_refused(course, assignment_id, refusal)
        if progress is None:
            shown_progress.close()
        _summary(assignment_id, report, log)
    finally:
        logging.getLogger("d2lgrade").removeHandler(handler)
        handler.close()
    return report


def _log_file(access: Access, path: Path) -> Path:
    """The batch's log, made with the course's group and mode before the first line goes in (it names students)."""
    access.folder(path.parent)
    os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, access.file_mode))
    access.file(path)
    return path


def _works(course: Course, assignment: Assignment, submissions: list[Submission], ledger: Ledger, output: Path,
           gradebook: bool, regrade: bool, report: BatchReport,
           shown_progress: Progress) -> Iterator[tuple[tuple[Submission, str], Work]]:
    """Read and archive each submission, lazily (the workers pull as they go); skip those already graded
    with the same bytes. One that cannot be read gets its zero with the reason here."""
    aid, notebook = assignment.bundle.assignment, assignment.bundle.notebook
    for sub in submissions:
        name = shown(sub.path.name)
        try:
            raw = read_submission(sub.path)
        except ValueError as exc:
            job = Job(assignment, sub.student, name, b"", Path("."))
            job.result = rejected_result(job, str(exc))
            result = _finish(course, sub, job, output, False, report)  # nothing to keep or record
            report.results.append(result)
            shown_progress.done(sub.student, result)
            continue
        sha = digest(raw)
        if not regrade and ledger.graded(sub.student, sha, gradebook):
            report.kept.append(sub.student)
            shown_progress.kept(sub.student)
            continue
        if gradebook:
            try:
                archive(course, aid, notebook, sub.student, raw, sub.submitted_at)
            except Exception:  # not kept, so not graded: a zero saying so, and the rerun grades it
                LOG.exception("internal error for student %s (%s) in step archive", sub.student, name)
                report.internal_errors.append(f"{sub.student} ({name}): step archive")
                result = _internal_zero(assignment, sub, name, output, course.access)
                report.results.append(result)
                shown_progress.done(sub.student, result)
                continue
        yield (sub, sha), Work(sub.student, name, raw, aid)


def _finish(course: Course, sub: Submission, job: Job, output: Path, gradebook: bool,
            report: BatchReport) -> SubmissionResult:
    """Write the results and record one graded submission; any failure stays here, as a zero with a reason."""
    assignment = job.assignment
    aid, notebook, name = assignment.bundle.assignment, assignment.bundle.notebook, shown(sub.path.name)
    step = "grade"
    try:
        if job.failed_step:
            report.internal_errors.append(f"{sub.student} ({name}): step {job.failed_step}")
        assert job.result is not None
        result = job.result
        if not sub.path.name.endswith(".ipynb") and result.problem is None:
            result = replace(result, notes=(*result.notes, f"{name} does not end in .ipynb; it was graded as a notebook."))
        step = "write results"
        write_atomic(results_path(output, aid, sub.student), json.dumps(gradescope_json(result), indent=2).encode(),
                     course.access)
        if gradebook:
            step = "record"
            record(course, job, notebook)
    except Exception:
        LOG.exception("internal error for student %s (%s) in step %s", sub.student, name, step)
        report.internal_errors.append(f"{sub.student} ({name}): step {step}")
        result = _internal_zero(assignment, sub, name, output, course.access)
    return result


def _internal_zero(assignment: Assignment, sub: Submission, name: str, output: Path,
                   access: Access) -> SubmissionResult:
    """A zero saying grading failed on our side; its results JSON written if at all possible."""
    job = Job(assignment, sub.student, name, b"", Path("."))
    result = rejected_result(job, INTERNAL_ERROR)
    try:
        write_atomic(results_path(output, assignment.bundle.assignment, sub.student),
                     json.dumps(gradescope_json(result), indent=2).encode(), access)
    except Exception:
        LOG.exception("could not write the results of student %s either", sub.student)
    return result


def _archive_refused(course: Course, assignment_id: str, refusal: Refusal) -> None:
    """Nothing is lost: a refused regular file (dotfile, id clash, not on the roster) is kept byte for byte."""
    if refusal.path is None:
        return
    try:
        raw = read_submission(refusal.path)
    except ValueError:
        return  # a link, fifo or device: never followed, nothing of it to keep
    try:
        archive_refused(course, assignment_id, refusal.name, raw)
    except Exception:
        LOG.exception("could not keep the refused file %s", refusal.name)


def _write_refusal(assignment: Assignment, refusal: Refusal, output: Path, access: Access) -> None:
    """A refused file whose id is safe to use gets a results JSON with a zero and the reason."""
    assert refusal.student is not None
    job = Job(assignment, refusal.student, refusal.name, b"", Path("."))
    result = rejected_result(job, f"{refusal.name} was not graded: {refusal.reason}.")
    try:
        write_atomic(results_path(output, assignment.bundle.assignment, refusal.student),
                     json.dumps(gradescope_json(result), indent=2).encode(), access)
    except Exception:
        LOG.exception("could not write the refusal of %s", refusal.name)


def _summary(assignment_id: str, report: BatchReport, log: Callable[[str], None]) -> None:
    kept = f"{len(report.kept)} unchanged since last graded (kept; --regrade grades them again), " if report.kept else ""
    lines = [f"{assignment_id}: {len(report.results)} graded, {kept}{len(report.refused)} not graded, "
             f"{len(report.internal_errors)} internal errors"]
    lines += [f"  not graded: {r.name}: {r.reason}" for r in report.refused]
    lines += [f"  internal error: {e} (traceback in grading.log)" for e in report.internal_errors]
    for line in lines:
        LOG.info(line)
        log(line)
