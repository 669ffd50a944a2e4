"""Grading on submit through the class server: real users, the real exchange, ``d2lgrade serve`` that ``make hub``
started, the sandbox, and Chromium through the hub's login page.

Course ``d2lt-appx`` grades on submit (``grade_on_submit = true`` in the test's hub.toml). Its instructor writes the
policies into the course's ``nbgrader_config.py`` (s02_1: two submissions at least 45 s apart; s02_2: due in the
past, nbgrader's "zero" late penalty), generates and releases both from the command line. Then, with no staff
action at all:

- a student submits from the command line: ``nbgrader submit`` returns with the grade, the feedback page is in
  their folder, the gradebook and the instructor's ``d2lgrade queue`` and ``d2lgrade export`` (not root) have it;
- another student, in Chromium: Submit, and the Assignment List shows the score, what is left and "view feedback"
  (the page: each part's message); a second Submit inside the cooldown is refused with the reason and when the next
  is allowed; after it, graded; one past the count refused with the reason; a late submission shows the penalty;
  the instructor fixes the points, rebuilds and asks for a regrade, and the student's line and page change.

Screenshots of each step: ``test-artifacts/serve/`` (printed; git-ignored).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from nbgrader.api import Gradebook
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as ec

from d2lgrade.course.layout import Course
from d2lgrade.judging.bundle import Bundle
from tests.browser import Browser, failure_shots, open_in_lab_viewer
from tests.hub.hub_browser import NEWS_OFF, log_in, menu
from tests.hub.hub_harness import INSTRUCTOR, ON_SUBMIT_STUDENT, OTHER_COURSE, OTHER_STUDENT, WAIT, Hub, request

pytestmark = pytest.mark.hub
ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts" / "serve"
GRADED, LATE = "s02_1", "s02_2"
COOLDOWN_SECONDS = 45
POLICIES = f"""
# tests/hub/test_grading_on_submit.py
c.D2LGrade.policies = {{"{GRADED}": {{"max_submissions": 2, "cooldown_minutes": {COOLDOWN_SECONDS / 60}}}}}
c.D2LGrade.due_dates = {{"{LATE}": "2026-01-01 00:00:00 UTC"}}
c.LateSubmissionPlugin.penalty_method = "zero"
"""


@pytest.fixture(scope="module")
def course(class_server: Hub) -> Path:
    """The on-submit course with its policies written, both assignments released, the policy published."""
    root = class_server.course_path(OTHER_COURSE)
    with (root / "nbgrader_config.py").open("a", encoding="utf-8") as config:
        config.write(POLICIES)
    ivan = class_server.login(INSTRUCTOR)
    for assignment in (GRADED, LATE):
        for step in ("generate_assignment", "release_assignment"):
            done = ivan.run("nbgrader", step, assignment, "--force", cwd=root)
            assert done.returncode == 0, f"{step} {assignment}: {done.stderr[-2000:]}"
    carol = class_server.login(OTHER_STUDENT)
    _until(lambda: _policy(class_server, carol.token)["policy"]["max_submissions"] == 2,
           "d2lgrade serve never published the course's policy", class_server)
    return root


def _policy(hub: Hub, token: str) -> dict:
    status, said = request(f"{hub.url}/services/exchange/courses/{OTHER_COURSE}/assignments/{GRADED}/policy",
                           token=token)
    return said if status == 200 else {"policy": {"max_submissions": None}}


def _until(done, what: str | Callable[[], str], hub: Hub, seconds: float = WAIT) -> None:
    end = time.monotonic() + seconds
    while not done():
        assert time.monotonic() < end, f"{what() if callable(what) else what}\n{hub.log_tail('serve')}"
        time.sleep(0.2)


def _notebook(root: Path, assignment: str) -> str:
    return Bundle.load(Course(root).bundle_path(assignment)).notebook + ".ipynb"


def _answer(root: Path, home: Path, assignment: str, sample: str) -> None:
    """The student's notebook replaced by one of the course's sample submissions (written as root, theirs)."""
    target = home / assignment / _notebook(root, assignment)
    owner = target.stat()
    target.write_bytes((ROOT / "tests" / "submissions" / assignment / f"{sample}.ipynb").read_bytes())
    os.chown(target, owner.st_uid, owner.st_gid)


def _results(root: Path, student: str, assignment: str = GRADED) -> dict:
    return json.loads((root / "results" / assignment / f"{student}.json").read_text())


def test_a_submission_from_the_command_line_is_graded_recorded_and_seen_by_the_staff(class_server, course):
    dave = class_server.login(ON_SUBMIT_STUDENT)
    home = Path(class_server.people_env(ON_SUBMIT_STUDENT, dave.token)[1])
    assert dave.run("nbgrader", "fetch_assignment", GRADED, "--course", OTHER_COURSE).returncode == 0
    _answer(course, home, GRADED, "complete")
    done = dave.run("nbgrader", "submit", GRADED, "--course", OTHER_COURSE)
    assert done.returncode == 0, done.stderr[-2000:]
    _until(lambda: (course / "results" / GRADED / f"{ON_SUBMIT_STUDENT}.json").is_file(), "never graded", class_server)
    score = _results(course, ON_SUBMIT_STUDENT)["score"]
    assert score > 0 and f"{GRADED}: graded: {score:g} / {score:g} points" in done.stderr, done.stderr[-2000:]
    [page] = (home / GRADED / "feedback").glob(f"*/{_notebook(course, GRADED).replace('.ipynb', '.html')}")
    assert f"Autograded score: {score:g} / {score:g}" in page.read_text()
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}", course_id=OTHER_COURSE) as gb:
        assert gb.find_submission(GRADED, ON_SUBMIT_STUDENT).score == score

    ivan = class_server.login(INSTRUCTOR)  # not root: the queue and the grades from the course folder
    line = f"{OTHER_COURSE}/{GRADED} {ON_SUBMIT_STUDENT}: done ({score:g}/{score:g}, feedback sent)"
    said: list[subprocess.CompletedProcess[str]] = []

    def listed() -> bool:
        said[:] = [ivan.run("d2lgrade", "queue", "--config", str(class_server.config), cwd=course)]
        return line in said[0].stdout

    _until(listed, lambda: f"the instructor's d2lgrade queue never lists the graded submission: {said} "
           + subprocess.run(["ls", "-lan", str(course / "serve"), str(course)], capture_output=True, text=True).stdout
           + subprocess.run(["id", INSTRUCTOR], capture_output=True, text=True).stdout, class_server, 30)
    export = ivan.run("d2lgrade", "export", "--config", str(class_server.config), "--layout", "moodle", cwd=course)
    assert export.returncode == 0, export.stderr[-2000:]
    assert f"{ON_SUBMIT_STUDENT},{score:g}" in export.stdout.splitlines()[1:][0], export.stdout


@pytest.fixture(scope="module")
def carol(class_server: Hub, course: Path, pytestconfig: pytest.Config) -> Iterator[Browser]:
    from tests.jupyter_servers import require_chromium

    require_chromium()
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    for old in (*ARTIFACTS.glob("*.png"), *ARTIFACTS.glob("*-FAILED.html")):
        old.unlink()
    with pytestconfig.pluginmanager.getplugin("capturemanager").global_and_fixture_disabled():
        print(f"\ngrading on submit screenshots: {ARTIFACTS}")
    assert class_server.login(OTHER_STUDENT).run("sh", "-c", NEWS_OFF).returncode == 0
    count = iter(range(1, 1000))
    browser = log_in(class_server, OTHER_STUDENT, lambda: next(count), ARTIFACTS)
    try:
        yield browser
    finally:
        browser.quit()


def _submissions_box(assignment: str) -> str:
    return f"#nbgrader-{OTHER_COURSE}-{assignment}-submissions"


def _lines(b: Browser, assignment: str) -> list[str]:
    """The Assignment List's line of each submission of ``assignment``, oldest first."""
    box = b.d.find_elements(By.CSS_SELECTOR, _submissions_box(assignment))
    return [e.text for e in box[0].find_elements(By.CSS_SELECTOR, ".nested_list_item")] if box else []


def _last(b: Browser, assignment: str) -> str:
    """The latest submission's line ("" while the list is being drawn again)."""
    lines = _lines(b, assignment)
    return lines[-1] if lines else ""


def _submit(b: Browser, assignment: str) -> None:
    b.click(f"//div[@id='fetched_assignments_list']//div[contains(@class,'list_item')]"
            f"[.//a[@aria-controls='nbgrader-{OTHER_COURSE}-{assignment}']]//button[text()='Submit']",
            f"{assignment}'s Submit button")


def _refused(b: Browser, said: str, step: str) -> str:
    """The Invalid Submission dialog: its text (the exchange's sentence, no traceback), a screenshot, OK."""
    b.until(ec.presence_of_element_located((By.ID, "submission-message")), "no Invalid Submission dialog")
    text = " ".join(b.text("#submission-message").split())  # the sentence is wrapped for the dialog's <pre>
    assert said in text, text
    b.shot(step)
    b.click("//div[contains(@class,'jp-Dialog')]//button[contains(@class,'jp-mod-accept')]", "OK button")
    b.until(ec.invisibility_of_element_located((By.ID, "submission-message")), "the dialog stays")
    return text


def _fetch(b: Browser, assignment: str) -> None:
    b.click(f"//div[@id='released_assignments_list']//div[contains(@class,'list_item')]"
            f"[.//span[normalize-space()='{assignment}']]//button[text()='Fetch']", f"{assignment}'s Fetch button")
    b.until(ec.presence_of_element_located(
        (By.XPATH, f"//a[@aria-controls='nbgrader-{OTHER_COURSE}-{assignment}']")), f"{assignment} not fetched")


def _received(hub: Hub, token: str, assignment: str) -> list[dict]:
    status, found = request(f"{hub.url}/services/exchange/courses/{OTHER_COURSE}/submissions?assignment={assignment}",
                            token=token)
    assert status == 200, found
    return found


def _view_feedback(b: Browser, assignment: str, notebook: str, step: str) -> str:
    """"view feedback" on the latest line, the page in JupyterLab's HTML viewer: its text."""
    links = b.until(lambda d: d.find_elements(By.XPATH, f"//div[@id='{_submissions_box(assignment)[1:]}']"
                                                        "//a[contains(., 'view feedback')]"), "no view feedback link")
    links[-1].click()
    open_in_lab_viewer(b, notebook.replace(".ipynb", ".html"))
    b.sees("Autograded score")
    text = b.text()
    b.shot(step)
    b.d.switch_to.default_content()
    page = notebook.replace(".ipynb", ".html")  # closed: the next page of that name opens in a viewer of its own
    b.click(f"//li[contains(@class,'lm-TabBar-tab')][.//div[text()='{page}']]"
            "//div[contains(@class,'lm-TabBar-tabCloseIcon')]", f"{page}'s close icon")
    b.until(lambda d: not d.find_elements(By.CSS_SELECTOR, ".jp-HTMLViewer iframe"), "the viewer stays open")
    b.click("//li[contains(@class,'lm-TabBar-tab')][.//div[text()='Assignments']]", "Assignments tab")
    return text


def test_in_chromium_score_cooldown_count_late_penalty_and_regrade_without_staff_action(class_server, course, carol):
    hub, b = class_server, carol
    token = hub.login(OTHER_STUDENT).token
    home = Path(hub.people_env(OTHER_STUDENT, token)[1])
    notebook = _notebook(course, GRADED)
    with failure_shots(ARTIFACTS, [b]):
        b.click(menu("Nbgrader"), "Nbgrader menu")
        b.click("//div[contains(@class,'lm-Menu-itemLabel') and text()='Assignment List']", "Assignment List")
        b.sees(GRADED, "#released_assignments_list")
        _fetch(b, GRADED)
        _answer(course, home, GRADED, "partial")

        # Submit: the line shows the score, what is left, and the feedback page: no one on the staff did anything.
        _submit(b, GRADED)
        b.until(lambda d: any("graded:" in line for line in _lines(b, GRADED)), "the score never appears")
        [first] = _lines(b, GRADED)
        partial = _results(course, OTHER_STUDENT)
        assert f"graded: {partial['score']:g} / " in first and "1 of 2 submissions used (1 left)" in first, first
        assert "at least 0.75 minutes apart" in first and "view feedback" in first, first
        b.shot("graded-on-submit")
        page = _view_feedback(b, GRADED, notebook, "feedback-page")
        assert f"Autograded score: {partial['score']:g}" in page
        assert all(t["output"].splitlines()[0] in page for t in partial["tests"] if t.get("output")), page

        # Inside the cooldown: refused, with the reason and the time the next is allowed.
        _submit(b, GRADED)
        said = _refused(b, "the next is allowed at", "refused-cooldown")
        assert "1 of 2 submissions used (1 left)" in said and "Traceback" not in said, said
        assert len(_received(hub, token, GRADED)) == 1

        # After the cooldown (the exchange's clock): a better answer, graded.
        [received] = _received(hub, token, GRADED)
        allowed = dt.datetime.strptime(received["timestamp"], "%Y-%m-%d %H:%M:%S.%f %Z").replace(
            tzinfo=dt.UTC) + dt.timedelta(seconds=COOLDOWN_SECONDS + 1)
        time.sleep(max(0.0, (allowed - dt.datetime.now(dt.UTC)).total_seconds()))
        _answer(course, home, GRADED, "complete")
        _submit(b, GRADED)
        b.until(lambda d: len(_lines(b, GRADED)) == 2 and "graded:" in _lines(b, GRADED)[1], "the second is not graded")
        full = _results(course, OTHER_STUDENT)["score"]
        second = _lines(b, GRADED)[1]
        assert f"graded: {full:g} / {full:g} points" in second and "2 of 2 submissions used (0 left)" in second, second
        b.shot("graded-after-cooldown")

        # Past the count: refused with the reason.
        time.sleep(COOLDOWN_SECONDS + 1)
        _submit(b, GRADED)
        said = _refused(b, "no more submissions are accepted", "refused-count")
        assert "2 of 2 submissions used (0 left)" in said, said
        assert len(_received(hub, token, GRADED)) == 2

        # After the due date: graded, with nbgrader's late penalty shown.
        _fetch(b, LATE)
        _answer(course, home, LATE, "complete")
        _submit(b, LATE)
        b.until(lambda d: any("graded:" in line for line in _lines(b, LATE)), "the late one is never graded")
        late = _results(course, OTHER_STUDENT, LATE)["score"]
        [line] = _lines(b, LATE)
        assert f"graded: {late:g} / {late:g} points, 0 after the late penalty (−{late:g})" in line, line
        assert "due 2026-01-01" in line, line
        b.shot("late-penalty")

        # The instructor fixes a question's points, rebuilds, asks for a regrade: the student's line and page change.
        _fix_points(course)
        ivan = hub.login(INSTRUCTOR)
        for command in (("d2lgrade", "build", GRADED), ("d2lgrade", "queue", "--config", str(hub.config),
                                                        "--regrade", GRADED)):
            done = ivan.run(*command, cwd=course)
            assert done.returncode == 0, f"{command}: {done.stdout[-1000:]}{done.stderr[-2000:]}"
        _until(lambda: _received(hub, token, GRADED)[-1]["result"]["max_score"] == full + 1,
               "the regrade never reached the student's submission", hub)
        b.click("//button[@id='refresh_assignments_list']", "refresh button")
        b.until(lambda d: f"/ {full + 1:g} points" in _last(b, GRADED), "the regraded score never shows")
        assert "feedback available to fetch" in _last(b, GRADED), _last(b, GRADED)
        b.shot("regraded")
        b.click(f"//div[contains(@class,'list_item')][.//div[@id='{_submissions_box(GRADED)[1:]}']]"
                "//button[text()='Fetch Feedback']", "Fetch Feedback")
        b.until(lambda d: "view feedback" in _last(b, GRADED), "the new page is never fetched")
        page = _view_feedback(b, GRADED, notebook, "regraded-feedback-page")
        assert f"Autograded score: {full + 1:g} / {full + 1:g}" in page, page


def _fix_points(root: Path) -> None:
    """One more point for the assignment's first autograded question, in the instructor's source notebook."""
    [source] = (root / "source" / GRADED).glob("*.ipynb")
    mode, owner = source.stat().st_mode, source.stat()
    nb = json.loads(source.read_text())
    cell = next(c for c in nb["cells"] if c["metadata"].get("nbgrader", {}).get("grade")
                and not c["metadata"]["nbgrader"].get("solution"))
    cell["metadata"]["nbgrader"]["points"] += 1
    source.write_text(json.dumps(nb, indent=1))
    os.chown(source, owner.st_uid, owner.st_gid)
    source.chmod(mode)
