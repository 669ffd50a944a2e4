"""The exchange with real Unix users: what a student's account cannot read never leaves it; what a TA collects is
the course group's only.

Real users ``d2lt<tag>…`` (homes 0700): two students, a TA in the course's Unix group, and the user the exchange
service runs as (``python -m d2lgrade.hub.exchange_service`` in a process of its own, its store in a folder of
its own). The hub is the fake one (tokens and groups as the test says); the students and the TA run the
``nbgrader`` command as themselves with the student set-up (``jupyter/student``, ``D2LGRADE_EXCHANGE_URL`` and
their token, as their hub server sets them). Everything made is removed at the end, users too, even on failure.
"""

from __future__ import annotations

import base64
import json
import os
import pwd
import secrets
import shutil
import socket
import stat
import subprocess
import sys
import tempfile
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from nbgrader.coursedir import CourseDirectory

from d2lgrade.hub.exchange_client import HubReleaseAssignment
from tests import fake_hub
from tests.hub.hub_harness import wait_for_port

pytestmark = [pytest.mark.hub,
              pytest.mark.skipif(os.geteuid() != 0 or not shutil.which("useradd"), reason="needs root and useradd")]

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
COURSE = "d2l"
SECRET = "ALICE-PRIVATE-ANSWER-42"
NOTEBOOK = json.dumps({"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5})


@dataclass(frozen=True)
class People:
    """The Unix users of one run (hub names = Unix names), the course's staff group and a folder they can reach."""

    tag: str
    top: Path

    def name(self, role: str) -> str:
        return f"d2lt{self.tag}{role}"

    @property
    def staff(self) -> str:
        return f"d2lt{self.tag}-staff"

    def home(self, role: str) -> Path:
        return Path(pwd.getpwnam(self.name(role)).pw_dir)

    def run(self, role: str, args: list[str], cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
        """``args`` as the user, with a login's environment plus ``env`` (umask 022, as a login gives)."""
        user = pwd.getpwnam(self.name(role))
        groups = [self.staff] if role == "tina" else []
        base = {"PATH": f"{BIN}:/usr/bin:/bin", "HOME": user.pw_dir, "USER": user.pw_name, "LANG": "C.UTF-8"}
        return subprocess.run(args, cwd=cwd, user=user.pw_uid, group=user.pw_gid, extra_groups=groups, umask=0o022,
                              env=base | env, capture_output=True, text=True, timeout=300)


ROLES = ("alice", "bob", "tina", "exch")


@pytest.fixture(scope="module")
def people() -> Iterator[People]:
    crew = People(secrets.token_hex(2), Path(tempfile.mkdtemp(prefix="d2lt-exchange-", dir="/tmp")))
    try:
        crew.top.chmod(0o755)
        subprocess.run(["groupadd", crew.staff], check=True)
        for role in ROLES:
            subprocess.run(["useradd", "--create-home", "--shell", "/bin/sh", crew.name(role)], check=True)
            crew.home(role).chmod(0o700)
        subprocess.run(["usermod", "-aG", crew.staff, crew.name("tina")], check=True)
        yield crew
    finally:
        for role in ROLES:
            subprocess.run(["userdel", "--remove", crew.name(role)], capture_output=True)
        subprocess.run(["groupdel", crew.staff], capture_output=True)
        shutil.rmtree(crew.top, ignore_errors=True)


@pytest.fixture(scope="module")
def hub(people):
    groups = {people.name("alice"): {f"students-{COURSE}"}, people.name("bob"): {f"students-{COURSE}"},
              people.name("tina"): {f"tas-{COURSE}"}, "ivan": {f"instructors-{COURSE}"}}
    return fake_hub.start(fake_hub.FakeHub("exchange", groups=groups))


@pytest.fixture(scope="module")
def course(people) -> Path:
    """The course folder as on the class server: root's, group the course staff, 2770, groupshared."""
    root = people.top / "course"
    root.mkdir()
    (root / "nbgrader_config.py").write_text(f'c = get_config()\nc.CourseDirectory.course_id = "{COURSE}"\n'
                                             "c.CourseDirectory.groupshared = True\n")
    release = root / "release" / "a1"
    release.mkdir(parents=True)
    (release / "answers.ipynb").write_text(NOTEBOOK)
    subprocess.run(["chgrp", "-R", people.staff, str(root)], check=True)
    subprocess.run(["chmod", "-R", "u+rwX,g+rwX,o-rwx", str(root)], check=True)
    subprocess.run(["find", str(root), "-type", "d", "-exec", "chmod", "g+s", "{}", "+"], check=True)
    return root


@pytest.fixture(scope="module")
def exchange(people, hub, course) -> Iterator[str]:
    """The service as its own user, in a process of its own; yields its URL."""
    state = people.top / "state"
    state.mkdir()
    shutil.chown(state, people.name("exch"), people.name("exch"))
    config = people.top / "hub.toml"
    config.write_text(f'[courses.{COURSE}]\npath = "{course}"\n')
    port = _free_port()
    log = people.top / "exchange.log"
    user = pwd.getpwnam(people.name("exch"))
    with open(log, "w") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "d2lgrade.hub.exchange_service", "--config", str(config), "--data",
             str(state / "exchange"), "--port", str(port)], user=user.pw_uid, group=user.pw_gid, extra_groups=[],
            cwd="/", env={"PATH": "/usr/bin:/bin", "HOME": user.pw_dir, "PYTHONPATH": str(ROOT)} | hub.env(),
            stdout=out, stderr=out)
    try:
        wait_for_port(port, process, log, "the exchange")
        yield f"http://127.0.0.1:{port}/services/exchange"
    finally:
        process.terminate()
        process.wait(30)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _get(url: str, token: str) -> Any:
    request = urllib.request.Request(url, headers={"Authorization": f"token {token}"})
    with urllib.request.urlopen(request, timeout=30) as answer:
        return json.loads(answer.read())


def _nbgrader(people: People, role: str, hub: fake_hub.FakeHub, url: str, cwd: Path, *args: str
              ) -> subprocess.CompletedProcess[str]:
    env = {"JUPYTER_CONFIG_PATH": str(ROOT / "jupyter" / "student"), "D2LGRADE_EXCHANGE_URL": url,
           "JUPYTERHUB_API_TOKEN": hub.token(people.name(role))}
    return people.run(role, [str(BIN / "nbgrader"), *args], cwd, **env)


def test_a_link_to_another_students_file_never_sends_their_answers_and_collect_keeps_it_to_the_course_group(
        people, hub, exchange, course, monkeypatch):
    monkeypatch.setenv("JUPYTERHUB_API_TOKEN", hub.token("ivan"))
    HubReleaseAssignment(coursedir=CourseDirectory(root=str(course), course_id=COURSE, assignment_id="a1"),
                         url=exchange).start()
    alice_home, bob_home = people.home("alice"), people.home("bob")
    (alice_home / "answers.ipynb").write_text(NOTEBOOK.replace("[]", f'[{{"cell_type": "markdown", "metadata": {{}}, '
                                                                     f'"source": "{SECRET}"}}]'))
    shutil.chown(alice_home / "answers.ipynb", people.name("alice"), people.name("alice"))
    (alice_home / "answers.ipynb").chmod(0o600)

    done = _nbgrader(people, "bob", hub, exchange, bob_home, "fetch_assignment", "a1", "--course", COURSE)
    assert done.returncode == 0, done.stderr
    work = bob_home / "a1"
    (work / "mine.ipynb").write_text(NOTEBOOK)  # his own work: sent
    (work / "answers.ipynb").unlink()
    (work / "answers.ipynb").symlink_to(alice_home / "answers.ipynb")
    (work / "hers").symlink_to(alice_home, target_is_directory=True)
    subprocess.run(["chown", "-hR", f"{people.name('bob')}:{people.name('bob')}", str(work)], check=True)
    done = _nbgrader(people, "bob", hub, exchange, bob_home, "submit", "a1", "--course", COURSE)
    assert done.returncode == 0, done.stderr
    assert "answers.ipynb (a link to something outside the assignment folder" in done.stderr

    [sub] = _get(f"{exchange}/courses/{COURSE}/submissions?assignment=a1", hub.token(people.name("tina")))
    assert sub["student_id"] == people.name("bob") and sub["files"] == ["mine.ipynb"]
    files = _get(f"{exchange}/courses/{COURSE}/submissions/{sub['id']}", hub.token(people.name("tina")))["contents"]
    assert SECRET.encode() not in b"".join(base64.b64decode(f["content"]) for f in files)
    store = people.top / "state" / "exchange"
    assert all(SECRET.encode() not in p.read_bytes() for p in store.rglob("*") if p.is_file())
    assert stat.S_IMODE(store.stat().st_mode) == 0o700 and store.stat().st_uid == pwd.getpwnam(people.name("exch")).pw_uid

    done = _nbgrader(people, "tina", hub, exchange, course, "collect", "a1")
    assert done.returncode == 0, done.stderr
    collected = course / "submitted" / people.name("bob") / "a1"
    staff_gid = course.stat().st_gid
    for path in (course / "submitted", collected.parent, collected):
        assert stat.S_IMODE(path.stat().st_mode) == 0o2770 and path.stat().st_gid == staff_gid, path
    for name in ("mine.ipynb", "timestamp.txt"):
        assert stat.S_IMODE((collected / name).stat().st_mode) == 0o660
        assert (collected / name).stat().st_gid == staff_gid
    assert (collected / "timestamp.txt").read_text() == sub["timestamp"]
    refused = people.run("alice", ["cat", str(collected / "mine.ipynb")], people.top)
    assert refused.returncode != 0 and "Permission denied" in refused.stderr
