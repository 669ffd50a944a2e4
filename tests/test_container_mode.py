"""The container mode of the sandbox (d2lgrade.sandbox.kernels.ContainerEnclosure), tried on this machine.

Inside Docker the mode is chosen by itself (bubblewrap cannot build namespaces there); `make image-test`
runs the hostile corpus in it. Here it is forced with ``D2LGRADE_SANDBOX=container`` to test its parts:
the network rule of its seccomp filter, the clearing of a user's processes and files, and that honest
work gets the same verdicts as in the namespaces mode.
"""

from __future__ import annotations

import copy
import os
import shutil
import subprocess
import sys
import tempfile
import textwrap
import time
from dataclasses import replace
from pathlib import Path

import nbformat
import pytest

from d2lgrade.grading.steps import Assignment, grade_bytes
from d2lgrade.sandbox import kernels as sandbox
from d2lgrade.sandbox.useripc import objects_of
from d2lgrade.sandbox.userprocs import UserProcesses, pids_of
from tests.conftest import one_worker_at_a_time, score_apart_from_rules
from tests.test_hostile import FULL, LIMITS, answers

ROOT = Path(__file__).resolve().parents[1]
UID = 1_600_000_017
"""A user of this file alone: nothing else on the machine runs as it."""


@pytest.fixture
def reachable_checkout():
    """Kernels as the test's user without a mount namespace read this checkout's environment where it is: in a
    clone under a private folder (`mktemp -d`, a 0700 home) that cannot be, and the grader says so
    (`test_a_private_folder_on_the_way_to_the_environment_is_named_with_the_remedy`); the container mode itself
    is then shown by `make image-test`, in the image."""
    try:
        sandbox.check_reachable(sandbox.Policy(uid=UID, gid=UID))
    except sandbox.SandboxUnavailable as exc:
        pytest.skip(f"container mode cannot run from this clone: {exc}")


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


def test_clearing_a_user_kills_its_processes_and_removes_its_files(tmp_path, reachable_checkout):
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


def test_a_users_cpu_time_is_counted_and_its_threads_against_the_limit(reachable_checkout):
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
def test_honest_work_gets_the_same_verdicts_in_both_modes(bundles, monkeypatch, reachable_checkout):
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


LEAVE_EVERYTHING = """
import ctypes, os
libc = ctypes.CDLL(None, use_errno=True)
IPC_CREAT = 0o1000
made = {
    "shm": libc.shmget(0x2D210001, 4096, IPC_CREAT | 0o666),
    "sem": libc.semget(0x2D210002, 1, IPC_CREAT | 0o666),
    "msg": libc.msgget(0x2D210003, IPC_CREAT | 0o666),
    "mqueue": libc.mq_open(b"/d2l-left", os.O_CREAT | os.O_RDWR, 0o666, None),
}
for folder in ("/run/lock", "/tmp", "/dev/shm", "/var/tmp"):
    with open(f"{folder}/d2l-left", "w") as f:
        f.write("secret of the first student")
    made[folder] = 0
os.symlink(SENTINEL, "/tmp/d2l-link\\n-rf ..")  # a link with a hostile name, into the grader's own files
gt = X > Y if all(v >= 0 for v in made.values()) else None
"""

FIND_EVERYTHING = """
import ctypes, os
libc = ctypes.CDLL(None, use_errno=True)
found = [key for key in (0x2D210001, 0x2D210002, 0x2D210003)
         if libc.shmget(key, 0, 0) >= 0 or libc.semget(key, 0, 0) >= 0 or libc.msgget(key, 0, 0) >= 0]
for kind in ("shm", "sem", "msg"):
    rows = open(f"/proc/sysvipc/{kind}").read().splitlines()[1:]
    found += [row for row in rows if str(os.getuid()) in row.split()]
if libc.mq_open(b"/d2l-left", os.O_RDWR, 0, None) >= 0:
    found.append("mqueue")
found += [f for f in ("/run/lock", "/tmp", "/dev/shm", "/var/tmp") if os.path.lexists(f"{f}/d2l-left")]
found += [f for f in ("/tmp/d2l-link\\n-rf ..",) if os.path.lexists(f)]
print(found)
gt = X > Y if not found else None
"""


@pytest.fixture
def container_mode(monkeypatch, reachable_checkout):
    monkeypatch.setenv(sandbox.CONFINEMENT_VARIABLE, "container")
    sandbox.confinement.cache_clear()
    yield
    sandbox.confinement.cache_clear()


def _container_assignment(bundles, policy: sandbox.Policy) -> Assignment:
    """One worker grading in the container mode, as one user, one submission after another."""
    return Assignment.from_bundle(bundles["s02_1"], kernel_factory=sandbox.sandboxed_kernel_factory(policy),
                                  limits=LIMITS)


def _grade(assignment: Assignment, release, name: str, gt: str):
    raw = nbformat.writes(answers(ex1_gt=gt)(copy.deepcopy(release))).encode()
    result = grade_bytes(assignment, raw, name, f"{name}.ipynb").result
    return result, "\n".join([*result.notes, *(q.output for q in result.questions)])


@pytest.fixture(scope="module")
def release(course):
    return nbformat.read(course.release_notebook("s02_1"), as_version=4)


@pytest.mark.slow
def test_the_next_submission_finds_no_ipc_object_queue_or_file_the_one_before_left(bundles, release, container_mode,
                                                                                  tmp_path):
    sentinel = tmp_path / "grader-files"
    sentinel.mkdir()
    (sentinel / "kept").write_text("the grader's")
    tmp_path.chmod(0o755)
    worker = _container_assignment(bundles, sandbox.Policy(uid=UID, gid=UID))
    left, text = _grade(worker, release, "leaves", f"SENTINEL = {str(sentinel)!r}\n" + LEAVE_EVERYTHING)
    assert score_apart_from_rules(left) == FULL, f"the first submission could not leave everything:\n{text}"
    assert objects_of(UID) == []
    assert (sentinel / "kept").read_text() == "the grader's"  # the link was removed, not followed
    found, text = _grade(worker, release, "finds", FIND_EVERYTHING)
    assert score_apart_from_rules(found) == FULL, f"the next submission found what the first left:\n{text}"


REAPED_BY_OTHERS = """
import os
import shutil
for _ in range(40):  # 40 orphans of 0.5 s of CPU each, none the kernel's child when it ends
    read, write = os.pipe()
    if os.fork() == 0:
        if os.fork() == 0:
            os.close(read)
            import time
            start = time.process_time()
            while time.process_time() - start < 0.5:
                pass
            os._exit(0)
        os._exit(0)
    os.close(write)
    os.wait()
    os.read(read, 1)  # end of file once the orphan is gone
    os.close(read)
gt = X > Y
"""


@pytest.mark.slow
def test_cpu_time_of_orphans_reaped_outside_the_kernel_stops_the_cell(bundles, release, container_mode, monkeypatch):
    monkeypatch.setattr(sandbox.cgroups.Cgroup, "create", classmethod(lambda cls, limits: None))  # as in Docker
    worker = _container_assignment(bundles, sandbox.Policy(uid=UID, gid=UID))
    # Only the CPU limit may decide: an orphan given a third of a core on a busy machine reaches the usual
    # wall-clock backstop (3 times the CPU limit) first.
    worker = replace(worker, limits=replace(LIMITS, cell_wall_factor=20))
    result, text = _grade(worker, release, "orphans", REAPED_BY_OTHERS)
    assert "past the 4 s limit of CPU time, and was stopped" in text, text
    assert score_apart_from_rules(result) == FULL - 1, text


FILL_EVERY_FOLDER = """
import os
import shutil
written = 0
try:
    for n in range(64):  # 16 MiB files, under the size limit of one file, 1 GiB in all
        folder = ("/tmp", "/var/tmp", "/dev/shm", ".")[n % 4]
        with open(f"{folder}/fill-{n}.bin", "wb") as f:
            for _ in range(16):
                f.write(b"0" * 2**20)
                written += 2**20
except OSError:
    pass
gt = X > Y
"""


@pytest.mark.slow
def test_files_written_everywhere_are_bounded_in_total(bundles, release, container_mode):
    policy = sandbox.Policy(uid=UID, gid=UID, written_bytes=64 * 2**20)
    worker = _container_assignment(bundles, policy)
    result, text = _grade(worker, release, "fills", FILL_EVERY_FOLDER)
    assert "by writing more than 64 MiB of files" in text, text
    assert score_apart_from_rules(result) == FULL - 1, text


def test_a_private_folder_on_the_way_to_the_environment_is_named_with_the_remedy():
    """Only the container mode reads the environment where it is (the namespaces' holder binds it under fresh
    0755 folders, so a course cloned in a private folder grades there: `make test` from a `mktemp -d` clone)."""
    from d2lgrade.sandbox.kernels import _private_parent

    open_dir = Path(tempfile.mkdtemp())
    try:
        open_dir.chmod(0o755)
        private = open_dir / "private"
        (private / "course" / ".venv").mkdir(parents=True)
        private.chmod(0o700)
        assert _private_parent(private / "course" / ".venv") == private
        private.chmod(0o711)  # others may pass, not list: enough to reach a known path
        assert _private_parent(private / "course" / ".venv") is None
        (private / "course" / ".venv").chmod(0o711)  # the folder itself must be readable
        assert _private_parent(private / "course" / ".venv") == private / "course" / ".venv"
    finally:
        shutil.rmtree(open_dir)
