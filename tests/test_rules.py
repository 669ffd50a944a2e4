"""Rules on how an answer is computed: honest answers keep them, each way around a rule is caught, and
hostile source costs bounded time. Static: nothing here runs a kernel."""

from __future__ import annotations

import time

import nbformat
import pytest

from d2lgrade.grading.steps import Assignment, Job, check_rules, notebook_sources
from d2lgrade.judging.bundle import compile_bundle
from d2lgrade.judging.judge import judge
from d2lgrade.judging.rules import (
    FORBIDDEN,
    MAX_CELL_CHARS,
    MISSING,
    UNCHECKABLE,
    Rules,
    Source,
    rule_message,
)
from d2lgrade.judging.rules import check_rules as check_code
from d2lgrade.judging.spec import SpecError, parse_rules

SETUP = "from mxnet import autograd, np, npx\nfrom d2lgrade.student import Checks\n\nnpx.set_np()\ncheck = Checks('s')"
NO_NORM = Rules("no norm function", forbid=("*.norm", "*.hypot", "math.dist"))
AUTOGRAD = Rules("computed by autograd, without np.cos", forbid=("*.cos",), require=("*autograd.record", "*.backward"))
HONEST_NORM = "def norm_any(X):\n    return np.sqrt((X ** 2).sum())"
HONEST_SIN = ("def sin_grad(x):\n    x = x.copy()\n    x.attach_grad()\n    with autograd.record():\n"
              "        y = np.sin(x)\n    y.backward()\n    return x.grad")


def kinds(*cells: str, answer: str = "norm_any", rules: Rules = NO_NORM) -> list[str]:
    sources = [Source("cell 1", SETUP), *(Source(f"cell {i}", c) for i, c in enumerate(cells, start=2))]
    return [f.kind for f in check_code(sources, answer, rules).findings]


@pytest.mark.parametrize("cells", [
    [HONEST_NORM],
    [HONEST_NORM, "np.linalg.norm(X)  # exploring, as the task asks: not part of the answer"],
    ["norm = np.linalg.norm(X)", "def norm_any(X):\n    norm = np.sqrt((X * X).sum())\n    return norm"],
    ["def squares(X):\n    return (X ** 2).sum()", "def norm_any(X):\n    return np.sqrt(squares(X))"],
    ["%matplotlib inline\n" + HONEST_NORM, "!ls", "np.linalg.norm?"],
    ["def norm_any(X) return", HONEST_NORM],  # a cell that does not parse does not run either
    ["x = 1"],  # no answer: the verdict says so, not the rule
    ["from IPython.display import HTML, display\ndisplay(HTML('<b>X</b>'))", HONEST_NORM],  # showing is not rebinding
], ids=["plain", "exploring", "local-shadows-global", "helper", "magics", "syntax-error", "unanswered", "display"])
def test_honest_answers_keep_the_rule(cells):
    assert kinds(*cells) == []


def test_honest_autograd_answer_keeps_its_rule():
    assert kinds(HONEST_SIN, answer="sin_grad", rules=AUTOGRAD) == []
    assert kinds("from mxnet.autograd import record as rec", HONEST_SIN.replace("autograd.record", "rec"),
                 answer="sin_grad", rules=AUTOGRAD) == []


@pytest.mark.parametrize("cells", [
    ["def norm_any(X):\n    return np.linalg.norm(X)"],
    ["from numpy.linalg import norm as n", "def norm_any(X):\n    return n(X.asnumpy())"],
    ["import numpy.linalg as la\ndef norm_any(X):\n    return la.norm(X.asnumpy())"],
    ["import mxnet as mx\ndef norm_any(X):\n    return mx.np.linalg.norm(X)"],
    ["def norm_any(X):\n    return getattr(np.linalg, 'norm')(X)"],
    ["n = np.linalg.norm", "def norm_any(X):\n    return n(X)"],
    ["def setup():\n    global n\n    n = np.linalg.norm\n\nsetup()", "def norm_any(X):\n    return n(X)"],
    ["norm_any = lambda X: np.linalg.norm(X)"],
    ["def h(X):\n    return X.norm()", "def helper(X):\n    return h(X)", "def norm_any(X):\n    return helper(X)"],
    ["class N:\n    def __call__(self, X):\n        return np.linalg.norm(X)\n\nnorm_any = N()"],
    ["import math\ndef norm_any(X):\n    return math.hypot(*X.asnumpy().ravel())"],
    ["def norm_any(X):\n    from numpy.linalg import norm\n    return norm(X.asnumpy())"],
    ["%time norm_any = np.linalg.norm"],
    ["%%capture\nnorm_any = np.linalg.norm"],
], ids=["direct", "from-import-as", "module-alias", "through-mx", "getattr-constant", "assigned-alias",
        "global-statement", "lambda", "method-two-helpers-away", "class", "hypot", "import-inside", "%time",
        "%%capture"])
def test_each_form_of_a_forbidden_call_is_caught(cells):
    assert FORBIDDEN in kinds(*cells)


@pytest.mark.parametrize("cells", [
    [HONEST_NORM, "exec('norm_any = np.linalg.norm')"],
    ["def norm_any(X):\n    return getattr(np.linalg, 'no' + 'rm')(X)"],
    ["def norm_any(X):\n    return __import__('numpy').linalg.norm(X.asnumpy())"],
    ["def norm_any(X):\n    return np.linalg.__dict__['norm'](X)"],
    [HONEST_NORM, "globals()['norm_any'] = np.linalg.norm"],
    [HONEST_NORM, "import sys\nsys.modules['__main__'].norm_any = np.linalg.norm"],
    [HONEST_NORM, "import importlib\nla = importlib.import_module('numpy.linalg')"],
    [HONEST_NORM, "ip = get_ipython()\nip.run_cell('norm_any = np.linalg.norm')"],
    [HONEST_NORM, "%run helper.py"],
    [HONEST_NORM, "if True:\n    %time norm_any = np.linalg.norm"],
    ["from mymodule import norm_any"],
    [HONEST_NORM, "import builtins\nbuiltins.norm_any = 1"],
], ids=["exec-elsewhere", "getattr-computed", "__import__", "__dict__", "globals", "sys.modules", "importlib",
        "get_ipython", "%run", "nested-code-magic", "unreadable-module", "builtins"])
def test_code_the_grader_cannot_see_through_is_refused(cells):
    assert UNCHECKABLE in kinds(*cells)


def test_a_required_call_must_be_in_the_answers_code():
    assert kinds("def sin_grad(x):\n    return np.cos(x)", answer="sin_grad", rules=AUTOGRAD) == [
        FORBIDDEN, MISSING, MISSING]
    finite_difference = "def sin_grad(x):\n    return (np.sin(x + 1e-3) - np.sin(x)) / 1e-3"
    assert kinds(finite_difference, answer="sin_grad", rules=AUTOGRAD) == [MISSING, MISSING]
    elsewhere = "with autograd.record():\n    y = np.sin(np.ones(2))\ny.backward()"  # not the answer's code
    assert kinds(elsewhere, finite_difference, answer="sin_grad", rules=AUTOGRAD) == [MISSING, MISSING]


def test_the_message_names_the_call_the_place_and_the_rule():
    sources = [Source("cell 1", SETUP), Source("cell 7 (ex9_norm_any_answer)",
                                               "def norm_any(X):\n    return np.linalg.norm(X)")]
    message = rule_message(check_code(sources, "norm_any", NO_NORM))
    assert "`mxnet.np.linalg.norm`" in message and "cell 7 (ex9_norm_any_answer), line 2" in message
    assert "no norm function" in message and "0 points" in message
    assert rule_message(check_code([Source("c", HONEST_NORM)], "norm_any", NO_NORM)) is None


@pytest.mark.parametrize("code", [
    "a" + ".b" * 30_000,  # over the cell limit
    "x = " + "+".join(["1"] * 15_000),  # deeper than Python's parser goes
    "f(" * 150 + ")" * 150,
    "%time " * 8000 + "x = 1",
    "x = '\x00'",
    "\udcff = 1",
    "norm_any = " + "lambda: " * 900 + "1",
])
def test_hostile_source_is_read_in_bounded_time(code):
    start = time.process_time()
    check_code([Source("cell 1", code), Source("cell 2", HONEST_NORM)], "norm_any", NO_NORM)
    assert time.process_time() - start < 2


def test_too_much_code_is_uncheckable_not_slow():
    start = time.process_time()
    cells = [Source(f"cell {i}", "x = 1\n" * (MAX_CELL_CHARS // 6)) for i in range(20)]
    found = check_code([*cells, Source("cell 99", HONEST_NORM)], "norm_any", NO_NORM).findings
    assert [f.kind for f in found] == [UNCHECKABLE] and time.process_time() - start < 2


def test_declarations_are_checked_at_build():
    cell = ('check.function("f", ("x",), "number", forbid=("*.norm",))\n### BEGIN HIDDEN TESTS\n'
            'check.judge("f", rtol=0, atol=0)\n### END HIDDEN TESTS')
    with pytest.raises(SpecError, match="rule="):
        parse_rules(cell, "here")
    with pytest.raises(SpecError, match="dotted name"):
        parse_rules(cell.replace('forbid=("*.norm",)', 'forbid=("np.linalg.norm()",), rule="r"'), "here")
    assert parse_rules(cell.replace('forbid=("*.norm",)', 'forbid=["*.norm"], rule="r"'), "here") == Rules(
        "r", forbid=("*.norm",))


def test_a_broken_rule_is_a_zero_for_that_question_only(course):
    """The grade step on the release notebook with answers typed in: no kernel runs."""
    bundle = compile_bundle(course.spec("s02_3"))
    nb = nbformat.read(course.release_notebook("s02_3"), as_version=4)
    for cell in nb.cells:
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
        if grade_id == "ex9_norm_any_answer":
            cell.source = "def norm_any(X):\n    return np.linalg.norm(X)"
        elif grade_id == "ex7_manhattan_answer":
            cell.source = "def manhattan(p, q):\n    return np.linalg.norm(p - q, ord=1)"  # no rule there
    job = Job(Assignment(bundle, (), lambda: None), "s", "s.ipynb", b"", course.root, notebook=nb)
    check_rules(job)
    assert set(job.broken_rules) == {"ex9_norm_any"}
    assert len(notebook_sources(nb)) == sum(1 for c in nb.cells if c.cell_type == "code") - len(bundle.compiled)
    answers = {c.question.id: {"value": {"t": "missing"}} for c in bundle.compiled}
    results = {r.id: r for r in judge(bundle, answers, {}, job.broken_rules)}
    assert results["ex9_norm_any"].score == 0 and "np.linalg.norm" in results["ex9_norm_any"].output
