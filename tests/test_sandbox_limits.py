"""Limits that hold for the sandbox as a whole, each with the exact score the submission must get.

As in tests/test_hostile.py, every scenario is the 2.1 release with correct answers (7 points) and
one cell changed: a submission that gets past a limit keeps the point it would otherwise lose (the
cell binds its answer only when every attempt failed), and one that breaks the grader loses more.
"""

from __future__ import annotations

import copy
import subprocess
import sys
from dataclasses import replace

import nbformat
import pytest

from d2lgrade.grading.steps import Assignment, grade_bytes
from d2lgrade.sandbox.execute import Limits
from tests.conftest import score_apart_from_rules
from tests.test_hostile import FULL, LIMITS, answers

ESCAPES = """
import ctypes, errno, os
libc = ctypes.CDLL(None, use_errno=True)
NR = {"ptrace": 101, "process_vm_readv": 310, "unshare": 272, "setns": 308, "mount": 165, "keyctl": 250,
      "bpf": 321, "perf_event_open": 298, "pivot_root": 155, "userfaultfd": 323}
got = {}
pids = [int(p) for p in os.listdir("/proc") if p.isdigit()]
got["pids seen"] = pids
got["ptrace attach"] = [libc.syscall(NR["ptrace"], 16, pid, 0, 0) for pid in pids]
got["unshare user"] = libc.syscall(NR["unshare"], 0x10000000)
got["unshare mount"] = libc.syscall(NR["unshare"], 0x00020000)
got["mount"] = libc.syscall(NR["mount"], b"none", b"/scratch", b"tmpfs", 0, None)
got["keyctl"] = libc.syscall(NR["keyctl"], 0, 0, 0, 0)
got["bpf"] = libc.syscall(NR["bpf"], 0, 0, 0)
got["perf"] = libc.syscall(NR["perf_event_open"], 0, 0, -1, -1, 0)
got["vm_readv"] = libc.syscall(NR["process_vm_readv"], 1, 0, 0, 0, 0, 0)
got["userfaultfd"] = libc.syscall(NR["userfaultfd"], 0)
import subprocess
got["nested bwrap"] = subprocess.run(["unshare", "-U", "true"], capture_output=True).returncode
escaped = got["pids seen"] != [1] or any(v != -1 for v in got["ptrace attach"]) or any(
    v not in (-1, 1) for k, v in got.items() if k not in ("pids seen", "ptrace attach"))
gt = None if escaped else X > Y
print(got)
"""

THREE_BIG_PROCESSES = """
import os, time
kids = []
for n in range(3):
    pid = os.fork()
    if pid == 0:
        try:
            block = bytearray(2 * 2**30)
            block[::4096] = b"x" * len(range(0, len(block), 4096))  # touch every page
            open(f"/scratch/held-{n}", "w").write("ok")
            time.sleep(4)
        finally:
            os._exit(0)
    kids.append(pid)
for pid in kids:
    os.waitpid(pid, 0)
held = len([f for f in os.listdir("/scratch") if f.startswith("held-")])
print("processes that held 2 GiB at once:", held)
gt = X > Y if held <= 1 else None
"""

FILL_EVERY_WRITABLE_PLACE = """
import glob, os, sys
ipc = os.path.dirname(next(a for a in sys.argv if a.endswith("connection.json")))
written = {}
for folder in ("/tmp", "/dev/shm", "/scratch", ipc, "/", "/dev", "/usr"):
    total = 0
    try:
        with open(os.path.join(folder, "fill.bin"), "wb") as f:
            while total < 2**30:
                f.write(b"0" * 2**20)
                f.flush()
                total += 2**20
    except OSError:
        pass
    written[folder] = total
    try:
        os.remove(os.path.join(folder, "fill.bin"))
    except OSError:
        pass
print({k: v // 2**20 for k, v in written.items()})
bounds = {"/tmp": 64, "/dev/shm": 64, "/scratch": 256, ipc: 1, "/": 0, "/dev": 0, "/usr": 0}
gt = X > Y if all(written[k] <= bounds[k] * 2**20 for k in bounds) else None
"""

REKEY_SESSION = "gt = X > Y\nget_ipython().kernel.session.key = b'forged'\nprint('signed with another key')"
CONTENT_NOT_A_DICT = """gt = X > Y
import json
k = get_ipython().kernel
s = k.session
m = s.msg("stream", content={}, parent=k.get_parent())
parts = [s.pack(m["header"]), s.pack(m["parent_header"]), s.pack({}), json.dumps(["not", "a", "dict"]).encode()]
k.iopub_socket.send_multipart([b"stream", b"<IDS|MSG>", s.sign(parts), *parts])  # well signed, content a list
"""


def _grade(assignment: Assignment, release: nbformat.NotebookNode, **cells: str):
    raw = nbformat.writes(answers(**cells)(copy.deepcopy(release))).encode()
    result = grade_bytes(assignment, raw, "limits", "limits.ipynb").result
    text = "\n".join([*result.notes, *(q.output for q in result.questions)])
    return result, text


@pytest.fixture(scope="module")
def sandboxed(bundles):
    return Assignment.from_bundle(bundles["s02_1"], limits=LIMITS)


@pytest.fixture(scope="module")
def release(course):
    return nbformat.read(course.release_notebook("s02_1"), as_version=4)


@pytest.mark.slow
def test_no_process_outside_the_kernel_and_no_escape_call_succeeds(sandboxed, release):
    result, text = _grade(sandboxed, release, ex1_gt=ESCAPES)
    assert score_apart_from_rules(result) == FULL, text


@pytest.mark.slow
def test_memory_is_capped_for_all_processes_together(bundles, release):
    # Touching gigabytes page by page costs seconds of CPU, more on some machines than others: the CPU
    # limit is raised here so that only the memory limit can decide.
    roomy = Assignment.from_bundle(bundles["s02_1"], limits=replace(LIMITS, cell_seconds=60))
    result, text = _grade(roomy, release, ex1_gt=THREE_BIG_PROCESSES)
    assert result.score == FULL, text


@pytest.mark.slow
def test_every_writable_place_is_sized_and_the_rest_is_read_only(sandboxed, release):
    result, text = _grade(sandboxed, release, ex1_gt=FILL_EVERY_WRITABLE_PLACE)
    assert result.score == FULL, text


@pytest.mark.slow
def test_a_loop_past_the_limit_is_interrupted_not_restarted(sandboxed, release):
    result, text = _grade(sandboxed, release, ex1_gt="gt = X > Y\nwhile True:\n    pass")
    assert result.score == FULL, text  # the interrupted cell's answer survives: same kernel
    assert "was stopped" in text and "restarted" not in text


@pytest.mark.slow
@pytest.mark.parametrize("cell", [REKEY_SESSION, CONTENT_NOT_A_DICT], ids=["rekeyed-session", "content-not-a-dict"])
def test_messages_the_grader_cannot_read_cost_only_their_cell(sandboxed, release, cell):
    result, text = _grade(sandboxed, release, ex1_gt=cell)
    assert score_apart_from_rules(result) == FULL - 1, text
    assert "could not read" in text and "Traceback" not in text


@pytest.mark.slow
@pytest.mark.long
def test_the_submission_budget_holds_across_restarts_and_replays(bundles, release):
    budget = replace(LIMITS, submission_seconds=30)
    assignment = Assignment.from_bundle(bundles["s02_1"], limits=budget)
    slow = "import time\ntime.sleep(6)\n"
    result, text = _grade(assignment, release, ex1_lt=slow + "lt = X < Y", ex1_gt="import os\nos._exit(1)",
                          ex1_count_greater="import os\nos._exit(1)", ex2_c="import os\nos._exit(1)",
                          ex2_broadcast_shape="import os\nos._exit(1)")
    assert "limit for a whole submission" in text, text
    assert result.score < FULL


GRADE_ONE = """
import copy, resource, sys
import nbformat
from d2lgrade.judging.bundle import compile_bundle
from d2lgrade.course.layout import Course
from d2lgrade.grading.steps import Assignment, grade_bytes
from tests.test_hostile import answers
course = Course.find()
release = nbformat.read(course.release_notebook("s02_1"), as_version=4)
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
assignment = Assignment.from_bundle(compile_bundle(course.spec("s02_1")))
raw = nbformat.writes(answers(ex1_gt=sys.argv[1])(release)).encode()
result = grade_bytes(assignment, raw, "flood", "flood.ipynb").result
print(result.score, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024)
"""


@pytest.mark.slow
@pytest.mark.long
def test_the_grader_stays_small_whatever_a_submission_prints(course):
    # One message twice the largest the grader reads, then 200 MiB in lines. A message over that size made ZeroMQ
    # close the grader's output connection, and the answer reports sent after it were lost (0 of 7 points with
    # 256 MiB; with 1 GiB only sometimes, by when the kernel's output thread flushed): the kernel now sends a notice
    # instead (d2lgrade.sandbox.enter.cap_messages).
    flood = "gt = X > Y\nprint('x' * 2**28)\nfor _ in range(200):\n    print('y' * 2**20)"
    proc = subprocess.run([sys.executable, "-c", GRADE_ONE, flood], cwd=course.root, capture_output=True, text=True,
                          timeout=900)
    assert proc.returncode == 0, proc.stderr[-3000:]
    score, peak_mib = proc.stdout.split()[-2:]
    assert float(score) == FULL
    assert int(peak_mib) < 1024, f"grader peak RSS {peak_mib} MiB"


def test_limits_default_to_the_stated_caps():
    limits = Limits()
    assert limits.output_bytes <= limits.total_output_bytes <= limits.report_bytes <= limits.message_bytes


SLOW_BUT_CORRECT = """import time
start = time.process_time()
while time.process_time() - start < 2.5:  # 2.5 s of CPU: under the 4 s CPU limit, past 4 s of clock when starved
    pass
gt = X > Y
"""


@pytest.fixture
def every_core_busy():
    """Two busy processes per core for the duration of a test, each in its own session (as separate jobs on a
    shared machine are: the scheduler's autogroups would otherwise count them as one)."""
    import os

    busy = [subprocess.Popen([sys.executable, "-c", "while True: pass"], start_new_session=True)
            for _ in range(2 * (os.cpu_count() or 1))]
    yield
    for p in busy:
        p.kill()
        p.wait()


@pytest.mark.slow
def test_a_slow_but_correct_cell_gets_full_marks_with_every_core_busy(sandboxed, release, every_core_busy):
    """A CPU limit of 4 s and the wall-clock backstop at one cell limit (4 s): two busy processes per core make the
    cell's 2.5 s of CPU take over 6 s on the clock, most of it waiting for a CPU — the machine's time, not the
    cell's, which the backstop does not count."""
    tight = replace(sandboxed, limits=replace(sandboxed.limits, cell_seconds=4, cell_wall_factor=1))
    result, text = _grade(tight, release, ex1_gt=SLOW_BUT_CORRECT)
    assert result.score == FULL, text
