"""Warm kernels are fresh kernels: nothing one submission does is visible to the next.

Every kernel of an :class:`Assignment` is forked from one template (:mod:`d2lgrade.sandbox.template`). Each
test grades a submission that tries to leave something behind, then one, from the same template,
that answers ``gt`` right only if it finds nothing. The host is checked too: no process of the
sandbox user outlives its submission.
"""

from __future__ import annotations

import copy
import hashlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import pytest

from d2lgrade.grading.steps import Assignment, grade_bytes
from d2lgrade.grading.workers import worker_policy
from d2lgrade.sandbox.kernels import check_available, grader_uid_base, sandboxed_kernel_factory
from tests.conftest import score_apart_from_rules
from tests.test_hostile import FULL, LIMITS, answers

SECRET = "4f1c9e2ab7d30c58"
MARKER = "d2l-leak-marker-"

LEAVERS = {
    "files": """
for folder in ("/scratch", "/tmp", "/dev/shm"):
    open(f"{folder}/left-behind", "w").write("x")
gt = X > Y
""",
    "processes": """
import os, time
if os.fork() == 0:
    os.setsid()
    if os.fork() == 0:
        time.sleep(600)
    os._exit(0)
gt = X > Y
""",
    "environment": """
import os
os.environ["D2L_LEFT_BEHIND"] = "1"
os.putenv("D2L_PUTENV", "1")
gt = X > Y
""",
    "module-state": """
import sys, numpy, mxnet, json
numpy.left_behind = mxnet.left_behind = json.left_behind = True
numpy.random.seed(1234)
sys.modules["left_behind"] = json
sys.path.insert(0, "/scratch/left-behind")
gt = X > Y
""",
    "memory": f"""
kept = "{MARKER}" + "".join(reversed("{SECRET[::-1]}"))
gt = X > Y
""",
}

FINDERS = {
    "files": """
import os
found = [f for f in ("/scratch", "/tmp", "/dev/shm") if os.path.exists(f"{f}/left-behind")]
gt = X > Y if not found else None
""",
    "processes": """
import os
others = [p for p in os.listdir("/proc") if p.isdigit() and int(p) != os.getpid()]
gt = X > Y if os.getpid() == 1 and not others else None
""",
    "environment": """
import os
gt = X > Y if "D2L_LEFT_BEHIND" not in os.environ and "D2L_PUTENV" not in os.environ else None
""",
    "module-state": """
import sys, numpy, mxnet, json
same_seed = numpy.random.RandomState(1234).rand() == numpy.random.rand()
clean = not any(hasattr(m, "left_behind") for m in (numpy, mxnet, json))
clean = clean and "left_behind" not in sys.modules and "/scratch/left-behind" not in sys.path and not same_seed
gt = X > Y if clean else None
""",
    "memory": f"""
import hashlib, re
wanted = "{hashlib.sha256(SECRET.encode()).hexdigest()}"
prefix = "{MARKER}".encode()
found = 0
with open("/proc/self/maps") as maps, open("/proc/self/mem", "rb", 0) as mem:
    for line in maps:
        fields = line.split()
        if "r" not in fields[1] or (len(fields) > 5 and not fields[5].startswith("[heap")):
            continue
        start, end = (int(x, 16) for x in fields[0].split("-"))
        if end - start > 64 * 2**20:  # reserved, not written: reading would fault it in
            continue
        try:
            mem.seek(start)
            chunk = mem.read(end - start)
        except (OSError, ValueError, OverflowError):
            continue
        for hit in re.finditer(re.escape(prefix), chunk):
            tail = chunk[hit.end():hit.end() + {len(SECRET)}]
            found += hashlib.sha256(tail).hexdigest() == wanted
gt = X > Y if not found else None
""",
}


POLICY = worker_policy(7)
"""A user of its own, so that kernels of other tests running at the same time are not counted."""


@pytest.fixture(scope="module")
def warm(bundles):
    check_available(POLICY)
    return Assignment.from_bundle(bundles["s02_1"], kernel_factory=sandboxed_kernel_factory(POLICY), limits=LIMITS)


@pytest.fixture(scope="module")
def release(course):
    return nbformat.read(course.release_notebook("s02_1"), as_version=4)


def _grade(assignment: Assignment, release: nbformat.NotebookNode, name: str, gt: str):
    raw = nbformat.writes(answers(ex1_gt=gt)(copy.deepcopy(release))).encode()
    result = grade_bytes(assignment, raw, name, f"{name}.ipynb").result
    return result, "\n".join([*result.notes, *(q.output for q in result.questions)])


def _processes_of(uid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if entry.stat().st_uid == uid:
                    found.append(int(entry.name))
            except FileNotFoundError:
                continue
    return found


@pytest.mark.slow
@pytest.mark.parametrize("what", list(LEAVERS))
def test_nothing_one_submission_leaves_reaches_the_next(warm, release, what):
    template = warm.kernel_factory.template
    left, text = _grade(warm, release, f"leaves-{what}", LEAVERS[what])
    assert score_apart_from_rules(left) == FULL, text
    started = template.process.pid
    assert _processes_of(POLICY.uid) == [], "a process of the sandbox user outlived its submission"
    found, text = _grade(warm, release, f"finds-{what}", FINDERS[what])
    assert score_apart_from_rules(found) == FULL, f"the next submission found what {what!r} left:\n{text}"
    assert template.process.pid == started, "both kernels came from the same template"


@pytest.mark.slow
def test_the_finders_do_find_what_is_left_in_their_own_kernel(warm, release):
    """Each finder sees a leak made earlier in the same kernel: a finder that can see nothing proves nothing."""
    for what in LEAVERS:
        both = LEAVERS[what] + FINDERS[what]
        result, text = _grade(warm, release, f"self-{what}", both)
        assert score_apart_from_rules(result) == FULL - 1, f"{what}: {text}"


GRADER = """
import sys, time
from jupyter_core.utils import run_sync
from d2lgrade.sandbox.kernels import sandboxed_kernel_factory
from d2lgrade.grading.workers import worker_policy
factory = sandboxed_kernel_factory(worker_policy(int(sys.argv[1]), int(sys.argv[2])))
km = factory()
run_sync(km.start_kernel)()
print(factory.template.process.pid, km.provisioner.process.pid, flush=True)
time.sleep(600)
"""


def _gone(uid: int, seconds: float = 10.0) -> bool:
    deadline = time.monotonic() + seconds
    while _processes_of(uid) and time.monotonic() < deadline:
        time.sleep(0.1)
    return not _processes_of(uid)


@pytest.mark.slow
@pytest.mark.parametrize("victim", ["grader", "template"])
def test_kernels_die_with_their_grader_or_template_even_on_sigkill(victim):
    slot = 8 if victim == "grader" else 9
    uid = worker_policy(slot).uid
    grader = subprocess.Popen([sys.executable, "-c", GRADER, str(slot), str(grader_uid_base())], stdout=subprocess.PIPE,
                              text=True,
                              start_new_session=True)
    try:
        template, kernel = (int(x) for x in grader.stdout.readline().split())
        assert _processes_of(uid) == [kernel]
        os.kill(grader.pid if victim == "grader" else template, signal.SIGKILL)
        assert _gone(uid), f"a kernel outlived its {victim}"
    finally:
        grader.kill()
        grader.wait()


def test_a_holder_is_handed_over_only_once_its_mounts_are_made(tmp_path):
    """bubblewrap reports the holder's pid before it has made the mounts; a kernel that joined the mount
    namespace then found no /scratch (seen under load). The holder is used only once its command runs."""
    from d2lgrade.sandbox.kernels import HOSTS, Holder, passwd

    check_available(POLICY)
    (tmp_path / "hosts").write_bytes(HOSTS)
    (tmp_path / "passwd").write_bytes(passwd(POLICY))
    for _ in range(30):
        holder = Holder(POLICY, tmp_path)
        try:
            root = Path(f"/proc/{holder.pid}/root")
            assert (root / "scratch").is_dir() and (root / "tmp").is_dir()
        finally:
            holder.close()


DRAWS = """
import random, numpy, mxnet
print("draws:", random.random(), numpy.random.rand(), mxnet.np.random.uniform().item(), mxnet.nd.random.uniform().asscalar())
gt = X > Y
"""


def _draws(assignment: Assignment, release: nbformat.NotebookNode, name: str) -> list[str]:
    raw = nbformat.writes(answers(ex1_gt=DRAWS)(copy.deepcopy(release))).encode()
    job = grade_bytes(assignment, raw, name, f"{name}.ipynb")
    printed = "".join(o.get("text", "") for c in job.execution.notebook.cells for o in c.get("outputs", []))
    return next(line.split()[1:] for line in printed.splitlines() if line.startswith("draws:"))


@pytest.mark.slow
def test_two_submissions_draw_different_random_numbers_from_python_numpy_and_mxnet(warm, release):
    first, second = _draws(warm, release, "draws-1"), _draws(warm, release, "draws-2")
    assert len(first) == 4
    assert all(a != b for a, b in zip(first, second, strict=True)), (first, second)
