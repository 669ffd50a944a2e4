"""A TA who is not root autogrades with nbgrader through the grading service, and gets root's scores.

A real Unix user (``d2lt…``) in the course's group runs ``nbgrader autograde`` in a copy of a built course (group
owned, 2770, as on the class server), with a hub token (the fake hub) and ``D2LGRADE_GRADER_URL`` as their hub
server sets them; the grading service runs as root in a process of its own. The score in the gradebook is the
one root's ``d2lgrade grade`` gives the same file. Without the service the TA is told what to do (no traceback),
and nothing is left half-done: the next run with the service grades the submission.
"""

from __future__ import annotations

import os
import pwd
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from nbgrader.api import Gradebook

from d2lgrade.authoring.samples import samples_dir
from d2lgrade.course.layout import Course
from tests import fake_hub
from tests.conftest import ROOT, copy_course
from tests.hub.hub_harness import wait_for_port

pytestmark = [pytest.mark.hub, pytest.mark.slow,
              pytest.mark.skipif(os.geteuid() != 0 or not shutil.which("useradd"), reason="needs root and useradd")]

ASSIGNMENT = "s02_1"
NOTEBOOK = "data_manipulation.ipynb"
BIN = Path(sys.executable).parent


@dataclass(frozen=True)
class Staff:
    """A TA (a real Unix user) of one course, and the course's Unix group."""

    name: str
    group: str
    course_id: str

    def run(self, args: list[str], cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
        """``args`` as this user, in their groups, with a login's environment and ``env``."""
        user = pwd.getpwnam(self.name)
        base = {"PATH": f"{BIN}:/usr/bin:/bin", "HOME": user.pw_dir, "USER": self.name, "LANG": "C.UTF-8"}
        return subprocess.run(args, cwd=cwd, user=user.pw_uid, group=user.pw_gid, extra_groups=[self.group],
                              umask=0o007, env=base | env, capture_output=True, text=True, timeout=600)


@pytest.fixture(scope="module")
def ta() -> Iterator[Staff]:
    tag = secrets.token_hex(3)
    staff = Staff(f"d2lt{tag}ta", f"d2lt{tag}-staff", f"d2lt{tag}")
    subprocess.run(["groupadd", staff.group], check=True)
    try:
        subprocess.run(["useradd", "--create-home", "--shell", "/bin/sh", "--groups", staff.group, staff.name],
                       check=True)
        yield staff
    finally:
        subprocess.run(["userdel", "--remove", staff.name], capture_output=True)
        subprocess.run(["groupdel", staff.group], capture_output=True)


def _submit(course: Course, student: str, raw: bytes) -> None:
    folder = course.root / "submitted" / student / ASSIGNMENT
    folder.mkdir(parents=True)
    (folder / NOTEBOOK).write_bytes(raw)


@pytest.fixture(scope="module")
def hub_course(ta, bundles) -> Iterator[Course]:
    """A built course as on the class server: group-owned by its staff, 2770, groupshared, other users nothing."""
    top = Path(tempfile.mkdtemp(prefix="d2lt-", dir="/tmp"))
    try:
        top.chmod(0o755)
        (top / "course").mkdir()
        course = copy_course(bundles, ASSIGNMENT, top / "course")
        config = course.root / "nbgrader_config.py"
        config.write_text(config.read_text().replace("c.CourseDirectory.groupshared = False",
                                                     "c.CourseDirectory.groupshared = True"))
        (course.root / "course_id").write_text(ta.course_id + "\n")
        env = {k: v for k, v in os.environ.items() if k != "D2LGRADE_DB_URL"}
        subprocess.run([str(BIN / "nbgrader"), "generate_assignment", ASSIGNMENT, "--force"], cwd=course.root,
                       check=True, capture_output=True, env=env)
        partial = (samples_dir(Course(ROOT), ASSIGNMENT) / "partial.ipynb").read_bytes()
        for student in ("ada", "bob"):
            _submit(course, student, partial)
        subprocess.run(["chgrp", "-R", ta.group, str(course.root)], check=True)
        subprocess.run(["chmod", "-R", "u+rwX,g+rwX,o-rwx", str(course.root)], check=True)
        subprocess.run(["find", str(course.root), "-type", "d", "-exec", "chmod", "g+s", "{}", "+"], check=True)
        yield course
    finally:
        shutil.rmtree(top)


@pytest.fixture(scope="module")
def hub(ta):
    return fake_hub.start(fake_hub.FakeHub("grader", groups={ta.name: {f"tas-{ta.course_id}"}}))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def service(hub, hub_course, ta, tmp_path_factory) -> Iterator[tuple[str, Path]]:
    """The grading service as root, in a process of its own: its URL (as a hub server names it) and its log."""
    folder = tmp_path_factory.mktemp("grader")
    config = folder / "hub.toml"
    config.write_text(f'[courses.{ta.course_id}]\npath = "{hub_course.root}"\ntas = ["{ta.name}"]\n')
    port, log = _free_port(), folder / "grader.log"
    with open(log, "w") as out:
        process = subprocess.Popen([sys.executable, "-m", "d2lgrade.hub.grading_service", "--config", str(config),
                                    "--port", str(port)], env=os.environ | hub.env(), stdout=out, stderr=out)
    try:
        wait_for_port(port, process, log, "the grading service")
        yield f"http://127.0.0.1:{port}/services/grader", log
    finally:
        process.terminate()
        process.wait(30)


def _score(course: Course, student: str) -> float | None:
    with Gradebook(course.db_url) as gb:
        return gb.find_submission(ASSIGNMENT, student).score


@pytest.fixture(scope="module")
def root_score(bundles, tmp_path_factory) -> float:
    """What root's ``d2lgrade grade`` gives the same file, in a course of its own."""
    course = copy_course(bundles, ASSIGNMENT, tmp_path_factory.mktemp("by-root"))
    inbox = course.root / "inbox"
    inbox.mkdir()
    shutil.copy(samples_dir(Course(ROOT), ASSIGNMENT) / "partial.ipynb", inbox / "ada.ipynb")
    env = {k: v for k, v in os.environ.items() if k != "D2LGRADE_DB_URL"}
    done = subprocess.run([str(BIN / "d2lgrade"), "grade", ASSIGNMENT, str(inbox), "--jobs", "1"], cwd=course.root,
                          capture_output=True, text=True, env=env)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    return _score(course, "ada")


def test_a_ta_autogrades_through_the_service_with_root_s_score(ta, hub, hub_course, service, root_score):
    url, log = service
    done = ta.run([str(BIN / "nbgrader"), "autograde", ASSIGNMENT, "--student", "ada"], hub_course.root,
                  D2LGRADE_GRADER_URL=url, JUPYTERHUB_API_TOKEN=hub.token(ta.name))
    assert done.returncode == 0, done.stderr[-3000:]
    assert f"graded in the sandbox by the grading service at {url}" in done.stderr
    assert 0 < _score(hub_course, "ada") == root_score
    autograded = hub_course.root / "autograded" / "ada" / ASSIGNMENT / NOTEBOOK
    assert autograded.stat().st_uid == pwd.getpwnam(ta.name).pw_uid and "points." in autograded.read_text()
    assert f"user='{ta.name}' course='{ta.course_id}' assignment='{ASSIGNMENT}' student='ada' status=200 " \
           "outcome=graded" in log.read_text(), "the service's audit line"


def test_without_the_service_the_ta_is_told_what_to_do_and_nothing_is_left_half_done(ta, hub, hub_course, service):
    url, _ = service
    command = [str(BIN / "nbgrader"), "autograde", ASSIGNMENT, "--student", "bob"]
    unreachable = f"http://127.0.0.1:{_free_port()}/services/grader"
    for env, says in (({}, "A TA grades through the class server's grading service"),
                      ({"D2LGRADE_GRADER_URL": unreachable, "JUPYTERHUB_API_TOKEN": hub.token(ta.name)},
                       f"the grading service at {unreachable} cannot be reached")):
        done = ta.run(command, hub_course.root, **env)
        assert done.returncode != 0 and says in done.stderr, done.stderr[-3000:]
        assert "Traceback" not in done.stderr, done.stderr[-3000:]
        assert not (hub_course.root / "autograded" / "bob" / ASSIGNMENT).exists(), "a half-made autograded folder"
    done = ta.run(command, hub_course.root, D2LGRADE_GRADER_URL=url, JUPYTERHUB_API_TOKEN=hub.token(ta.name))
    assert done.returncode == 0 and _score(hub_course, "bob") > 0, done.stderr[-3000:]
