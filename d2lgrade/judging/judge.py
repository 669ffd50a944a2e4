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

from d2lgrade.judging.bundle import Bundle, Compiled, Wrong
from d2lgrade.judging.compare import differs
from d2lgrade.judging.contract import Array, Canonical, Frame, FunctionContract, Problem, ValueContract
from d2lgrade.judging.reference import _expected, verdict_function, verdict_outputs, verdict_value
from d2lgrade.judging.results import FAILED, MANUAL, PASSED, QuestionResult
from d2lgrade.judging.spec import Question

LOG = logging.getLogger("d2lgrade.grading")
"""Where a question that could not be judged leaves its traceback, for the instructor."""


def judge(bundle: Bundle, answers: Mapping[str, dict[str, Any]], failures: Mapping[str, str],
          broken_rules: Mapping[str, str] | None = None) -> tuple[QuestionResult, ...]:
    """One result per question of the bundle, in notebook order.

    ``answers`` maps question ids to what the probe reported; ``failures`` gives, for questions
    without a report, why (the probe cell timed out, the kernel died, ...); ``broken_rules`` gives,
    for questions whose answer breaks the rule its task states (d2lgrade/judging/rules.py), why: they score
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
        shown = None
        if q.id in broken_rules:
            reason: str | None = broken_rules[q.id]
        elif q.id in answers:
            reason = _safe_verdict(compiled[q.id], answers[q.id], bundle.assignment)
            if reason is not None:  # only a wrong answer can match a misconception, or be shown in a class report
                mistake = _safe_mistake(compiled[q.id], answers[q.id], bundle.assignment)
                shown = _safe_answer(compiled[q.id], answers[q.id])
        else:
            reason = failures.get(q.id, "no answer was reported for this question")
        results.append(_result(q, reason, mistake, shown))
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
                            [case.expected for case in c.cases], [case.args for case in c.cases])


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


def _safe_answer(c: Compiled, answer: dict[str, Any]) -> str | None:
    """``QuestionResult.answer`` of a wrong answer, never raising: a rendering is a report's aid, not a verdict."""
    try:
        return _answer(c, answer)
    except Exception:  # noqa: BLE001 - an answer that cannot be rendered is left out of the class report
        return None


def _answer(c: Compiled, answer: dict[str, Any]) -> str | None:
    """A wrong answer's value, only when it has the form its contract asks, which is exactly when the public
    check passes on it (``check.value`` applies the same ``normalize``; ``check.function`` the same signature
    test): a value's canonical form; a function's output on the first hidden input it gets wrong (``input 2:
    0.5``). None when the form is wrong, so that a class report can count "public check passed, graded wrong"."""
    contract, tol = c.question.contract, c.question.tolerance
    assert tol is not None
    if isinstance(contract, ValueContract):
        have = contract.normalize(answer.get("value", {"t": "missing"}))
        return None if isinstance(have, Problem) else render(have)
    assert isinstance(contract, FunctionContract)
    if contract.check_signature(answer.get("value", {"t": "missing"})):
        return None
    outputs = answer.get("outputs") or []
    for i, (got, case) in enumerate(zip(outputs, c.cases), start=1):
        if isinstance(got, dict) and got.get("t") == "error":
            return _cut(f"input {i}: raised {got.get('type')}")
        have = contract.returns.normalize(got)
        if isinstance(have, Problem):
            return _cut(f"input {i}: not {contract.returns.describe_what()}")
        want = _expected(contract.returns, tol, case.expected)
        if not isinstance(want, Problem) and differs(have, want, tol):
            return _cut(f"input {i}: {render(have)}")
    return None


def render(value: Canonical) -> str:
    """A canonical value in at most 80 characters; equal values render equally (a class report groups by it)."""
    if isinstance(value, bool | int | str):
        text = repr(value)
    elif isinstance(value, float):
        text = f"{value:.6g}"
    elif isinstance(value, frozenset):
        text = "{" + ", ".join(repr(v) for v in sorted(value, key=str)) + "}"
    elif isinstance(value, Array):
        entries = ", ".join(f"{x:.4g}" if isinstance(x, float) else repr(x) for x in value.data[:8])
        text = f"array{value.shape} [{entries}{', …' if len(value.data) > 8 else ''}]"
    elif isinstance(value, Frame):
        rows = value.data[0].shape[0] if value.data else 0
        text = f"frame {list(value.columns)}, {rows} rows"
    else:
        text = repr(value)
    return _cut(text)


def _cut(text: str) -> str:
    return text if len(text) <= 80 else text[:79] + "…"


def _result(q: Question, reason: str | None, mistake: Wrong | None = None, answer: str | None = None) -> QuestionResult:
    if reason is None:
        return QuestionResult(q.id, q.exercise, q.kind, q.points, q.points, PASSED, "Correct.")
    if mistake is None:
        return QuestionResult(q.id, q.exercise, q.kind, 0.0, q.points, FAILED, reason, answer=answer)
    return QuestionResult(q.id, q.exercise, q.kind, 0.0, q.points, FAILED,
                          f"{reason}\nA known mistake: {mistake.hint}", misconception=mistake.id, answer=answer)


def _manual(q: Question) -> QuestionResult:
    return QuestionResult(q.id, q.exercise, q.kind, 0.0, q.points, MANUAL, "Graded by a person (written answer).")
