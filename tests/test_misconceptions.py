"""Misconception-aware feedback: every declared misconception is recognised, and a right answer never is.

The sandboxed tests submit each misconception's ``code`` (in the release notebook, every other answer
from the complete sample) through the normal grading path; misconceptions of different questions share
a notebook, so an assignment costs as many notebooks as its question with the most misconceptions.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import nbformat
import pytest
from conftest import ASSIGNMENTS, COURSE

from d2lgrade.authoring.samples import fill, parse_scenario, samples_dir
from d2lgrade.grading.steps import Assignment, grade_bytes
from d2lgrade.judging.bundle import Bundle, Compiled, Wrong, checked_misconceptions
from d2lgrade.judging.contract import FunctionContract
from d2lgrade.judging.judge import judge
from d2lgrade.judging.reference import BadReference, as_answer


def _declared() -> dict[str, dict[str, int]]:
    """How many misconceptions each question declares, read from the references (no MXNet computation)."""
    from d2lgrade.judging.reference import solutions_module

    out: dict[str, dict[str, int]] = {}
    for a in ASSIGNMENTS:
        refs = solutions_module(a).REFERENCES
        out[a] = {name: len(ref.misconceptions) for name, ref in refs.items() if ref.misconceptions}
    return out


DECLARED = _declared()
ROUNDS = [(a, k) for a in ASSIGNMENTS for k in range(max(DECLARED[a].values(), default=0))]


def _answer(c: Compiled, outputs: list, value: dict | None = None) -> dict:
    """A probe report as plain data: a value, or a function's signature and its outputs on the hidden inputs."""
    contract = c.question.contract
    if isinstance(contract, FunctionContract):
        return {"value": {"t": "function", "params": list(contract.params)}, "outputs": outputs}
    return {"value": value}


def _reference_answer(c: Compiled) -> dict:
    tol = c.question.tolerance
    assert tol is not None
    return _answer(c, [as_answer(tol, case.expected) for case in c.cases],
                   as_answer(tol, c.expected) if c.expected is not None else None)


def _wrong_answer(c: Compiled, w: Wrong) -> dict:
    tol = c.question.tolerance
    assert tol is not None
    return _answer(c, [as_answer(tol, o) for o in w.outputs], as_answer(tol, w.expected) if w.expected else None)


def test_sections_declare_misconceptions() -> None:
    """At least two per section: every section's exercises invite classic mistakes."""
    for a in ASSIGNMENTS:
        assert sum(DECLARED[a].values()) >= 2, a


def test_reference_answers_never_match_and_declared_ones_do(bundles: dict[str, Bundle]) -> None:
    """Plain data only: the reference's own answer scores full marks with no misconception; each misconception's
    own value, as an answer, is wrong and named."""
    for a, bundle in bundles.items():
        compiled = {c.question.id: c for c in bundle.compiled}
        right = judge(bundle, {q: _reference_answer(c) for q, c in compiled.items()}, {})
        assert all(r.misconception is None for r in right), a
        assert all(r.status == "passed" for r in right if r.id in compiled), a
        for qid, wrongs in bundle.misconceptions().items():
            for w in wrongs:
                result = next(r for r in judge(bundle, {qid: _wrong_answer(compiled[qid], w)}, {}) if r.id == qid)
                assert result.score == 0 and result.misconception is not None, (a, qid, w.id)
                # an earlier misconception of the same question may coincide with it; its own hint is then shown
                assert result.misconception == w.id or w.id not in [x.id for x in wrongs[:wrongs.index(w)]]


def test_a_misconception_equal_to_the_reference_is_a_build_error(bundles: dict[str, Bundle]) -> None:
    c = next(c for c in bundles["s02_3"].compiled if c.question.id == "ex9_norm_any")
    same = Wrong("same", "a hint", "def norm_any(X): ...", outputs=tuple(case.expected for case in c.cases))
    with pytest.raises(BadReference, match=r"misconception 'same' of the reference 'norm_any'.*not a wrong answer"):
        checked_misconceptions("s02_3", c, (same,))
    broken = dataclasses.replace(same, id="broken", outputs=tuple({"t": "str", "v": "x"} for _ in c.cases))
    with pytest.raises(BadReference, match="breaks the answer contract"):
        checked_misconceptions("s02_3", c, (broken,))


def test_old_bundles_without_misconceptions_still_load(bundles: dict[str, Bundle]) -> None:
    import json

    data = json.loads(bundles["s02_3"].to_json())
    for c in data["compiled"]:
        c.pop("misconceptions")
    old = Bundle.from_json(json.dumps(data))
    assert old.misconceptions() == {} and len(old.compiled) == len(bundles["s02_3"].compiled)


def test_bundle_json_lists_misconceptions_per_question(bundles: dict[str, Bundle]) -> None:
    import json

    data = json.loads(bundles["s02_4"].to_json())
    by_id = {c["question"]["id"]: c["misconceptions"] for c in data["compiled"]}
    assert [m["id"] for m in by_id["ex3_grad_norm"]] == ["sign-lost", "squared-norm"]
    assert {"id", "hint", "code"} <= set(by_id["ex3_grad_norm"][0])
    assert Bundle.from_json(json.dumps(data)) == bundles["s02_4"]


@pytest.fixture(scope="module")
def releases() -> dict[str, nbformat.NotebookNode]:
    return {a: nbformat.read(COURSE.release_notebook(a), as_version=4) for a in ASSIGNMENTS}


@pytest.mark.parametrize(("assignment_", "round_"), ROUNDS, ids=[f"{a}-{k}" for a, k in ROUNDS])
def test_each_misconception_is_named_in_the_feedback_when_graded(bundles: dict[str, Bundle], releases, assignment_: str,
                                                                 round_: int) -> None:
    """The ``round_``-th misconception of every question of the assignment, in one sandboxed submission."""
    bundle = bundles[assignment_]
    complete_path = samples_dir(COURSE, assignment_) / "complete.py"
    cells = parse_scenario(Path(complete_path).read_text(encoding="utf-8"), str(complete_path))
    chosen = {qid: ws[round_] for qid, ws in bundle.misconceptions().items() if len(ws) > round_}
    cells.update({f"{qid}_answer": w.code for qid, w in chosen.items()})
    nb = fill(releases[assignment_], cells, f"misconceptions of {assignment_}, round {round_}")
    job = grade_bytes(Assignment.from_bundle(bundle), nbformat.writes(nb).encode(), "misconceived", "misconceived.ipynb")
    assert job.result is not None
    results = {q.id: q for q in job.result.questions}
    for qid, w in chosen.items():
        r = results[qid]
        assert (r.score, r.misconception) == (0.0, w.id), (qid, r.output)
        assert w.hint in r.output, (qid, r.output)
    # the other answers are the complete sample's (some may use a misconceived function: s02_2's X uses to_tensor)
    assert all(r.misconception is None for r in job.result.questions if r.status == "passed")
