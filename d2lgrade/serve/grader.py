"""Grading a few queued submissions of one assignment exactly as ``d2lgrade grade`` does: batch/run.

The bytes go through :func:`d2lgrade.batch.run.run_batch` (archive into ``submitted/<student>/<assignment>/`` with
the exchange's receipt time as ``timestamp.txt``, the sandboxed core on warm workers, results JSON, gradebook
row, nbgrader's late penalty, the ledger that keeps a rerun from recording twice). Run as root, it grades on warm
workers here; run as its own user (``d2lgrade-serve``, in the course's staff group: what the class server does, so
that no course file is ever executed or written as root), each submission goes to the grading service, which runs
the sandbox as root and answers with the report as plain data, checked here. A submission that does not count
(received after the due date when an on-time one exists) is graded into ``results-not-counted/`` with no gradebook
row. Workers stay warm between submissions: one pool per course, started again when a bundle is rebuilt.
"""

from __future__ import annotations

import dataclasses
import logging
import tempfile
import threading
import warnings
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from nbgrader.api import Gradebook, MissingEntry
from sqlalchemy.exc import SAWarning

from d2lgrade.batch.intake import Submission, student_id
from d2lgrade.batch.run import results_path, run_batch
from d2lgrade.course.layout import Course
from d2lgrade.grading.cluster import Cluster
from d2lgrade.grading.ledger import digest
from d2lgrade.grading.remote import URL_VARIABLE, GradingService, GradingServiceError
from d2lgrade.grading.steps import Assignment
from d2lgrade.grading.workers import worker_pool
from d2lgrade.judging.bundle import Bundle
from d2lgrade.serve.feedback import Graded
from d2lgrade.serve.loop import ToGrade, TryLater

LOG = logging.getLogger("d2lgrade.serve")
NOT_COUNTED = "results-not-counted"


@dataclass
class BatchGrader:
    courses: dict[str, Path]
    jobs: int = 1
    remote: bool = False
    """Grade through the grading service (``D2LGRADE_GRADER_URL`` and the hub token in the environment)."""
    cluster: Cluster | None = None
    """Grade on a Dask cluster's workers (``d2lgrade serve --cluster``), as ``d2lgrade grade --cluster`` does."""
    _pools: dict[str, _Pool] = field(default_factory=dict)
    _lock: threading.Condition = field(default_factory=threading.Condition)
    """Guards ``_pools``: several lanes grade at once, and a course's pool is replaced only when none is using it."""

    def __call__(self, course_id: str, assignment: str, subs: list[ToGrade], regrade: bool) -> dict[int, Graded | str]:
        course = Course(self.courses[course_id])
        bundle_path = course.bundle_path(assignment)
        if not bundle_path.is_file():
            return {s.item.id: f"{assignment} is not built in course {course_id}: run `d2lgrade build` in "
                               f"{course.root}, then `d2lgrade queue --regrade {assignment}`" for s in subs}
        by_hand = tuple(q.id for q in Bundle.load(bundle_path).questions if not q.autograded)
        out: dict[int, Graded | str] = {}
        for record in (True, False):
            group = [s for s in subs if s.record is record]
            bad = [s for s in group if student_id(s.item.student) != s.item.student]
            out |= {s.item.id: f"the hub name {s.item.student!r} is not a gradebook id" for s in bad}
            group = [s for s in group if s not in bad]
            if group:
                out |= self._batch(course, assignment, group, record, regrade, by_hand)
        return out

    def _batch(self, course: Course, assignment: str, group: list[ToGrade], record: bool, regrade: bool,
               by_hand: tuple[str, ...]) -> dict[int, Graded | str]:
        output = course.root / ("results" if record else NOT_COUNTED)
        with tempfile.TemporaryDirectory(prefix="d2lgrade-serve-") as tmp, self._using(course) as pool:
            subs = []
            for s in group:
                path = Path(tmp) / f"{s.item.student}.ipynb"
                path.write_bytes(s.raw)
                subs.append(Submission(s.item.student, path, s.item.received))
            try:
                run_batch(course, assignment, subs, output, gradebook=record, log=LOG.info, jobs=self.jobs,
                          regrade=regrade, pool=pool, service=self._service(course), cluster=self.cluster)
            except GradingServiceError as e:
                raise TryLater(str(e)) from None
        out: dict[int, Graded | str] = {}
        penalties = late_penalties(course, assignment) if record else {}
        for s in group:
            try:
                graded = Graded.from_results(results_path(output, assignment, s.item.student), assignment,
                                             s.item.student, by_hand)
            except (OSError, ValueError, KeyError) as e:
                out[s.item.id] = f"no results were written ({e}); see {output / assignment / 'grading.log'}"
                continue
            out[s.item.id] = dataclasses.replace(graded, late_penalty=penalties.get(s.item.student, 0.0))
        return out

    def _service(self, course: Course) -> GradingService | None:
        if not self.remote:
            return None
        service = GradingService.from_env(course.course_id)
        if service is None:
            raise TryLater(f"no grading service to grade through: set {URL_VARIABLE} and JUPYTERHUB_API_TOKEN "
                           "(deploy/bin/d2lgrade-serve does), or run d2lgrade serve as root")
        return service

    @contextmanager
    def _using(self, course: Course) -> Iterator[ProcessPoolExecutor | None]:
        """The course's warm workers while a batch grades on them (None: grading in this process, through the
        service or on the cluster). A rebuilt bundle starts new workers once no batch is using the old ones."""
        if self.jobs <= 1 or self.remote or self.cluster:
            yield None
            return
        key = tuple(digest(b.read_bytes()) for b in sorted(course.build_dir.glob("*/bundle.json")))
        with self._lock:
            self._lock.wait_for(lambda: self._current(course, key) or not self._pools[str(course.root)].users)
            held = self._pools.get(str(course.root))
            if held is None or held.key != key:
                held = self._start(course, key)
            held.users += 1
        try:
            yield held.pool
        finally:
            with self._lock:
                held.users -= 1
                self._lock.notify_all()

    def _current(self, course: Course, key: tuple[str, ...]) -> bool:
        """Whether the course has no pool yet or one started from these bundles (else wait until it is unused)."""
        held = self._pools.get(str(course.root))
        return held is None or held.key == key

    def _start(self, course: Course, key: tuple[str, ...]) -> _Pool:
        old = self._pools.pop(str(course.root), None)
        if old is not None:
            old.stack.close()
        stack = ExitStack()
        bundles = sorted(course.build_dir.glob("*/bundle.json"))
        pool = stack.enter_context(worker_pool([Assignment.load(b) for b in bundles], self.jobs))
        self._pools[str(course.root)] = held = _Pool(key, stack, pool)
        return held

    def close(self) -> None:
        with self._lock:
            for held in self._pools.values():
                held.stack.close()
            self._pools.clear()


@dataclass
class _Pool:
    """A course's warm workers, the bundles they were started from, and how many batches are grading on them."""

    key: tuple[str, ...]
    stack: ExitStack
    pool: ProcessPoolExecutor
    users: int = 0


def late_penalties(course: Course, assignment: str) -> dict[str, float]:
    """nbgrader's late penalty per student, as the gradebook recorded it for the assignment's submissions."""
    with warnings.catch_warnings(), Gradebook(course.db_url) as gb:
        warnings.filterwarnings("ignore", category=SAWarning)
        try:
            subs = gb.find_assignment(assignment).submissions
        except MissingEntry:
            return {}
        return {sub.student.id: float(sub.late_submission_penalty or 0.0) for sub in subs}
