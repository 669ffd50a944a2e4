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
    MAX_CODE_CHARS,
    MISSING,
    UNCHECKABLE,
    Program,
    Rules,
    Source,
    overlap,
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
    [HONEST_NORM, "import importlib\nm = importlib.import_module(input())"],
    [HONEST_NORM, "ip = get_ipython()\nip.run_cell('norm_any = np.linalg.norm')"],
    [HONEST_NORM, "%run helper.py"],
    [HONEST_NORM, "if True:\n    %time norm_any = np.linalg.norm"],
    ["from mymodule import norm_any"],
    [HONEST_NORM, "import builtins\nbuiltins.norm_any = 1"],
], ids=["exec-elsewhere", "getattr-computed", "__import__", "__dict__", "globals", "sys.modules", "importlib-computed",
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


# --- third round: leaks, harmless habits, star imports, cost (issue 20) ------------------------------

NO_TENSORS = Rules("without creating any tensor", forbid=("mxnet*", "numpy*", "torch*", "tensorflow*", "jax*"))
NO_EIG = Rules("do not compute eigenvalues", forbid=("*.eig", "*.eigh", "*.eigvals", "*.eigvalsh"))
HONEST_SHAPE = ("def broadcast_shape(shape_a, shape_b):\n    n = max(len(shape_a), len(shape_b))\n"
                "    a = (1,) * (n - len(shape_a)) + tuple(shape_a)\n    b = (1,) * (n - len(shape_b)) + tuple(shape_b)\n"
                "    return tuple(max(x, y) for x, y in zip(a, b))")
HONEST_GERSHGORIN = ("def gershgorin_lower_bound(A):\n    d = np.diag(A)\n"
                     "    return float((d - (np.abs(A).sum(axis=1) - np.abs(d))).min())")


@pytest.mark.parametrize("cells", [
    ["def norm_any(X):\n    match np.linalg:\n        case object(norm=f):\n            return f(X)"],
    ["def norm_any(X):\n    match np:\n        case object(linalg=object(norm=f)):\n            return f(X)"],
    ["import pydoc\ndef norm_any(X):\n    return pydoc.locate('numpy.linalg.norm')(X.asnumpy())"],
    ["import pydoc\nf = pydoc.locate('numpy.linalg.norm')", "def norm_any(X):\n    return f(X.asnumpy())"],
    ["import importlib\nla = importlib.import_module('numpy.linalg')", "def norm_any(X):\n    return la.norm(X)"],
    ["import operator\ndef norm_any(X):\n    return operator.attrgetter('linalg.norm')(np)(X)"],
    ["import operator\ndef norm_any(X):\n    return operator.methodcaller('norm')(X)"],
    ["from numpy.linalg import *\ndef norm_any(X):\n    return norm(X.asnumpy())"],
    ["from numpy import *", "def norm_any(X):\n    return linalg.norm(X.asnumpy())"],
    ["import numpy\nnumpy.sqrt = numpy.linalg.norm", "def norm_any(X):\n    return numpy.sqrt(X.asnumpy())"],
    ["class Box:\n    pass\nbox = Box()\nbox.f = np.linalg.norm", "def norm_any(X):\n    return box.f(X)"],
    ["fs = []\nfs.append(np.linalg.norm)", "def norm_any(X):\n    return fs[0](X)"],
    ["class C:\n    global norm_any\n    norm_any = np.linalg.norm"],
    ["def setup():\n    if False:\n        global n\n    n = np.linalg.norm\nsetup()", "def norm_any(X):\n    return n(X)"],
    ["if False:\n    def norm_any(X):\n        return np.sqrt((X ** 2).sum())\nimport pydoc\n"
     "norm_any = pydoc.locate('numpy.linalg.norm')"],
    ["In [3]: norm_any = np.linalg.norm"],
], ids=["match-class", "match-nested", "pydoc.locate", "pydoc-assigned", "import_module-literal", "attrgetter",
        "methodcaller", "star-numpy.linalg", "star-numpy", "patched-library", "object-attribute", "list-append",
        "global-in-class", "global-in-dead-code", "dead-decoy-and-pydoc", "ipython-prompt"])
def test_each_new_way_to_a_forbidden_call_is_caught(cells):
    assert FORBIDDEN in kinds(*cells)


@pytest.mark.parametrize("cells", [
    ["import functools\ndef norm_any(X):\n    return functools.reduce(getattr, ['linalg', 'norm'], np)(X)"],
    ["def norm_any(X):\n    name = 'no' + 'rm'\n    return getattr(np.linalg, name)(X)"],
    ["def norm_any(X):\n    match np.linalg:\n        case type(f):\n            return f(X)"],
    ["def norm_any(X):\n    out = !python -c \"import numpy; print(numpy.linalg.norm([3, 4]))\"\n    return float(out[0])"],
    ["%%bash --out result\npython -c 'print(5.0)'", "def norm_any(X):\n    return float(result)"],
    ["%%script python3 --out result\nprint(5.0)", "def norm_any(X):\n    return float(result)"],
    ["%%sh --out result\necho 5", "def norm_any(X):\n    return float(result)"],
    ["import subprocess\ndef norm_any(X):\n    return float(subprocess.check_output(['python', '-c', 'print(1)']))"],
    ["import os\ndef norm_any(X):\n    return float(os.popen('echo 1').read())"],
    ["from scipy.linalg import *\ndef norm_any(X):\n    return norm(X.asnumpy())"],
    ["def norm_any(X):\n    return globals()['n' + 'orm'](X)"],
], ids=["reduce-getattr", "getattr-computed-in-answer", "match-positional", "shell-escape", "%%bash-out",
        "%%script", "%%sh", "subprocess", "os.popen", "star-unknown-module", "globals-read-in-answer"])
def test_an_answer_reaching_what_the_grader_cannot_read_is_uncheckable(cells):
    assert UNCHECKABLE in kinds(*cells)


@pytest.mark.parametrize("cells", [
    ["%load_ext autoreload\n%autoreload 2", HONEST_NORM],
    ["%%html\n<b>notes</b>", HONEST_NORM],
    ["%%javascript\nconsole.log(1)", HONEST_NORM],
    ["%env MXNET_ENGINE_TYPE=NaiveEngine", HONEST_NORM],
    [HONEST_NORM, "%time y = norm_any(np.ones(3))", "%timeit -n 3 norm_any(np.ones(3))", "%%time\nz = 1"],
    ["from IPython.core.display import HTML\nHTML('<b>x</b>')", HONEST_NORM],
    ["class Params:\n    lr = 0.1\np = Params()\nfor name in ['lr']:\n    print(getattr(p, name))", HONEST_NORM],
    ["print(locals())\nif 'X' in globals():\n    print(globals()['X'])", HONEST_NORM],
    ["def show(**kw):\n    print(kw)\nshow(**locals())", "def f():\n    v = 1\n    d = locals()\n    d['v'] = 2", HONEST_NORM],
    ["!pip list\nfiles = !ls", HONEST_NORM],
    ["if False:\n    norm_any = np.linalg.norm", HONEST_NORM],
    ["from numpy import *", "def norm_any(X):\n    return sqrt((X ** 2).sum())"],
    ["import importlib\nla = importlib.import_module('numpy.linalg')", HONEST_NORM],
], ids=["autoreload", "%%html", "%%javascript", "%env", "%time-%timeit", "IPython.core.display", "getattr-own-object",
        "locals-globals-read", "locals-in-function", "shell-elsewhere", "dead-forbidden-code", "star-without-norm",
        "import_module-elsewhere"])
def test_harmless_notebook_habits_cost_nothing(cells):
    assert kinds(*cells) == []


@pytest.mark.parametrize("cells", [
    ["%load_ext mymagics", HONEST_NORM],
    ["locals()['norm_any'] = np.linalg.norm", HONEST_NORM],
    ["g = globals()\ng['norm_any'] = np.linalg.norm", HONEST_NORM],
    ["%%writefile m.py\nimport __main__, numpy\n__main__.norm_any = numpy.linalg.norm", "import m", HONEST_NORM],
    ["import __main__\n__main__.norm_any = np.linalg.norm", HONEST_NORM],
    ["import gc\nfor d in gc.get_referrers(norm_any):\n    pass", HONEST_NORM],
    ["import timeit\ntimeit.timeit('import __main__; __main__.norm_any = 1', number=1)", HONEST_NORM],
], ids=["%load_ext-other", "locals-written", "globals-aliased", "written-module-imported", "__main__", "gc",
        "timeit-string"])
def test_hostile_twins_of_the_habits_are_uncheckable(cells):
    assert UNCHECKABLE in kinds(*cells)


@pytest.mark.parametrize(("answer", "rules", "honest", "hostile"), [
    ("broadcast_shape", NO_TENSORS, ["from math import *", HONEST_SHAPE],
     ["from numpy import *", "def broadcast_shape(shape_a, shape_b):\n    return broadcast_shapes(shape_a, shape_b)"]),
    ("norm_any", NO_NORM, ["from numpy.linalg import inv", "from math import *", HONEST_NORM],
     ["from numpy.linalg import *", "def norm_any(X):\n    return norm(X.asnumpy())"]),
    ("sin_grad", AUTOGRAD, ["from math import *", HONEST_SIN],
     ["from numpy import *", HONEST_SIN.replace("    y.backward()\n    return x.grad",
                                                "    y.backward()\n    return cos(x.asnumpy())")]),
    ("gershgorin_lower_bound", NO_EIG, ["from numpy import *", HONEST_GERSHGORIN],
     ["from numpy.linalg import *", "def gershgorin_lower_bound(A):\n    return float(eigvalsh(A.asnumpy()).min())"]),
], ids=["broadcast_shape", "norm_any", "sin_grad", "gershgorin_lower_bound"])
def test_star_imports_are_resolved_for_each_rule_bound_question(answer, rules, honest, hostile):
    assert kinds(*honest, answer=answer, rules=rules) == []
    assert FORBIDDEN in kinds(*hostile, answer=answer, rules=rules)


def test_what_only_one_answer_reaches_costs_only_that_answer():
    cells = [Source("cell 1", SETUP), Source("cell 2", "def helper(X):\n    out = !echo 1\n    return float(out[0])"),
             Source("cell 3", "def norm_any(X):\n    return helper(X)"), Source("cell 4", HONEST_GERSHGORIN)]
    program = Program(cells)
    assert [f.kind for f in program.check("norm_any", NO_NORM).findings] == [UNCHECKABLE]
    assert program.check("gershgorin_lower_bound", NO_EIG).kept


def test_star_imports_are_read_from_a_table_kept_in_step_with_the_installed_libraries():
    import subprocess
    import sys

    checked = subprocess.run([sys.executable, "-W", "ignore", "-m", "d2lgrade.judging.libraries", "--check"],
                             capture_output=True, timeout=120)
    assert checked.returncode == 0, "run `python -m d2lgrade.judging.libraries` to rewrite the table"


def test_glob_overlap():
    assert overlap("numpy.linalg.*", "*.norm") and overlap("*", "mxnet*") and overlap("<object>.*", "*.cos")
    assert not overlap("numpy.linalg.*", "mxnet*") and not overlap("math.sqrt", "*.norm")


def _cells_up_to_the_cap(lines: list[str], answer: str) -> list[Source]:
    """``lines`` in cells of at most MAX_CELL_CHARS, as many as fit under MAX_CODE_CHARS with ``answer``
    (``{last}``: the index of the last line taken)."""
    cells, current, size, total = [], [], 0, len(answer) + 10
    for last, line in enumerate(lines):  # noqa: B007 - ``last`` is the answer's
        if total + len(line) + 1 > MAX_CODE_CHARS:
            break
        if size + len(line) + 1 > MAX_CELL_CHARS:
            cells.append("\n".join(current))
            current, size = [], 0
        current.append(line)
        size += len(line) + 1
        total += len(line) + 1
    return [Source(f"cell {i}", c) for i, c in enumerate([*cells, "\n".join(current), answer.format(last=last)])]


@pytest.mark.parametrize("shape", ["chain", "names", "nesting", "magics"])
def test_the_checkers_cpu_time_stays_small_at_the_500_kB_cap(shape):
    """Linear, not quadratic: 500 kB read from a rule-bound answer in a few seconds of CPU at most (0.1-1.3 s here)."""
    lines, answer = {
        "chain": ([f"a{i} = a{i - 1}" for i in range(1, 60_000)], "def norm_any(X):\n    return a{last}"),
        "names": ([f"n{i} = {i}" for i in range(60_000)], "def norm_any(X):\n    return " + "+".join(
            f"n{i}" for i in range(0, 60_000, 20))),
        "nesting": ([f"def f{i}():\n" + "".join("    " * (d + 1) + "if x:\n" for d in range(90)) + "    " * 91 + "y = 1"
                     for i in range(300)], "def norm_any(X):\n    return f1() + f299()"),
        "magics": (["%time x = 1", "!echo", "y = %env", "print(1)"] * 20_000, "def norm_any(X):\n    return x"),
    }[shape]
    sources = _cells_up_to_the_cap(lines, answer)
    assert sum(len(s.text) for s in sources) > 0.95 * MAX_CODE_CHARS
    start = time.process_time()
    check_code(sources, "norm_any", NO_NORM)
    assert time.process_time() - start < 5


def test_star_imports_and_habits_through_the_grading_step(course):
    """The grade step on the 2.1 and 2.3 releases: a star import's forbidden name is a zero, habits cost nothing."""
    cases = {
        "s02_1": ({"ex2_broadcast_shape_answer": "from numpy import *\ndef broadcast_shape(shape_a, shape_b):\n"
                                                 "    return broadcast_shapes(shape_a, shape_b)"}, {"ex2_broadcast_shape"}),
        "s02_3": ({"ex9_norm_any_answer": "%load_ext autoreload\n%autoreload 2\n" + HONEST_NORM,
                   "ex7_manhattan_answer": "from IPython.core.display import HTML\nprint(locals().keys())\n"
                                           "def manhattan(p, q):\n    return np.abs(p - q).sum()"}, set()),
    }
    for assignment, (answers, broken) in cases.items():
        bundle = compile_bundle(course.spec(assignment))
        nb = nbformat.read(course.release_notebook(assignment), as_version=4)
        for cell in nb.cells:
            grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
            if grade_id in answers:
                cell.source = answers[grade_id]
        job = Job(Assignment(bundle, (), lambda: None), "s", "s.ipynb", b"", course.root, notebook=nb)
        check_rules(job)
        assert set(job.broken_rules) == broken, (assignment, job.broken_rules)
        for question in broken:
            assert "numpy.broadcast_shapes" in job.broken_rules[question]
