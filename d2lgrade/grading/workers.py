"""Grading on every core: worker processes, each with its own warm template and sandbox user.

The batch (:mod:`d2lgrade.batch.run`) reads, archives, writes results and records in its own process
(one writer); only :func:`d2lgrade.grading.steps.grade_bytes` runs in a worker. A worker gets the
submission's bytes and sends back its :class:`~d2lgrade.grading.steps.Job` without the assignment. Each
worker's kernels run as a user of their own (:func:`worker_policy`): per-user limits such as
RLIMIT_NPROC are then per worker, so a fork bomb in one worker's kernel cannot starve another's.
With one job, grading stays in the batch's own process, as before.
"""

from __future__ import annotations

import logging
import multiprocessing
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from d2lgrade.grading.steps import INTERNAL_ERROR, Assignment, Job, grade_bytes, rejected_result
from d2lgrade.judging.bundle import Bundle
from d2lgrade.sandbox.execute import Limits
from d2lgrade.sandbox.kernels import UIDS_PER_GRADER, Policy, grader_uid_base, sandboxed_kernel_factory

LOG = logging.getLogger("d2lgrade.grading")
@dataclass(frozen=True)
class Work:
    """One submission to grade: what a worker needs, and nothing of the course."""

    student: str
    source: str
    raw: bytes
    assignment: str = ""
    """Which of a shared pool's assignments (see :func:`worker_pool`); empty: the pool's only one."""


def worker_policy(slot: int, base: int | None = None) -> Policy:
    """Worker ``slot`` of the grader whose users start at ``base`` (default: this process's) runs its kernels as
    user and group ``base + 1 + slot``: per-user limits never couple two workers, or two graders."""
    uid = (grader_uid_base() if base is None else base) + 1 + slot
    if not 0 <= slot < UIDS_PER_GRADER - 1:
        raise ValueError(f"at most {UIDS_PER_GRADER - 1} workers per grader")
    return replace(Policy(), uid=uid, gid=uid)


_WORKER: dict[str, Any] = {}
"""The worker process's assignments by id ("" too, when it has one), set once by its initializer (never swapped);
they share the worker's one template and sandbox user."""


def _start_worker(bundles: tuple[Bundle, ...], limits: Limits, slots: Any, base: int) -> None:
    slot = slots.get()
    factory = sandboxed_kernel_factory(worker_policy(slot, base))
    for bundle in bundles:
        _WORKER[bundle.assignment] = Assignment.from_bundle(bundle, kernel_factory=factory, limits=limits)
    if len(bundles) == 1:
        _WORKER[""] = _WORKER[bundles[0].assignment]


def _grade_in_worker(work: Work) -> Job:
    job = grade_bytes(_WORKER[work.assignment], work.raw, work.student, work.source)
    job.assignment, job.raw = None, b""  # type: ignore[assignment]  # the batch has both
    return job


@contextmanager
def worker_pool(assignments: Sequence[Assignment], jobs: int, first_slot: int = 0) -> Iterator[ProcessPoolExecutor]:
    """``jobs`` workers that grade any of ``assignments``: started once for several batches (``d2lgrade
    grade-samples``), since a worker's start (its template imports MXNet) costs more than a few submissions.
    ``first_slot``: where this pool's sandbox users start among the grader's (several pools at once never share one)."""
    context = multiprocessing.get_context("spawn")
    slots = context.Queue()
    for slot in range(first_slot, first_slot + jobs):
        slots.put(slot)
    bundles = tuple(a.bundle for a in assignments)
    with ProcessPoolExecutor(jobs, mp_context=context, initializer=_start_worker,
                             initargs=(bundles, assignments[0].limits, slots, grader_uid_base())) as pool:
        yield pool


def grade_all(assignment: Assignment, works: Iterable[tuple[Any, Work]], jobs: int,
              pool: ProcessPoolExecutor | None = None) -> Iterator[tuple[Any, Job]]:
    """Each ``(key, work)`` graded, yielded as ``(key, job)`` as soon as it is done (in any order with
    several jobs). At most ``2 * jobs`` submissions are in flight, so memory stays bounded. ``pool``: workers
    already started (:func:`worker_pool`), kept running afterwards."""
    if pool is not None:
        yield from _stream(pool, assignment, works, jobs)
        return
    if jobs <= 1:
        for key, work in works:
            yield key, grade_bytes(assignment, work.raw, work.student, work.source)
        return
    with worker_pool([assignment], jobs) as own:
        yield from _stream(own, assignment, works, jobs)


def _stream(pool: ProcessPoolExecutor, assignment: Assignment, works: Iterable[tuple[Any, Work]],
            jobs: int) -> Iterator[tuple[Any, Job]]:
    """Submissions fed to the pool as workers free up, results yielded as they come."""
    pending: dict[Future[Job], tuple[Any, Work]] = {}
    source = iter(works)
    exhausted = False
    while pending or not exhausted:
        while not exhausted and len(pending) < 2 * jobs:
            try:
                key, work = next(source)
            except StopIteration:
                exhausted = True
                break
            pending[submit_work(pool, work)] = (key, work)
        if not pending:
            break
        done, _ = wait(pending, return_when=FIRST_COMPLETED)
        for future in done:
            key, work = pending.pop(future)
            yield key, job_of(future, assignment, work, "worker")


def submit_work(pool: ProcessPoolExecutor, work: Work) -> Future[Job]:
    """The work sent to a worker; if the pool broke (a worker killed from outside), a failed future, so
    that the submission gets its internal-error zero and the batch ends instead of stopping."""
    try:
        return pool.submit(_grade_in_worker, work)
    except BrokenProcessPool as exc:
        failed: Future[Job] = Future()
        failed.set_exception(exc)
        return failed


def job_of(future: Any, assignment: Assignment, work: Work, where: str) -> Job:
    """The job a worker sent back, or, if the worker died or failed, a zero saying grading failed on our
    side (logged; the batch goes on, and a rerun grades it again)."""
    try:
        job = future.result()
    except Exception:
        LOG.exception("the %s grading the submission of %s failed", where, work.student)
        return internal_zero(assignment, work, where)
    job.assignment = assignment
    return job


def internal_zero(assignment: Assignment, work: Work, where: str) -> Job:
    """A zero saying grading failed on our side, for a submission whose grading failed at ``where``."""
    job = Job(assignment, work.student, work.source, b"", Path("."))
    job.result = rejected_result(job, INTERNAL_ERROR)
    job.failed_step = where
    return job
