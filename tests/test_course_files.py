"""What the grader writes for a course: who may read it, the demo gradebook of `make grade`, and builds that
redo only what changed."""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from nbgrader.api import Gradebook

from d2lgrade.authoring.build import build, stamp_path
from d2lgrade.authoring.samples import samples_dir
from d2lgrade.batch.intake import find_submissions
from d2lgrade.batch.run import run_batch
from d2lgrade.course.layout import Course
from d2lgrade.judging.bundle import compile_bundle
from tests.conftest import COURSE, copy_course

GID = 4242
"""A group no one on the test machine needs: the course folder's group, which everything written must get."""
D2LGRADE = str(Path(sys.executable).parent / "d2lgrade")


def _course_with(root: Path, assignments: list[str]) -> Course:
    """A course folder with what a build reads (config, sources, releases, solutions, code, lock) and the samples."""
    shutil.copy(COURSE.root / "nbgrader_config.py", root)
    for package in ("solutions", "d2lgrade", "autograder"):  # the Otter zip carries them
        shutil.copytree(COURSE.root / package, root / package, ignore=shutil.ignore_patterns("__pycache__"))
    (root / "requirements").mkdir()
    shutil.copy(COURSE.root / "requirements" / "lock.txt", root / "requirements")
    for a in assignments:
        for folder in ("source", "release"):
            shutil.copytree(COURSE.root / folder / a, root / folder / a)
        shutil.copytree(samples_dir(COURSE, a), root / "tests" / "submissions" / a)
    return Course(root)


def _everything_under(root: Path, names: list[str]) -> list[Path]:
    return [p for name in names for p in [root / name, *(root / name).rglob("*")]]


def _assert_course_group_only(paths: list[Path]) -> None:
    assert paths
    for p in paths:
        st = os.stat(p)
        want = 0o750 if p.is_dir() else 0o640
        assert (stat.S_IMODE(st.st_mode), st.st_gid) == (want, GID), f"{p}: {oct(st.st_mode)} gid {st.st_gid}"


@pytest.mark.slow
@pytest.mark.skipif(os.geteuid() != 0, reason="giving files another group needs root")
def test_what_grading_writes_is_the_course_groups_and_nobody_elses(tmp_path):
    root = tmp_path / "course"
    root.mkdir()
    course = copy_course({"s02_1": compile_bundle(COURSE.spec("s02_1"))}, "s02_1", root)
    os.chown(root, -1, GID)
    inbox = tmp_path / "inbox"
    shutil.copytree(samples_dir(COURSE, "s02_1"), inbox, ignore=shutil.ignore_patterns("*.py"))
    (inbox / ".hidden.ipynb").write_bytes(b"{}")  # refused, and kept in refused/
    (inbox / "complete.ipynb").chmod(0o644)
    run_batch(course, "s02_1", find_submissions(inbox), root / "results", log=lambda _: None)
    run_batch(course, "s02_1", find_submissions(inbox), root / "results", log=lambda _: None, regrade=True)

    written = [*_everything_under(root, ["results", "submitted", "autograded", "refused"]), root / "gradebook.db"]
    assert (root / "results" / "s02_1" / "complete.json").is_file() and (root / "refused" / "s02_1").is_dir()
    assert (root / "results" / "s02_1" / ".ledger").is_dir() and (root / "results" / "s02_1" / "grading.log").is_file()
    _assert_course_group_only(written)


@pytest.mark.slow
@pytest.mark.long
@pytest.mark.skipif(os.geteuid() != 0, reason="giving files another group needs root")
def test_builds_redo_only_what_changed_and_the_demo_never_touches_the_gradebook(tmp_path):
    root = tmp_path / "course"
    root.mkdir()
    os.chown(root, -1, GID)
    course = _course_with(root, ["s02_1", "s02_2"])
    assert build(course, log=lambda _: None) == ["s02_1", "s02_2"]
    _assert_course_group_only([p for p in _everything_under(root, ["build"]) if p != root / "build"])
    real = root / "gradebook.db"
    before = (real.read_bytes(), real.stat().st_mtime_ns)

    done = subprocess.run([D2LGRADE, "--course", str(root), "grade-samples", "--jobs", "2"], capture_output=True,
                          text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    assert (real.read_bytes(), real.stat().st_mtime_ns) == before, "grade-samples wrote to the course's gradebook"
    assert "build: built" not in done.stdout, "the build is up to date: grade-samples only registers it in its gradebook"
    assert done.stdout.count("up to date, registered in the gradebook sqlite:///" + str(root / "results" / "demo")) == 2
    assert "7 / 7 autograded" in done.stdout and "sample-complete" in done.stdout and "0 internal errors" in done.stdout
    demo = root / "results" / "demo"
    with Gradebook(f"sqlite:///{demo / 'gradebook.db'}") as gb:
        assert len(gb.find_assignment("s02_2").submissions) == 3
    assert (demo / "submitted" / "sample-complete" / "s02_1").is_dir() and not (root / "submitted").exists()
    _assert_course_group_only([*_everything_under(demo, ["s02_1", "submitted", "autograded"]), demo / "gradebook.db"])

    assert build(course, log=lambda _: None) == [], "nothing changed: nothing is built"
    assert (real.read_bytes(), real.stat().st_mtime_ns) == before
    stamped = stamp_path(course, "s02_1").read_bytes()
    source = course.source_notebook("s02_2")
    source.write_text(source.read_text() + "\n")
    assert build(course, log=lambda _: None) == ["s02_2"]
    assert stamp_path(course, "s02_1").read_bytes() == stamped
    assert json.loads(stamp_path(course, "s02_2").read_text())["gradebooks"] == [f"sqlite:///{real}"]
    assert build(course, ["s02_1"], log=lambda _: None, force=True) == ["s02_1"]
