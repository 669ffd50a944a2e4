"""The class report (``d2lgrade report``): its numbers are a direct count of the results JSON, its page escapes
what submissions wrote, and a generated class graded the normal way renders in Chromium.

The slow test grades the issue's class of 200 from d2lgrade.reports.class_generator (``D2LGRADE_CLASS_SIZE`` to change it) with
``d2lgrade grade --jobs 2`` in a copy of the course, and keeps a screenshot of each page in
``test-artifacts/report/`` (git-ignored).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from d2lgrade.cli import main
from d2lgrade.course.layout import Course
from d2lgrade.judging.bundle import Bundle, Compiled, Wrong
from d2lgrade.judging.contract import ValueContract
from d2lgrade.judging.spec import Question
from d2lgrade.reports.class_generator import write_class
from d2lgrade.reports.class_report import assignment_report, course_report
from d2lgrade.reports.class_report_html import write_assignment_report
from tests.conftest import COURSE, copy_course

ARTIFACTS = Path(__file__).resolve().parents[1] / "test-artifacts" / "report"
ASSIGNMENT = "s02_3"
SIZE = int(os.environ.get("D2LGRADE_CLASS_SIZE", "200"))
CHROMIUM, CHROMEDRIVER = Path("/usr/bin/chromium"), Path("/usr/bin/chromedriver")


def direct_counts(folder: Path) -> dict[str, object]:
    """What the report must say, counted straight from the JSON files, without d2lgrade.reports.class_report."""
    passed: Counter[str] = Counter()
    checked_wrong: Counter[str] = Counter()
    answers: dict[str, Counter[str]] = {}
    scores = []
    files = sorted(p for p in folder.glob("*.json") if not p.name.startswith("."))
    for path in files:
        data = json.loads(path.read_text())
        scores.append(data["score"])
        for t in data["tests"]:
            q = t["name"].split(": ", 1)[1]
            passed[q] += t["status"] == "passed"
            answer = t.get("extra_data", {}).get("answer")
            if t["status"] != "passed" and answer is not None:
                checked_wrong[q] += 1
                answers.setdefault(q, Counter())[answer] += 1
    return {"n": len(files), "scores": sorted(scores), "passed": passed, "checked_wrong": checked_wrong,
            "answers": answers}


def results_json(tests: list[dict[str, object]]) -> str:
    return json.dumps({"score": sum(t["score"] for t in tests), "output": "", "tests": tests})


def test_page_escapes_answers_and_shows_declared_misconceptions(tmp_path):
    """A hostile answer is text on the page, never markup; a declared misconception shows with its hint."""
    course = Course(tmp_path)
    (tmp_path / "nbgrader_config.py").write_text("")
    question = Question("q1", 1, "NUMERIC", 1.0, 0, contract=ValueContract("q1", "int"))
    wrong = Wrong("off_by_one", "Count <from> 0", "q1 = 1", expected={"t": "int", "v": 1})
    bundle = Bundle("s02_3", "2.3", "Linear <b>Algebra</b>", "x", (question,),
                    (Compiled(question, {"t": "int", "v": 0}, (), (wrong,)),))
    course.bundle_path("s02_3").parent.mkdir(parents=True)
    course.bundle_path("s02_3").write_text(bundle.to_json())
    evil = "<script>alert(1)</script>"
    results = tmp_path / "results" / "s02_3"
    results.mkdir(parents=True)
    for student, answer, misconception in (("a", evil, None), ("b", evil, None), ("c", "1", "off_by_one")):
        test = {"name": "Exercise 1: q1", "score": 0.0, "max_score": 1.0, "status": "failed", "output": evil,
                "extra_data": {"answer": answer, **({"misconception": misconception} if misconception else {})}}
        (results / f"{student}.json").write_text(results_json([test]))
    (results / "d.json").write_text(results_json([{"name": "Exercise 1: q1", "score": 1.0, "max_score": 1.0,
                                                   "status": "passed", "output": "Correct."}]))
    report = assignment_report(course, "s02_3", tmp_path / "results")
    q = report.questions[0]
    assert (q.submissions, q.passed, q.check_passed_graded_wrong) == (4, 1, 3)
    assert [(c.label, c.count) for c in q.wrong_answers] == [(evil, 2), ("1", 1)]
    assert [(c.label, c.count, c.hint) for c in q.misconceptions] == [("off_by_one", 1, "Count <from> 0")]
    page = write_assignment_report(report, tmp_path / "out").read_text()
    assert "<script" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "Linear &lt;b&gt;Algebra&lt;/b&gt;" in page and "Count &lt;from&gt; 0" in page
    assert "script-src" not in page and "default-src &#x27;none&#x27;" in page  # no script may run, whatever slips through


def test_report_without_results_says_what_to_run(tmp_path, capsys):
    assert main(["--course", str(COURSE.root), "report", ASSIGNMENT, "--results", str(tmp_path)]) == 2
    assert "grade first" in capsys.readouterr().err


@pytest.fixture(scope="module")
def graded_class(bundles, tmp_path_factory) -> tuple[Course, Path]:
    """A copy of the course with a generated class of s02_3 graded by `d2lgrade grade --jobs 2`."""
    root = tmp_path_factory.mktemp("class")
    course = copy_course(bundles, ASSIGNMENT, root)
    shutil.copytree(COURSE.root / "tests" / "submissions" / ASSIGNMENT, root / "tests" / "submissions" / ASSIGNMENT)
    write_class(course, ASSIGNMENT, root / "class", size=SIZE, seed=1)
    done = subprocess.run([sys.executable, "-m", "d2lgrade.cli", "--course", str(root), "grade", ASSIGNMENT,
                           str(root / "class"), "--jobs", "2"], capture_output=True, text=True, timeout=900)
    # 5: the hostile students' files that are not notebooks are not gradable (4 would be an internal error)
    assert done.returncode == 5, done.stdout[-3000:] + done.stderr[-3000:]
    return course, root / "results"


@pytest.mark.slow
@pytest.mark.long
def test_report_numbers_equal_a_direct_count_and_render_in_chromium(graded_class):
    course, results = graded_class
    assert main(["--course", str(course.root), "report", ASSIGNMENT]) == 0
    assert main(["--course", str(course.root), "report", "--course"]) == 0
    want = direct_counts(results / ASSIGNMENT)
    assert want["n"] == SIZE
    report = assignment_report(course, ASSIGNMENT, results)
    assert sorted(report.distribution.scores) == want["scores"]
    assert report.distribution.not_graded >= 1  # the generator's file that is not a notebook
    for q in report.questions:
        assert q.submissions == SIZE
        assert q.passed == want["passed"][q.info.id], q.info.id
        assert q.check_passed_graded_wrong == want["checked_wrong"][q.info.id], q.info.id
        top = want["answers"].get(q.info.id, Counter())
        assert {c.label: c.count for c in q.wrong_answers} == {a: top[a] for a in (c.label for c in q.wrong_answers)}
        assert all(c.count >= n for c in q.wrong_answers[-1:] for _, n in top.most_common()[len(q.wrong_answers):])
    page = (course.root / "reports" / ASSIGNMENT / "index.html").read_text()
    shown = [tuple(map(int, m)) for m in re.findall(r"<td class=n>(\d+) / (\d+)</td>", page)]
    assert shown == [(want["passed"][q.info.id], SIZE) for q in report.questions]
    rows = course_report(course, results).rows
    assert len(rows) == SIZE and sorted(r.score for r in rows) == want["scores"]
    screenshots(course.root / "reports")


def screenshots(reports: Path) -> None:
    """Open each page in headless Chromium (Debian's driver; Selenium Manager never goes online): every figure
    loads, nothing runs, and a screenshot is kept."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    missing = [str(p) for p in (CHROMIUM, CHROMEDRIVER) if not os.access(p, os.X_OK)]
    if missing:
        pytest.fail(f"{', '.join(missing)} missing: run `make env` (it installs Debian's chromium and chromium-driver)")
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu", "--window-size=1300,2300",
                "--no-first-run", "--disable-background-networking", "--disable-component-update"):
        options.add_argument(arg)
    driver = webdriver.Chrome(service=Service(executable_path=str(CHROMEDRIVER)), options=options)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    try:
        for page in ("s02_3", "course"):
            driver.get((reports / page / "index.html").as_uri())
            widths = driver.execute_script("return [...document.images].map(i => i.complete && i.naturalWidth)")
            assert widths and all(widths), f"{page}: a figure did not load ({widths})"
            assert driver.execute_script("return document.scripts.length") == 0
            driver.save_screenshot(str(ARTIFACTS / f"{page}.png"))
            print(f"screenshot: {ARTIFACTS / f'{page}.png'}")
    finally:
        driver.quit()
