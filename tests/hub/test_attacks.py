"""The issue's attack table, row by row, against the running class server with its real users.

Everything runs as the people themselves (``runuser`` with their own groups, their server's environment and the
token their hub login gave: ``Session.run``), as a terminal in their JupyterLab would. The instructor releases s02_1
with ``nbgrader release_assignment``; student 1 submits honestly (with a ``timestamp.txt`` of her own), student 2
with a link to student 1's notebook; the TA collects, autogrades (through the grading service) and generates
feedback. Several rows are unit-tested in tests/test_hub_exchange.py; here they hold on the deployed server.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import pwd
import shutil
import stat
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest

from d2lgrade.hub.config import HubConfig
from tests.hub.hub_harness import COURSE, EXCHANGE_USER, INSTRUCTOR, STUDENTS, TA, Hub, Session, request

pytestmark = pytest.mark.hub
ASSIGNMENT, NOTEBOOK = "s02_1", "data_manipulation.ipynb"
STUDENT, OTHER = STUDENTS
FORGED_TIME = "1999-01-01 00:00:00.000000 UTC"
REFUSED = "the exchange takes who you are from your JupyterHub login"

ERRNO = """
import errno, json, os, sys
def attempt(action, path):
    try:
        if action == "read":
            open(path, "rb").read()
        elif action == "list":
            os.listdir(path)
        elif action == "write":
            open(path, "wb").write(b"forged")
        elif action == "replace":
            open("/tmp/.d2lt-forged", "w").write("forged")
            os.replace("/tmp/.d2lt-forged", path)
        return "done"
    except OSError as e:
        return errno.errorcode[e.errno]
print(json.dumps({f"{a} {p}": attempt(a, p) for a, p in json.loads(sys.argv[1])}))
"""
"""Each (action, path) tried as the user: ``done`` or the errno's name."""


def _ok(done) -> str:
    assert done.returncode == 0, f"{done.args[-6:]}:\n{done.stdout[-2000:]}\n{done.stderr[-3000:]}"
    return done.stdout


def _tried(person: Session, attempts: list[tuple[str, Path]]) -> dict[str, str]:
    done = person.run("python", "-c", ERRNO, json.dumps([(a, str(p)) for a, p in attempts]), cwd="/")
    return json.loads(_ok(done).strip().splitlines()[-1])


def _exchange(hub: Hub, student: str) -> list[dict]:
    """``student``'s submissions of s02_1 as the exchange keeps them (asked with the TA's token)."""
    status, found = request(f"{hub.url}/services/exchange/courses/{COURSE}/submissions?assignment={ASSIGNMENT}"
                            f"&student={student}", token=hub.login(TA).token)
    assert status == 200, found
    return found


def _files(hub: Hub, submission: dict) -> dict[str, bytes]:
    status, found = request(f"{hub.url}/services/exchange/courses/{COURSE}/submissions/{submission['id']}",
                            token=hub.login(TA).token)
    assert status == 200, found
    return {f["path"]: base64.b64decode(f["content"]) for f in found["contents"]}


def _home(name: str) -> Path:
    return Path(pwd.getpwnam(name).pw_dir)


@dataclass
class Submitted:
    """Student 1's honest submission as the exchange received it, the bytes she sent, and when (server clock)."""

    received: dict
    sent: bytes
    before: datetime
    after: datetime


@pytest.fixture(scope="module")
def people(class_server: Hub) -> dict[str, Session]:
    return {name: class_server.login(name) for name in (INSTRUCTOR, TA, STUDENT, OTHER)}


@pytest.fixture(scope="module")
def released(class_server: Hub, people) -> None:
    ivan = people[INSTRUCTOR]
    _ok(ivan.run("nbgrader", "generate_assignment", ASSIGNMENT, "--force"))
    _ok(ivan.run("nbgrader", "release_assignment", ASSIGNMENT, "--force"))


@pytest.fixture(scope="module")
def submitted(class_server: Hub, people, released) -> Submitted:
    """Student 1 submits with a timestamp.txt of her own; student 2 with a link to her notebook and to a file
    outside his folder in place of his own."""
    alice, bob = people[STUDENT], people[OTHER]
    for person in (alice, bob):
        _ok(person.run("nbgrader", "fetch_assignment", ASSIGNMENT, "--course", COURSE))
    work = _home(STUDENT) / ASSIGNMENT
    _ok(alice.run("sh", "-c", f"printf '{FORGED_TIME}' > {work}/timestamp.txt"))
    sent = (work / NOTEBOOK).read_bytes()
    before = datetime.now(UTC)
    _ok(alice.run("nbgrader", "submit", ASSIGNMENT, "--course", COURSE))
    after = datetime.now(UTC)
    [received] = _exchange(class_server, STUDENT)

    theirs = _home(OTHER) / ASSIGNMENT
    _ok(bob.run("sh", "-c", f"rm {theirs}/{NOTEBOOK} && ln -s {work}/{NOTEBOOK} {theirs}/{NOTEBOOK} && "
                            f"ln -s /etc/hostname {theirs}/hostname && echo mine > {theirs}/notes.txt"))
    linked = bob.run("nbgrader", "submit", ASSIGNMENT, "--course", COURSE)
    assert f"{NOTEBOOK} (a link to something outside the assignment folder" in linked.stderr, linked.stderr[-2000:]
    return Submitted(received, sent, before, after)


@pytest.fixture(scope="module")
def collected(class_server: Hub, people, submitted) -> Path:
    """The TA collects, autogrades student 1 (not root: through the grading service) and makes her feedback."""
    tina = people[TA]
    _ok(tina.run("nbgrader", "collect", ASSIGNMENT))
    _ok(tina.run("nbgrader", "autograde", ASSIGNMENT, "--student", STUDENT))
    _ok(tina.run("nbgrader", "generate_feedback", ASSIGNMENT, "--student", STUDENT))
    return class_server.course_path()


def test_submitting_as_another_student_from_the_command_line_or_one_s_own_config_is_refused(class_server, people,
                                                                                          submitted):
    bob = people[OTHER]
    before = _exchange(class_server, STUDENT)
    done = bob.run("nbgrader", "submit", ASSIGNMENT, "--course", COURSE, f"--student={STUDENT}")
    assert done.returncode != 0 and REFUSED in done.stderr and "Traceback" not in done.stderr, done.stderr[-2000:]
    config = _home(OTHER) / ".jupyter" / "nbgrader_config.py"
    _ok(bob.run("sh", "-c", f"mkdir -p {config.parent} && echo 'c.CourseDirectory.student_id = \"{STUDENT}\"' "
                            f"> {config}"))
    try:
        done = bob.run("nbgrader", "submit", ASSIGNMENT, "--course", COURSE)
        assert done.returncode != 0 and REFUSED in done.stderr, done.stderr[-2000:]
    finally:
        config.unlink()
    assert _exchange(class_server, STUDENT) == before, f"a submission under {STUDENT}'s name"
    assert all(s["student_id"] == OTHER for s in _exchange(class_server, OTHER))


def _loose(top: Path) -> list[str]:
    """Files and folders under ``top`` that anyone may write (links are not: their target's mode counts), except
    sticky folders (like /tmp: each user may remove only their own entries)."""
    found = []
    for folder, dirs, files in os.walk(top):
        for name in (*dirs, *files):
            path = Path(folder, name)
            mode = path.lstat().st_mode
            if not stat.S_ISLNK(mode) and mode & stat.S_IWOTH and not (stat.S_ISDIR(mode) and mode & stat.S_ISVTX):
                found.append(f"{path} {stat.filemode(mode)}")
    return found


def test_no_world_writable_folder_or_file_anywhere_in_the_deployment(class_server, collected):
    cfg = HubConfig.load(class_server.config)
    tops = [class_server.prefix / "opt", cfg.state, cfg.secrets.parent, class_server.rundir,
            *(c.path.parent for c in cfg.courses.values()), *(_home(n) for n in cfg.courses[COURSE].students)]
    assert not [p for top in tops for p in _loose(top)], "anyone may write these"
    store = cfg.state / "exchange"
    owner = pwd.getpwnam(EXCHANGE_USER).pw_uid
    assert store.stat().st_uid == owner and stat.S_IMODE(store.stat().st_mode) == 0o700
    inside = [p for p in store.rglob("*")]
    assert inside and all(p.stat().st_uid == owner and not p.stat().st_mode & 0o077 for p in inside), \
        [f"{p} {stat.filemode(p.stat().st_mode)}" for p in inside if p.stat().st_mode & 0o077][:5]


def test_a_student_s_own_timestamp_and_edits_after_submitting_change_nothing_received(class_server, people,
                                                                                   submitted, collected):
    received = submitted.received
    at = datetime.strptime(received["timestamp"], "%Y-%m-%d %H:%M:%S.%f %Z").replace(tzinfo=UTC)
    assert submitted.before <= at <= submitted.after, f"the exchange's time {at} is not the time it received it"
    assert "timestamp.txt" not in received["files"], "the student's own timestamp.txt was kept"
    work = _home(STUDENT) / ASSIGNMENT
    _ok(people[STUDENT].run("sh", "-c", f"echo edited >> {work}/{NOTEBOOK} && touch -d 1999-01-01 {work}/{NOTEBOOK} "
                                        f"&& printf '2001-01-01 00:00:00.000000 UTC' > {work}/timestamp.txt"))
    assert _exchange(class_server, STUDENT) == [received], "the received submission changed"
    assert _files(class_server, received) == {NOTEBOOK: submitted.sent}
    mine = collected / "submitted" / STUDENT / ASSIGNMENT
    assert (mine / "timestamp.txt").read_text().strip() == received["timestamp"]
    assert (mine / NOTEBOOK).read_bytes() == submitted.sent


def test_a_link_to_another_student_s_file_is_not_submitted(class_server, submitted, collected):
    [linked] = _exchange(class_server, OTHER)[:1]
    assert sorted(linked["files"]) == ["notes.txt"], linked["files"]
    theirs = collected / "submitted" / OTHER / ASSIGNMENT
    assert sorted(p.name for p in theirs.iterdir()) == ["notes.txt", "timestamp.txt"]
    assert not any(p.is_symlink() for p in theirs.iterdir())


def test_after_collect_students_cannot_read_or_replace_another_s_submission_or_feedback(people, collected):
    submission = collected / "submitted" / STUDENT / ASSIGNMENT / NOTEBOOK
    feedback = collected / "feedback" / STUDENT / ASSIGNMENT / NOTEBOOK.replace(".ipynb", ".html")
    assert submission.is_file() and feedback.is_file(), "collect or generate_feedback made nothing to attack"
    attempts = [(action, path) for path in (submission, feedback) for action in ("read", "write", "replace")]
    attempts += [("list", submission.parent), ("list", feedback.parent)]
    tried = _tried(people[OTHER], attempts)
    assert set(tried.values()) == {"EACCES"}, tried
    assert "points." in feedback.read_text() and submission.read_bytes() != b"forged"
    honest = _tried(people[TA], [("read", submission), ("read", feedback)])  # the course's staff read them
    assert set(honest.values()) == {"done"}, honest


def test_a_student_cannot_reach_the_references_in_the_course_or_the_runtime(class_server, people):
    course = class_server.course_path()
    places = [course / p for p in ("source", "solutions", "tests/submissions", "build", ".git")]
    tried = _tried(people[STUDENT], [("list", p) for p in places] + [("read", course / "solutions/s02_1.py"),
                                                                     ("read", course / "gradebook.db")])
    assert set(tried.values()) == {"EACCES"}, tried
    for cwd in (str(_home(STUDENT)), "/"):
        imported = people[STUDENT].run("python", "-c", "import solutions; print(solutions.__file__)", cwd=cwd)
        assert imported.returncode != 0 and "No module named 'solutions'" in imported.stderr, imported.stdout
    assert not [p for p in class_server.runtime.rglob("solutions") if p.is_dir()], "a solutions folder in the runtime"
    assert not list(class_server.runtime.rglob("bundle.json")), "a compiled bundle in the runtime"
    assert not _copies_in(class_server.runtime, course), "the course's references are in the runtime"


def _copies_in(runtime: Path, course: Path) -> list[str]:
    """Files of the runtime whose bytes are one of the course's references (sources with their solutions, the
    reference solutions, the compiled bundles); only files of a reference's size are read."""
    references = [p for p in (*course.glob("source/*/*.ipynb"), *course.glob("solutions/*.py"),
                              *course.glob("build/*/bundle.json")) if p.stat().st_size > 200]
    assert references, f"no references found in {course}"
    digests = {hashlib.sha256(p.read_bytes()).hexdigest() for p in references}
    sizes = {p.stat().st_size for p in references}
    return [str(p) for p in runtime.rglob("*") if p.is_file() and not p.is_symlink() and p.stat().st_size in sizes
            and hashlib.sha256(p.read_bytes()).hexdigest() in digests]


PLANTED = (Path("/srv/nbgrader/exchange"), Path("/usr/local/share/nbgrader/exchange"))


@pytest.fixture()
def planted_exchanges() -> Iterator[list[Path]]:
    """World-writable filesystem exchanges where nbgrader looks by default, each with our course's folders
    pre-created and an assignment planted (what a student could do if the deployment used one); removed after."""
    made = []
    try:
        for root in PLANTED:
            created = [p for p in (root, *root.parents) if not p.exists()]
            assert root in created, f"{root} exists on this machine: the test would not know what it planted"
            made.append(created[-1])
            outbound = root / COURSE / "outbound" / "planted-assignment"
            outbound.mkdir(parents=True)
            (outbound / "planted.ipynb").write_text('{"cells": [], "metadata": {}, "nbformat": 4, '
                                                    '"nbformat_minor": 5}')
            (root / COURSE / "inbound").mkdir()
            for path in (root, root / COURSE, root / COURSE / "inbound", outbound.parent, outbound):
                path.chmod(0o1777 if path.name == "inbound" else 0o777)
        yield list(PLANTED)
    finally:
        for top in made:
            shutil.rmtree(top)


def test_there_is_no_shared_exchange_to_pre_create_course_folders_in(class_server, people, released,
                                                                    planted_exchanges):
    alice = people[STUDENT]
    done = alice.run("nbgrader", "list", "--course", COURSE)
    shown = done.stdout + done.stderr
    assert done.returncode == 0 and ASSIGNMENT in shown, f"the list does not come from the hub's exchange:\n{shown}"
    assert "planted" not in shown, f"a planted exchange is used:\n{shown}"
    alice.start_server()
    status, lab = alice.server(f"/assignments?course_id={COURSE}")
    names = {a["assignment_id"] for a in lab["value"]} if status == 200 and lab.get("success") else lab
    assert ASSIGNMENT in names and "planted-assignment" not in names, names
    before = len(_exchange(class_server, STUDENT))
    _ok(alice.run("nbgrader", "submit", ASSIGNMENT, "--course", COURSE))
    assert len(_exchange(class_server, STUDENT)) == before + 1, "the submission did not go to the hub's exchange"
    for root in planted_exchanges:
        assert not any((root / COURSE / "inbound").iterdir()), f"a submission went into {root}"
