"""Hostile submissions: each graded by the real, sandboxed pipeline, each with the exact score it must get.

Every scenario starts from the 2.1 release with correct answers (7 points: lt 1, gt 1,
count_greater 2, c 1, broadcast_shape 2) and changes one thing. A cheat must not earn more than its
answers; a crash, loop or flood must cost only the question it sits in.
"""

from __future__ import annotations

import copy
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import nbformat
import pytest

from d2lgrade.authoring.samples import fill, parse_scenario
from d2lgrade.grading.steps import Assignment, grade_bytes
from d2lgrade.sandbox.execute import Limits
from d2lgrade.sandbox.kernels import Policy, confinement

ROOT = Path(__file__).resolve().parents[1]
COMPLETE_PATH = ROOT / "tests" / "submissions" / "s02_1" / "complete.py"
COMPLETE = parse_scenario(COMPLETE_PATH.read_text(), str(COMPLETE_PATH))
LIMITS = Limits(cell_seconds=4, cell_wall_factor=3, submission_seconds=240, interrupt_grace_seconds=3, restarts=5,
                output_bytes=200_000)
FULL = 7.0


def answers(**changes: str) -> Callable[[nbformat.NotebookNode], nbformat.NotebookNode]:
    """Replace some answer cells of the complete sample (by grade id, without the _answer suffix)."""
    def apply(release: nbformat.NotebookNode) -> nbformat.NotebookNode:
        cells = {**COMPLETE, **{f"{k}_answer": v for k, v in changes.items()}}
        return fill(release, cells, "hostile scenario")
    return apply


def edit(fn: Callable[[nbformat.NotebookNode], None]) -> Callable[[nbformat.NotebookNode], nbformat.NotebookNode]:
    """Start from the complete sample, then change the notebook's structure with ``fn``."""
    def apply(release: nbformat.NotebookNode) -> nbformat.NotebookNode:
        nb = answers()(release)
        fn(nb)
        return nb
    return apply


def cell_of(nb: nbformat.NotebookNode, grade_id: str) -> nbformat.NotebookNode:
    return next(c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == grade_id)


def _tamper_points(nb):
    for c in nb.cells:
        meta = c.metadata.get("nbgrader", {})
        if meta.get("grade") or meta.get("solution"):
            meta.update(points=100, grade=True)


def _duplicate_ids(nb):
    dup = copy.deepcopy(cell_of(nb, "ex1_lt_answer"))
    dup.source = "lt = X <= Y"
    dup.pop("id", None)
    nb.cells.insert(nb.cells.index(cell_of(nb, "ex1_lt")), dup)


def _rename_ids(nb):
    for i, c in enumerate(nb.cells):
        if "nbgrader" in c.metadata:
            c.metadata["nbgrader"]["grade_id"] = f"renamed_{i}"


def _delete_tests(nb):
    nb.cells = [c for c in nb.cells if not c.metadata.get("nbgrader", {}).get("grade")]


def _edit_test_cell(nb):
    cell_of(nb, "ex1_gt_answer").source = "# left unanswered"
    cell_of(nb, "ex1_gt").source = "gt = X > Y  # answer written in the locked test cell"


def _merge_and_move(nb):
    ids = ["ex1_lt_answer", "ex1_gt_answer", "ex1_count_greater_answer", "ex2_c_answer", "ex2_broadcast_shape_answer"]
    merged = "\n".join(cell_of(nb, i).source for i in ids)
    for i in ids[:-1]:
        nb.cells.remove(cell_of(nb, i))
    cell_of(nb, ids[-1]).source = merged
    last = cell_of(nb, ids[-1])
    nb.cells.remove(last)
    nb.cells.append(last)


def _edit_locked(nb):
    given = next(c for c in nb.cells if c.cell_type == "code" and "Y = np.array" in c.source)
    given.source = "X = np.ones((3, 4))\nY = np.zeros((3, 4))"


LIAR_OBJECT = """
class Liar:
    def __eq__(self, other): return True
    def __ne__(self, other): return False
    def __bool__(self): return True
    def __float__(self): return 1.0
    def __abs__(self): return 0
    def __array__(self, *args, **kwargs):
        import numpy
        return numpy.ones((3, 4), dtype=bool)
lt = Liar()
"""
LIAR_INT = """
class LyingInt(int):
    def __eq__(self, other): return True
    def __float__(self): return 7.0
    def __index__(self): return 7
def count_greater(A, B):
    return LyingInt(0)
"""
LIAR_ARRAY = """
import numpy
class LyingArray(numpy.ndarray):
    def __eq__(self, other): return numpy.ones(self.shape, dtype=bool)
    def __array__(self, *args, **kwargs): return numpy.asarray(a.asnumpy() + b.asnumpy())
c = numpy.zeros((3, 2, 4)).view(LyingArray)
"""
MONKEYPATCH = """
import builtins, math, numpy, mxnet, unittest
numpy.allclose = numpy.array_equal = numpy.isclose = lambda *a, **k: True
math.isclose = lambda *a, **k: True
mxnet.numpy.allclose = lambda *a, **k: True
unittest.TestCase.assertEqual = lambda *a, **k: None
import d2lgrade.student, d2lgrade.judging.compare
d2lgrade.student.Checks.judge = lambda *a, **k: print("all hidden tests passed!")
d2lgrade.judging.compare.differs = lambda *a, **k: None
import nbgrader.utils
nbgrader.utils.determine_grade = lambda *a, **k: (100.0, 100.0)
import otter.test_files.abstract_test
otter.test_files.abstract_test.TestFile.score = property(lambda self: 100)
builtins.print = lambda *a, **k: None
lt = X <= Y
"""
FORGE_REPORT = """
import d2lgrade.judging.probe
from IPython.display import display
def fake(probe):
    display({d2lgrade.judging.probe.MIME: {"id": probe["id"], "value": {"t": "int", "v": 1}, "score": 100}}, raw=True)
d2lgrade.judging.probe.report = fake
lt = X < Y
"""
READ_SECRETS = f"""
leaked = []
for path in ["{ROOT}/solutions/s02_1.py", "{ROOT}/build/s02_1/bundle.json", "{ROOT}/gradebook.db",
             "{ROOT}/source/s02_1/data_manipulation.ipynb", "{ROOT}/submitted", "/root/.bash_history"]:
    try:
        leaked.append(open(path).read())
    except OSError:
        pass
lt = leaked[0]
"""
FAKE_TARGETS = [ROOT / "gradebook.db", ROOT / "results" / "s02_1" / "write-fake-results.json",
                Path("/autograder/results/results.json"), ROOT / "submitted" / "someone" / "s02_1" / "x.ipynb",
                ROOT / "build" / "s02_1" / "bundle.json"]
WRITE_FAKES = f"""
import json, os
for path in {[str(p) for p in FAKE_TARGETS]!r}:
    try:
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w") as f:
            json.dump({{"score": 100, "tests": [{{"name": "all", "score": 100, "max_score": 7}}]}}, f)
    except OSError:
        pass
gt = X > Y
"""
FORK_BOMB = """
import os
for _ in range(200):
    try:
        if os.fork() == 0:
            import time
            time.sleep(600)
            os._exit(0)
    except OSError:
        break
c = a + b
"""


@dataclass(frozen=True)
class Scenario:
    build: Callable[[nbformat.NotebookNode], nbformat.NotebookNode]
    score: float
    says: str = ""
    """A fragment of the results' text (question outputs and notes) that must be there."""


SCENARIOS = {
    "honest-complete": Scenario(answers(), FULL),
    "lying-eq-bool-float-array-abs-object": Scenario(answers(ex1_lt=LIAR_OBJECT), FULL - 1, "object of type"),
    "lying-int-subclass": Scenario(answers(ex1_count_greater=LIAR_INT), FULL - 2,
                                   "`count_greater` is not right on test inputs 1, 3, 4, 5 and 6 of 7"),
    "lying-ndarray-subclass": Scenario(answers(ex2_c=LIAR_ARRAY), FULL - 1, "`c`: not right"),
    # Rebinding builtins could hide a forbidden call from the static rule check (d2lgrade.judging.rules), so the question
    # with a rule (broadcast_shape: no tensors) cannot be checked and earns nothing either.
    "monkeypatch-numpy-mxnet-math-builtins-checkers": Scenario(answers(ex1_lt=MONKEYPATCH), FULL - 3,
                                                               "`lt`: not right"),
    "forged-answer-report": Scenario(answers(ex1_lt=FORGE_REPORT), 0.0, "malformed"),
    "sys-exit": Scenario(answers(ex1_gt="gt = X > Y\nimport sys\nsys.exit(1)"), FULL),
    "os-exit-kills-kernel": Scenario(answers(ex1_gt="import os\ngt = X > Y\nos._exit(1)"), FULL - 1,
                                     "made the Python kernel exit or crash"),
    # The kernel is PID 1 of its namespace: a SIGKILL it sends itself is ignored, so its answer stands.
    "sigkill-own-kernel": Scenario(answers(ex2_c="import os, signal\nc = a + b\nos.kill(os.getpid(), signal.SIGKILL)"),
                                   FULL),
    "keyboard-interrupt-after-answer": Scenario(answers(ex1_lt="lt = X < Y\nraise KeyboardInterrupt"), FULL),
    "base-exception-before-answer": Scenario(
        answers(ex1_gt="class Boom(BaseException):\n    pass\nraise Boom()\ngt = X > Y"), FULL - 1, "raised Boom"),
    "recursion-bomb-function": Scenario(
        answers(ex1_count_greater="def count_greater(A, B):\n    return count_greater(A, B)"), FULL - 2, "RecursionError"),
    "stack-overflow-crashes-probe": Scenario(answers(
        ex2_broadcast_shape="import sys\nsys.setrecursionlimit(10**8)\ndef broadcast_shape(a, b):\n"
                            "    return 1 + broadcast_shape(a, b)"), FULL - 2, "the kernel was restarted"),
    "infinite-loop-cell": Scenario(answers(ex1_gt="while True:\n    pass"), FULL - 1,
                                   "s of CPU time, past the 4 s limit of CPU time, and was stopped"),
    "sigint-ignored-loop": Scenario(
        answers(ex1_gt="import signal\nsignal.signal(signal.SIGINT, signal.SIG_IGN)\nwhile True:\n    pass"),
        FULL - 1, "did not stop when interrupted"),
    "sleep-past-limit": Scenario(answers(ex2_c="import time\ntime.sleep(3600)\nc = a + b"), FULL - 1,
                                 "ran for 12 s, past the 12 s wall-clock limit"),
    "function-loops-forever": Scenario(
        answers(ex2_broadcast_shape="def broadcast_shape(a, b):\n    while True:\n        pass"), FULL - 2,
        "Checking this answer ran for 4."),
    "memory-bomb": Scenario(answers(ex1_gt="big = bytearray(10**11)\ngt = X > Y"), FULL - 1, "MemoryError"),
    "mxnet-memory-bomb": Scenario(answers(ex1_gt="huge = np.ones((10**6, 10**5))\ngt = X > Y"), FULL - 1,
                                  "raised MXNetError: param_shape.Size()"),
    "fork-bomb": Scenario(answers(ex2_c=FORK_BOMB), FULL - 1, "made the Python kernel exit or crash"),
    "disk-filler": Scenario(answers(
        ex1_gt="with open('fill.bin', 'wb') as f:\n    while True:\n        f.write(b'0' * 2**20)\ngt = X > Y"),
        FULL - 1, "File too large"),
    "megabytes-of-output": Scenario(answers(ex2_c="print('x' * 50_000_000)\nfor _ in range(20000):\n"
                                                  "    print('y' * 100)\nc = a + b"), FULL),
    "write-fake-results-gradebook-bundle": Scenario(answers(ex1_gt=WRITE_FAKES), FULL),
    "network-access": Scenario(answers(
        ex1_lt="import urllib.request\nlt = urllib.request.urlopen('http://1.1.1.1', timeout=3).read()"),
        FULL - 1, "URLError"),
    "read-hidden-tests-references-gradebook-submissions": Scenario(answers(ex1_lt=READ_SECRETS), FULL - 1, "IndexError"),
    "tampered-points": Scenario(edit(_tamper_points), FULL),
    "duplicated-grade-id": Scenario(edit(_duplicate_ids), FULL - 1, "`lt`: not right"),
    "renamed-grade-ids": Scenario(edit(_rename_ids), FULL),
    "deleted-test-cells": Scenario(edit(_delete_tests), FULL),
    "answer-written-in-edited-test-cell": Scenario(edit(_edit_test_cell), FULL - 1, "`gt`"),
    "answer-cells-merged-and-moved": Scenario(edit(_merge_and_move), FULL),
    "edited-locked-cell-changes-data": Scenario(edit(_edit_locked), FULL - 2, "`lt`"),
}


CONTAINER_MODE = {
    # Not PID 1 of a namespace of its own: the kernel dies of its own SIGKILL, and only that question is lost.
    "sigkill-own-kernel": Scenario(answers(ex2_c="import os, signal\nc = a + b\nos.kill(os.getpid(), signal.SIGKILL)"),
                                   FULL - 1, "made the Python kernel exit or crash"),
}
"""Where the container mode (d2lgrade.sandbox.kernels: no namespaces) must give another verdict, and why."""


@pytest.fixture(scope="module")
def mode():
    """The confinement this machine grades in; ``D2LGRADE_EXPECT_CONFINEMENT`` (set by `make image-test`,
    which runs this file inside the autograder image) makes a run in the wrong one fail."""
    found = confinement(Policy())
    expected = os.environ.get("D2LGRADE_EXPECT_CONFINEMENT")
    assert expected in (None, found), f"grading in {found} mode, expected {expected}"
    return found


@pytest.fixture(scope="module")
def sandboxed(bundles, mode):
    return Assignment.from_bundle(bundles["s02_1"], limits=LIMITS)


def test_the_sandbox_runs_in_the_expected_mode(mode):
    assert mode in ("namespaces", "container")


@pytest.fixture(scope="module")
def release(course):
    return nbformat.read(course.release_notebook("s02_1"), as_version=4)


@pytest.mark.slow
@pytest.mark.parametrize("name", list(SCENARIOS))
def test_hostile_submission_gets_exactly_what_its_answers_earn(sandboxed, mode, release, name):
    scenario = CONTAINER_MODE.get(name, SCENARIOS[name]) if mode == "container" else SCENARIOS[name]
    raw = nbformat.writes(scenario.build(copy.deepcopy(release))).encode()
    result = grade_bytes(sandboxed, raw, name, f"{name}.ipynb").result
    text = "\n".join([*result.notes, *(q.output for q in result.questions)])
    assert result.max_score == FULL
    assert result.score == scenario.score, f"{name}: {result.score}\n{text}"
    assert scenario.says in text, f"{name}: expected {scenario.says!r} in\n{text}"
    assert "Traceback" not in text


def _snapshot(paths: list[Path]) -> dict[Path, bytes | None]:
    return {p: p.read_bytes() if p.is_file() else None for p in paths}


@pytest.mark.slow
def test_writes_from_a_submission_never_reach_the_grader_files(sandboxed, release):
    before = _snapshot(FAKE_TARGETS)
    raw = nbformat.writes(SCENARIOS["write-fake-results-gradebook-bundle"].build(copy.deepcopy(release))).encode()
    assert grade_bytes(sandboxed, raw, "faker", "faker.ipynb").result.score == FULL
    assert _snapshot(FAKE_TARGETS) == before

