"""Verdicts: compare the plain answers a submission reported with the bundle's references.

A pure function of plain data, run in the grader process only. A question scores its points when
its answer has the promised form and matches the reference; otherwise zero, with the reason, and,
when the wrong answer matches one of the question's known misconceptions (judged the same way,
against the misconception's value or outputs in the bundle), its hint.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from d2lgrade.bundle import Bundle, Compiled, Wrong
from d2lgrade.contract import FunctionContract, ValueContract
from d2lgrade.reference import verdict_function, verdict_outputs, verdict_value
from d2lgrade.results import FAILED, MANUAL, PASSED, QuestionResult
from d2lgrade.spec import Question

LOG = logging.getLogger("d2lgrade.grading")
"""Where a question that could not be judged leaves its traceback, for the instructor."""


def judge(bundle: Bundle, answers: Mapping[str, dict[str, Any]], failures: Mapping[str, str],
          broken_rules: Mapping[str, str] | None = None) -> tuple[QuestionResult, ...]:
    """One result per question of the bundle, in notebook order.

    ``answers`` maps question ids to what the probe reported; ``failures`` gives, for questions
    without a report, why (the probe cell timed out, the kernel died, ...); ``broken_rules`` gives,
    for questions whose answer breaks the rule its task states (d2lgrade/rules.py), why: they score
    zero whatever the answer's value.
    """
    broken_rules = broken_rules or {}
    compiled = {c.question.id: c for c in bundle.compiled}
    results = []
    for q in bundle.questions:
        if q.id not in compiled:
            results.append(_manual(q))
            continue
        mistake: Wrong | None = None
        if q.id in broken_rules:
            reason: str | None = broken_rules[q.id]
        elif q.id in answers:
            reason = _safe_verdict(compiled[q.id], answers[q.id], bundle.assignment)
            if reason is not None:  # only a wrong answer can match a misconception
                mistake = _safe_mistake(compiled[q.id], answers[q.id], bundle.assignment)
        else:
            reason = failures.get(q.id, "no answer was reported for this question")
        results.append(_result(q, reason, mistake))
    return tuple(results)


def _safe_verdict(c: Compiled, answer: dict[str, Any], assignment: str) -> str | None:
    """Any failure judging one question makes that question zero, with a reason and no traceback for the
    student; the traceback goes to the instructor's log. Other questions are unaffected."""
    try:
        return _verdict(c, answer)
    except Exception:
        LOG.exception("%s: judging question %s failed; it was given zero", assignment, c.question.id)
        return (f"Grading could not read the answer to {c.question.id} (the report was malformed or unusual); "
                "it earns nothing. If you think your answer is right, ask your instructor, who has the details.")


def _verdict(c: Compiled, answer: dict[str, Any]) -> str | None:
    contract, tol = c.question.contract, c.question.tolerance
    assert tol is not None
    if isinstance(contract, ValueContract):
        return verdict_value(contract, tol, answer.get("value", {"t": "missing"}), c.expected or {"t": "none"})
    assert isinstance(contract, FunctionContract)
    outputs = answer.get("outputs") or []
    return verdict_function(contract, tol, answer.get("value", {"t": "missing"}), outputs,
                            [case.expected for case in c.cases])


def _safe_mistake(c: Compiled, answer: dict[str, Any], assignment: str) -> Wrong | None:
    """The first misconception a wrong answer matches; a failure to match only loses the hint."""
    try:
        return next((w for w in c.misconceptions if _matches(c, w, answer)), None)
    except Exception:
        LOG.exception("%s: matching question %s with its misconceptions failed", assignment, c.question.id)
        return None


def _matches(c: Compiled, w: Wrong, answer: dict[str, Any]) -> bool:
    """Whether the answer equals the misconception, judged exactly as it is judged against the reference."""
    contract, tol = c.question.contract, c.question.tolerance
    assert tol is not None
    if isinstance(contract, ValueContract):
        return verdict_value(contract, tol, answer.get("value", {"t": "missing"}), w.expected or {"t": "none"}) is None
    assert isinstance(contract, FunctionContract)
    return verdict_outputs(contract, tol, answer.get("outputs") or [], list(w.outputs)) is None


def _result(q: Question, reason: str | None, mistake: Wrong | None = None) -> QuestionResult:
    if reason is None:
        return QuestionResult(q.id, q.exercise, q.kind, q.points, q.points, PASSED, "Correct.")
    if mistake is None:
        return QuestionResult(q.id, q.exercise, q.kind, 0.0, q.points, FAILED, reason)
    return QuestionResult(q.id, q.exercise, q.kind, 0.0, q.points, FAILED,
                          f"{reason}\nA known mistake: {mistake.hint}", misconception=mistake.id)


def _manual(q: Question) -> QuestionResult:
    return QuestionResult(q.id, q.exercise, q.kind, 0.0, q.points, MANUAL, "Graded by a person (written answer).")
