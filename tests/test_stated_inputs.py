"""Task texts decide every hidden case: each function task states the kinds of its hidden inputs, each
inexactly judged task its tolerance, and a hidden input of a kind the text does not state fails here.

The statement is data (a test cell's metadata ``d2l.inputs``), rendered into the task text word for word
(``d2lgrade.judging.spec`` refuses a notebook where the two differ); these tests classify every hidden input
(``d2lgrade.judging.inputs.kinds_of``: axes, empty, length-1 axes, signs, dtype, missing values) against it.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import nbformat
import pytest
from mxnet import np

from d2lgrade.judging.bundle import Case
from d2lgrade.judging.contract import FunctionContract
from d2lgrade.judging.inputs import inputs_paragraph, kinds_of, unstated, unused
from d2lgrade.judging.plain import to_plain
from d2lgrade.judging.reference import Function, reference_for, solutions_module, verdict_function
from d2lgrade.judging.spec import NotebookSpec, SpecError, read_spec

ROOT = Path(__file__).resolve().parents[1]


def hidden_input_problems(spec: NotebookSpec) -> list[str]:
    """Every way a function question's hidden inputs and its task text's statement of them disagree."""
    problems = []
    for q in spec.autograded():
        if not isinstance(q.contract, FunctionContract):
            continue
        task = next(t for t in spec.tasks if t.question_id == q.id)
        ref = reference_for(spec.assignment, q.contract.name)
        assert isinstance(ref, Function)
        cases = [[to_plain(a) for a in args] for args in ref.cases()]
        if task.inputs is None:
            problems.append(f"{q.id}: its test cell declares no d2l.inputs")
            continue
        problems += [f"{q.id}: {p}, which its task text does not state"
                     for p in unstated(task.inputs, q.contract.params, cases)]
        problems += [f"{q.id}: the text states {p}, which no hidden input is" for p in unused(
            task.inputs, q.contract.params, cases)]
    return problems


def test_every_hidden_input_is_of_a_kind_its_task_text_states(course, assignment):
    problems = hidden_input_problems(course.spec(assignment))
    assert not problems, (f"{assignment}: {problems}; state the kind in the test cell's d2l.inputs and its sentence "
                          "in the task text, or take the input out of the hidden cases (docs/authoring.md)")


def test_every_inexactly_judged_task_states_its_tolerance(course, assignment):
    spec = course.spec(assignment)
    missing = [q.id for q, t in zip(spec.autograded(), spec.tasks, strict=True)
               if q.tolerance and q.tolerance.stated() and q.tolerance.stated() not in t.text]
    assert not missing, f"{assignment}: the task texts of {missing} do not state their tolerance (Tolerance.stated())"


def test_a_planted_hidden_input_of_an_unstated_kind_fails(course, monkeypatch):
    """An empty array slipped into d_cubic's hidden cases: its text states 0-d, 1-d and 2-d arrays, never empty."""
    spec = course.spec("s17_3")
    ref = reference_for("s17_3", "d_cubic")
    planted = Function(ref.fn, lambda: [*ref.cases(), (np.zeros((0,), dtype="float32"),)], ref.domain)
    monkeypatch.setitem(solutions_module("s17_3").REFERENCES, "d_cubic", planted)
    assert hidden_input_problems(spec) == [
        "ex1_d_cubic: test input 5: `x` is 'no entries', which its task text does not state"]


def test_the_zero_d_input_of_d_cubic_is_stated_in_its_text(course):
    task = next(t for t in course.spec("s17_3").tasks if t.question_id == "ex1_d_cubic")
    assert task.inputs and "no axes" in task.inputs["x"] and "with no axes, 1 axis or 2 axes" in task.text


def test_inputs_are_classified_by_axes_emptiness_signs_and_type():
    assert kinds_of(to_plain(np.array(-1.5))) == {"float32 array", "no axes", "negative"}
    assert kinds_of(to_plain(np.zeros((2, 0)))) == {"float32 array", "2 axes", "no entries"}
    assert kinds_of(to_plain(np.array([[0.0, 2.0]]))) == {"float32 array", "2 axes", "an axis of length 1", "zero",
                                                          "positive"}
    assert kinds_of(to_plain(())) == {"tuple", "no items"}
    assert kinds_of(to_plain(-3)) == {"int", "negative"}
    assert kinds_of(to_plain(float("nan"))) == {"float", "NaN"}


def copied_notebook(tmp_path: Path) -> Path:
    target = tmp_path / "s17_3" / "single_variable_calculus.ipynb"
    target.parent.mkdir()
    shutil.copy(ROOT / "source" / "s17_3" / target.name, target)
    return target


def edit_d_cubic(path: Path, inputs: dict | None = None, drop_sentence: bool = False) -> None:
    nb = nbformat.read(path, as_version=4)
    test = next(c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == "ex1_d_cubic")
    if inputs is not None:
        test.metadata["d2l"]["inputs"] = inputs
    if drop_sentence:
        task = next(c for c in nb.cells if "**Hidden test inputs**" in c.source)
        task.source = task.source.split("\n\n**Hidden test inputs**")[0]
    nbformat.write(nb, path)


def test_the_build_refuses_a_text_that_does_not_state_the_declared_inputs(tmp_path):
    path = copied_notebook(tmp_path)
    edit_d_cubic(path, drop_sentence=True)
    with pytest.raises(SpecError, match="word for word") as info:
        read_spec(path)
    assert "with no axes, 1 axis or 2 axes" in str(info.value)  # the sentence to put there


@pytest.mark.parametrize(("inputs", "fragment"), [
    ({"x": ["float32 array", "0-d"]}, "not in the vocabulary"),
    ({"y": ["float32 array"]}, "each parameter of d_cubic"),
])
def test_a_malformed_declaration_is_refused_with_the_remedy(tmp_path, inputs, fragment):
    path = copied_notebook(tmp_path)
    edit_d_cubic(path, inputs=inputs)
    with pytest.raises(SpecError, match=fragment):
        read_spec(path)


def test_a_declaration_with_a_kind_more_changes_the_sentence_the_text_must_carry(tmp_path):
    """Declaring an empty input without saying so in the text is refused: the text is rendered from the data."""
    path = copied_notebook(tmp_path)
    edit_d_cubic(path, inputs={"x": ["float32 array", "no axes", "1 axis", "2 axes", "no entries", "negative", "zero",
                                     "positive"]})
    with pytest.raises(SpecError, match="word for word"):
        read_spec(path)


def test_a_failure_on_a_0d_input_names_its_kind_not_its_value(bundles):
    """The fairness testers' case: d_cubic raises on the 0-d hidden input; feedback says it had no axes."""
    compiled = next(c for c in bundles["s17_3"].compiled if c.question.id == "ex1_d_cubic")
    contract = compiled.question.contract
    cases: list[Case] = list(compiled.cases)
    zero_d = next(i for i, case in enumerate(cases) if case.args[0]["shape"] == [])
    outputs = [case.expected for case in cases]
    outputs[zero_d] = {"t": "error", "type": "IndexError", "message": "tuple index out of range"}
    message = verdict_function(contract, compiled.question.tolerance, {"t": "function", "params": ["x"]}, outputs,
                               [case.expected for case in cases], [case.args for case in cases])
    assert f"Test input {zero_d + 1}: `x` with no axes" in message and "IndexError" in message
    hidden = cases[zero_d].args[0]["data"][0]
    assert repr(hidden) not in message and f"{hidden:g}" not in message


def test_the_inputs_sentence_reads_as_the_task_states_it():
    assert inputs_paragraph({"x": ("float32 array", "no axes", "1 axis", "negative", "zero")}) == (
        "**Hidden test inputs** (each kind listed occurs, and no other): `x`: float32 arrays with no axes or 1 axis; "
        "entries negative and zero.")


def test_the_0d_case_of_d_cubic_fails_against_a_statement_that_leaves_it_out(course):
    """The fairness testers' finding, replayed: the old text named no 0-d input, and one hidden case is 0-d."""
    task = next(t for t in course.spec("s17_3").tasks if t.question_id == "ex1_d_cubic")
    without = {"x": tuple(k for k in task.inputs["x"] if k != "no axes")}
    cases = [[to_plain(a) for a in args] for args in reference_for("s17_3", "d_cubic").cases()]
    assert unstated(without, ("x",), cases) == ["test input 4: `x` is 'no axes'"]
