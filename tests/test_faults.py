"""Intake that loses nothing: a killed batch, rerun, ends where an uninterrupted one does; mutated
submissions never crash the grader and always get a score with a reason."""

from __future__ import annotations

import copy
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from nbgrader.api import Gradebook

from d2lgrade.authoring.samples import samples_dir
from d2lgrade.cli import EXIT_NOT_ALL_GRADED
from d2lgrade.course.layout import Course
from d2lgrade.grading.steps import Assignment, grade_bytes
from d2lgrade.sandbox.execute import Limits
from tests.conftest import made_once

ASSIGNMENT = "s02_1"
D2LGRADE = str(Path(sys.executable).parent / "d2lgrade")


def make_course(course: Course, bundle_json: str, root: Path) -> Path:
    """A course folder with one built assignment and a folder of submissions to grade."""
    shutil.copy(course.root / "nbgrader_config.py", root)
    for folder in ("source", "release"):
        shutil.copytree(course.root / folder / ASSIGNMENT, root / folder / ASSIGNMENT)
    (root / "build" / ASSIGNMENT).mkdir(parents=True)
    (root / "build" / ASSIGNMENT / "bundle.json").write_text(bundle_json)
    inbox = root / "inbox"
    inbox.mkdir()
    for sample in sorted(samples_dir(course, ASSIGNMENT).glob("*.ipynb")):
        shutil.copy(sample, inbox / sample.name)
    (inbox / "broken.ipynb").write_bytes(b"\x00\x01 not a notebook")
    return inbox


def grading(root: Path, inbox: Path, jobs: int = 1) -> subprocess.Popen:
    env = {k: v for k, v in os.environ.items() if k != "D2LGRADE_DB_URL"}
    return subprocess.Popen([D2LGRADE, "grade", ASSIGNMENT, str(inbox), "--jobs", str(jobs)], cwd=root, env=env,
                            start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def gradebook_state(root: Path) -> dict[str, object]:
    with Gradebook(f"sqlite:///{root / 'gradebook.db'}") as gb:
        subs = gb.assignment_submissions(ASSIGNMENT)
        return {
            "students": sorted(s.student.id for s in subs),
            "grades": sorted((s.student.id, g.name, g.auto_score, g.needs_manual_grade)
                             for s in subs for nb in s.notebooks for g in nb.grades),
        }


def _uninterrupted(course: Course, bundle_json: str, where: Path) -> None:
    """The run a killed-and-rerun batch must end like: made once, for both parametrizations."""
    where.mkdir()
    inbox = make_course(course, bundle_json, where)
    # broken.ipynb is not gradable (a zero with its reason): the status says so, and says it again after a rerun
    assert grading(where, inbox).wait(timeout=900) == EXIT_NOT_ALL_GRADED


@pytest.mark.slow
@pytest.mark.long
@pytest.mark.parametrize("jobs", [1, 2], ids=["one-job", "two-workers"])
def test_batch_killed_with_sigkill_and_rerun_ends_like_an_uninterrupted_run(course, bundles, tmp_path, run_dir, jobs):
    bundle_json = bundles[ASSIGNMENT].to_json()
    clean = made_once(run_dir / "faults-uninterrupted", lambda where: _uninterrupted(course, bundle_json, where))
    killed = tmp_path / "killed"
    killed.mkdir()
    killed_inbox = make_course(course, bundle_json, killed)

    proc = grading(killed, killed_inbox, jobs)
    deadline = time.monotonic() + 600
    while not list((killed / "results" / ASSIGNMENT).glob("*.json")) and time.monotonic() < deadline:
        time.sleep(0.2)
    time.sleep(1.0)  # into the next submission
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    assert len(list((killed / "results" / ASSIGNMENT).glob("*.json"))) < 5, "killed too late to test anything"
    assert grading(killed, killed_inbox, jobs).wait(timeout=900) == EXIT_NOT_ALL_GRADED

    assert gradebook_state(killed) == gradebook_state(clean)
    for path in (clean / "results" / ASSIGNMENT).glob("*.json"):
        assert json.loads(path.read_text()) == json.loads((killed / "results" / ASSIGNMENT / path.name).read_text())
    for sample in killed_inbox.iterdir():
        kept = killed / "submitted" / sample.stem / ASSIGNMENT / "data_manipulation.ipynb"
        assert kept.read_bytes() == sample.read_bytes()
    assert not list(killed.rglob(".*.json.*")) and not list(killed.rglob(".*.ipynb.*")), "no temporary files left"


# --- property: whatever a submission looks like, the grader answers with a score and a reason -----------------

FAST = Limits(cell_seconds=10, submission_seconds=60, interrupt_grace_seconds=2, restarts=2)


def _mutations(release: dict) -> st.SearchStrategy[bytes]:
    text = json.dumps(release)
    n = len(release["cells"])
    as_bytes = st.one_of(
        st.integers(0, len(text)).map(lambda k: text[:k].encode()),                         # truncated file
        st.binary(max_size=200),                                                              # garbage
        st.tuples(st.integers(0, len(text) - 1), st.text(max_size=5)).map(
            lambda t: (text[:t[0]] + t[1] + text[t[0] + 1:]).encode("utf-8", "surrogatepass")),  # a character changed
    )

    def structural(ops: list[tuple[str, int, str]]) -> bytes:
        nb = copy.deepcopy(release)
        for op, i, s in ops:
            cells = nb["cells"]
            if not cells:
                break
            cell = cells[i % len(cells)]
            if op == "delete":
                cells.remove(cell)
            elif op == "duplicate":
                cells.insert(i % len(cells), copy.deepcopy(cell))
            elif op == "source":
                cell["source"] = s
            elif op == "type":
                cell["cell_type"] = "markdown" if cell["cell_type"] == "code" else "code"
                cell.setdefault("outputs", [])
                cell.setdefault("execution_count", None)
            elif op == "metadata":
                cell["metadata"] = {"nbgrader": {"grade_id": s, "points": s, "grade": True}}
            elif op == "notebook-metadata":
                nb["metadata"] = {"d2l": s}
        return json.dumps(nb).encode()

    ops = st.lists(st.tuples(st.sampled_from(["delete", "duplicate", "source", "type", "metadata", "notebook-metadata"]),
                             st.integers(0, n * 2), st.text(max_size=30)), min_size=1, max_size=4)
    return st.one_of(as_bytes, ops.map(structural))


@pytest.fixture(scope="module")
def fast_assignment(bundles):
    return Assignment.from_bundle(bundles[ASSIGNMENT], limits=FAST)


@pytest.mark.slow
def test_mutated_submissions_never_crash_the_grader(course, fast_assignment):
    release = json.loads(nbformat.writes(nbformat.read(course.release_notebook(ASSIGNMENT), as_version=4)))

    @settings(max_examples=30, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
    @given(_mutations(release))
    def check(raw: bytes) -> None:
        result = grade_bytes(fast_assignment, raw, "fuzz", "fuzz.ipynb").result
        assert result is not None
        assert 0 <= result.score <= result.max_score == 7.0
        assert len(result.autograded) == 5
        for q in result.autograded:
            assert q.output.strip(), q
        if result.problem:
            assert result.score == 0

    check()
