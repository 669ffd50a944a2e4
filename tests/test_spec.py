"""Authoring mistakes stop the build with the notebook, the cell and the remedy."""

from __future__ import annotations

import pytest

from d2lgrade.judging.compare import Tolerance
from d2lgrade.judging.spec import SpecError, parse_test_cell

WHERE = "source/s/x.ipynb, cell 3 (ex1_a)"


def cell(public: str, hidden: str) -> str:
    return f"{public}\n### BEGIN HIDDEN TESTS\n{hidden}\n### END HIDDEN TESTS"


def test_a_well_formed_test_cell_gives_contract_and_tolerance():
    contract, tol = parse_test_cell(cell('check.value("a", "array", shape=(2, 3))',
                                         'check.judge("a", rtol=1e-5, atol=1e-8, mode="unordered")'), WHERE)
    assert contract.name == "a" and contract.shape == (2, 3)
    assert (tol.rtol, tol.atol, tol.mode) == (1e-5, 1e-8, "unordered")


@pytest.mark.parametrize(("source", "fragment"), [
    ('check.value("a", "number")', "HIDDEN TESTS' region"),
    (cell('check.value("a", "number")\nassert a == 1', 'check.judge("a", rtol=0, atol=0)'), "line 2"),
    (cell('check.value("a", "number")', 'check.judge("b", rtol=0, atol=0)'), "same answer"),
    (cell('check.value("a", "number")', 'check.judge("a")'), "explicit rtol= and atol="),
    (cell('check.value("a", "vector")', 'check.judge("a", rtol=0, atol=0)'), "unknown answer kind"),
    (cell('check.value("a", "number")', 'check.judge("a", rtol=0, atol=0, mode="fuzzy")'), "unknown mode"),
    (cell('check.value("a", "choice")', 'check.judge("a", rtol=0, atol=0)'), "needs options"),
    (cell('check.value(name, "number")', 'check.judge("a", rtol=0, atol=0)'), "must be literals"),
    (cell('check.value("a", "number"', 'check.judge("a", rtol=0, atol=0)'), "does not parse"),
])
def test_mistakes_are_reported_with_the_cell(source, fragment):
    with pytest.raises(SpecError) as info:
        parse_test_cell(source, WHERE)
    assert str(info.value).startswith(WHERE) and fragment in str(info.value)


def test_function_example_may_be_any_expression():
    contract, _ = parse_test_cell(cell('check.function("f", ("x", "y"), "number", example=(np.ones(3), X))',
                                       'check.judge("f", rtol=0, atol=0)'), WHERE)
    assert contract.params == ("x", "y") and contract.returns.kind == "number"


@pytest.mark.parametrize(("rtol", "atol", "mode", "sentence"), [
    (0, 1e-4, "values", "**Tolerance.** Each number may differ from the right one by at most $10^{-4}$."),
    (1e-6, 0, "values", "**Tolerance.** Each number may differ from the right one, $r$, by at most $10^{-6}\\,|r|$."),
    (1e-5, 1e-8, "values",
     "**Tolerance.** Each number may differ from the right one, $r$, by at most $10^{-8} + 10^{-5}\\,|r|$."),
    (0, 1e-4, "unordered",
     "**Tolerance.** Taken in any order, each number may differ from the right one by at most $10^{-4}$."),
    (0, 1e-5, "up_to_scale", "**Tolerance.** Each row may point at an angle of up to 0.26° from its direction."),
    (0, 0, "values", None), (1e-6, 1e-6, "einsum", None),
])
def test_a_tolerance_is_stated_in_the_words_the_task_text_carries(rtol, atol, mode, sentence):
    assert Tolerance(rtol, atol, mode).stated() == sentence
