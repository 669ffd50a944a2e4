"""Grading beyond one machine, on Dask's distributed scheduler, over mutual TLS.

``d2lgrade grade A folder --cluster tls://HOST:8786 --cluster-certs DIR`` sends each submission's bytes,
with the assignment's bundle, to the scheduler; workers are machines with this course checkout and the
sandbox, started with their certificate (README, "Beyond one machine"). Every connection is TLS with
certificates signed by the course CA (:mod:`d2lgrade.grading.cluster_certs`): without one, nobody can
submit code, register a plugin or join as a worker. A ``tcp://`` scheduler is refused unless the
instructor opts out explicitly (:meth:`Cluster.insecure`).

Each worker process grades with its own warm template, as a sandbox user of its own, and sends back
JSON text (:mod:`d2lgrade.grading.cluster_report`), which the client reads with msgpack only and checks
against the bundle. The client alone writes results and the gradebook (one writer): it takes each
result once, in the order they finish. When a worker dies mid-batch, the scheduler gives its
submissions to another; a submission that kills every worker it is given, or whose report is refused,
is a zero with a reason (and a rerun grades it).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from d2lgrade.grading.cluster_certs import ROLES, CertFolder
from d2lgrade.grading.cluster_report import checked_job, failure_text, report_text
from d2lgrade.grading.ledger import digest
from d2lgrade.grading.steps import Assignment, Job, grade_bytes
from d2lgrade.grading.workers import Work, internal_zero
from d2lgrade.judging.bundle import Bundle
from d2lgrade.sandbox.execute import Limits
from d2lgrade.sandbox.kernels import Policy, sandboxed_kernel_factory

LOG = logging.getLogger("d2lgrade.grading")
_ASSIGNMENTS: dict[str, Assignment] = {}
"""Per worker process: the assignments it has graded, by bundle hash (their templates stay warm)."""
_ONE_AT_A_TIME = threading.Lock()
"""A worker process grades one submission at a time, whatever its thread count."""
_CLIENT = next(role for role in ROLES if role.name == "client")
INSECURE_FLAG = "--insecure-cluster-anyone-can-grade"


class ClusterRefused(ValueError):
    """A cluster d2lgrade will not send submissions to, and what to do instead."""


@dataclass(frozen=True)
class Cluster:
    """Where to grade, and the credentials the client presents there (``None`` only when the instructor opted
    out of them)."""

    address: str
    security: Any

    @classmethod
    def secure(cls, address: str, certs: Path) -> Cluster:
        """A ``tls://`` scheduler, reached with the client certificate that ``d2lgrade cluster-certs`` made."""
        from distributed.security import Security

        if not address.startswith("tls://"):
            raise ClusterRefused(f"--cluster {address}: {_why_tls()}")
        ca, cert, key = CertFolder(certs).files_for(_CLIENT)
        missing = [p.name for p in (ca, cert, key) if not p.is_file()]
        if missing:
            raise ClusterRefused(f"--cluster-certs {certs} has no {', '.join(missing)}: give the folder that "
                                 "`d2lgrade cluster-certs DIR` made (or make one and restart the scheduler and "
                                 "workers with its certificates)")
        if key.stat().st_mode & 0o077:
            raise ClusterRefused(f"{key} can be read by other users: whoever reads it can grade on the cluster. "
                                 f"Run `chmod 600 {key}` (and check who has read it)")
        return cls(address, Security(tls_ca_file=str(ca), tls_client_cert=str(cert), tls_client_key=str(key),
                                     require_encryption=True))

    @classmethod
    def insecure(cls, address: str) -> Cluster:
        """A ``tcp://`` scheduler, only because the instructor said so with :data:`INSECURE_FLAG`."""
        if not address.startswith("tcp://"):
            raise ClusterRefused(f"--cluster {address}: give tcp://HOST:PORT with {INSECURE_FLAG}, or better "
                                 "tls://HOST:PORT with --cluster-certs DIR")
        return cls(address, None)


def _why_tls() -> str:
    return ("d2lgrade sends submissions only to a tls:// scheduler, with certificates. On plain tcp:// anyone who can "
            "reach the scheduler can run code on the workers as root, read the references and change grades. "
            "Make certificates with `d2lgrade cluster-certs DIR`, start the scheduler and workers with them "
            "(README: Beyond one machine) and give --cluster tls://HOST:8786 --cluster-certs DIR; or, on a network "
            f"no one else can reach, add {INSECURE_FLAG}")


def grade_remote(bundle_json: str, limits: Limits, work: Work) -> str:
    """Runs on a Dask worker: grade one submission and send back JSON text. Never raises: an exception would
    travel pickled, and a client must not unpickle what a worker sends."""
    try:
        with _ONE_AT_A_TIME:
            key = digest(bundle_json.encode())
            if key not in _ASSIGNMENTS:
                factory = sandboxed_kernel_factory(Policy())  # users of this worker process's own
                _ASSIGNMENTS[key] = Assignment.from_bundle(Bundle.from_json(bundle_json), kernel_factory=factory,
                                                           limits=limits)
            return report_text(grade_bytes(_ASSIGNMENTS[key], work.raw, work.student, work.source))
    except Exception:
        LOG.exception("this worker could not grade the submission of %s", work.student)
        return failure_text(work.student, work.source)


def grade_on_cluster(assignment: Assignment, works: Iterable[tuple[Any, Work]],
                     cluster: Cluster) -> Iterator[tuple[Any, Job]]:
    """Like :func:`d2lgrade.grading.workers.grade_all`, with the scheduler of ``cluster`` handing out the work.

    The client talks to the scheduler only (never to a worker directly) and deserializes results with msgpack
    alone: a worker's result is a string, and a pickled object is refused instead of loaded."""
    from distributed import Client, as_completed

    bundle_json = assignment.bundle.to_json()
    with Client(cluster.address, security=cluster.security, set_as_default=False, deserializers=["msgpack"],
                direct_to_workers=False) as client:
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
            yield key, _job(future, assignment, work)
            for more in submit(1):
                running.add(more)


def _job(future: Any, assignment: Assignment, work: Work) -> Job:
    """The job a worker's report describes, checked (:func:`checked_job`); a zero saying grading failed on our side
    when the worker died or failed."""
    try:
        text = future.result()
    except Exception:
        LOG.exception("the cluster worker grading the submission of %s failed", work.student)
        return internal_zero(assignment, work, "cluster worker")
    return checked_job(text, assignment, work, "cluster")


def _take(source: Iterator[tuple[Any, Work]], count: int) -> list[tuple[Any, Work]]:
    taken = []
    for item in source:
        taken.append(item)
        if len(taken) == count:
            break
    return taken
