"""Malformed submissions: a zero on every question, with a message naming the file, the fault and the remedy.

None of these reach a kernel: intake steps run first.
"""

from __future__ import annotations

import json

import pytest

from d2lgrade.grading.steps import Assignment, grade_bytes


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
