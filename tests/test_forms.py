"""The public check and grading judge an answer's form by one definition (d2lgrade/judging/contract.py).

For every contract kind, an answer the student's check accepts is never rejected for its form when
graded, and one it rejects is rejected when graded with the same message; and no hidden line may judge
in a mode that needs a form its public line does not declare.
"""

from __future__ import annotations

import numpy
import pytest
from mxnet import np as mnp

from d2lgrade.judging.compare import Tolerance
from d2lgrade.judging.contract import KINDS, FunctionContract, ValueContract, mode_form_problem
from d2lgrade.judging.plain import to_plain
from d2lgrade.judging.reference import verdict_function, verdict_value
from d2lgrade.judging.spec import read_spec
from d2lgrade.student import AnswerError, Checks

OPTIONS = ("first", "last")
SAMPLES: dict[str, tuple[dict, object, list[object]]] = {
    # kind: (constraints, a reference, candidate answers of right and wrong forms)
    "number": ({}, 2.5, [2.5, 3, mnp.array(2.5), numpy.float32(1), True, "2.5", [2.5], None, float("nan")]),
    "int": ({}, 3, [3, 3.0, 2.5, numpy.int64(3), True, "3", float("inf")]),
    "bool": ({}, True, [True, numpy.bool_(False), 1, "True"]),
    "str": ({}, "a", ["a", 1, None, ["a"]]),
    "choice": ({"options": OPTIONS}, "first", ["first", " LAST ", "middle", 1]),
    "choices": ({"options": OPTIONS}, {"first"}, [{"first"}, ["last", "first"], ["middle"], "first"]),
    "shape": ({}, (2, 3), [(2, 3), [2, 3], (2, -1), (2.0, 3), 6]),
    "shapes": ({}, ((2,), (3, 1)), [[(2,), (3, 1)], [(2,), 3], (2, 3)]),
    "array": ({"shape": ("k", 2), "dtype": "float"}, [[1.0, 0.0]],
              [[[1.0, 0.0]], [1.0, 0.0], [[1, 0], [0, 1]], [[True, False]], mnp.ones((3, 2)), numpy.ones((2, 3)), "x",
               [[1.0, 0.0], [1.0]]]),
    "frame": ({"columns": ("a",)}, "frame", ["frame", "other-columns", [1.0]]),
}


def _frame(which: str):
    import pandas
    return pandas.DataFrame({"a": [1.0]} if which == "frame" else {"b": [1.0]})


def _live(kind: str, x: object) -> object:
    return _frame(x) if kind == "frame" and isinstance(x, str) else x


def test_every_kind_has_samples():
    assert set(SAMPLES) == set(KINDS)


def _public(contract: ValueContract, constraints: dict, value: object) -> str | None:
    checks = Checks("any", namespace={contract.name: value})
    try:
        checks.value(contract.name, contract.kind, **constraints)
    except AnswerError as exc:
        return str(exc)
    return None


@pytest.mark.parametrize("kind", KINDS)
def test_public_check_and_grading_agree_on_form(kind, capsys):
    constraints, reference, candidates = SAMPLES[kind]
    contract = ValueContract("answer", kind, **constraints)
    want = to_plain(_live(kind, reference))
    accepted = 0
    for candidate in candidates:
        value = _live(kind, candidate)
        public = _public(contract, constraints, value)
        graded = verdict_value(contract, Tolerance(0, 0), to_plain(value), want)
        if public is None:
            accepted += 1
            assert graded is None or not graded.startswith("`answer` should be"), (candidate, graded)
        else:
            assert graded == public, candidate
    assert 0 < accepted < len(candidates)


@pytest.mark.parametrize("kind", KINDS)
def test_function_example_check_and_grading_agree_on_form(kind):
    constraints, reference, candidates = SAMPLES[kind]
    contract = FunctionContract("f", ("x",), ValueContract("", kind, **constraints))
    want = [to_plain(_live(kind, reference))]
    for candidate in candidates:
        value = _live(kind, candidate)
        checks = Checks("any", namespace={"f": lambda x, v=value: v})
        try:
            checks.function("f", ("x",), kind, example=(0,), **constraints)
            public = None
        except AnswerError as exc:
            public = str(exc)
        graded = verdict_function(contract, Tolerance(0, 0), to_plain(lambda x: x), [to_plain(value)], want)
        if public is None:
            assert graded is None or " should be " not in graded, (candidate, graded)
        else:
            assert public.removeprefix("`f` on the example: ") in graded, (candidate, graded)


def test_rows_of_a_flat_array_are_caught_by_the_public_check():
    """Found by students: a flat [1., 0.] where shape (k, 2) is asked passed the public check."""
    message = _public(ValueContract("eigvecs1", "array"), {"shape": ("k", 2), "dtype": "float"}, [1.0, 0.0])
    assert message == ("`eigvecs1` should be an array of shape (k, 2), any k, with float entries, but it has "
                       "shape (2,): 1 axis, not 2")


@pytest.mark.parametrize(("contract", "mode"), [
    (ValueContract("v", "array"), "up_to_scale"),
    (ValueContract("v", "array", shape=(3,)), "up_to_scale"),
    (ValueContract("v", "array"), "unordered"),
    (ValueContract("v", "array"), "interval"),
    (ValueContract("v", "number"), "einsum"),
])
def test_a_mode_needs_its_form_declared_in_the_public_line(contract, mode):
    assert mode_form_problem(contract, mode)


def test_every_question_of_the_course_declares_the_form_its_mode_needs(course):
    for assignment in course.assignments():
        for q in read_spec(course.source_notebook(assignment)).autograded():
            answer = q.contract.returns if isinstance(q.contract, FunctionContract) else q.contract
            assert mode_form_problem(answer, q.tolerance.mode) is None, q.id
