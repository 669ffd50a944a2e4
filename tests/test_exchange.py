"""A course's real life through nbgrader's exchange: release, fetch, submit, collect, grade, feedback, resubmit.

The instructor releases s02_1; a student fetches it, answers and submits; the instructor collects and
runs ``d2lgrade grade`` on nbgrader's ``submitted/`` folder: the submission is graded with the time
nbgrader recorded, and the formgrader counts it autograded. nbgrader's generate_feedback and release_feedback
work on what ``d2lgrade grade`` left (no ``nbgrader autograde`` needed): the feedback stays the course group's in
``feedback/`` and reaches the student through the exchange. The student submits again: the collected
resubmission is graded, and the earlier submission is kept.
"""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from copy import deepcopy
from pathlib import Path

import pytest
from nbgrader.api import Gradebook

from d2lgrade.authoring.samples import samples_dir
from d2lgrade.course.layout import Course
from d2lgrade.nbgrader.release import make_exchange
from tests.conftest import copy_course

ASSIGNMENT = "s02_1"
NOTEBOOK = "data_manipulation.ipynb"
BIN = Path(sys.executable).parent


def _run(args: list[str], cwd: Path, env: dict[str, str]) -> str:
    done = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True)
    assert done.returncode == 0, f"{' '.join(args)}:\n{done.stdout[-1500:]}\n{done.stderr[-1500:]}"
    return done.stdout + done.stderr


@pytest.fixture()
def course_and_student(course, bundles, tmp_path, monkeypatch):
    monkeypatch.delenv("D2LGRADE_DB_URL", raising=False)
    (tmp_path / "course").mkdir()
    copy = copy_course(bundles, ASSIGNMENT, tmp_path / "course")
    make_exchange(copy)
    home = tmp_path / "student"
    home.mkdir()
    env = {**{k: v for k, v in os.environ.items() if k != "D2LGRADE_DB_URL"}, "PATH": f"{BIN}:{os.environ['PATH']}",
           "D2LGRADE_EXCHANGE": str(copy.root / "exchange")}
    _run([str(BIN / "nbgrader"), "generate_assignment", ASSIGNMENT, "--force"], copy.root, env)
    return copy, home, env


def _submit(home: Path, env: dict[str, str], sample: Path, course_id: str) -> None:
    nbgrader = str(BIN / "nbgrader")
    exchange = ["--Exchange.root=" + env["D2LGRADE_EXCHANGE"]]  # a student has the exchange, not the course config
    fetched = home / ASSIGNMENT / NOTEBOOK
    if not fetched.exists():
        _run([nbgrader, "fetch_assignment", ASSIGNMENT, "--course", course_id, *exchange], home, env)
    answered = json.loads(sample.read_text())
    fetched.write_text(json.dumps(answered))
    _run([nbgrader, "submit", ASSIGNMENT, "--course", course_id, *exchange], home, env)


@pytest.mark.slow
@pytest.mark.long
def test_release_fetch_submit_collect_grade_and_resubmit(course, course_and_student):
    copy, home, env = course_and_student
    course_id = str(copy.config.CourseDirectory.course_id)
    nbgrader, d2lgrade = str(BIN / "nbgrader"), str(BIN / "d2lgrade")
    _run([nbgrader, "release_assignment", ASSIGNMENT], copy.root, env)

    _submit(home, env, samples_dir(course, ASSIGNMENT) / "partial.ipynb", course_id)
    _run([nbgrader, "collect", ASSIGNMENT], copy.root, env)
    collected = list((copy.root / "submitted").glob(f"*/{ASSIGNMENT}/{NOTEBOOK}"))
    assert len(collected) == 1
    student = collected[0].parents[1].name
    stamp = (collected[0].parent / "timestamp.txt").read_text()
    said = _run([d2lgrade, "grade", ASSIGNMENT, "submitted", "--jobs", "1"], copy.root, env)
    assert f"s02_1 {student}: " in said
    assert (collected[0].parent / "timestamp.txt").read_text() == stamp, "nbgrader's submission time is kept"
    with Gradebook(copy.db_url) as gb:
        first = gb.find_submission(ASSIGNMENT, student).score
    api = _api(copy)
    assert api.get_autograded_students(ASSIGNMENT) == {student}
    _feedback_reaches_the_student(api, copy, home, course_id, student)

    _submit(home, env, samples_dir(course, ASSIGNMENT) / "complete.ipynb", course_id)
    _run([nbgrader, "collect", "--update", ASSIGNMENT], copy.root, env)
    _run([d2lgrade, "grade", ASSIGNMENT, "submitted", "--jobs", "1"], copy.root, env)
    with Gradebook(copy.db_url) as gb:
        assert gb.find_submission(ASSIGNMENT, student).score == 7 > first
    assert _api(copy).get_autograded_students(ASSIGNMENT) == {student}
    inbound = copy.root / "exchange" / course_id / "inbound"
    assert len(list(inbound.glob(f"{student}+{ASSIGNMENT}+*"))) == 2, "the exchange keeps both submissions"


@pytest.mark.slow
@pytest.mark.long
def test_a_resubmission_graded_from_an_inbox_keeps_the_earlier_one(course, bundles, tmp_path, monkeypatch):
    """No exchange here: `d2lgrade grade` registers the assignment in the gradebook itself."""
    monkeypatch.delenv("D2LGRADE_DB_URL", raising=False)
    (tmp_path / "course").mkdir()
    copy = copy_course(bundles, ASSIGNMENT, tmp_path / "course")
    env = {k: v for k, v in os.environ.items() if k != "D2LGRADE_DB_URL"}
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    for sample in ("partial", "complete"):
        (inbox / "ada.ipynb").write_bytes((samples_dir(course, ASSIGNMENT) / f"{sample}.ipynb").read_bytes())
        _run([str(BIN / "d2lgrade"), "grade", ASSIGNMENT, str(inbox), "--jobs", "1"], copy.root, env)
    kept = copy.root / "submitted" / "ada" / ASSIGNMENT / NOTEBOOK
    earlier = list((copy.root / "submitted-earlier" / "ada" / ASSIGNMENT).glob(f"*/{NOTEBOOK}"))
    assert kept.read_bytes() == (inbox / "ada.ipynb").read_bytes()
    assert [e.read_bytes() for e in earlier] == [(samples_dir(course, ASSIGNMENT) / "partial.ipynb").read_bytes()]


def _feedback_reaches_the_student(api, course: Course, home: Path, course_id: str, student: str) -> None:
    """The instructor's generate_feedback and release_feedback (in process, as the formgrader's buttons run them),
    then the student's fetch_feedback: the page arrives, though feedback/ is the course group's only."""
    from nbgrader.auth import Authenticator
    from nbgrader.coursedir import CourseDirectory
    from nbgrader.exchange.default import ExchangeFetchFeedback

    for step in (api.generate_feedback, api.release_feedback):
        done = step(ASSIGNMENT)
        assert done["success"], f"{step.__name__}: {done.get('error')}\n{done.get('log')}"
    page = course.root / "feedback" / student / ASSIGNMENT / NOTEBOOK.replace(".ipynb", ".html")
    assert stat.S_IMODE(page.stat().st_mode) == 0o640, "feedback/ must be the course group's only"
    [released] = (course.root / "exchange" / course_id / "feedback").glob("*.html")
    assert stat.S_IMODE(released.stat().st_mode) & 0o004, "the student could not read the released page"
    config = deepcopy(course.config)
    config.CourseDirectory.update(course_id=course_id, assignment_id=ASSIGNMENT)
    config.Exchange.assignment_dir = str(home)
    fetch = ExchangeFetchFeedback(coursedir=CourseDirectory(config=config), authenticator=Authenticator(config=config),
                                  config=config)
    fetch.start()
    [fetched] = (home / ASSIGNMENT / "feedback").glob(f"*/{page.name}")
    assert fetched.read_bytes() == page.read_bytes()


def _api(course: Course):
    from nbgrader.apps import NbGraderAPI
    from nbgrader.coursedir import CourseDirectory

    coursedir = CourseDirectory(root=str(course.root), config=course.config)
    coursedir.db_url = course.db_url
    return NbGraderAPI(coursedir=coursedir, config=course.config)
