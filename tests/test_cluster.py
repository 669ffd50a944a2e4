"""Grading on a Dask cluster: a local one of two worker processes stands for several machines.

The client alone writes results; a worker killed mid-batch loses nothing (its submissions are graded
by another) and doubles nothing (each result is taken once).
"""

from __future__ import annotations

import os
import signal

import pytest

from d2lgrade.batch.intake import find_submissions
from d2lgrade.batch.run import run_batch
from tests.test_batch_parallel import ASSIGNMENT, _scores, classroom  # noqa: F401 - a fixture

distributed = pytest.importorskip("distributed")


@pytest.fixture()
def cluster():
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None,
                                  silence_logs=50) as local:
        yield local


def _more(inbox, copies: int) -> None:
    """Copies of the samples under other student ids, for a batch long enough to kill a worker in."""
    for n in range(copies):
        for sample in sorted(p for p in inbox.glob("*.ipynb") if not p.stem.startswith("copy")):
            (inbox / f"copy{n}-{sample.name}").write_bytes(sample.read_bytes())


@pytest.mark.slow
def test_a_cluster_gives_the_verdicts_of_one_job(classroom, cluster, tmp_path):  # noqa: F811
    course, inbox = classroom
    run_batch(course, ASSIGNMENT, find_submissions(inbox), tmp_path / "one", gradebook=False, jobs=1)
    dask = run_batch(course, ASSIGNMENT, find_submissions(inbox), tmp_path / "dask", gradebook=False,
                     cluster=cluster.scheduler_address)
    assert not dask.internal_errors
    assert _scores(tmp_path / "dask" / ASSIGNMENT) == _scores(tmp_path / "one" / ASSIGNMENT)


@pytest.mark.slow
@pytest.mark.long
def test_a_worker_killed_mid_batch_loses_nothing_and_doubles_nothing(classroom, cluster, tmp_path):  # noqa: F811
    course, inbox = classroom
    _more(inbox, 2)
    expected = run_batch(course, ASSIGNMENT, find_submissions(inbox), tmp_path / "one", gradebook=False, jobs=2)
    with distributed.Client(cluster.scheduler_address) as client:
        worker_pids = client.run(os.getpid)
    killed: list[int] = []

    def kill_a_busy_worker(line: str) -> None:
        if not killed:  # after the first result: the other submissions are in flight on both workers
            pid = next(iter(worker_pids.values()))
            os.kill(pid, signal.SIGKILL)
            killed.append(pid)

    report = run_batch(course, ASSIGNMENT, find_submissions(inbox), tmp_path / "dask", gradebook=False,
                       cluster=cluster.scheduler_address, log=kill_a_busy_worker)
    assert killed
    students = [r.student for r in report.results]
    assert sorted(students) == sorted(set(students)) == sorted(r.student for r in expected.results)
    assert not report.internal_errors
    assert _scores(tmp_path / "dask" / ASSIGNMENT) == _scores(tmp_path / "one" / ASSIGNMENT)
