"""The course workflow in real Chromium through the class server: four people log in on the hub's login page.

The instructor, the TA and two students (real Unix users ``d2lt…``; PAM checks their passwords) each log in at
``/hub/login`` in their own Chromium and land in their own server with their role's tools. In course ``d2lt-ch2``
the instructor generates and releases s02_7 with the Formgrader's buttons (Manage Assignments; the release goes to
the exchange service with their server's token); student 1 fetches it from the Assignment List, answers (one right,
one wrong, a written answer), saves and submits; the instructor collects with the Formgrader's collect button; the
TA (not root: through the grading service) autogrades with the Autograde button, grades the written answer by hand,
generates and releases feedback; student 1 fetches and reads it; ``nbgrader export`` as the instructor's user gives
student 1's score. Then student 2 tries to submit as student 1: by opening student 1's server, by a forged
``student_id`` posted to their own server's submit handler, and with ``nbgrader submit --student``; student 1's
submissions and grade are untouched.

The cells, answers and expected feedback are the single-machine browser test's (``tests/test_browser_workflow.py``).
Screenshots of each step: ``test-artifacts/hub/`` (printed; git-ignored).
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from nbgrader.api import Gradebook, MissingEntry
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support import expected_conditions as ec

from tests.browser import (
    Browser,
    Notebook,
    autograde_first_submission,
    failure_shots,
    grade_by_hand,
    open_in_lab_viewer,
)
from tests.hub.hub_browser import NEWS_OFF, log_in, menu
from tests.hub.hub_harness import COURSE, INSTRUCTOR, STUDENTS, TA, Hub, request
from tests.jupyter_servers import require_chromium
from tests.test_browser_workflow import (
    ASSIGNMENT,
    COMMENT,
    NOTEBOOK,
    RIGHT,
    RIGHT_CHECK,
    SETUP,
    WRITTEN,
    WRITTEN_ANSWER,
    WRONG,
    WRONG_CHECK,
    _answers,
)

pytestmark = pytest.mark.hub
ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts" / "hub"
STUDENT, OTHER = STUDENTS
FEEDBACK = {
    "ex1_random_names": ("Score: 0.0 / 1.0", "0 / 1 points. `random_names` should be a set of options"),
    "ex1_ones_dtype": ("Score: 1.0 / 1.0", "1 / 1 points. Correct."),
    "ex1_normal_params": ("Score: 0.0 / 1.0", "0 / 1 points. `normal_params` should be"),
    "ex1_seed_function": ("Score: 0.0 / 1.0", "0 / 1 points. `seed_function`: not right"),
    "ex1_lookup": ("Score: 1.0 / 2.0", COMMENT),
}


def _nbgrader_menu(browser: Browser) -> set[str]:
    """The items of the Nbgrader menu (opened, read, closed)."""
    browser.click(menu("Nbgrader"), "Nbgrader menu")
    items = browser.until(lambda d: d.find_elements(By.CSS_SELECTOR, ".lm-Menu-itemLabel"), "an empty menu")
    labels = {item.text for item in items}
    browser.keys(Keys.ESCAPE)
    return labels


def _row(assignment: str) -> str:
    """The Formgrader's Manage Assignments row of ``assignment`` (the table lists every assignment of the course)."""
    return f"//tr[td[contains(@class,'name')][normalize-space()='{assignment}']]"


def _listed(section: str) -> str:
    """The Assignment List's row of s02_7 in ``section`` (released, fetched, submitted): other assignments of the
    course may be listed too."""
    mine = {"released": f".//span[contains(@class,'item_name')][normalize-space()='{ASSIGNMENT}']",
            "fetched": f".//a[@aria-controls='nbgrader-{COURSE}-{ASSIGNMENT}']",
            "submitted": f".//div[@id='nbgrader-{COURSE}-{ASSIGNMENT}-submissions']"}[section]
    return f"//div[@id='{section}_assignments_list']/div[contains(@class,'list_item')][{mine}]"


def _modal(browser: Browser, said: str, step: str) -> None:
    """A Formgrader dialog says ``said``; a screenshot; OK; the dialog is gone."""
    browser.sees(said, ".modal-body")
    browser.shot(step)
    browser.click("//div[contains(@class,'modal-footer')]//button", "OK button")
    browser.until(ec.invisibility_of_element_located((By.CSS_SELECTOR, ".modal-dialog")), "the dialog stays")


@pytest.fixture(scope="module")
def people(class_server: Hub, pytestconfig: pytest.Config) -> Iterator[dict[str, Browser]]:
    """Four people logged in through the hub's login page, each in their own Chromium and server."""
    require_chromium()
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    for old in ARTIFACTS.glob("*"):
        old.unlink()
    with pytestconfig.pluginmanager.getplugin("capturemanager").global_and_fixture_disabled():
        print(f"\nclass server screenshots: {ARTIFACTS}")
    count = iter(range(1, 1000))
    browsers: dict[str, Browser] = {}
    try:
        for name in (INSTRUCTOR, TA, STUDENT, OTHER):
            quiet = class_server.login(name).run("sh", "-c", NEWS_OFF)
            assert quiet.returncode == 0, quiet.stderr
            with failure_shots(ARTIFACTS, browsers.values()):
                browsers[name] = log_in(class_server, name, lambda: next(count), ARTIFACTS)
        yield browsers
    finally:
        for browser in browsers.values():
            browser.quit()


def _submissions(hub: Hub, student: str) -> list[dict]:
    """``student``'s submissions of the assignment as the exchange keeps them (asked with the TA's token)."""
    status, found = request(f"{hub.url}/services/exchange/courses/{COURSE}/submissions?assignment={ASSIGNMENT}"
                            f"&student={student}", token=hub.login(TA).token)
    assert status == 200, found
    return found


def _score(hub: Hub, student: str) -> float | None:
    with Gradebook(f"sqlite:///{hub.course_path() / 'gradebook.db'}", course_id=COURSE) as gb:
        try:
            return gb.find_submission(ASSIGNMENT, student).score
        except MissingEntry:  # not collected and autograded (yet)
            return None


def test_each_person_lands_in_their_own_server_with_their_role_s_tools(people):
    for name, browser in people.items():
        labels = _nbgrader_menu(browser)
        browser.shot("own-server")
        tools = {"Formgrader"} if name in (INSTRUCTOR, TA) else {"Assignment List"}
        assert tools <= labels and not {"Formgrader", "Assignment List"} - tools & labels, f"{name}: {labels}"


def test_release_submit_collect_autograde_grade_by_hand_feedback_and_export_through_the_hub(people, class_server):
    hub, ivan, tina, alice = class_server, people[INSTRUCTOR], people[TA], people[STUDENT]
    right, wrong = _answers()
    with failure_shots(ARTIFACTS, people.values()):
        # Instructor: Formgrader, Manage Assignments: Generate, then Release (to the exchange service).
        ivan.d.get(f"{hub.url}/user/{INSTRUCTOR}/formgrader/manage_assignments")
        ivan.click(f"{_row(ASSIGNMENT)}/td[contains(@class,'assign')]/a", "Generate button")
        _modal(ivan, f"Successfully created the student version of '{ASSIGNMENT}'", "generated")
        ivan.click(f"{_row(ASSIGNMENT)}/td[contains(@class,'release')]/a", "Release button")
        _modal(ivan, f"Successfully released '{ASSIGNMENT}'", "released")
        ivan.until(lambda d: "released" in d.find_element(By.XPATH, f"{_row(ASSIGNMENT)}/td[contains(@class,"
                                                                     "'status')]").text, "not shown as released")

        # Student 1: Assignment List, Fetch, opens the notebook, answers, runs the check cells, writes, saves.
        alice.click(menu("Nbgrader"), "Nbgrader menu")
        alice.click("//div[contains(@class,'lm-Menu-itemLabel') and text()='Assignment List']", "Assignment List")
        alice.sees(ASSIGNMENT, "#released_assignments_list")
        alice.shot("assignment-list-released")
        alice.click(f"{_listed('released')}//button[text()='Fetch']", "Fetch button")
        alice.click(f"{_listed('fetched')}//a[contains(., '{ASSIGNMENT}')]", "fetched assignment")
        alice.click(f"//div[@id='fetched_assignments_list']//a[text()='{NOTEBOOK}']", "notebook link")
        alice.sees("| Idle", "#jp-main-statusbar")
        nb = Notebook(alice)
        nb.run(SETUP)
        for cell, check, answer, name in ((RIGHT, RIGHT_CHECK, right, "ones_dtype"),
                                          (WRONG, WRONG_CHECK, wrong, "seed_function")):
            nb.type(cell, answer)
            nb.run(cell)
            nb.run(check)
            alice.until(lambda d, check=check: "form OK" in nb.output(check), f"no form message for {name}")
            assert nb.output(check).startswith(f"✓ `{name}`"), nb.output(check)
        nb.write_markdown(WRITTEN, WRITTEN_ANSWER)
        nb.save()
        alice.shot("answered-and-saved")

        # Student 1: Submit from the Assignment List; the submission is listed with its time.
        alice.click("//li[contains(@class,'lm-TabBar-tab')][.//div[text()='Assignments']]", "Assignments tab")
        alice.click(f"{_listed('fetched')}//button[text()='Submit']", "Submit button")
        alice.sees("UTC", f"#nbgrader-{COURSE}-{ASSIGNMENT}-submissions")
        alice.shot("submitted")
        [received] = _submissions(hub, STUDENT)
        assert received["timestamp"] in alice.text(f"#nbgrader-{COURSE}-{ASSIGNMENT}-submissions"), \
            f"the list does not show the time the exchange received it ({received['timestamp']})"

        # Instructor: Collect with the Formgrader's button; one submission.
        ivan.d.refresh()
        ivan.click(f"{_row(ASSIGNMENT)}/td[contains(@class,'collect')]/a", "Collect button")
        _modal(ivan, f"Successfully collected submissions of '{ASSIGNMENT}'", "collected")
        timestamp = hub.course_path() / "submitted" / STUDENT / ASSIGNMENT / "timestamp.txt"
        assert timestamp.read_text().strip() == received["timestamp"], "collect wrote another time than receipt's"

        # TA (not root): Autograde through the grading service; 1 of 6, the written answer to grade.
        tina.d.get(f"{hub.url}/user/{TA}/formgrader/manage_submissions/{ASSIGNMENT}")
        tina.sees("needs autograding", "#main-table")
        said = autograde_first_submission(tina)
        assert "graded in the sandbox by the grading service at" in said, said
        tina.shot("autograded")
        tina.click("//div[contains(@class,'modal-footer')]//button", "OK button")
        tina.sees("needs manual grading", "#main-table")
        assert "1 / 6" in tina.text("#main-table")

        # TA: Manual Grading: 1 of 2 points and a comment on the written answer.
        grade_by_hand(tina, ASSIGNMENT, NOTEBOOK, "ex1_lookup", WRITTEN_ANSWER, "1", COMMENT)
        tina.shot("graded-by-hand")

        # TA: 2 / 6; Generate Feedback, Release Feedback (to the exchange, attached to student 1's submission).
        tina.d.get(f"{hub.url}/user/{TA}/formgrader/manage_submissions/{ASSIGNMENT}")
        tina.sees("graded", "#main-table")
        assert "2 / 6" in tina.text("#main-table") and "needs manual grading" not in tina.text("#main-table")
        tina.d.get(f"{hub.url}/user/{TA}/formgrader/manage_assignments")
        for button, said in (("generate-feedback", "Successfully generated feedback"),
                             ("release-feedback", "Successfully released feedback")):
            tina.click(f"{_row(ASSIGNMENT)}/td[contains(@class,'{button}')]/a", f"{button} button")
            _modal(tina, said, button)

        # Student 1: Fetch Feedback; reads each question's score and message.
        alice.click(f"{_listed('submitted')}//button[text()='Fetch Feedback']", "Fetch Feedback")
        alice.click(f"{_listed('submitted')}//a[contains(., 'view feedback')]", "view feedback")
        open_in_lab_viewer(alice, f"{NOTEBOOK}.html")
        alice.sees(f"{NOTEBOOK} (Score: 2.0 / 6.0)")
        for grade_id, (points, message) in FEEDBACK.items():
            shown = alice.d.find_element(By.XPATH, f"//div[contains(@class,'cell')][.//a[@name='{grade_id}']]").text
            assert points in shown and message in shown, f"feedback on {grade_id}:\n{shown}"
        alice.d.switch_to.default_content()
        alice.shot("feedback")

    # Instructor's Unix user: nbgrader export, student 1's score in the CSV.
    export = hub.login(INSTRUCTOR).run("nbgrader", "export", "--to", "grades-hub-test.csv")
    assert export.returncode == 0, export.stderr[-3000:]
    rows = list(csv.DictReader(io.StringIO((hub.course_path() / "grades-hub-test.csv").read_text())))
    [row] = [r for r in rows if r["assignment"] == ASSIGNMENT and r["student_id"] == STUDENT]
    assert float(row["score"]) == 2.0 and float(row["max_score"]) == 6.0, row


@pytest.fixture()
def student_1_before(class_server: Hub) -> dict:
    """What student 1 has in the exchange, the course folder and the gradebook (the workflow above made it; else
    an honest submission from the command line, so each attack below has something to leave untouched)."""
    if not _submissions(class_server, STUDENT):
        alice = class_server.login(STUDENT)
        steps = [("submit", ASSIGNMENT)]
        if not (Path(class_server.people_env(STUDENT, alice.token)[1]) / ASSIGNMENT).exists():
            steps.insert(0, ("fetch_assignment", ASSIGNMENT))
        for step in steps:
            done = alice.run("nbgrader", *step, "--course", COURSE)
            assert done.returncode == 0, done.stderr[-2000:]
    return _student_1(class_server)


def _student_1(hub: Hub) -> dict:
    collected = hub.course_path() / "submitted" / STUDENT / ASSIGNMENT
    return {"exchange": _submissions(hub, STUDENT), "score": _score(hub, STUDENT),
            "collected": {p.name: p.read_bytes() for p in sorted(collected.glob("*")) if p.is_file()}}


def test_student_2_cannot_open_student_1_s_server(people, class_server):
    bob = people[OTHER]
    refused = f"403 : You do not have permission to access Server at /user/{STUDENT}/"
    with failure_shots(ARTIFACTS, people.values()):
        for path, said in (("lab", refused), ("api/contents", '"message": "Forbidden"')):
            bob.d.get(f"{class_server.url}/user/{STUDENT}/{path}")
            bob.sees(said)
            assert not bob.d.find_elements(By.ID, "jp-main-statusbar"), f"{OTHER} opened {STUDENT}'s JupyterLab"
        bob.shot("refused-other-server")
        bob.d.get(f"{class_server.url}/user/{OTHER}/api/contents")
        assert '"type": "directory"' in bob.text() or '"type":"directory"' in bob.text(), "his own server refused"


def test_student_2_s_forged_student_id_in_the_lab_is_recorded_as_student_2(class_server, student_1_before):
    bob = class_server.login(OTHER)
    bob.start_server()
    ids = {"course_id": COURSE, "assignment_id": ASSIGNMENT}
    status, _ = bob.server("/assignments/fetch", "POST", ids)
    assert status == 200
    own_before = len(_submissions(class_server, OTHER))
    status, answer = bob.server("/assignments/submit", "POST", ids | {"student_id": STUDENT, "student": STUDENT})
    assert status == 200, answer
    mine = _submissions(class_server, OTHER)
    assert len(mine) == own_before + 1, f"the lab's submit did not reach the exchange: {json.dumps(answer)[:500]}"
    assert _student_1(class_server) == student_1_before, f"{STUDENT}'s submission or grade changed"


def test_student_2_cannot_submit_as_student_1_on_the_command_line(class_server, student_1_before):
    bob = class_server.login(OTHER)
    if not (Path(bob.hub.people_env(OTHER, bob.token)[1]) / ASSIGNMENT).exists():
        assert bob.run("nbgrader", "fetch_assignment", ASSIGNMENT, "--course", COURSE).returncode == 0
    for forged in (f"--student={STUDENT}", f"--CourseDirectory.student_id={STUDENT}"):
        done = bob.run("nbgrader", "submit", ASSIGNMENT, "--course", COURSE, forged)
        assert done.returncode != 0, f"{forged}: {done.stdout[-500:]}{done.stderr[-500:]}"
        assert "the exchange takes who you are from your JupyterHub login" in done.stderr, done.stderr[-2000:]
        assert "Traceback" not in done.stderr, done.stderr[-2000:]
    assert _student_1(class_server) == student_1_before, f"{STUDENT}'s submission or grade changed"
    honest = bob.run("nbgrader", "submit", ASSIGNMENT, "--course", COURSE)
    assert honest.returncode == 0, honest.stderr[-2000:]
    assert _submissions(class_server, OTHER), f"{OTHER}'s own submission is not in the exchange"
