"""What the grader writes for a course: who may read it (and `d2lgrade course-access` for what exists already), the
demo gradebook of `make grade`, builds that redo only what changed, and the course id each clone reads."""

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
from d2lgrade.cli import main
from d2lgrade.course.layout import Course, CourseIdError
from d2lgrade.judging.bundle import compile_bundle
from d2lgrade.nbgrader.release import Target, generate_release
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


# --- the course id: one per clone -------------------------------------------------------------------------------


def _bare_course(root: Path, *config_lines: str) -> Course:
    """A course folder with the repository's nbgrader_config.py (and extra lines) and nothing else."""
    (root / "source").mkdir(parents=True)
    (root / "nbgrader_config.py").write_text((COURSE.root / "nbgrader_config.py").read_text() + "\n".join(config_lines))
    return Course(root)


@pytest.mark.parametrize("in_file, in_env, expected", [
    (None, None, "d2l-ch2-math"), (None, "stats-101", "stats-101"), ("ml.2026_a\n", "stats-101", "ml.2026_a"),
], ids=["default", "environment", "the-course-folder-s-file-first"])
def test_the_course_id_comes_from_the_course_folder_then_the_environment(tmp_path, monkeypatch, in_file, in_env,
                                                                         expected):
    monkeypatch.delenv("D2LGRADE_COURSE_ID", raising=False)
    if in_env:
        monkeypatch.setenv("D2LGRADE_COURSE_ID", in_env)
    course = _bare_course(tmp_path)
    if in_file:
        (tmp_path / "course_id").write_text(in_file)
    assert course.course_id == expected == course.config.CourseDirectory.course_id  # nbgrader reads this file too


@pytest.mark.parametrize("bad", ["../other", "my course", "a/b", ".."])
def test_a_bad_course_id_is_named_with_its_remedy_and_the_config_still_loads(course, tmp_path, monkeypatch, capfd, bad):
    monkeypatch.delenv("D2LGRADE_COURSE_ID", raising=False)
    copy = _bare_course(tmp_path)
    (tmp_path / "course_id").write_text(bad)
    with pytest.raises(CourseIdError, match=r"not valid: use letters, digits, _ \. - only .*fix .*course_id"):
        _ = copy.course_id
    assert "is not valid" in capfd.readouterr().err, "nbgrader's commands must say it too"
    assert copy.config.CourseDirectory.course_id == ""  # nbgrader then asks for --course: never a wrong folder
    assert "d2lgrade.nbgrader.autograde.GradeInSandbox" in copy.config.Autograde.autograde_preprocessors, \
        "a config file that raises is dropped whole by nbgrader, sandboxed grading included"
    shutil.copytree(course.root / "source" / "s02_1", tmp_path / "source" / "s02_1")
    with pytest.raises(CourseIdError):
        generate_release(Target(copy, "s02_1", tmp_path / "release", f"sqlite:///{tmp_path / 'gradebook.db'}"))
    assert not (tmp_path / "gradebook.db").exists()


# --- d2lgrade course-access: what exists already, given the course's group and modes ---------------------------


def _graded_before(root: Path) -> dict[str, Path]:
    """What a course held before its group was set: nbgrader's and d2lgrade's folders with their old modes, a link
    to a file outside (never to be followed) and a fifo."""
    made = {}
    for name, mode in (("results/s02_1/ada.json", 0o644), ("submitted/ada/s02_1/nb.ipynb", 0o777),
                       ("feedback/ada/s02_1/nb.html", 0o644), ("autograded/ada/s02_1/nb.ipynb", 0o444),
                       ("build/s02_1/bundle.json", 0o644), ("refused/s02_1/x.ipynb", 0o600),
                       ("submitted-earlier/ada/s02_1/t/nb.ipynb", 0o644), ("gradebook.db", 0o644)):
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("{}")
        path.chmod(mode)
        made[name] = path
    for folder in ("submitted", "submitted/ada", "feedback/ada"):
        (root / folder).chmod(0o777)
    outside = root.parent / "outside.txt"
    outside.write_text("not the course's")
    outside.chmod(0o600)
    (root / "submitted" / "ada" / "s02_1" / "link.ipynb").symlink_to(outside)
    os.mkfifo(root / "feedback" / "ada" / "fifo")
    made["outside"] = outside
    return made


@pytest.mark.skipif(os.geteuid() != 0, reason="giving files another group needs root")
@pytest.mark.parametrize("groupshared", [False, True])
def test_course_access_gives_existing_folders_the_course_group_without_following_links(tmp_path, capsys, groupshared):
    root = tmp_path / "course"
    _bare_course(root, f"c.CourseDirectory.groupshared = {groupshared}")
    made = _graded_before(root)
    assert main(["--course", str(root), "course-access", "--group", str(GID)]) == 0
    said = capsys.readouterr().out
    assert f"files {'0660' if groupshared else '0640'}" in said and "link.ipynb: a link" in said
    file_mode, folder_mode = (0o660, 0o2770) if groupshared else (0o640, 0o750)
    mine = [p for name in ("results", "submitted", "feedback", "autograded", "build", "refused", "submitted-earlier")
            for p in [root / name, *(root / name).rglob("*")] if not p.is_symlink() and not p.is_fifo()]
    for p in [*mine, made["gradebook.db"]]:
        st = os.lstat(p)
        want = folder_mode if p.is_dir() else file_mode
        assert (stat.S_IMODE(st.st_mode), st.st_gid) == (want, GID), f"{p}: {oct(st.st_mode)} gid {st.st_gid}"
    assert os.stat(root).st_gid == GID and os.stat(root).st_mode & stat.S_ISGID, "new files must inherit the group"
    outside = os.stat(made["outside"])
    assert (stat.S_IMODE(outside.st_mode), outside.st_gid) == (0o600, 0), "a link was followed"
    assert main(["--course", str(root), "course-access"]) == 0 and " 0 changed" in capsys.readouterr().out


def test_course_access_names_an_unknown_group_with_the_remedy(tmp_path, capsys):
    _bare_course(tmp_path)
    assert main(["--course", str(tmp_path), "course-access", "--group", "no-such-group-d2lt"]) == 2
    assert "groupadd no-such-group-d2lt" in capsys.readouterr().err
