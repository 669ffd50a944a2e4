"""Malformed submissions: a zero on every question, with a message naming the file, the fault and the remedy;
and what a folder of submissions holds, in nbgrader's ``submitted/`` layout: each student's notebook, nbgrader's own
files beside it (not submissions), students who did not submit (not failures), and refusals under distinct names.

None of these reach a kernel: intake steps run first.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from d2lgrade.batch.intake import Refusal, find_submissions
from d2lgrade.batch.run import BatchReport, BatchSummary, run_batch
from d2lgrade.cli import EXIT_INTERNAL_ERROR, EXIT_NOT_ALL_GRADED, grade_exit_status
from d2lgrade.grading.steps import Assignment, grade_bytes
from d2lgrade.judging.results import SubmissionResult
from tests.conftest import copy_course


@pytest.fixture(scope="module")
def s02_1(bundles):
    return Assignment.from_bundle(bundles["s02_1"])


CASES = {
    "empty-file": (b"", "is empty"),
    "whitespace-only": (b"  \n", "is empty"),
    "invalid-json": (b'{"cells": [', "not valid notebook JSON"),
    "not-utf8": ("café".encode("latin-1") + b"\xff\xfe", "not UTF-8"),
    "json-but-not-a-notebook": (json.dumps([1, 2, 3]).encode(), "not a version-4 Jupyter notebook"),
    "nbformat-3": (json.dumps({"nbformat": 3, "nbformat_minor": 0, "worksheets": [], "metadata": {}}).encode(),
                   "nbformat is 3"),
    "nbformat-4-missing-fields": (json.dumps({"nbformat": 4, "nbformat_minor": 5}).encode(), "not a valid notebook"),
}


@pytest.mark.parametrize("name", list(CASES))
def test_malformed_submission_gets_zero_and_a_reason(s02_1, name):
    raw, expected = CASES[name]
    result = grade_bytes(s02_1, raw, "student", f"{name}.ipynb").result
    assert result.score == 0
    assert result.problem and expected in result.problem and f"{name}.ipynb" in result.problem
    assert all(q.output.startswith("Not graded: ") for q in result.autograded)
    assert len(result.autograded) == len([q for q in s02_1.bundle.questions if q.autograded])


def test_huge_notebook_is_refused_before_parsing(s02_1):
    raw = b'{"pad": "' + b"x" * (21 * 2**20) + b'"}'
    result = grade_bytes(s02_1, raw, "student", "huge.ipynb").result
    assert result.score == 0 and "limit" in result.problem


def test_notebook_of_another_assignment_is_refused(course, s02_1):
    other = json.loads(course.release_notebook("s02_1").read_text())
    other["metadata"]["d2l"]["assignment"] = "s17_3"
    result = grade_bytes(s02_1, json.dumps(other).encode(), "student", "wrong.ipynb").result
    assert result.score == 0 and "assignment 's17_3'" in result.problem


def test_foreign_notebook_without_metadata_is_refused(s02_1):
    foreign = {"nbformat": 4, "nbformat_minor": 5, "metadata": {},
               "cells": [{"cell_type": "code", "id": "x", "metadata": {}, "source": "1 + 1", "outputs": [],
                          "execution_count": None}]}
    result = grade_bytes(s02_1, json.dumps(foreign).encode(), "student", "foreign.ipynb").result
    assert result.score == 0 and "none of the cells" in result.problem


# --- a folder of submissions in nbgrader's layout (what `nbgrader collect` leaves) ---------------------------------

NOTEBOOK = "data_manipulation.ipynb"
NOT_A_NOTEBOOK = b'{"nbformat": 4}'


def _collected(root: Path, student: str, assignment: str = "s02_1", notebooks: tuple[str, ...] = (NOTEBOOK,),
               secret: str | None = "5e3ca1e7", extra: tuple[str, ...] = ("data.csv", ".DS_Store")) -> Path:
    """``submitted/<student>/<assignment>/`` as nbgrader's collect leaves it: notebook(s), timestamp, secret, data."""
    folder = root / student / assignment
    folder.mkdir(parents=True)
    for name in notebooks:
        (folder / name).write_bytes(NOT_A_NOTEBOOK)
    (folder / "timestamp.txt").write_text("2026-12-01 10:00:00.000000 UTC")
    if secret is not None:
        (folder / "submission_secret.txt").write_text(secret)
    for name in extra:
        (folder / name).write_text("x")
    return folder


def test_nbgrader_s_own_files_beside_a_submission_are_neither_graded_nor_refused(tmp_path):
    for student in ("ada", "bob"):
        _collected(tmp_path, student, secret=f"secret-of-{student}")
    intake = find_submissions(tmp_path, assignment="s02_1")
    assert [(s.student, s.path.name, s.secret) for s in intake.submissions] == [
        ("ada", NOTEBOOK, "secret-of-ada"), ("bob", NOTEBOOK, "secret-of-bob")]
    assert intake.submissions[0].submitted_at == "2026-12-01 10:00:00.000000 UTC"
    assert intake.refused == [] and intake.did_not_submit == []


def test_a_linked_or_fifo_secret_is_not_read(tmp_path):
    ada = _collected(tmp_path, "ada", secret="ada's")
    (_collected(tmp_path, "mallory", secret=None) / "submission_secret.txt").symlink_to(ada / "submission_secret.txt")
    os.mkfifo(_collected(tmp_path, "eve", secret=None) / "submission_secret.txt")
    secrets = {s.student: s.secret for s in find_submissions(tmp_path, assignment="s02_1").submissions}
    assert secrets == {"ada": "ada's", "eve": None, "mallory": None}


def test_students_with_other_assignments_only_did_not_submit_and_are_not_failures(tmp_path):
    _collected(tmp_path, "ada")
    _collected(tmp_path, "carol", assignment="s02_2")
    (tmp_path / "dan").mkdir()  # collected nothing yet
    roster = {"ada", "carol", "dan", "erin"}
    intake = find_submissions(tmp_path, roster, assignment="s02_1")
    assert [s.student for s in intake.submissions] == ["ada"]
    assert intake.did_not_submit == ["carol", "dan", "erin"] and intake.refused == []
    assert find_submissions(tmp_path, assignment="s02_1").did_not_submit == ["carol", "dan"]  # without a roster


def test_extra_notebooks_of_two_students_are_refused_under_distinct_names(tmp_path):
    for student in ("ada", "bob"):
        _collected(tmp_path, student, notebooks=(NOTEBOOK, "scratch.ipynb"))
    _collected(tmp_path, "cy", notebooks=())
    intake = find_submissions(tmp_path, assignment="s02_1")
    assert [s.student for s in intake.submissions] == ["ada", "bob"]
    assert sorted(r.name for r in intake.refused) == ["ada/s02_1/scratch.ipynb", "bob/s02_1/scratch.ipynb", "cy/s02_1/"]
    [empty] = [r for r in intake.refused if r.name == "cy/s02_1/"]
    assert empty.student == "cy" and "no notebook" in empty.reason


def test_a_collected_folder_is_summed_up_in_one_vocabulary_and_refusals_kept_apart(course, bundles, tmp_path,
                                                                                     monkeypatch):
    """Intake only (every notebook here is refused before a kernel runs): one summary line, nbgrader's files
    neither listed nor kept, each refused file kept under its own name, non-submitters named apart."""
    monkeypatch.delenv("D2LGRADE_DB_URL", raising=False)
    root = tmp_path / "course"
    root.mkdir()
    copy = copy_course(bundles, "s02_1", root)
    submitted = root / "submitted"
    for student in ("ada", "bob"):
        _collected(submitted, student, notebooks=(NOTEBOOK, "scratch.ipynb"))
    _collected(submitted, "carol", assignment="s02_2")
    said: list[str] = []
    report = run_batch(copy, "s02_1", find_submissions(submitted, assignment="s02_1"), root / "results", log=said.append)
    assert said[-6:] == [
        "s02_1: 0 graded, 2 not gradable (0 internal errors), 2 refused, 1 did not submit",
        f"  not gradable: ada: {report.results[0].problem}", f"  not gradable: bob: {report.results[1].problem}",
        "  refused: ada/s02_1/scratch.ipynb: only one notebook per submission is graded (data_manipulation.ipynb was "
        "taken)",
        "  refused: bob/s02_1/scratch.ipynb: only one notebook per submission is graded (data_manipulation.ipynb was "
        "taken)",
        "  did not submit: carol"]
    assert not any("secret" in line or "timestamp" in line or "data.csv" in line for line in said)
    assert sorted(p.name for p in (root / "refused" / "s02_1").iterdir()) == ["ada__s02_1__scratch.ipynb",
                                                                              "bob__s02_1__scratch.ipynb"]
    assert sorted(p.stem for p in (root / "results" / "s02_1").glob("*.json")) == ["ada", "bob"]
    assert grade_exit_status(report.summary("s02_1")) == EXIT_NOT_ALL_GRADED


def _report(*problems: str | None, refused: int = 0, internal: int = 0, absent: int = 0) -> BatchSummary:
    results = [SubmissionResult("s02_1", f"s{i}", f"s{i}.ipynb", problem=p) for i, p in enumerate(problems)]
    report = BatchReport(results, refused=[Refusal(f"r{i}", "a reason") for i in range(refused)],
                         internal_errors=["x"] * internal, did_not_submit=["absent"] * absent)
    return report.summary("s02_1")


@pytest.mark.parametrize("summary, status", [
    (_report(None, None, absent=3), 0),
    (_report(None, "is empty"), EXIT_NOT_ALL_GRADED),
    (_report(None, refused=1), EXIT_NOT_ALL_GRADED),
    (_report(None, "internal error", internal=1), EXIT_INTERNAL_ERROR),
], ids=["all-graded-some-did-not-submit", "one-not-gradable", "one-file-refused", "an-internal-error"])
def test_the_exit_status_says_whether_everything_found_was_graded(summary, status):
    assert grade_exit_status(summary) == status
