"""What a cluster worker sends back for one submission: JSON text, read on the client with a strict schema.

Across the network a result is plain data, never a Python object: the worker writes a JSON string
(:func:`report_text`), the client's Dask connection takes nothing but msgpack (so it cannot unpickle
what a worker sends as the result), and :func:`job_from_report` accepts the text only if it is exactly
what an honest worker writes for this submission of this assignment: known keys with their types,
every question of the bundle with its own points, scores within them, bounded sizes. A forged or
broken report raises :class:`ForgedReport` saying what was wrong; the batch then gives that
submission a zero saying grading failed on our side, and a rerun grades it again.
"""

from __future__ import annotations

import json
import logging
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import nbformat

from d2lgrade.grading.steps import GRADE_STEPS, INTERNAL_ERROR, Assignment, Job, Rejected, parse_notebook
from d2lgrade.grading.workers import Work, internal_zero
from d2lgrade.judging.bundle import Bundle
from d2lgrade.judging.results import FAILED, MANUAL, PASSED, QuestionResult, SubmissionResult
from d2lgrade.sandbox.execute import Execution, is_test_cell

LOG = logging.getLogger("d2lgrade.grading")
FORMAT = "d2lgrade-cluster-result/1"
MAX_REPORT_CHARS = 64 * 2**20
"""The submission itself never comes back (the client has it); verdicts are short and a run keeps at most a few
MB of outputs (:class:`~d2lgrade.sandbox.execute.Limits`): anything near this size is not an honest report."""
MAX_TEXT = 200_000
MAX_NOTES = 200
MAX_ANSWER = 80
"""A wrong answer's plain rendering (d2lgrade/judging/judge.py keeps at most 80 characters)."""
WORKER_FAILED = "cluster worker"
"""``failed_step`` of a report whose worker could not grade at all (its own log has the traceback)."""
_KEYS = {"format", "student", "source", "failed_step", "problem", "notes", "questions", "outputs"}
_QUESTION_KEYS = {"id", "exercise", "kind", "score", "max_score", "status", "output", "misconception", "answer"}
_STEPS = frozenset(step.__name__ for step in GRADE_STEPS) | {WORKER_FAILED}


class ForgedReport(ValueError):
    """A worker's report that no honest worker writes for this submission: what was wrong with it."""


@dataclass(frozen=True)
class _Check:
    """The submission a report must be about."""

    bundle: Bundle
    student: str
    source: str


def report_text(job: Job) -> str:
    """The worker's side: a graded job as JSON text (verdicts, and the run's outputs of the student's cells)."""
    result = job.result
    assert result is not None
    executed = job.execution.notebook if job.execution else None
    outputs = None if executed is None or job.notebook is None else {
        c["id"]: c.get("outputs", []) for c in executed.cells if c.get("id") in _student_cell_ids(job.notebook)}
    return json.dumps({
        "format": FORMAT, "student": job.student, "source": job.source, "failed_step": job.failed_step,
        "problem": result.problem, "notes": list(result.notes),
        "questions": [{"id": q.id, "exercise": q.exercise, "kind": q.kind, "score": q.score, "max_score": q.max_score,
                       "status": q.status, "output": q.output, "misconception": q.misconception, "answer": q.answer}
                      for q in result.questions],
        "outputs": outputs})


def failure_text(student: str, source: str) -> str:
    """The worker's side when it could not grade at all (its sandbox or the bundle failed): a report saying so."""
    return json.dumps({"format": FORMAT, "student": student, "source": source, "failed_step": WORKER_FAILED,
                       "problem": INTERNAL_ERROR, "notes": [], "questions": [], "outputs": None})


def job_from_report(text: Any, assignment: Assignment, student: str, source: str, raw: bytes) -> Job:
    """The client's side: the job a worker's report describes, checked against the submission sent (``raw``)
    and the assignment's bundle. Raises :class:`ForgedReport` for anything an honest worker does not write."""
    if type(text) is not str or len(text) > MAX_REPORT_CHARS:
        raise ForgedReport(f"the result is not JSON text of at most {MAX_REPORT_CHARS} characters")
    try:
        data = json.loads(text, parse_constant=_no_constant)
    except (ValueError, RecursionError) as exc:
        raise ForgedReport(f"the result is not JSON ({str(exc)[:100]})") from None
    check = _Check(assignment.bundle, student, source)
    _require(type(data) is dict and set(data) == _KEYS, f"a result has exactly the keys {sorted(_KEYS)}")
    _require(data["format"] == FORMAT, f"the format is not {FORMAT}")
    _require(data["student"] == student and data["source"] == source, "it is about another submission")
    _require(data["failed_step"] is None or data["failed_step"] in _STEPS, "failed_step names no grading step")
    problem = _optional_text(data["problem"], "problem")
    notes = _notes(data["notes"])
    job = Job(assignment, student, source, raw, Path("."))
    job.failed_step = data["failed_step"]
    questions = _questions(data["questions"], check, complete=job.failed_step is None)
    job.result = SubmissionResult(check.bundle.assignment, student, source, questions, problem, notes)
    job.notes = list(notes)
    job.notebook = _submitted(job)
    job.raw = b""  # the batch has it
    if data["outputs"] is not None:
        _require(job.notebook is not None, "it has outputs for a notebook that cannot be read")
        job.execution = Execution(notebook=_executed(job.notebook, data["outputs"]))
    return job


def _questions(items: Any, check: _Check, complete: bool) -> tuple[QuestionResult, ...]:
    """Each question of the bundle at most once, with its own exercise, kind and points; all the judged ones
    unless the worker says grading failed."""
    _require(type(items) is list, "questions is not a list")
    known = {q.id: q for q in check.bundle.questions}
    judged = {c.question.id for c in check.bundle.compiled}
    seen: list[QuestionResult] = []
    for item in items:
        _require(type(item) is dict and set(item) == _QUESTION_KEYS,
                 f"a question has exactly the keys {sorted(_QUESTION_KEYS)}")
        _require(item["id"] in known and item["id"] not in {q.id for q in seen},
                 f"question {str(item['id'])[:40]!r} is unknown or repeated")
        seen.append(_question(item, known[item["id"]], item["id"] in judged, check))
    if complete:
        _require(judged <= {q.id for q in seen}, "some judged questions have no verdict")
    return tuple(seen)


def _question(item: dict[str, Any], q: Any, judged: bool, check: _Check) -> QuestionResult:
    where = f"question {q.id}"
    _require(item["exercise"] == q.exercise and type(item["exercise"]) is int and item["kind"] == q.kind,
             f"{where} has another exercise or kind")
    _require(_number(item["max_score"]) and item["max_score"] == q.points, f"{where} is not worth its points")
    score = item["score"]
    _require(_number(score) and 0 <= score <= q.points, f"{where} scores outside 0..{q.points:g}")
    status = item["status"]
    _require(status in ((PASSED, FAILED) if judged else (MANUAL,)), f"{where} has a status it cannot have")
    _require(status != PASSED or score == q.points, f"{where} passed without its points")
    _require(status != MANUAL or score == 0, f"{where} is left to a person but scored")
    wrongs = {w.id for w in check.bundle.misconceptions().get(q.id, ())}
    _require(item["misconception"] is None or item["misconception"] in wrongs, f"{where} names an undeclared mistake")
    answer = _optional_text(item["answer"], f"{where} answer", MAX_ANSWER)
    return QuestionResult(q.id, q.exercise, q.kind, float(score), float(q.points), status,
                          _text(item["output"], f"{where} output"), item["misconception"], answer)


def _submitted(job: Job) -> nbformat.NotebookNode | None:
    """The submission as the client read it (never the worker's copy of it); None if it is no notebook."""
    try:
        parse_notebook(job)
    except Rejected:
        return None
    return job.notebook


def _executed(submitted: nbformat.NotebookNode, outputs: Any) -> nbformat.NotebookNode:
    """The submission with the run's outputs in its student code cells, validated as a notebook."""
    _require(type(outputs) is dict and all(type(v) is list for v in outputs.values()), "outputs is not a map of lists")
    executed = nbformat.from_dict(json.loads(json.dumps(submitted)))
    _require(set(outputs) <= _student_cell_ids(executed), "it has outputs for cells the submission has not")
    for cell in executed.cells:
        if cell.cell_type == "code" and not is_test_cell(cell):
            cell.outputs = [nbformat.from_dict(o) for o in outputs.get(cell.get("id"), [])]
    try:
        nbformat.validate(executed)
    except Exception as exc:  # noqa: BLE001 - jsonschema's errors vary; any is a forged output
        raise ForgedReport(f"its outputs are not notebook outputs ({str(exc).splitlines()[0][:100]})") from None
    return executed


def _student_cell_ids(nb: nbformat.NotebookNode) -> set[str]:
    """The ids of the cells whose outputs the autograded notebook shows (test cells get their verdicts instead)."""
    return {c["id"] for c in nb.cells if c.cell_type == "code" and not is_test_cell(c) and isinstance(c.get("id"), str)}


def _notes(items: Any) -> tuple[str, ...]:
    _require(type(items) is list and len(items) <= MAX_NOTES, f"notes is not a list of at most {MAX_NOTES}")
    return tuple(_text(note, "a note") for note in items)


def _text(value: Any, what: str, limit: int = MAX_TEXT) -> str:
    _require(type(value) is str and len(value) <= limit, f"{what} is not text of at most {limit} characters")
    return str(value)


def _optional_text(value: Any, what: str, limit: int = MAX_TEXT) -> str | None:
    return None if value is None else _text(value, what, limit)


def _number(value: Any) -> bool:
    return type(value) in (int, float) and math.isfinite(value)


def _no_constant(name: str) -> None:
    raise ValueError(f"{name} is not JSON")


def _require(condition: bool, message: str) -> None:
    if not condition:
        raise ForgedReport(message)


def checked_job(text: str, assignment: Assignment, work: Work, grader: str) -> Job:
    """The job a remote ``grader``'s report describes (a cluster worker, the grading service); a zero saying grading
    failed on our side when the report is not what an honest grader writes, or the grader says it failed (logged;
    a rerun grades it again)."""
    try:
        job = job_from_report(text, assignment, work.student, work.source, work.raw)
    except ForgedReport as exc:
        LOG.error("refused the %s's result for %s: %s", grader, work.student, exc)
        return internal_zero(assignment, work, f"{grader} result")
    if job.failed_step:
        LOG.error("the %s grading %s failed in step %s (its log has the traceback)", grader, work.student,
                  job.failed_step)
        return internal_zero(assignment, work, f"{grader}: {job.failed_step}")
    return job
