"""Verdicts: compare the plain answers a submission reported with the bundle's references.

A pure function of plain data, run in the grader process only. A question scores its points when
its answer has the promised form and matches the reference; otherwise zero, with the reason.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from d2lgrade.bundle import Bundle, Compiled
from d2lgrade.contract import FunctionContract, ValueContract
from d2lgrade.reference import verdict_function, verdict_value
from d2lgrade.results import FAILED, MANUAL, PASSED, QuestionResult
from d2lgrade.spec import Question


def judge(bundle: Bundle, answers: Mapping[str, dict[str, Any]], failures: Mapping[str, str]) -> tuple[QuestionResult, ...]:
    """One result per question of the bundle, in notebook order.

    ``answers`` maps question ids to what the probe reported; ``failures`` gives, for questions
    without a report, why (the probe cell timed out, the kernel died, ...).
    """
    compiled = {c.question.id: c for c in bundle.compiled}
    results = []
    for q in bundle.questions:
        if q.id not in compiled:
            results.append(_manual(q))
            continue
        if q.id in answers:
            reason = _safe_verdict(compiled[q.id], answers[q.id])
        else:
            reason = failures.get(q.id, "no answer was reported for this question")
        results.append(_result(q, reason))
    return tuple(results)


def _safe_verdict(c: Compiled, answer: dict[str, Any]) -> str | None:
    """A report that is not what the probe writes (forged from inside the kernel) earns nothing."""
    try:
        return _verdict(c, answer)
    except (KeyError, TypeError, ValueError, AttributeError, IndexError):
        return "The answer report was malformed; the notebook interfered with grading."


def _verdict(c: Compiled, answer: dict[str, Any]) -> str | None:
    contract, tol = c.question.contract, c.question.tolerance
    assert tol is not None
    if isinstance(contract, ValueContract):
        return verdict_value(contract, tol, answer.get("value", {"t": "missing"}), c.expected or {"t": "none"})
    assert isinstance(contract, FunctionContract)
    outputs = answer.get("outputs") or []
    return verdict_function(contract, tol, answer.get("value", {"t": "missing"}), outputs,
                            [case.expected for case in c.cases])


def _result(q: Question, reason: str | None) -> QuestionResult:
    if reason is None:
        return QuestionResult(q.id, q.exercise, q.kind, q.points, q.points, PASSED, "Correct.")
    return QuestionResult(q.id, q.exercise, q.kind, 0.0, q.points, FAILED, reason)


def _manual(q: Question) -> QuestionResult:
    return QuestionResult(q.id, q.exercise, q.kind, 0.0, q.points, MANUAL, "Graded by a person (written answer).")
