"""`d2lgrade grade` keeps nbgrader's course working: gradebook, submitted copies, feedback, export."""

from __future__ import annotations

import csv
import subprocess
import sys
from pathlib import Path

import pytest
from nbgrader.api import Gradebook
from nbgrader.apps import NbGraderAPI
from nbgrader.coursedir import CourseDirectory

from d2lgrade.authoring.samples import samples_dir
from d2lgrade.batch.intake import Submission, find_submissions
from d2lgrade.batch.run import grade_submissions
from d2lgrade.course.layout import Course
from tests.conftest import copy_course

ASSIGNMENT = "s02_1"
NBGRADER = str(Path(sys.executable).parent / "nbgrader")


@pytest.fixture(scope="module")
def graded_course(course, bundles, tmp_path_factory):
    """A copy of the course with the 2.1 samples (and a corrupt file) graded into its gradebook, twice."""
    root = tmp_path_factory.mktemp("course")
    mp = pytest.MonkeyPatch()
    mp.delenv("D2LGRADE_DB_URL", raising=False)
    tmp_course = copy_course(bundles, ASSIGNMENT, root)
    corrupt = root / "corrupt.ipynb"
    corrupt.write_bytes(b'{"cells": [')
    renamed = root / "renamed.txt"
    renamed.write_bytes((samples_dir(course, ASSIGNMENT) / "complete.ipynb").read_bytes())
    subs = [Submission(p.stem, p) for p in sorted(samples_dir(course, ASSIGNMENT).glob("*.ipynb"))]
    subs += [Submission("corrupt", corrupt), Submission("renamed", renamed)]
    results = {}
    for _ in range(2):  # grading again must update, not duplicate
        results = {r.student: r for r in grade_submissions(tmp_course, ASSIGNMENT, subs, root / "results",
                                                           log=lambda _: None)}
    yield tmp_course, results, subs
    mp.undo()


@pytest.mark.slow
def test_gradebook_holds_one_submission_per_student_with_the_autograded_scores(graded_course):
    tmp_course, results, subs = graded_course
    with Gradebook(tmp_course.db_url) as gb:
        submissions = gb.assignment_submissions(ASSIGNMENT)
        assert sorted(s.student.id for s in submissions) == sorted(s.student for s in subs)
        for sub in subs:
            result = results[sub.student]
            for q in result.autograded:
                grade = gb.find_grade(q.id, "data_manipulation", ASSIGNMENT, sub.student)
                assert grade.auto_score == q.score
                assert not grade.needs_manual_grade
            assert gb.find_submission(ASSIGNMENT, sub.student).score == result.score


@pytest.mark.slow
def test_submissions_are_archived_byte_for_byte(graded_course):
    tmp_course, _, subs = graded_course
    for sub in subs:
        kept = tmp_course.root / "submitted" / sub.student / ASSIGNMENT / "data_manipulation.ipynb"
        assert kept.read_bytes() == sub.path.read_bytes()


@pytest.mark.slow
def test_results_json_per_submission(graded_course):
    tmp_course, results, subs = graded_course
    for sub in subs:
        assert (tmp_course.root / "results" / ASSIGNMENT / f"{sub.student}.json").is_file()
    assert "not valid notebook JSON" in results["corrupt"].problem
    assert results["renamed"].score == 7 and "does not end in .ipynb" in " ".join(results["renamed"].notes)


@pytest.mark.slow
def test_nbgrader_export_reads_our_scores(graded_course):
    tmp_course, results, _ = graded_course
    out = tmp_course.root / "grades.csv"
    proc = subprocess.run([NBGRADER, "export", "--to", str(out)], cwd=tmp_course.root, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr[-2000:]
    rows = {r["student_id"]: r for r in csv.DictReader(out.open())}
    for student, result in results.items():
        assert float(rows[student]["raw_score"]) == result.score


@pytest.mark.slow
def test_nbgrader_feedback_shows_verdicts_and_no_hidden_test(graded_course):
    tmp_course, _, _ = graded_course
    proc = subprocess.run([NBGRADER, "generate_feedback", ASSIGNMENT], cwd=tmp_course.root, capture_output=True,
                          text=True)
    assert proc.returncode == 0, proc.stderr[-2000:]
    html = (tmp_course.root / "feedback" / "partial" / ASSIGNMENT / "data_manipulation.html").read_text()
    assert "check.judge" not in html and "HIDDEN TESTS" not in html
    assert "/static/jupyter_server_mathjax/MathJax.js" in html and "cdnjs" not in html, "MathJax must be served offline"
    assert "`c` should be an array of shape (3, 2, 4)" in html.replace("&#96;", "`")


def test_folder_intake_never_renames_a_clash_and_lists_every_file_not_graded(tmp_path):
    for name in ("alice.ipynb", "alice.txt", "bob.ipynb", ".DS_Store"):
        (tmp_path / name).write_text("{}")
    (tmp_path / "carol").mkdir()
    (tmp_path / "carol" / "data_manipulation.ipynb").write_text("{}")
    intake = find_submissions(tmp_path)
    assert sorted(s.student for s in intake.submissions) == ["bob", "carol"]
    refused = {r.name.rsplit("/", 1)[-1]: r.reason for r in intake.refused}
    assert set(refused) == {"alice.ipynb", "alice.txt", ".DS_Store"}
    assert "clashes with alice.txt" in refused["alice.ipynb"] and "dot" in refused[".DS_Store"]


@pytest.mark.slow
def test_the_formgrader_sees_every_graded_submission_as_autograded(graded_course):
    """nbgrader counts a submission autograded when the gradebook's timestamp is the submitted one."""
    tmp_course, results, _ = graded_course
    coursedir = CourseDirectory(root=str(tmp_course.root))
    coursedir.db_url = tmp_course.db_url
    api = NbGraderAPI(coursedir=coursedir)
    notebooks = {s for s in results if (tmp_course.root / "autograded" / s).is_dir()}
    assert notebooks and api.get_autograded_students(ASSIGNMENT) == notebooks
    assert all(api.get_submission(ASSIGNMENT, s)["autograded"] for s in notebooks)


@pytest.mark.slow
def test_a_late_submission_gets_nbgrader_s_late_penalty(course, bundles, tmp_path, monkeypatch):
    monkeypatch.delenv("D2LGRADE_DB_URL", raising=False)
    late = copy_course(bundles, ASSIGNMENT, tmp_path)
    with (tmp_path / "nbgrader_config.py").open("a") as config:
        config.write(f'\nc.D2LGrade.due_dates = {{"{ASSIGNMENT}": "2020-01-01 00:00:00 UTC"}}\n'
                     'c.LateSubmissionPlugin.penalty_method = "zero"\n')
    late = Course(tmp_path)
    sample = samples_dir(course, ASSIGNMENT) / "complete.ipynb"
    [result] = grade_submissions(late, ASSIGNMENT, [Submission("tardy", sample)], tmp_path / "results",
                                 log=lambda _: None)
    out = tmp_path / "grades.csv"
    proc = subprocess.run([NBGRADER, "export", "--to", str(out)], cwd=tmp_path, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr[-2000:]
    [row] = [r for r in csv.DictReader(out.open()) if r["student_id"] == "tardy"]
    assert float(row["raw_score"]) == result.score == 7
    assert float(row["late_submission_penalty"]) == 7 and float(row["score"]) == 0
