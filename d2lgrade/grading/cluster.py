"""Grading beyond one machine, on Dask's distributed scheduler.

``d2lgrade grade A folder --cluster tcp://HOST:8786`` sends each submission's bytes, with the
assignment's bundle, to the scheduler; workers are machines with this course checkout and the
sandbox, started with ``dask worker tcp://HOST:8786 --nthreads 1 --nworkers N`` (as root, like the
grader). Each worker process grades with its own warm template, as a sandbox user of its own. The
client alone writes results and the gradebook (one writer): it takes each result once, in the
order they finish. When a worker dies mid-batch, the scheduler gives its submissions to another;
a submission that kills every worker it is given is a zero with a reason (and a rerun grades it).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable, Iterator
from typing import Any

from d2lgrade.grading.ledger import digest
from d2lgrade.grading.steps import Assignment, Job, grade_bytes
from d2lgrade.grading.workers import Work, job_of
from d2lgrade.judging.bundle import Bundle
from d2lgrade.sandbox.execute import Limits
from d2lgrade.sandbox.kernels import Policy, sandboxed_kernel_factory

LOG = logging.getLogger("d2lgrade.grading")
_ASSIGNMENTS: dict[str, Assignment] = {}
"""Per worker process: the assignments it has graded, by bundle hash (their templates stay warm)."""
_ONE_AT_A_TIME = threading.Lock()
"""A worker process grades one submission at a time, whatever its thread count."""


def grade_remote(bundle_json: str, limits: Limits, work: Work) -> Job:
    """Runs on a Dask worker: grade one submission; the job comes back without the assignment."""
    with _ONE_AT_A_TIME:
        key = digest(bundle_json.encode())
        if key not in _ASSIGNMENTS:
            factory = sandboxed_kernel_factory(Policy())  # users of this worker process's own
            _ASSIGNMENTS[key] = Assignment.from_bundle(Bundle.from_json(bundle_json), kernel_factory=factory,
                                                       limits=limits)
        job = grade_bytes(_ASSIGNMENTS[key], work.raw, work.student, work.source)
    job.assignment, job.raw = None, b""  # type: ignore[assignment]
    return job


def grade_on_cluster(assignment: Assignment, works: Iterable[tuple[Any, Work]], address: str) -> Iterator[tuple[Any, Job]]:
    """Like :func:`d2lgrade.grading.workers.grade_all`, with the scheduler at ``address`` handing out the work."""
    from distributed import Client, as_completed

    bundle_json = assignment.bundle.to_json()
    with Client(address, set_as_default=False) as client:
        window = 2 * max(1, sum(client.nthreads().values()))
        source = iter(works)
        pending: dict[str, tuple[Any, Work]] = {}

        def submit(count: int) -> list[Any]:
            futures = []
            for key, work in _take(source, count):
                futures.append(client.submit(grade_remote, bundle_json, assignment.limits, work, pure=False))
                pending[futures[-1].key] = (key, work)
            return futures

        first = submit(window)
        if not first:
            return
        running = as_completed(first, loop=client.loop)
        for future in running:
            key, work = pending.pop(future.key)
            yield key, job_of(future, assignment, work, "cluster worker")
            for more in submit(1):
                running.add(more)


def _take(source: Iterator[tuple[Any, Work]], count: int) -> list[tuple[Any, Work]]:
    taken = []
    for item in source:
        taken.append(item)
        if len(taken) == count:
            break
    return taken
