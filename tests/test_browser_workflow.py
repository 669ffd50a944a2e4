"""The whole course workflow in real Chromium: release, fetch, answer, check, validate, submit, collect, autograde,
grade by hand, feedback.

Two JupyterLab servers run as ``make lab-student`` and ``make lab-instructor`` start them (each role's
``JUPYTER_CONFIG_DIR``), each in its own folder and home, sharing only nbgrader's exchange; two browsers,
one per person. The instructor releases s02_7 (nbgrader's commands); the student fetches it from the
Assignment List, types one right and one wrong answer and a written answer into the notebook, runs the
check cells and reads their messages, validates and submits from the Assignment List; the instructor
collects (``nbgrader collect``), autogrades with the Formgrader's Autograde button (d2lgrade's sandbox,
``d2lgrade/nbgrader/autograde.py``), grades the written answer by hand in the Formgrader, generates and
releases feedback with its buttons; the student fetches the feedback and reads each question's score and
message in it. s02_7 rather than s02_1: s02_1 has no written answer to grade by hand. The right answer
comes from ``solutions/s02_7.py``.

Every assertion is on text a person sees, with explicit waits. Screenshots of each step go to
``test-artifacts/browser/`` (printed; git-ignored), with both servers' logs. Needs Debian's ``chromium``
and ``chromium-driver`` (``make env`` installs them): without them the test fails and says so.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as ec

from d2lgrade.judging.bundle import compile_bundle
from d2lgrade.nbgrader.release import make_exchange
from tests.browser import (
    Browser,
    Notebook,
    autograde_first_submission,
    failure_shots,
    grade_by_hand,
    open_in_lab_viewer,
)
from tests.conftest import COURSE, copy_course
from tests.jupyter_servers import BIN, jupyter_server, require_chromium, run_ok

ROOT = Path(__file__).resolve().parents[1]
ARTIFACTS = ROOT / "test-artifacts" / "browser"
TOKEN = "d2lgrade-browser-test"
ASSIGNMENT, NOTEBOOK = "s02_7", "documentation"
# Cells of release/s02_7/documentation.ipynb, by position: the set-up, two answers with their check cells,
# a check cell left unanswered, the written answer.
SETUP, RIGHT, RIGHT_CHECK, UNANSWERED_CHECK, WRONG, WRONG_CHECK, WRITTEN = 1, 8, 9, 6, 14, 15, 17
WRITTEN_ANSWER = "np.linalg.norm computes the norm of an array; its parameters are x, ord, axis and keepdims."
COMMENT = "Right function and parameters, but the address of its documentation page is missing."


@contextmanager
def _lab(role: str, folder: Path, home: Path, env: dict[str, str]) -> Iterator[str]:
    """``jupyter lab`` with the role's set-up, serving ``folder``; its URL. Lab settings and workspaces stay in
    ``home`` (JupyterLab would write them into ``jupyter/<role>/`` of this repository otherwise)."""
    settings = home / "lab-settings"
    (settings / "@jupyterlab" / "apputils-extension").mkdir(parents=True)
    # no "Would you like to get notified about official Jupyter news?" over the page, no update check
    (settings / "@jupyterlab" / "apputils-extension" / "notification.jupyterlab-settings").write_text(
        '{"fetchNews": "false", "checkForUpdates": false}')
    with jupyter_server("lab", role, folder, home, env, ARTIFACTS / f"{role}-server.log", TOKEN,
                        f"--LabApp.user_settings_dir={settings}",
                        f"--LabApp.workspaces_dir={home / 'lab-workspaces'}") as url:
        yield url


def _answers() -> tuple[str, str]:
    """One right answer and one wrong one, from the reference solutions."""
    from solutions.s02_7 import SEED_OPTIONS, ones_default_dtype, seed_location

    wrong = next(option for option in SEED_OPTIONS if option != seed_location())
    return f'ones_dtype = "{ones_default_dtype()}"', f'seed_function = "{wrong}"'


@pytest.fixture()
def chromium() -> None:
    require_chromium()


@pytest.mark.slow
@pytest.mark.long
def test_release_answer_submit_autograde_grade_by_hand_and_feedback_in_chromium(chromium, tmp_path, capsys,
                                                                               monkeypatch):
    shutil.rmtree(ARTIFACTS, ignore_errors=True)
    ARTIFACTS.mkdir(parents=True)
    with capsys.disabled():
        print(f"\nbrowser screenshots and server logs: {ARTIFACTS}")
    count = iter(range(1, 100))

    # Two people's folders and homes, one shared exchange (as a machine's /srv/nbgrader/exchange would be).
    exchange, student_dir = tmp_path / "exchange", tmp_path / "student"
    for folder in ("course", "student", "student-home", "instructor-home"):
        (tmp_path / folder).mkdir()
    monkeypatch.delenv("D2LGRADE_DB_URL", raising=False)
    monkeypatch.setenv("D2LGRADE_EXCHANGE", str(exchange))
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}"}
    course = copy_course({ASSIGNMENT: compile_bundle(COURSE.spec(ASSIGNMENT))}, ASSIGNMENT, tmp_path / "course")
    make_exchange(course)
    right, wrong = _answers()
    nbgrader = str(BIN / "nbgrader")
    instructor_env = {**env, "HOME": str(tmp_path / "instructor-home")}

    # Instructor: the assignment into the gradebook, then released to the exchange.
    run_ok([nbgrader, "generate_assignment", ASSIGNMENT, "--force"], course.root, instructor_env)
    run_ok([nbgrader, "release_assignment", ASSIGNMENT], course.root, instructor_env)

    browsers: list[Browser] = []
    try:
        with _lab("student", student_dir, tmp_path / "student-home", env) as student_url, \
                _lab("instructor", course.root, tmp_path / "instructor-home", env) as instructor_url, \
                failure_shots(ARTIFACTS, browsers):
            student = Browser("student", lambda: next(count), ARTIFACTS)
            browsers.append(student)

            # Student: the Assignment List lists the released assignment; Fetch.
            student.d.get(f"{student_url}/lab?token={TOKEN}")
            student.click("//div[contains(@class,'lm-MenuBar-itemLabel') and text()='Nbgrader']", "Nbgrader menu")
            student.click("//div[contains(@class,'lm-Menu-itemLabel') and text()='Assignment List']",
                          "Assignment List menu item")
            student.sees(ASSIGNMENT, "#released_assignments_list")
            student.shot("assignment-list-released")
            student.click("//div[@id='released_assignments_list']//button[text()='Fetch']", "Fetch button")
            student.sees(ASSIGNMENT, "#fetched_assignments_list")
            student.shot("fetched")

            # Student: opens the notebook from the list; the kernel starts.
            student.click(f"//div[@id='fetched_assignments_list']//a[contains(., '{ASSIGNMENT}')]",
                          "fetched assignment")
            student.click(f"//div[@id='fetched_assignments_list']//a[text()='{NOTEBOOK}']", "notebook link")
            student.sees("| Idle", "#jp-main-statusbar")
            nb = Notebook(student)
            nb.run(SETUP)

            # Student: types a right and a wrong answer, runs each with its check cell: the form is OK.
            nb.type(RIGHT, right)
            nb.run(RIGHT)
            nb.run(RIGHT_CHECK)
            student.until(lambda d: "form OK" in nb.output(RIGHT_CHECK), "no form message for the right answer")
            assert nb.output(RIGHT_CHECK).startswith("✓ `ones_dtype`"), nb.output(RIGHT_CHECK)
            nb.type(WRONG, wrong)
            nb.run(WRONG)
            nb.run(WRONG_CHECK)
            student.until(lambda d: "form OK" in nb.output(WRONG_CHECK), "no form message for the wrong answer")
            assert nb.output(WRONG_CHECK).startswith("✓ `seed_function`"), nb.output(WRONG_CHECK)
            student.shot("answers-checked")
            # A check cell of a question not answered says what is wrong.
            nb.run(UNANSWERED_CHECK)
            student.until(lambda d: "not defined" in nb.output(UNANSWERED_CHECK), "no message for a missing answer")
            assert "`random_names` should be a set of options" in nb.output(UNANSWERED_CHECK)
            student.shot("unanswered-check")

            # Student: the written answer, typed into its Markdown cell, rendered; then saved.
            nb.write_markdown(WRITTEN, WRITTEN_ANSWER)
            nb.save()
            student.shot("written-answer-saved")

            # Student: Validate from the Assignment List: the questions left unanswered fail, the others not.
            student.click("//li[contains(@class,'lm-TabBar-tab')][.//div[text()='Assignments']]", "Assignments tab")
            validate = "//div[@id='fetched_assignments_list']//button[text()='Validate']"
            if not student.d.find_element(By.XPATH, validate).is_displayed():
                student.click(f"//div[@id='fetched_assignments_list']//a[contains(., '{ASSIGNMENT}')]",
                              "fetched assignment")
            student.click(validate, "Validate button")
            student.sees("Validation Results", ".jp-Dialog")
            report = student.text(".jp-Dialog")
            student.shot("validated")
            assert "The following cell failed" in report
            assert "`random_names` should be" in report and "`normal_params` should be" in report, report
            assert "ones_dtype" not in report and "seed_function" not in report, report
            student.click("//div[contains(@class,'jp-Dialog')]//button[contains(@class,'jp-mod-accept')]",
                          "Ok button of the validation dialog")
            student.until(ec.invisibility_of_element_located((By.CSS_SELECTOR, ".jp-Dialog")),
                          "the validation dialog does not close")

            # Student: Submit; the submission is listed with its time.
            student.click("//div[@id='fetched_assignments_list']//button[text()='Submit']", "Submit button")
            student.sees("UTC", "#submitted_assignments_list")
            student.shot("submitted")

            # Instructor: collects, then opens the Formgrader's Manage Submissions page.
            run_ok([nbgrader, "collect", ASSIGNMENT], course.root, instructor_env)
            instructor = Browser("instructor", lambda: next(count), ARTIFACTS)
            browsers.append(instructor)
            instructor.d.get(f"{instructor_url}/formgrader?token={TOKEN}")
            instructor.sees(ASSIGNMENT, "#main-table")
            instructor.click("//td[contains(@class,'num-submissions')]/a[text()='1']", "number of submissions")
            instructor.sees("needs autograding", "#main-table")
            instructor.shot("collected")

            # Instructor: Autograde (d2lgrade's sandbox): 1 of the 4 autograded points, the written answer to do.
            assert "graded in the sandbox" in autograde_first_submission(instructor)
            instructor.shot("autograded")
            instructor.click("//div[contains(@class,'modal-footer')]//button", "OK button")
            instructor.sees("needs manual grading", "#main-table")
            assert "1 / 6" in instructor.text("#main-table")

            # Instructor: Manual Grading: reads the written answer, gives 1 of 2 points and a comment.
            grade_by_hand(instructor, ASSIGNMENT, NOTEBOOK, "ex1_lookup", WRITTEN_ANSWER, "1", COMMENT)
            instructor.shot("graded-by-hand")

            # Instructor: the submission is graded, 2 / 6; Generate Feedback, Release Feedback.
            instructor.d.get(f"{instructor_url}/formgrader")  # the grading page links to Manual Grading only
            instructor.click("//td[contains(@class,'num-submissions')]/a[text()='1']", "number of submissions")
            instructor.sees("graded", "#main-table")
            assert "needs manual grading" not in instructor.text("#main-table")
            assert "2 / 6" in instructor.text("#main-table")
            for button, said in (("generate-feedback", "Successfully generated feedback"),
                                 ("release-feedback", "Successfully released feedback")):
                instructor.click(f"//td[contains(@class,'{button}')]/a", f"{button} button")
                instructor.sees(said, ".modal-body")
                instructor.shot(button)
                instructor.click("//div[contains(@class,'modal-footer')]//button", "OK button")
                instructor.until(ec.invisibility_of_element_located((By.CSS_SELECTOR, ".modal-dialog")),
                                 "the dialog does not close")

            # Student: Fetch Feedback, view it, open the page in JupyterLab.
            student.click("//div[@id='submitted_assignments_list']//button[text()='Fetch Feedback']",
                          "Fetch Feedback button")
            student.click("//div[@id='submitted_assignments_list']//a[contains(., 'view feedback')]",
                          "view feedback link")
            frame = open_in_lab_viewer(student, f"{NOTEBOOK}.html")
            student.sees(f"{NOTEBOOK} (Score: 2.0 / 6.0)")
            student.d.switch_to.default_content()
            student.shot("feedback")
            student.d.switch_to.frame(frame)

            # Each question's score and message, in the feedback the student reads.
            expected = {
                "ex1_random_names": ("Score: 0.0 / 1.0", "0 / 1 points. `random_names` should be a set of options"),
                "ex1_ones_dtype": ("Score: 1.0 / 1.0", "1 / 1 points. Correct."),
                "ex1_normal_params": ("Score: 0.0 / 1.0", "0 / 1 points. `normal_params` should be"),
                "ex1_seed_function": ("Score: 0.0 / 1.0", "0 / 1 points. `seed_function`: not right"),
                "ex1_lookup": ("Score: 1.0 / 2.0", COMMENT),
            }
            for grade_id, (points, message) in expected.items():
                shown = student.d.find_element(
                    By.XPATH, f"//div[contains(@class,'cell')][.//a[@name='{grade_id}']]").text
                assert points in shown and message in shown, f"feedback on {grade_id}:\n{shown}"
            assert WRITTEN_ANSWER in student.text()
            student.d.execute_script("arguments[0].scrollIntoView({block: 'center'})",
                                     student.d.find_element(By.XPATH, "//a[@name='ex1_seed_function']"))
            student.d.switch_to.default_content()
            student.shot("feedback-questions")
    finally:
        for browser in browsers:
            browser.quit()
