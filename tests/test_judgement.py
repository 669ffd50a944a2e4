"""Verdicts on plain data: equivalent forms pass, realistic mistakes fail, messages never leak the reference."""

from __future__ import annotations

import numpy
import pytest
from mxnet import np as mnp

from d2lgrade.judging.compare import Tolerance, differs
from d2lgrade.judging.contract import FunctionContract, ValueContract
from d2lgrade.judging.plain import from_plain, to_plain
from d2lgrade.judging.reference import verdict_function, verdict_value

EXACT = Tolerance(0, 0)
CLOSE = Tolerance(1e-5, 1e-8)


def verdict(contract: ValueContract, got, expected, tol=EXACT):
    return verdict_value(contract, tol, to_plain(got), to_plain(expected))


@pytest.mark.parametrize("got", [2.5, numpy.float32(2.5), mnp.array(2.5), numpy.array(2.5), 2.5000000001])
def test_a_number_may_be_a_float_a_numpy_scalar_or_a_0d_array(got):
    assert verdict(ValueContract("x", "number"), got, 2.5, CLOSE) is None


@pytest.mark.parametrize("got", [(2, 3, 4), [2, 3, 4], mnp.zeros((2, 3, 4)).shape, (numpy.int64(2), 3, 4)])
def test_a_shape_may_be_a_tuple_or_a_list_of_ints(got):
    assert verdict(ValueContract("s", "shape"), got, (2, 3, 4)) is None


def test_an_array_may_come_from_mxnet_numpy_or_nested_lists():
    want = mnp.array([[1.0, 2.0], [3.0, 4.0]])
    for got in (want, want.asnumpy(), [[1, 2], [3, 4]], ((1.0, 2.0), (3.0, 4.0))):
        assert verdict(ValueContract("a", "array", shape=(2, 2)), got, want, CLOSE) is None


def test_an_int_answer_accepts_a_whole_float_but_not_a_fraction():
    c = ValueContract("n", "int")
    assert verdict(c, 2.0, 2) is None
    assert "not a whole number" in verdict(c, 2.5, 2)


@pytest.mark.parametrize(("name", "got"), [
    ("sign", -2.5), ("off by one", 3.5), ("a string", "2.5"), ("missing", None),
])
def test_wrong_numbers_fail(name, got):
    assert verdict(ValueContract("x", "number"), got, 2.5, CLOSE) is not None


def test_a_number_where_a_shape_is_asked_fails_with_a_form_message():
    message = verdict(ValueContract("s", "shape"), 24, (2, 3, 4))
    assert message == "`s` should be a shape: a tuple of ints, but it is a int (24)"


def test_wrong_axis_and_transpose_fail_and_say_how_not_what():
    A = mnp.arange(20).reshape(5, 4)
    c = ValueContract("s", "array")
    wrong_axis = verdict(c, A.sum(axis=0), A.sum(axis=1), CLOSE)
    transposed = verdict(c, A.T, A, CLOSE)
    assert "shape (4,)" in wrong_axis and "shape (4, 5)" in transposed
    for message in (wrong_axis, transposed):
        assert "70" not in message and "38" not in message  # entries of the reference never appear


def test_values_differ_message_counts_entries_without_showing_them():
    message = verdict(ValueContract("v", "array"), [1.0, 2.0, 3.0], [1.0, -2.0, 3.0], CLOSE)
    assert message == "`v`: 1 of 3 entries are not right (rtol=1e-05, atol=1e-08)"


def test_booleans_are_not_numbers_and_numbers_are_not_booleans():
    assert verdict(ValueContract("b", "bool"), 1, True) is not None
    assert verdict(ValueContract("x", "number"), True, 1.0) is not None
    assert verdict(ValueContract("b", "bool"), numpy.bool_(True), True) is None


def test_choice_ignores_case_and_spaces_but_not_the_option():
    c = ValueContract("c", "choice", options=("first", "last"))
    assert verdict(c, " First ", "first") is None
    assert verdict(c, "last", "first") is not None
    assert "not one of the options" in verdict(c, "middle", "first")


def test_choices_are_a_set_in_any_order():
    c = ValueContract("c", "choices", options=("a", "b", "c"))
    assert verdict(c, ["c", "a"], {"a", "c"}) is None
    assert verdict(c, ["a"], {"a", "c"}) is not None


def test_function_verdict_says_which_test_inputs_fail():
    contract = FunctionContract("f", ("x",), ValueContract("", "number"))
    outputs = [to_plain(x) for x in (1.0, 5.0, 3.0, 0.0)]
    expected = [to_plain(x) for x in (1.0, 4.0, 3.0, 2.0)]
    message = verdict_function(contract, CLOSE, {"t": "function", "params": ["x"]}, outputs, expected)
    assert message == ("`f` is not right on test inputs 2 and 4 of 4 (right on the others); "
                       "on test input 2: not right (rtol=1e-05, atol=1e-08)")
    one = verdict_function(contract, CLOSE, {"t": "function", "params": ["x"]}, outputs[:2], expected[:2])
    assert one == "`f` is not right on test input 2 of 2 (right on the other): not right (rtol=1e-05, atol=1e-08)"


def test_function_with_wrong_parameter_count_fails_on_signature():
    contract = FunctionContract("f", ("p", "q"), ValueContract("", "number"))
    message = verdict_function(contract, CLOSE, {"t": "function", "params": ["p"]}, [], [to_plain(1.0)])
    assert "should take 2 parameter(s)" in message


def test_unordered_and_up_to_scale_modes():
    c = ValueContract("v", "array")
    vecs = numpy.array([[1.0, 1.0], [1.0, -1.0]])
    assert verdict(c, [[-3.0, 3.0], [0.5, 0.5]], vecs, Tolerance(1e-6, 1e-9, "up_to_scale")) is None
    assert verdict(c, [[1.0, 0.0], [0.5, 0.5]], vecs, Tolerance(1e-6, 1e-9, "up_to_scale")) is not None
    assert verdict(c, [[0.0, 0.0], [1.0, -1.0]], vecs, Tolerance(1e-6, 1e-9, "up_to_scale")) is not None  # zero vector
    assert verdict(c, [[1.0, -1.0], [1.0, 1.0]], vecs, Tolerance(1e-6, 1e-9, "unordered")) is None
    assert verdict(c, [[-1.0, 1.0], [1.0, 1.0]], vecs, Tolerance(1e-6, 1e-9, "unordered")) is not None


def test_einsum_mode_evaluates_both_strings():
    s = ValueContract("e", "str")
    tol = Tolerance(1e-8, 1e-10, "einsum")
    assert verdict(s, "ab,bc,cd,da->", "ij,jk,kl,li->", tol) is None
    assert verdict(s, "ij,jk,kl,lm->", "ij,jk,kl,li->", tol) is not None
    assert "rejects" in verdict(s, "ij,jk,kl,l->!!", "ij,jk,kl,li->", tol)


def test_interval_mode_checks_bounds_elementwise():
    bounds = [[0.1, 0.1], [0.2, 0.2]]
    tol = Tolerance(0, 0, "interval")
    assert differs_interval([0.15, 0.2], bounds, tol) is None
    assert differs_interval([0.15, 0.25], bounds, tol) == ("1 of 2 entries fall outside the range a correct "
                                                           "simulation gives (with near certainty)")


def differs_interval(got, bounds, tol):
    c = ValueContract("p", "array")
    return differs(c.normalize(to_plain(got)), c.normalize(to_plain(bounds)), tol)


def test_nan_matches_only_nan():
    assert Tolerance(1e-5, 0).close(float("nan"), float("nan"))
    assert not Tolerance(1e-5, 0).close(1.0, float("nan"))


def test_arguments_round_trip_through_plain_data():
    args = (mnp.arange(6).reshape(2, 3), (3, 1), [1.5, None], "text", numpy.ones(2, dtype="int32"))
    rebuilt = [from_plain(to_plain(a)) for a in args]
    assert isinstance(rebuilt[0], mnp.ndarray) and rebuilt[0].shape == (2, 3)
    assert rebuilt[1:4] == [(3, 1), [1.5, None], "text"]
    assert rebuilt[4].dtype == numpy.int32


def test_function_with_optional_extra_parameters_or_varargs_fits_the_signature():
    contract = FunctionContract("f", ("x",), ValueContract("", "number"))
    with_default = to_plain(lambda x, verbose=False: x)
    with_varargs = to_plain(lambda *args: args)
    needs_two = to_plain(lambda x, y: x)
    assert contract.check_signature(with_default) is None
    assert contract.check_signature(with_varargs) is None
    assert "takes 2" in contract.check_signature(needs_two).message


# Messages (issue 13): what came back is named, shapes go by axis, exact answers are judged whole, and
# nothing of the reference (its values, columns, number of rows) reaches the student.

def test_nan_and_infinity_are_named_where_a_number_came_back_so():
    c = ValueContract("x", "number")
    assert verdict(c, float("nan"), 2.5, CLOSE).startswith("`x`: it is NaN (not a number")
    assert verdict(c, mnp.array(float("inf")), 2.5, CLOSE).startswith("`x`: it is infinity (inf")
    assert verdict(c, -float("inf"), 2.5, CLOSE).startswith("`x`: it is -infinity")
    assert verdict(ValueContract("n", "int"), float("nan"), 2).startswith("`n` should be an integer, but it is NaN")
    array = verdict(ValueContract("v", "array"), [1.0, float("nan"), float("inf")], [1.0, 2.0, 3.0], CLOSE)
    assert array.startswith("`v`: 2 of 3 entries are not right") and "it has NaN and infinite entries" in array
    f = FunctionContract("f", ("x",), ValueContract("", "number"))
    message = verdict_function(f, CLOSE, {"t": "function", "params": ["x"]}, [to_plain(float("nan"))], [to_plain(1.0)])
    assert "test input 1: it is NaN" in message


def test_nan_where_the_reference_is_nan_is_right():
    assert verdict(ValueContract("v", "array"), [float("nan")], [float("nan")], CLOSE) is None


@pytest.mark.parametrize(("contract", "got", "want"), [
    (ValueContract("lt", "array", shape=(3, 4), dtype="bool"), numpy.eye(3, 4, dtype=bool), numpy.eye(3, 4, 1, dtype=bool)),
    (ValueContract("n", "int"), 11, 12),
    (ValueContract("s", "shape"), (3, 4, 5), (3, 1, 5)),
    (ValueContract("ss", "shapes"), [(3, 4), (2,), (1, 1)], [(3, 4), (3,), (1,)]),
    (ValueContract("a", "array"), [[1, 2], [3, 4]], [[1, 2], [3, 5]]),
])
def test_exact_answers_are_judged_whole_without_counts_or_positions(contract, got, want):
    """A count of wrong parts is an oracle: flip one entry, resubmit, watch the count (docs/authoring.md)."""
    assert verdict(contract, got, want) == f"`{contract.name}`: not right"


def test_answers_judged_to_a_tolerance_keep_counts_of_entries_off():
    assert verdict(ValueContract("v", "array"), [1.0, 2.5, 3.0], [1.0, 2.0, 3.0], CLOSE) == \
        "`v`: 1 of 3 entries are not right (rtol=1e-05, atol=1e-08)"


def test_a_shape_that_is_not_declared_is_told_axis_by_axis_in_the_students_terms():
    c = ValueContract("s", "array")
    A = mnp.arange(20.0).reshape(5, 4)
    assert verdict(c, A.sum(axis=0), A.sum(axis=1), CLOSE) == "`s`: it has shape (4,): axis 0 has length 4, which is not right"
    assert verdict(c, A, A.sum(axis=1), CLOSE) == "`s`: it has shape (5, 4), with 2 axes: not the right number of axes"


def test_a_declared_shape_is_told_axis_by_axis_with_the_lengths_asked():
    c = ValueContract("c", "array", shape=(3, 2, 4))
    assert verdict(c, numpy.zeros((4, 2, 3)), numpy.zeros((3, 2, 4))) == (
        "`c` should be an array of shape (3, 2, 4), but it has shape (4, 2, 3): axis 0 has length 4, not 3, "
        "axis 2 has length 3, not 4")
    assert verdict(ValueContract("y", "array", shape=(12,)), numpy.zeros((12, 1)), numpy.zeros(12)) == (
        "`y` should be an array of shape (12,), but it has shape (12, 1): 2 axes, not 1")


def test_a_declared_shape_may_leave_an_axis_free():
    c = ValueContract("eigvecs", "array", shape=("k", 2), dtype="float")
    assert c.describe() == "`eigvecs`: an array of shape (k, 2), any k, with float entries"
    assert verdict(c, [[1.0, 0.0]], [[2.0, 0.0]], Tolerance(0, 1e-5, "up_to_scale")) is None
    assert verdict(c, [1.0, 0.0], [[2.0, 0.0]], Tolerance(0, 1e-5, "up_to_scale")).endswith("it has shape (2,): 1 axis, not 2")


def test_frame_columns_are_told_with_the_students_names_only():
    import pandas
    got = pandas.DataFrame({"a": [1.0], "b": [2.0]})
    want = pandas.DataFrame({"a": [1.0], "SECRET_COLUMN": [2.0]})
    message = verdict(ValueContract("df", "frame"), got, want)
    assert message == "`df`: its columns are ['a', 'b'], which are not the right columns"
    assert "SECRET" not in message


def test_eigenvectors_are_judged_by_angle_in_words_and_whole():
    c = ValueContract("v", "array", shape=("k", 2))
    tol = Tolerance(0, 1e-5, "up_to_scale")
    message = verdict(c, [[1.0, 0.0], [0.0, 1.0]], [[1.0, 1.0]], tol)
    assert "angle under 0.26°" in message and "rtol" not in message
    assert message == verdict(c, [[1.0, 0.0]], [[1.0, 1.0]], tol)  # a wrong number of rows is not told apart


def test_unordered_items_are_judged_whole():
    c = ValueContract("e", "array", shape=(2,))
    assert verdict(c, [3.0, 1.0], [1.0, 2.0], Tolerance(0, 1e-4, "unordered")) == \
        "`e`: its items, taken in any order, are not right (rtol=0, atol=0.0001)"


def test_einsum_operand_count_is_told_from_the_students_string():
    message = verdict(ValueContract("e", "str"), "ij,jk->", "ij,jk,kl,li->", Tolerance(1e-8, 1e-10, "einsum"))
    assert message == "`e`: it takes 2 operands, which is not what the task asks"


REFERENCE_SIDE = [
    (ValueContract("x", "number"), 2.5, 98765.4321, CLOSE),
    (ValueContract("v", "array"), [1.0, 2.0], [98765.4321, 2.0], CLOSE),
    (ValueContract("v", "array"), [1.0, 2.0], [98765.4321, 2.0, 3.0], CLOSE),
    (ValueContract("v", "array"), [1.0, 2.0], [[98765.0, 2.0]], CLOSE),
    (ValueContract("s", "shape"), (2, 3), (98765, 3), EXACT),
    (ValueContract("s", "str"), "b", "SECRET", EXACT),
    (ValueContract("c", "choice", options=("a", "SECRET")), "a", "SECRET", EXACT),
    (ValueContract("v", "array", shape=("k", 2)), [[1.0, 0.0]], [[98765.0, 1.0], [0.0, 1.0]], Tolerance(0, 1e-5, "up_to_scale")),
    (ValueContract("v", "array", shape=(2,)), [1.0, 0.0], [98765.0, 1.0], Tolerance(0, 1e-5, "unordered")),
    (ValueContract("p", "array", shape=(2,)), [0.5, 0.5], [[0.1, 0.2], [0.3, 98765.0]], Tolerance(0, 0, "interval")),
]


@pytest.mark.parametrize(("contract", "got", "want", "tol"), REFERENCE_SIDE)
def test_no_message_carries_reference_side_data(contract, got, want, tol):
    message = verdict(contract, got, want, tol)
    assert message and "98765" not in message and "SECRET" not in message and "expected" not in message


def test_an_exact_frame_with_wrong_values_does_not_say_which_column():
    import pandas
    got = pandas.DataFrame({"a": [1.0], "b": [2.0]})
    want = pandas.DataFrame({"a": [1.0], "b": [3.0]})
    assert verdict(ValueContract("df", "frame"), got, want) == "`df`: its values are not right"
    assert verdict(ValueContract("df", "frame"), got, want, CLOSE) == \
        "`df`: column 'b': 1 of 1 entries are not right (rtol=1e-05, atol=1e-08)"


@pytest.mark.parametrize(("question", "answer"), [
    ("ex1_alpha_hat", 0.333333),  # a grid search to six decimals (the fairness testers' case; rtol 1e-6 failed it)
    ("ex1_alpha_hat", numpy.float32(1 / 3)),
])
def test_a_numeric_task_is_judged_at_a_tolerance_a_reasonable_method_reaches(bundles, question, answer):
    compiled = next(c for c in bundles["s17_7"].compiled if c.question.id == question)
    assert verdict_value(compiled.question.contract, compiled.question.tolerance, to_plain(answer),
                         compiled.expected) is None
    assert verdict_value(compiled.question.contract, compiled.question.tolerance, to_plain(0.3332),
                         compiled.expected) is not None
