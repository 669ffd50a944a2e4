"""A cluster worker's report is plain JSON text, taken only if it is exactly what an honest worker writes.

The job here is graded by hand (no kernel): the report's schema is what is under test, an honest report
beside forged ones, each forged in one way a compromised worker could try.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import nbformat
import pytest

from d2lgrade.authoring.samples import samples_dir
from d2lgrade.grading import cluster_report
from d2lgrade.grading.cluster_report import ForgedReport, job_from_report, report_text
from d2lgrade.grading.steps import Assignment, Job, parse_notebook
from d2lgrade.judging.results import FAILED, MANUAL, PASSED, QuestionResult, SubmissionResult
from d2lgrade.sandbox.execute import Execution, is_test_cell

ASSIGNMENT = "s02_1"


@pytest.fixture(scope="module")
def honest(course, bundles) -> tuple[Job, bytes]:
    """A job as a worker ends it: verdicts (one wrong with a declared mistake when the bundle has one) and the
    run's outputs in the student's cells."""
    bundle = bundles[ASSIGNMENT]
    assignment = Assignment(bundle, (), kernel_factory=lambda: None)
    raw = (samples_dir(course, ASSIGNMENT) / "complete.ipynb").read_bytes()
    job = Job(assignment, "ada", "ada.ipynb", raw, Path("."))
    parse_notebook(job)
    executed = nbformat.from_dict(copy.deepcopy(job.notebook))
    for cell in executed.cells:
        if cell.cell_type == "code" and not is_test_cell(cell):
            cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text=f"ran {cell.get('id')}\n")]
    job.execution = Execution(notebook=executed)
    judged = {c.question.id for c in bundle.compiled}
    questions = tuple(QuestionResult(q.id, q.exercise, q.kind, q.points, q.points, PASSED, "Correct.")
                      if q.id in judged else
                      QuestionResult(q.id, q.exercise, q.kind, 0.0, q.points, MANUAL, "Graded by a person.")
                      for q in bundle.questions)
    first = questions[0]
    questions = (QuestionResult(first.id, first.exercise, first.kind, 0.0, first.max_score, FAILED, "Wrong.",
                                answer="[1, 2]"), *questions[1:])
    job.result = SubmissionResult(ASSIGNMENT, "ada", "ada.ipynb", questions, notes=("a note",))
    return job, raw


def _read(text: Any, job: Job, raw: bytes) -> Job:
    return job_from_report(text, job.assignment, job.student, job.source, raw)


def test_an_honest_report_comes_back_as_the_same_result_and_outputs(honest):
    job, raw = honest
    back = _read(report_text(job), job, raw)
    assert back.result == job.result
    assert back.notebook == job.notebook  # read from the bytes the client sent, not from the worker
    assert job.execution is not None and back.execution is not None
    cells = [c for c in back.execution.notebook.cells if c.cell_type == "code" and not is_test_cell(c)]
    assert cells and all(c.outputs[0]["text"] == f"ran {c.get('id')}\n" for c in cells)


def _q(data: dict[str, Any]) -> dict[str, Any]:
    return data["questions"][1]


def _student_cell(job: Job) -> str:
    assert job.notebook is not None
    return next(c.id for c in job.notebook.cells if c.cell_type == "code" and not is_test_cell(c))


FORGERIES: dict[str, tuple[Callable[[dict[str, Any], Job], object], str]] = {
    "a score above its points": (lambda d, j: _q(d).update(score=_q(d)["max_score"] + 1), "scores outside"),
    "more points than the question is worth": (lambda d, j: _q(d).update(score=99, max_score=99), "not worth"),
    "a negative score": (lambda d, j: _q(d).update(score=-1, status=FAILED), "scores outside"),
    "a score as text": (lambda d, j: _q(d).update(score="1"), "scores outside"),
    "a score as a boolean": (lambda d, j: _q(d).update(score=True), "scores outside"),
    "a key the schema has not": (lambda d, j: d.update(plugin="import os"), "exactly the keys"),
    "a question key the schema has not": (lambda d, j: _q(d).update(extra=1), "exactly the keys"),
    "another student's verdicts": (lambda d, j: d.update(student="eve"), "another submission"),
    "a question left out": (lambda d, j: d["questions"].pop(1), "no verdict"),
    "a question twice": (lambda d, j: d["questions"].append(dict(_q(d))), "unknown or repeated"),
    "a question of no such id": (lambda d, j: _q(d).update(id="ex9_bonus"), "unknown or repeated"),
    "passed without its points": (lambda d, j: _q(d).update(score=0), "passed without"),
    "a judged question left to a person": (lambda d, j: _q(d).update(status=MANUAL, score=0), "status"),
    "a mistake the bundle never declared": (lambda d, j: _q(d).update(misconception="made-up", status=FAILED, score=0),
                                            "undeclared mistake"),
    "an answer longer than a class report shows": (lambda d, j: _q(d).update(answer="x" * 81), "answer is not text"),
    "a note that is no text": (lambda d, j: d.update(notes=[{"html": "<script>"}]), "a note"),
    "a grading step that does not exist": (lambda d, j: d.update(failed_step="os.system"), "no grading step"),
    "outputs for a cell the submission has not": (lambda d, j: d["outputs"].update({"not-a-cell": []}),
                                                  "cells the submission has not"),
    "outputs that are no notebook outputs": (lambda d, j: d["outputs"].update(
        {_student_cell(j): [{"output_type": "exploit"}]}), "not notebook outputs"),
}


@pytest.mark.parametrize("forgery", FORGERIES)
def test_a_forged_report_is_refused(honest, forgery):
    job, raw = honest
    forge, reason = FORGERIES[forgery]
    data = json.loads(report_text(job))
    forge(data, job)
    with pytest.raises(ForgedReport, match=reason):
        _read(json.dumps(data), job, raw)


@pytest.mark.parametrize("text", [b'{"format": "d2lgrade-cluster-result/1"}', {"format": "x"}, None, "[1, 2]",
                                  '{"score": NaN}', "{" * 100_000],
                         ids=["bytes", "a dict object", "nothing", "a list", "NaN", "nested past recursion"])
def test_a_result_that_is_not_report_text_is_refused(honest, text):
    job, raw = honest
    with pytest.raises(ForgedReport):
        _read(text, job, raw)


def test_a_report_too_large_to_be_honest_is_refused_before_it_is_parsed(honest, monkeypatch):
    job, raw = honest
    text = report_text(job)
    monkeypatch.setattr(cluster_report, "MAX_REPORT_CHARS", len(text) - 1)
    monkeypatch.setattr(cluster_report.json, "loads", pytest.fail)
    with pytest.raises(ForgedReport, match="at most"):
        _read(text, job, raw)
