"""Forged answer reports, end to end: each submission graded by the real, sandboxed pipeline, each with
the exact score it must get.

Every scenario starts from an assignment's complete sample and changes one answer cell: the genuine
answer there is wrong (entries of the sentinel 0.123), and the cell also tampers with how answers are
reported (the serialiser, the probe, ``display``, a thread). No tampering may earn more than the
genuine answers: the attacked question scores zero, every other question its full points. (The frame
forgeries tamper with a correct answer, which a later cell uses: a forged report costs its question.)
"""

from __future__ import annotations

from dataclasses import dataclass

import nbformat
import pytest

from d2lgrade.authoring.samples import fill, parse_scenario
from d2lgrade.grading.steps import Assignment, grade_bytes
from d2lgrade.sandbox.execute import Limits
from tests.conftest import COURSE

LIMITS = Limits(cell_seconds=30, submission_seconds=400, interrupt_grace_seconds=5, restarts=3, output_bytes=500_000)


def forge_serialiser(mutation: str, frame: bool = False) -> str:
    """Replace ``d2lgrade.judging.plain.to_plain`` so that every array holding only the sentinel (or every frame)
    is reported as ``mutation`` makes it (an expression of ``a``, the honest plain array or frame)."""
    test = ('a.get("t") == "frame"' if frame else
            'a.get("t") == "array" and a.get("data") and set(a["data"]) == {0.123}')
    return f'''
import d2lgrade.judging.plain
_honest = d2lgrade.judging.plain.to_plain
def _walk(a):
    if isinstance(a, dict):
        if {test}:
            return {mutation}
        return {{k: _walk(v) for k, v in a.items()}}
    if isinstance(a, list):
        return [_walk(v) for v in a]
    return a
d2lgrade.judging.plain.to_plain = lambda value, depth=0: _walk(_honest(value, depth))
'''


MUTATIONS = {
    "shape-without-entries": '{**a, "data": []}',
    "data-shorter-than-shape": '{**a, "data": a["data"][:1]}',
    "data-longer-than-shape": '{**a, "data": a["data"] * 3}',
    "wrong-nesting": '{**a, "data": [[4.0, -4.0]] * len(a["data"])}',
    "wrong-dtype": '{**a, "dtype": "bool", "data": [True] * len(a["data"])}',
    "nan-where-finite-needed": '{**a, "data": [float("nan")] * len(a["data"])}',
    "data-withheld": '{**a, "data": None}',
}

FORGE_PROBE_OTHER_ID = '''
import d2lgrade.judging.probe
from IPython.display import display
_honest = d2lgrade.judging.probe.report
def _forged(probe):
    if probe["name"] != "tangent_at_1":
        return _honest(probe)
    claim = {"t": "array", "lib": "numpy", "dtype": "float64", "shape": [2], "data": [4.0, -4.0]}
    display({d2lgrade.judging.probe.MIME: {"id": "ID", "nonce": probe["nonce"], "value": claim}}, raw=True)
d2lgrade.judging.probe.report = _forged
'''
FORGE_PROBE_TWICE = '''
import d2lgrade.judging.probe
from IPython.display import display
_honest = d2lgrade.judging.probe.report
def _forged(probe):
    _honest(probe)
    if probe["name"] == "tangent_at_1":
        claim = {"t": "array", "lib": "numpy", "dtype": "float64", "shape": [2], "data": [4.0, -4.0]}
        display({d2lgrade.judging.probe.MIME: {"id": probe["id"], "nonce": probe["nonce"], "value": claim}}, raw=True)
d2lgrade.judging.probe.report = _forged
'''
FORGE_DISPLAY = '''
import IPython.display, d2lgrade.judging.probe
_honest = IPython.display.display
def _display(obj, *args, **kwargs):
    answer = obj.get(d2lgrade.judging.probe.MIME) if isinstance(obj, dict) else None
    if answer and answer["value"].get("t") == "array":
        answer["value"] = {**answer["value"], "data": []}
    return _honest(obj, *args, **kwargs)
IPython.display.display = _display
'''
THREAD = '''
import threading, time, re
from IPython import get_ipython
from IPython.display import display
import d2lgrade.judging.probe
def _flood():
    claim = {"t": "array", "lib": "numpy", "dtype": "float64", "shape": [2], "data": [4.0, -4.0]}
    deadline = time.time() + 120
    while time.time() < deadline:
        code = (get_ipython().user_ns.get("In") or [""])[-1]
        found = re.search(r'"nonce": "([0-9a-f]+)"', code) if SMART else None
        report = {"id": "ex1_tangent_at_1", "value": claim}
        if found and "tangent_at_1" in code:
            report["nonce"] = found.group(1)
        display({d2lgrade.judging.probe.MIME: report}, raw=True)
        time.sleep(0.005)
threading.Thread(target=_flood, daemon=True).start()
'''

WRONG = {
    "tangent_at_1": ("s02_4", "ex1_tangent_at_1", "import numpy\ntangent_at_1 = numpy.full(2, 0.123)"),
    "grad_f": ("s02_4", "ex2_grad_f", "import numpy\ndef grad_f(x):\n    return numpy.full(2, 0.123)"),
    "eigvals1": ("s17_2", "ex1_eigvals1", "import numpy\neigvals1 = numpy.full(2, 0.123)"),
    "eigvecs1": ("s17_2", "ex1_eigvecs1", "import numpy\neigvecs1 = numpy.full((2, 2), 0.123)"),
    "die_estimates": ("s02_6", "ex1_die_estimates",
                      "import numpy\ndef die_estimates(m, n, seed):\n    return numpy.full((m, 6), 0.123)"),
    "drop_most_missing": ("s02_2", "ex1_drop_most_missing",
                          "import pandas\ndef drop_most_missing(df):\n"
                          "    return pandas.DataFrame({c: [0.123] * len(df) for c in df.columns[1:]})"),
}
"""A genuinely wrong answer per attacked question: values, values (function), unordered, up_to_scale,
interval (function) and frame questions."""


@dataclass(frozen=True)
class Forgery:
    questions: tuple[str, ...]
    """Keys of :data:`WRONG` (one assignment): the attacked questions, whose genuine answers are wrong."""
    code: str
    """Appended to the first attacked answer cell."""
    says: str = ""
    answer: str | None = None
    """Replaces the first genuine wrong answer (a correct answer, or a huge integer); :data:`KEEP` keeps
    the complete sample's (correct) answer."""
    lost: float | None = None
    """Points lost, when not the attacked question's."""


KEEP = "keep the complete answer"


def _scenarios() -> dict[str, Forgery]:
    out = {}
    for name, mutation in MUTATIONS.items():
        out[f"{name}-values"] = Forgery(("tangent_at_1", "grad_f"), forge_serialiser(mutation))
    for name in ("shape-without-entries", "data-shorter-than-shape", "data-longer-than-shape",
                 "nan-where-finite-needed"):
        out[f"{name}-unordered-up-to-scale"] = Forgery(("eigvals1", "eigvecs1"), forge_serialiser(MUTATIONS[name]))
        out[f"{name}-interval"] = Forgery(("die_estimates",), forge_serialiser(MUTATIONS[name]))
    out["frame-columns-disagree-with-data"] = Forgery(
        ("drop_most_missing",), forge_serialiser('{**a, "columns": a["columns"] * 2}', frame=True), "malformed",
        answer=KEEP)
    out["frame-column-longer-than-rows"] = Forgery(
        ("drop_most_missing",), forge_serialiser(
            '{**a, "data": [{**c, "shape": [c["shape"][0] + 1], "data": (c["data"] or []) + [0.0]} '
            'for c in a["data"]]}', frame=True), "malformed", answer=KEEP)
    out["display-replaced-shape-without-entries"] = Forgery(("tangent_at_1",), FORGE_DISPLAY, "malformed")
    out["report-for-an-id-not-probed"] = Forgery(
        ("tangent_at_1",), FORGE_PROBE_OTHER_ID.replace("ID", "ex9_not_probed"), "not for the question probed")
    out["report-for-another-question"] = Forgery(
        ("tangent_at_1",), FORGE_PROBE_OTHER_ID.replace("ID", "ex2_grad_f"), "not for the question probed")
    out["two-reports-for-one-probe"] = Forgery(("tangent_at_1",), FORGE_PROBE_TWICE, "reported 2 times")
    out["thread-from-earlier-cell-without-nonce"] = Forgery(
        ("tangent_at_1",), THREAD.replace("SMART", "False"), answer="tangent_at_1 = [4, -4]", lost=0.0)
    out["thread-from-earlier-cell-reading-the-nonce"] = Forgery(("tangent_at_1",), THREAD.replace("SMART", "True"))
    for mode, questions, huge in (
            ("values", ("tangent_at_1",), "tangent_at_1 = [10**400, -4]"),
            ("unordered", ("eigvals1",), "eigvals1 = [10**400, 1.0]"),
            ("up-to-scale", ("eigvecs1",), "eigvecs1 = [[10**400, 1], [-2, 2]]"),
            ("interval", ("die_estimates",), "def die_estimates(m, n, seed):\n    return [[10**400] * 6] * m")):
        out[f"huge-int-{mode}"] = Forgery(questions, "", answer=huge)
    return out


SCENARIOS = _scenarios()


@pytest.fixture(scope="module")
def assignments(bundles):
    return {a: Assignment.from_bundle(bundles[a], limits=LIMITS) for a in {w[0] for w in WRONG.values()}}


def _submission(forgery: Forgery) -> bytes:
    assignment = WRONG[forgery.questions[0]][0]
    complete = COURSE.root / "tests" / "submissions" / assignment / "complete.py"
    cells = parse_scenario(complete.read_text(), str(complete))
    for i, question in enumerate(forgery.questions):
        _, question_id, wrong = WRONG[question]
        genuine = cells[f"{question_id}_answer"] if forgery.answer == KEEP else forgery.answer or wrong
        cells[f"{question_id}_answer"] = genuine + "\n" + forgery.code if i == 0 else wrong
    release = nbformat.read(COURSE.release_notebook(assignment), as_version=4)
    return nbformat.writes(fill(release, cells, "forged report")).encode()


@pytest.mark.slow
@pytest.mark.parametrize("name", list(SCENARIOS))
def test_a_forged_report_earns_exactly_what_the_genuine_answers_earn(assignments, name):
    forgery = SCENARIOS[name]
    assignment = WRONG[forgery.questions[0]][0]
    result = grade_bytes(assignments[assignment], _submission(forgery), name, f"{name}.ipynb").result
    ids = {WRONG[q][1] for q in forgery.questions}
    attacked = [q for q in result.questions if q.id in ids]
    text = "\n".join([*result.notes, *(q.output for q in result.questions)])
    lost = sum(q.max_score for q in attacked) if forgery.lost is None else forgery.lost
    assert result.score == result.max_score - lost, f"{name}: {result.score}/{result.max_score}\n{text}"
    assert all(q.score == 0 for q in attacked) or forgery.lost == 0
    assert forgery.says in attacked[0].output, f"{name}: expected {forgery.says!r} in {attacked[0].output!r}"
    assert "Traceback" not in text
