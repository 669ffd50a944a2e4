"""Grading on a Dask cluster: a local one of worker processes over mutual TLS stands for several machines.

Only holders of a certificate signed by the course CA connect: a client or a worker without one is refused,
so it can neither submit code, nor register a plugin, nor receive submissions. ``tcp://`` is refused unless
the instructor opts out by a flag that says what it gives away. What a worker sends back is JSON text read
with msgpack only: a pickled object or a forged verdict is refused, never loaded. The client alone writes
results; a worker killed mid-batch loses nothing (its submissions are graded by another) and doubles
nothing (each result is taken once).
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import stat
from pathlib import Path

import pytest

from d2lgrade import cli
from d2lgrade.batch.intake import find_submissions
from d2lgrade.batch.run import run_batch
from d2lgrade.grading import cluster as cluster_module
from d2lgrade.grading.cluster import Cluster
from d2lgrade.grading.cluster_ca import make_certificates
from d2lgrade.grading.cluster_certs import CA, ROLES, CertFolder
from d2lgrade.grading.steps import INTERNAL_ERROR
from tests.test_batch_parallel import ASSIGNMENT, _scores, classroom  # noqa: F401 - a fixture

distributed = pytest.importorskip("distributed")
from distributed.security import Security  # noqa: E402 - after the skip


@pytest.fixture(scope="module")
def certs(tmp_path_factory) -> CertFolder:
    return make_certificates(tmp_path_factory.mktemp("cluster") / "certs")


@pytest.fixture(scope="module")
def strangers(tmp_path_factory) -> CertFolder:
    """Certificates of another CA: well-formed, signed, but not by the course's."""
    return make_certificates(tmp_path_factory.mktemp("strangers") / "certs")


def _security(certs: CertFolder, *roles: str) -> Security:
    """What each machine of ``roles`` presents (``client``, ``scheduler``, ``worker``) and the CA it trusts."""
    paths = {f"tls_{role}_{kind}": str(path) for role in roles
             for kind, path in (("cert", certs.cert(role)), ("key", certs.key(role)))}
    return Security(tls_ca_file=str(certs.cert(CA)), require_encryption=True, **paths)


def _local(certs: CertFolder, workers: int, processes: bool = True) -> distributed.LocalCluster:
    return distributed.LocalCluster(n_workers=workers, threads_per_worker=1, processes=processes, protocol="tls",
                                    security=_security(certs, "scheduler", "worker", "client"),
                                    dashboard_address=None, silence_logs=50)


@pytest.fixture()
def cluster(certs):
    with _local(certs, 2) as local:
        yield local


def _more(inbox, copies: int) -> None:
    """Copies of the samples under other student ids, for a batch long enough to kill a worker in."""
    for n in range(copies):
        for sample in sorted(p for p in inbox.glob("*.ipynb") if not p.stem.startswith("copy")):
            (inbox / f"copy{n}-{sample.name}").write_bytes(sample.read_bytes())


def test_cluster_certs_keeps_keys_private_and_never_replaces_a_ca(tmp_path, capsys):
    folder = tmp_path / "certs"
    assert cli.main(["cluster-certs", str(folder)]) == 0
    shown = capsys.readouterr().out
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    certs = CertFolder(folder)
    for name in (CA, *(role.name for role in ROLES)):
        assert stat.S_IMODE(certs.key(name).stat().st_mode) == 0o600
        assert certs.key(name).name in shown
    assert "keep it offline" in shown
    ca = certs.cert(CA).read_bytes()
    assert cli.main(["cluster-certs", str(folder)]) == 2
    assert "already holds a course CA" in capsys.readouterr().err
    assert certs.cert(CA).read_bytes() == ca


@pytest.mark.parametrize("argv, remedy", [
    (["--cluster", "tcp://grader:8786"], "--insecure-cluster-anyone-can-grade"),
    (["--cluster", "grader:8786"], "d2lgrade cluster-certs DIR"),
    (["--cluster", "tls://grader:8786"], "--cluster-certs DIR"),
], ids=["tcp", "no scheme", "tls without certificates"])
def test_grading_on_a_cluster_without_certificates_is_refused_with_the_remedy(argv, remedy, capsys):
    assert cli.main(["grade", ASSIGNMENT, ".", *argv]) == 2
    assert remedy in capsys.readouterr().err


def test_tcp_is_used_only_when_the_instructor_says_what_it_gives_away(capsys):
    args = cli.parser().parse_args(["grade", ASSIGNMENT, ".", "--cluster", "tcp://grader:8786",
                                    "--insecure-cluster-anyone-can-grade"])
    assert cli._cluster(args) == Cluster("tcp://grader:8786", None)
    assert "anyone who can reach it can run code" in capsys.readouterr().err


def test_a_client_key_others_can_read_is_refused(certs, tmp_path):
    folder = tmp_path / "certs"
    make_certificates(folder)
    CertFolder(folder).key("client").chmod(0o640)
    with pytest.raises(cluster_module.ClusterRefused, match="chmod 600"):
        Cluster.secure("tls://grader:8786", folder)


@pytest.mark.slow
def test_a_client_or_worker_without_the_course_certificate_is_refused(certs, strangers):
    with _local(certs, 1, processes=False) as local:
        address = local.scheduler_address
        assert address.startswith("tls://")
        with pytest.raises(OSError):  # no TLS at all: the scheduler hangs up
            distributed.Client(address.replace("tls://", "tcp://"), timeout=5, set_as_default=False)
        with pytest.raises(OSError):  # a certificate, but from another CA: the handshake fails
            distributed.Client(address, timeout=5, set_as_default=False, security=_security(strangers, "client"))
        with pytest.raises(OSError):  # trusting the course CA does not help without a certificate it signed
            distributed.Client(address, timeout=5, set_as_default=False,
                               security=Security(tls_ca_file=str(certs.cert(CA)), require_encryption=True,
                                                 tls_client_cert=str(strangers.cert("client")),
                                                 tls_client_key=str(strangers.key("client"))))
        with pytest.raises((OSError, asyncio.TimeoutError)):
            asyncio.run(_join(address, _security(strangers, "worker")))
        with distributed.Client(address, security=_security(certs, "client"), set_as_default=False) as grader:
            assert len(grader.nthreads()) == 1  # the stranger never joined: it would have received submissions


async def _join(address: str, security: Security) -> None:
    async with distributed.Worker(address, security=security, nthreads=1, death_timeout=3, dashboard=False):
        pass


@pytest.mark.slow
def test_a_cluster_over_tls_gives_the_verdicts_of_one_job(classroom, certs, cluster, tmp_path):  # noqa: F811
    course, inbox = classroom
    run_batch(course, ASSIGNMENT, find_submissions(inbox), tmp_path / "one", gradebook=False, jobs=1)
    dask = run_batch(course, ASSIGNMENT, find_submissions(inbox), tmp_path / "dask", gradebook=False,
                     cluster=Cluster.secure(cluster.scheduler_address, certs.folder))
    assert not dask.internal_errors
    assert _scores(tmp_path / "dask" / ASSIGNMENT) == _scores(tmp_path / "one" / ASSIGNMENT)


class _Loaded:
    """Unpickling this creates a file: the trace of a worker's object loaded in the grader's process."""

    def __init__(self, trace: Path) -> None:
        self.trace = trace

    def __reduce__(self):
        return open, (str(self.trace), "w")


def forging_worker(bundle_json: str, limits: object, work) -> object:
    """A worker running altered code: a pickled object, or reports no honest worker writes."""
    from distributed.protocol.serialize import Serialized, serialize

    if work.student == "complete":
        return Serialized(*serialize(_Loaded(Path(os.environ["D2LGRADE_TEST_TRACE"])), serializers=("pickle",)))
    questions = [{"id": q["id"], "exercise": q["exercise"], "kind": q["kind"], "score": q["points"] + 6,
                  "max_score": q["points"], "status": "passed", "output": "Correct.", "misconception": None,
                  "answer": None} for q in json.loads(bundle_json)["questions"]]
    report = {"format": "d2lgrade-cluster-result/1", "student": work.student, "source": work.source,
              "failed_step": None, "problem": None, "notes": [], "questions": questions, "outputs": None}
    if work.student == "partial":  # the right points, plus a key of its own
        report = {**report, "questions": [{**q, "score": q["max_score"]} for q in questions], "plugin": "x"}
    return json.dumps(report)


@pytest.mark.slow
def test_a_worker_cannot_send_an_object_or_a_forged_verdict(classroom, certs, tmp_path, monkeypatch):  # noqa: F811
    course, inbox = classroom
    trace = tmp_path / "unpickled-in-the-grader"
    monkeypatch.setenv("D2LGRADE_TEST_TRACE", str(trace))
    monkeypatch.setattr(cluster_module, "grade_remote", forging_worker)
    with _local(certs, 1, processes=False) as local:
        report = run_batch(course, ASSIGNMENT, find_submissions(inbox), tmp_path / "dask", gradebook=False,
                           cluster=Cluster.secure(local.scheduler_address, certs.folder), log=lambda line: None)
    assert not trace.exists()
    assert {r.student for r in report.results} == {"complete", "partial", "untouched", "kills-its-kernel"}
    assert all(r.problem == INTERNAL_ERROR and r.score == 0 for r in report.results)
    assert len(report.internal_errors) == 4
    logged = (tmp_path / "dask" / ASSIGNMENT / "grading.log").read_text()
    assert logged.count("refused the cluster's result") == 3


@pytest.mark.slow
@pytest.mark.long
def test_a_worker_killed_mid_batch_loses_nothing_and_doubles_nothing(classroom, certs, cluster, tmp_path):  # noqa: F811
    course, inbox = classroom
    _more(inbox, 2)
    expected = run_batch(course, ASSIGNMENT, find_submissions(inbox), tmp_path / "one", gradebook=False, jobs=2)
    with distributed.Client(cluster.scheduler_address, security=_security(certs, "client")) as client:
        worker_pids = client.run(os.getpid)
    killed: list[int] = []

    def kill_a_busy_worker(line: str) -> None:
        if not killed:  # after the first result: the other submissions are in flight on both workers
            pid = next(iter(worker_pids.values()))
            os.kill(pid, signal.SIGKILL)
            killed.append(pid)

    report = run_batch(course, ASSIGNMENT, find_submissions(inbox), tmp_path / "dask", gradebook=False,
                       cluster=Cluster.secure(cluster.scheduler_address, certs.folder), log=kill_a_busy_worker)
    assert killed
    students = [r.student for r in report.results]
    assert sorted(students) == sorted(set(students)) == sorted(r.student for r in expected.results)
    assert not report.internal_errors
    assert _scores(tmp_path / "dask" / ASSIGNMENT) == _scores(tmp_path / "one" / ASSIGNMENT)
