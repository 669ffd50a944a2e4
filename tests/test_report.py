"""The report validator: what ``to_plain`` writes always validates; anything else is refused with a
message, never an exception, and never turns a wrong answer into a pass."""

from __future__ import annotations

import copy
import json
import logging
import math

import numpy
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from d2lgrade.judging.answer_report import Invalid, validate_report
from d2lgrade.judging.compare import Tolerance
from d2lgrade.judging.contract import FunctionContract, ValueContract
from d2lgrade.judging.plain import to_plain
from d2lgrade.judging.probe import MIME
from d2lgrade.judging.reference import verdict_value
from d2lgrade.sandbox.execute import Execution, _read_probe

EXPECTED = numpy.array([4.0, -4.0, 0.5])
WRONG = numpy.zeros(3)
NONCE = "n" * 32


def report_of(value, nonce=NONCE, outputs=None):
    """A report exactly as the probe writes it, through JSON as it crosses the kernel boundary."""
    out = {"id": "q", "nonce": nonce, "value": to_plain(value)}
    if outputs is not None:
        out["outputs"] = [to_plain(o) for o in outputs]
    return json.loads(json.dumps(out))


def good_array():
    return report_of(WRONG)


def _set(path, new):
    def mutate(report):
        node = report
        for key in path[:-1]:
            node = node[key]
        if new is _DELETE:
            del node[path[-1]]
        else:
            node[path[-1]] = new(node[path[-1]]) if callable(new) else new
        return report
    return mutate


_DELETE = object()
MALFORMED = {
    "shape without entries": _set(("value", "data"), []),
    "data shorter than shape": _set(("value", "data"), lambda d: d[:1]),
    "data longer than shape": _set(("value", "data"), lambda d: d + d),
    "nested data": _set(("value", "data"), lambda d: [[x] for x in d]),
    "bool entries in a float array": _set(("value", "data"), lambda d: [True for _ in d]),
    "string entries in a float array": _set(("value", "data"), lambda d: ["0.0" for _ in d]),
    "NaN literal where a finite float is written": _set(("value", "data"), lambda d: [math.nan for _ in d]),
    "infinity literal": _set(("value", "data"), lambda d: [math.inf for _ in d]),
    "unknown dtype": _set(("value", "dtype"), "evil"),
    "dtype not a string": _set(("value", "dtype"), 7),
    "negative dimension": _set(("value", "shape"), [-3]),
    "shape not a list": _set(("value", "shape"), 3),
    "float dimension": _set(("value", "shape"), [3.0]),
    "small data withheld": _set(("value", "data"), None),
    "scalar flag with a shape": _set(("value", "scalar"), True),
    "unknown library": _set(("value", "lib"), "torch"),
    "extra key in a value": _set(("value", "score"), 100),
    "missing key in a value": _set(("value", "lib"), _DELETE),
    "unknown tag": _set(("value", "t"), "pass"),
    "tag not a string": _set(("value", "t"), 1),
    "value not a dict": _set(("value",), [1, 2]),
    "extra key in the report": _set(("score",), 100),
    "no value": _set(("value",), _DELETE),
    "report for another question": _set(("id",), "other"),
    "report without the nonce": _set(("nonce",), _DELETE),
    "report with another nonce": _set(("nonce",), "x" * 32),
    "outputs for a value question": _set(("outputs",), []),
}


@pytest.mark.parametrize("name", list(MALFORMED))
def test_a_malformed_report_is_refused_with_a_message(name):
    report = MALFORMED[name](good_array())
    checked = validate_report(report, "q", None, NONCE)
    assert isinstance(checked, Invalid) and "malformed" in checked.message


def test_the_honest_report_of_the_table_validates():
    assert validate_report(good_array(), "q", None, NONCE) == good_array()


FRAME_MALFORMED = {
    "more column names than columns": lambda f: {**f, "columns": f["columns"] * 2},
    "shape disagrees with columns": lambda f: {**f, "shape": [f["shape"][0], 5]},
    "column longer than the frame": lambda f: {**f, "data": [{**f["data"][0], "shape": [9], "data": [0.0] * 9}]},
    "column that is not an array": lambda f: {**f, "data": [{"t": "float", "v": 1.0}]},
}


@pytest.mark.parametrize("name", list(FRAME_MALFORMED))
def test_a_frame_whose_columns_rows_and_shape_disagree_is_refused(name):
    pandas = pytest.importorskip("pandas")
    report = report_of(pandas.DataFrame({"a": [1.0, 2.0]}))
    assert validate_report(report, "q", None, NONCE) == report
    report["value"] = FRAME_MALFORMED[name](report["value"])
    assert isinstance(validate_report(report, "q", None, NONCE), Invalid)


def test_function_reports_need_one_output_per_case():
    report = report_of(lambda x: x, outputs=[1.0, 2.0])
    assert validate_report(report, "q", 2, NONCE) == report
    assert isinstance(validate_report(report, "q", 3, NONCE), Invalid)
    assert isinstance(validate_report({**report, "outputs": report["outputs"] + report["outputs"]}, "q", 2, NONCE),
                      Invalid)


def test_deep_and_huge_reports_are_refused_without_raising():
    deep: dict = {"t": "none"}
    for _ in range(200):
        deep = {"t": "list", "items": [deep]}
    wide = {"t": "list", "items": [{"t": "list", "items": [{"t": "none"}] * 10_000}] * 10_000}
    huge_int = {"t": "int", "v": 10**5000}
    for value in (deep, wide, huge_int):
        assert isinstance(validate_report({"id": "q", "value": value}, "q", None), Invalid)


def test_a_400_digit_integer_is_a_valid_report_judged_without_overflow():
    report = report_of(10**400)
    assert validate_report(report, "q", None, NONCE) == report
    assert "too large for a float" in verdict_value(ValueContract("x", "number"), Tolerance(1e-6, 0),
                                                   report["value"], to_plain(2.5))
    assert verdict_value(ValueContract("n", "int"), Tolerance(), report["value"], to_plain(10**400)) is None
    assert "not right" in verdict_value(ValueContract("n", "int"), Tolerance(), report["value"],
                                        to_plain(10**400 + 1))
    assert "not right" in verdict_value(ValueContract("v", "array"), Tolerance(1e-6, 0),
                                        to_plain([10**400, 1.0]), to_plain([3.0, 1.0]))
    for mode in ("unordered", "up_to_scale", "interval"):
        expected = [[0.0, 0.0], [5.0, 5.0]] if mode == "interval" else [[3.0, 1.0], [1.0, 1.0]]
        got = [10**400, 1.0] if mode == "interval" else [[10**400, 1.0], [1.0, 1.0]]
        assert verdict_value(ValueContract("v", "array"), Tolerance(0, 1e-6, mode), to_plain(got),
                             to_plain(expected)) is not None


# --- property tests -------------------------------------------------------------------------------------

scalars = st.one_of(
    st.none(), st.booleans(), st.integers(min_value=-(10**400), max_value=10**400),
    st.floats(allow_nan=True, allow_infinity=True), st.complex_numbers(allow_nan=True, allow_infinity=True),
    st.text(max_size=50))
dtypes = st.one_of(hnp.boolean_dtypes(), hnp.integer_dtypes(), hnp.unsigned_integer_dtypes(),
                   hnp.floating_dtypes(), hnp.complex_number_dtypes())
arrays = dtypes.flatmap(lambda d: hnp.arrays(d, hnp.array_shapes(min_dims=0, max_dims=4, min_side=0, max_side=5)))
hashable = st.one_of(st.none(), st.booleans(), st.integers(), st.text(max_size=10))
values = st.recursive(
    st.one_of(scalars, arrays),
    lambda inner: st.one_of(st.lists(inner, max_size=5), st.tuples(inner, inner),
                            st.frozensets(hashable, max_size=5), st.dictionaries(hashable, inner, max_size=5)),
    max_leaves=20)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(values)
def test_to_plain_of_any_honest_value_validates(value):
    report = report_of(value)
    assert validate_report(report, "q", None, NONCE) == report


json_values = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), st.text(max_size=10),
              st.sampled_from(["t", "array", "float64", "data", "shape", "nan", "bool", "int", "frame"])),
    lambda inner: st.one_of(st.lists(inner, max_size=4),
                            st.dictionaries(st.sampled_from(["t", "data", "shape", "dtype", "lib", "v", "items",
                                                             "columns", "scalar", "x"]), inner, max_size=5)),
    max_leaves=10)


def _paths(node, prefix=()):
    yield prefix
    if isinstance(node, dict):
        for key, child in node.items():
            yield from _paths(child, (*prefix, key))
    elif isinstance(node, list):
        for i, child in enumerate(node):
            yield from _paths(child, (*prefix, i))


@st.composite
def mutated_reports(draw):
    """The report of a wrong answer with one node replaced, deleted, or a list cut or doubled."""
    report = report_of(WRONG)
    paths = [p for p in _paths(report) if p]
    path = draw(st.sampled_from(paths))
    parent = report
    for key in path[:-1]:
        parent = parent[key]
    action = draw(st.sampled_from(["replace", "delete", "cut", "double"]))
    target = parent[path[-1]]
    if action == "replace" or (action in ("cut", "double") and not isinstance(target, list)):
        parent[path[-1]] = draw(json_values)
    elif action == "delete":
        del parent[path[-1]]
    elif action == "cut":
        parent[path[-1]] = target[:draw(st.integers(0, max(0, len(target) - 1)))]
    else:
        parent[path[-1]] = target + copy.deepcopy(target)
    return report


@settings(max_examples=500, deadline=None)
@given(mutated_reports())
def test_a_mutated_report_never_raises_and_never_passes_without_the_right_entries(report):
    checked = validate_report(report, "q", None, NONCE)
    if isinstance(checked, Invalid):
        return
    reason = verdict_value(ValueContract("v", "array"), Tolerance(1e-6, 1e-9), checked["value"], to_plain(EXPECTED))
    if reason is None:
        got = numpy.array(checked["value"]["data"], dtype=float).reshape(checked["value"]["shape"])
        assert got.shape == EXPECTED.shape and numpy.allclose(got, EXPECTED)


@pytest.mark.parametrize("mode", ["values", "unordered", "up_to_scale", "interval"])
@pytest.mark.parametrize("name", ["shape without entries", "data shorter than shape", "data longer than shape",
                                  "nested data", "NaN literal where a finite float is written"])
def test_without_the_validator_judging_still_never_passes_a_malformed_array(mode, name):
    """Defence in depth: contract and compare refuse the same reports on their own, without raising."""
    expected = numpy.array([[0.0, 0.0, 0.0], [1.0, 1.0, 1.0]]) if mode == "interval" else EXPECTED
    forged = MALFORMED[name](report_of(numpy.full(3, 0.5)))["value"]
    reason = verdict_value(ValueContract("v", "array"), Tolerance(0, 1e-6, mode), forged, to_plain(expected))
    assert reason is not None


def test_a_question_that_cannot_be_judged_costs_only_itself_and_logs_the_traceback(bundles, caplog, monkeypatch):
    from d2lgrade.judging import judge as judge_module

    bundle = bundles["s02_1"]
    real = judge_module.verdict_value

    def explode(contract, *args):
        if contract.name == "lt":
            raise OverflowError("int too large to convert to float")
        return real(contract, *args)

    monkeypatch.setattr(judge_module, "verdict_value", explode)
    answers = {c.question.id: {"id": c.question.id, "value": c.expected} for c in bundle.compiled
               if not isinstance(c.question.contract, FunctionContract)}
    with caplog.at_level(logging.ERROR, logger="d2lgrade.grading"):
        results = {r.id: r for r in judge_module.judge(bundle, answers, {})}
    assert results["ex1_lt"].score == 0 and "ex1_lt" in results["ex1_lt"].output
    assert "Traceback" not in results["ex1_lt"].output and "OverflowError" not in results["ex1_lt"].output
    assert results["ex1_gt"].score == results["ex1_gt"].max_score
    assert results["ex2_c"].score == results["ex2_c"].max_score
    assert "OverflowError" in caplog.text and "ex1_lt" in caplog.text


def _probe_cell(*reports, cases=None):
    import nbformat

    outputs = [nbformat.v4.new_output("display_data", data={MIME: r}) for r in reports]
    cell = nbformat.v4.new_code_cell("probe", metadata={"d2lgrade": {"probe": "q", "nonce": NONCE, "cases": cases}})
    cell.outputs = outputs
    return cell


def test_the_grader_keeps_only_the_report_that_echoes_the_probe_nonce():
    honest, stray = good_array(), {**good_array(), "nonce": "0" * 32}
    without = {k: v for k, v in good_array().items() if k != "nonce"}
    result = Execution()
    _read_probe(_probe_cell(stray, without, honest), "q", result)
    assert result.answers == {"q": honest} and not result.failures


@pytest.mark.parametrize(("reports", "says"), [
    ((good_array(), good_array()), "reported 2 times"),
    ((MALFORMED["shape without entries"](good_array()),), "malformed"),
    ((MALFORMED["report for another question"](good_array()),), "not for the question probed"),
    ((), "missing or malformed"),
])
def test_the_grader_refuses_duplicate_malformed_or_misaddressed_reports(reports, says):
    result = Execution()
    _read_probe(_probe_cell(*reports), "q", result)
    assert not result.answers and says in result.failures["q"]


@pytest.mark.parametrize("plain", [
    {"t": "array", "lib": "numpy", "dtype": "float64", "shape": [2], "data": [10**400, 1.0]},
    {"t": "float", "v": 10**400},
    {"t": "array", "lib": "numpy", "dtype": "float64", "shape": [], "data": []},
    {"t": "array", "lib": "numpy", "dtype": "float64", "shape": [2], "data": "ab"},
    {"t": "frame", "columns": [{"t": "str", "v": "a"}], "shape": [1, 1], "data": []},
    {"t": "error"},
    {"t": "list", "items": [{"t": "array", "lib": "numpy", "dtype": "int64", "shape": [3], "data": [1]}]},
])
@pytest.mark.parametrize("kind", ["number", "int", "array", "frame"])
def test_contracts_refuse_unvalidated_garbage_without_raising(plain, kind):
    """Defence in depth: even a report the validator never saw gives a Problem or a value, not an exception."""
    ValueContract("v", kind).normalize(plain)
