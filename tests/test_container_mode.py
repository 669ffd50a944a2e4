"""The container mode of the sandbox (d2lgrade.sandbox.kernels.ContainerEnclosure), tried on this machine.

Inside Docker the mode is chosen by itself (bubblewrap cannot build namespaces there); `make image-test`
runs the hostile corpus in it. Here it is forced with ``D2LGRADE_SANDBOX=container`` to test its parts:
the network rule of its seccomp filter, the clearing of a user's processes and files, and that honest
work gets the same verdicts as in the namespaces mode.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from d2lgrade.grading.steps import Assignment, grade_bytes
from d2lgrade.sandbox import kernels as sandbox
from d2lgrade.sandbox.userprocs import UserProcesses, pids_of
from tests.conftest import one_worker_at_a_time

ROOT = Path(__file__).resolve().parents[1]
UID = 1_600_000_017
"""A user of this file alone: nothing else on the machine runs as it."""


@pytest.fixture(autouse=True)
def _alone_with_the_user(run_dir):
    """These tests start, count and kill that user's processes: under ``make test``'s workers, one at a time."""
    with one_worker_at_a_time(run_dir, f"uid-{UID}"):
        yield


def test_no_network_filter_refuses_inet_sockets_and_keeps_unix_ones():
    script = textwrap.dedent("""
        import socket
        from d2lgrade.sandbox import enter
        from d2lgrade.sandbox.kernels import seccomp_program
        bpf = seccomp_program(no_network=True).read_bytes()
        entry = enter.Entry("container", 0, (), 0, 0, {}, {}, "/", (), bpf)
        enter.load_seccomp(entry, enter.Passage({}, -1))
        for family in (socket.AF_INET, socket.AF_INET6, socket.AF_PACKET):
            try:
                socket.socket(family, socket.SOCK_DGRAM if family != socket.AF_PACKET else socket.SOCK_RAW)
                print("open", family)
            except PermissionError:
                print("refused", family)
        socket.socket(socket.AF_UNIX, socket.SOCK_STREAM).close()
        print("unix ok")
    """)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[-1] == "unix ok"
    assert all(line.startswith("refused") for line in lines[:-1]), lines


def _as_user(code: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-c", code], user=UID, group=UID, extra_groups=[], cwd="/",
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def test_clearing_a_user_kills_its_processes_and_removes_its_files(tmp_path):
    theirs = Path("/tmp") / f"d2lgrade-test-leftover-{os.getpid()}"
    ours = tmp_path / "ours.txt"
    ours.write_text("kept")
    detached = textwrap.dedent(f"""
        import os, time
        open("{theirs}", "w").write("left behind")
        os.makedirs("/dev/shm/d2lgrade-test-{os.getpid()}/deep", exist_ok=True)
        if os.fork() == 0:
            os.setsid()
            if os.fork() == 0:
                time.sleep(600)
            os._exit(0)
        time.sleep(600)
    """)
    _as_user(detached)
    deadline = time.monotonic() + 30
    while len(pids_of(UID)) < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert len(pids_of(UID)) >= 2 and theirs.exists()
    UserProcesses(UID, UID, 64).destroy()
    assert pids_of(UID) == []
    assert not theirs.exists()
    assert not Path(f"/dev/shm/d2lgrade-test-{os.getpid()}").exists()
    assert ours.read_text() == "kept"


def test_a_users_cpu_time_is_counted_and_its_threads_against_the_limit():
    spinner = _as_user("import threading, time\n"
                       "threading.Thread(target=time.sleep, args=(600,)).start()\n"
                       "t = time.process_time()\nwhile time.process_time() - t < 1.5: pass\ntime.sleep(600)")
    group = UserProcesses(UID, UID, thread_limit=2)
    try:
        deadline = time.monotonic() + 60
        while group.cpu_seconds() < 1.0 and time.monotonic() < deadline:
            time.sleep(0.1)
        assert group.cpu_seconds() >= 1.0
        assert group.at_task_limit()  # two threads: the limit given here
        assert not UserProcesses(UID, UID, thread_limit=64).at_task_limit()
    finally:
        group.destroy()
        spinner.wait()


def test_an_unknown_mode_is_refused_with_the_remedy(monkeypatch):
    monkeypatch.setenv(sandbox.CONFINEMENT_VARIABLE, "chroot")
    sandbox.confinement.cache_clear()
    try:
        with pytest.raises(sandbox.SandboxUnavailable, match="use 'namespaces', 'container'"):
            sandbox.confinement(sandbox.Policy())
    finally:
        sandbox.confinement.cache_clear()


@pytest.mark.slow
def test_honest_work_gets_the_same_verdicts_in_both_modes(bundles, monkeypatch):
    policy = sandbox.Policy(uid=UID, gid=UID)
    notebooks = [ROOT / "tests" / "submissions" / "s02_1" / f"{name}.ipynb" for name in ("complete", "partial")]
    verdicts = {}
    for mode in ("namespaces", "container"):
        monkeypatch.setenv(sandbox.CONFINEMENT_VARIABLE, mode)
        sandbox.confinement.cache_clear()
        try:
            assignment = Assignment.from_bundle(bundles["s02_1"], kernel_factory=sandbox.sandboxed_kernel_factory(policy))
            verdicts[mode] = [[(q.id, q.score, q.output) for q in grade_bytes(assignment, p.read_bytes(), p.stem,
                                                                               p.name).result.questions]
                              for p in notebooks]
        finally:
            sandbox.confinement.cache_clear()
    assert verdicts["container"] == verdicts["namespaces"]
    assert pids_of(UID) == []  # the container mode left nothing running
