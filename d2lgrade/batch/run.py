"""Grading many submissions of one assignment: intake, archive, grading core, results, gradebook.

Per assignment: the bundle is loaded and the gradebook prepared once. Per submission: the bytes
are read once through a no-follow descriptor, archived, graded by the core, then written (results
JSON, atomically) and recorded. Nothing one submission does escapes its own job: each batch step
runs under a catch-all that logs the traceback to ``<output>/<assignment>/grading.log`` and gives
that student a zero with a reason; the batch goes on. Intake never follows a link, never renames
on a clash, and lists every file it does not grade with the reason.

One vocabulary, in the progress lines, the summary and the exit status of ``d2lgrade grade``: a submission is
*graded*, or *not gradable* (a zero with the reason: empty, not a notebook, an internal error); a file that is
not a submission of a student is *refused* (kept in ``refused/``); a student with nothing handed in *did not
submit* (no result, not a failure); a submission graded before with the same bytes is *unchanged* (kept).
"""

from __future__ import annotations

import itertools
import json
import logging
import os
import sys
import threading
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, ThreadPoolExecutor, wait
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from d2lgrade.batch.intake import Intake, Refusal, Submission, read_submission, shown
from d2lgrade.course.access import Access
from d2lgrade.course.layout import SUBMISSION_SECRET, Course
from d2lgrade.course.records import archive, archive_refused, write_atomic
from d2lgrade.grading.cluster import Cluster, grade_on_cluster
from d2lgrade.grading.ledger import Ledger, digest
from d2lgrade.grading.progress import Progress
from d2lgrade.grading.remote import GradingService, checking_assignment
from d2lgrade.grading.steps import INTERNAL_ERROR, Assignment, Job, rejected_result
from d2lgrade.grading.workers import Work, grade_all
from d2lgrade.judging.bundle import Bundle
from d2lgrade.judging.results import SubmissionResult, gradescope_json
from d2lgrade.nbgrader.gradebook import carry_nbgrader_files, ensure_assignment, record

LOG = logging.getLogger("d2lgrade.grading")


@dataclass
class BatchReport:
    """The batch's outcome for the summary and the exit status."""

    results: list[SubmissionResult] = field(default_factory=list)
    refused: list[Refusal] = field(default_factory=list)
    internal_errors: list[str] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)
    """Students whose submission was graded before with the same bytes and bundle (not regraded)."""
    kept_not_gradable: list[str] = field(default_factory=list)
    """Of those, the ones whose kept result is a zero saying why the submission could not be graded."""
    did_not_submit: list[str] = field(default_factory=list)

    def summary(self, assignment: str) -> BatchSummary:
        """The counts every line about this batch is made from."""
        not_gradable = sum(r.problem is not None for r in self.results)
        return BatchSummary(assignment, len(self.results) - not_gradable, not_gradable, len(self.internal_errors),
                            len(self.kept), len(self.refused), len(self.did_not_submit), len(self.kept_not_gradable))


@dataclass(frozen=True)
class BatchSummary:
    """How many of each outcome (see the module's vocabulary); ``not_gradable`` includes ``internal_errors``."""

    assignment: str
    graded: int
    not_gradable: int
    internal_errors: int
    unchanged: int
    refused: int
    did_not_submit: int
    unchanged_not_gradable: int = 0

    @property
    def all_graded(self) -> bool:
        """Every submission found was graded (or is unchanged since it was): nothing refused, nothing not gradable,
        now or in the kept results."""
        return not (self.not_gradable or self.refused or self.internal_errors or self.unchanged_not_gradable)

    def line(self) -> str:
        unchanged = ""
        if self.unchanged:
            zeros = f"{self.unchanged_not_gradable} of them not gradable; " if self.unchanged_not_gradable else ""
            unchanged = f", {self.unchanged} unchanged since last graded ({zeros}kept; --regrade grades them again)"
        return (f"{self.assignment}: {self.graded} graded, {self.not_gradable} not gradable "
                f"({self.internal_errors} internal errors), {self.refused} refused, "
                f"{self.did_not_submit} did not submit{unchanged}")


def say(text: str) -> None:
    """Print a line that no stdout encoding can refuse."""
    enc = getattr(sys.stdout, "encoding", None) or "ascii"
    print(text.encode(enc, "backslashreplace").decode(enc, "replace"), flush=True)


def results_path(output: Path, assignment: str, student: str) -> Path:
    return output / assignment / f"{student}.json"


def write_result(output: Path, result: SubmissionResult, access: Access) -> None:
    """A student's results JSON (Gradescope's format), written atomically with the course's group and mode."""
    write_atomic(results_path(output, result.assignment, result.student),
                 json.dumps(gradescope_json(result), indent=2).encode(), access)


def grade_submissions(course: Course, assignment_id: str, submissions: Iterable[Submission] | Intake,
                      output: Path, gradebook: bool = True, log: Callable[[str], None] = say) -> list[SubmissionResult]:
    """Grade each submission afresh (see :func:`run_batch`); the results, in order of the students."""
    return run_batch(course, assignment_id, submissions, output, gradebook, log, regrade=True).results


def run_batch(course: Course, assignment_id: str, submissions: Iterable[Submission] | Intake, output: Path,
              gradebook: bool = True, log: Callable[[str], None] = say, jobs: int = 1,
              regrade: bool = False, cluster: Cluster | None = None, pool: ProcessPoolExecutor | None = None,
              progress: Progress | None = None, service: GradingService | None = None) -> BatchReport:
    """The batch loop: one catch-all per submission, a log file for the instructor, a report for the summary.

    Submissions whose bytes were already graded against the same bundle are kept as they are unless
    ``regrade``; a batch killed at any moment and run again ends as an uninterrupted run would. Grading
    runs in this process (one job), on ``jobs`` worker processes (``pool``'s, when several batches share them),
    or on the Dask scheduler of ``cluster``, or by the class server's grading ``service`` (a process that cannot make
    sandboxes: the reports come back as plain data and are checked here). ``progress``: one bar for several batches
    (kept open)."""
    intake = submissions if isinstance(submissions, Intake) else Intake(list(submissions))
    assignment = (checking_assignment(Bundle.load(course.bundle_path(assignment_id))) if service
                  else Assignment.load(course.bundle_path(assignment_id)))
    if gradebook:
        ensure_assignment(course, assignment_id)
    handler = logging.FileHandler(_log_file(course.access, output / assignment_id / "grading.log"), encoding="utf-8",
                                  errors="backslashreplace")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
    handler.addFilter(_not_another_lane(threading.current_thread().name))
    logging.getLogger("d2lgrade").addHandler(handler)
    report = BatchReport(refused=list(intake.refused), did_not_submit=list(intake.did_not_submit))
    ledger = Ledger(output / assignment_id, digest(course.bundle_path(assignment_id).read_bytes()), course.access)
    shown_progress = progress or Progress(len(intake.submissions), log)
    try:
        works = _works(course, assignment, intake.submissions, ledger, output, gradebook, regrade, report,
                       shown_progress)
        graded = {s.student for s in intake.submissions}
        graded_jobs = (grade_on_cluster(assignment, works, cluster) if cluster else
                       grade_by(service, assignment, works, jobs) if service else grade_all(assignment, works, jobs, pool))
        for (sub, sha), job in graded_jobs:
            result = _finish(course, sub, job, output, gradebook, report)
            if not job.failed_step and result.problem != INTERNAL_ERROR:
                ledger.remember(sub.student, sha, gradebook, gradable=result.problem is None)
            report.results.append(result)
            shown_progress.done(sub.student, result)
        report.results.sort(key=lambda r: r.student)
        for refusal in intake.refused:
            LOG.warning("refused: %s: %s", refusal.name, refusal.reason)
            log(f"{assignment_id} refused: {refusal.name}: {refusal.reason}")
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


LANE = "grading-lane"
"""The name prefix of the threads in which ``d2lgrade serve`` runs batches side by side."""


def _not_another_lane(mine: str) -> Callable[[logging.LogRecord], bool]:
    """A batch's log keeps its own lines and its helpers', not those of a batch beside it in another lane."""
    return lambda record: record.threadName == mine or not record.threadName.startswith(LANE)


def _log_file(access: Access, path: Path) -> Path:
    """The batch's log, made with the course's group and mode before the first line goes in (it names students)."""
    access.folder(path.parent)
    os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, access.file_mode))
    access.file(path)
    return path


def grade_by(service: GradingService, assignment: Assignment, works: Iterable[tuple[Any, Work]],
             jobs: int = 1) -> Iterator[tuple[Any, Job]]:
    """Each submission graded by the grading service, ``jobs`` requests at once (its ``--jobs``), yielded as each
    comes back; a service that cannot be asked raises GradingServiceError, which stops the batch: nothing is
    recorded for what is left."""
    with ThreadPoolExecutor(max(1, jobs), thread_name_prefix="grading-service") as requests:
        pending: dict[Future[Job], Any] = {}
        source = iter(works)
        while True:
            for key, work in itertools.islice(source, max(1, jobs) - len(pending)):
                pending[requests.submit(service.grade, assignment, work.raw, work.student, work.source)] = key
            if not pending:
                return
            done, _ = wait(pending, return_when=FIRST_COMPLETED)
            for future in done:
                yield pending.pop(future), future.result()


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
            if not ledger.was_gradable(sub.student):
                report.kept_not_gradable.append(sub.student)
            shown_progress.kept(sub.student)
            if gradebook:
                _carry(course, aid, sub)
            continue
        if gradebook:
            try:
                archive(course, aid, notebook, sub.student, raw, sub.submitted_at)
                _keep_secret(course, aid, sub)
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
    notebook, name = assignment.bundle.notebook, shown(sub.path.name)
    step = "grade"
    try:
        if job.failed_step:
            report.internal_errors.append(f"{sub.student} ({name}): step {job.failed_step}")
        assert job.result is not None
        result = job.result
        if not sub.path.name.endswith(".ipynb") and result.problem is None:
            result = replace(result, notes=(*result.notes, f"{name} does not end in .ipynb; it was graded as a notebook."))
        step = "write results"
        write_result(output, result, course.access)
        if gradebook:
            step = "record"
            record(course, job, notebook)
    except Exception:
        LOG.exception("internal error for student %s (%s) in step %s", sub.student, name, step)
        report.internal_errors.append(f"{sub.student} ({name}): step {step}")
        result = _internal_zero(assignment, sub, name, output, course.access)
    return result


def _keep_secret(course: Course, assignment: str, sub: Submission) -> None:
    """nbgrader's submission secret beside the archived notebook, as nbgrader's collect leaves it: its feedback is
    released under a name made from it (``nbgrader release_feedback``), which only that submission's student knows."""
    if sub.secret is None:
        return
    path = course.folder("submitted_directory", "submitted") / sub.student / assignment / SUBMISSION_SECRET
    if not (path.is_file() and not path.is_symlink() and path.read_text(errors="replace") == sub.secret):
        write_atomic(path, sub.secret.encode(), course.access)


def _carry(course: Course, assignment: str, sub: Submission) -> None:
    """An unchanged submission graded by an earlier d2lgrade still gets nbgrader's files into autograded/."""
    try:
        _keep_secret(course, assignment, sub)
        carry_nbgrader_files(course, assignment, sub.student)
    except Exception:
        LOG.exception("could not carry nbgrader's files of student %s into autograded/", sub.student)


def _internal_zero(assignment: Assignment, sub: Submission, name: str, output: Path,
                   access: Access) -> SubmissionResult:
    """A zero saying grading failed on our side; its results JSON written if at all possible."""
    job = Job(assignment, sub.student, name, b"", Path("."))
    result = rejected_result(job, INTERNAL_ERROR)
    try:
        write_result(output, result, access)
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
        write_result(output, result, access)
    except Exception:
        LOG.exception("could not write the refusal of %s", refusal.name)


def _summary(assignment_id: str, report: BatchReport, log: Callable[[str], None]) -> None:
    """The batch's summary line, then what each count not "graded" holds."""
    lines = [report.summary(assignment_id).line()]
    lines += [f"  not gradable: {r.student}: {r.problem}" for r in report.results if r.problem is not None]
    lines += [f"  internal error: {e} (traceback in grading.log)" for e in report.internal_errors]
    lines += [f"  refused: {r.name}: {r.reason}" for r in report.refused]
    if report.did_not_submit:
        lines.append(f"  did not submit: {', '.join(report.did_not_submit)}")
    for line in lines:
        LOG.info(line)
        log(line)
