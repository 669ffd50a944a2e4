"""Hidden inputs cover the domain each task states.

Every Function reference declares, next to it in solutions/<assignment>.py, the regions of inputs its
task allows (signs, zero, boundaries, large magnitudes, other shapes, ties, degenerate cases). A region
no hidden case falls in is a place where a wrong formula gets full marks; and a hidden case on which
the reference is not finite is one that a correct formula cannot be expected to answer.
"""

from __future__ import annotations

import inspect
from functools import cache

import numpy

from d2lgrade.judging.reference import Function, Region, solutions_module


@cache
def functions(assignment: str) -> dict[str, Function]:
    refs = solutions_module(assignment).REFERENCES
    return {name: ref for name, ref in refs.items() if isinstance(ref, Function)}


@cache
def cases(assignment: str, name: str) -> list[tuple]:
    return list(functions(assignment)[name].cases())


def test_every_function_reference_declares_its_domain(assignment):
    missing = [name for name, ref in functions(assignment).items() if not ref.domain]
    assert not missing, (f"solutions/{assignment}.py: {missing} declare no domain; give Function(..., domain=...) "
                         "the regions of inputs the task allows (docs/authoring.md)")


def test_regions_name_parameters_of_their_reference(assignment):
    for name, ref in functions(assignment).items():
        params = list(inspect.signature(ref.fn).parameters)
        for region in ref.domain:
            assert region.param is None or region.param in params, (
                f"solutions/{assignment}.py: {name!r} region {region.name!r} is on parameter {region.param!r}, "
                f"but the reference takes {params}")


def test_every_region_of_the_domain_has_a_hidden_case(assignment):
    uncovered = []
    for name, ref in functions(assignment).items():
        params = list(inspect.signature(ref.fn).parameters)
        args_list = cases(assignment, name)
        for region in ref.domain:
            if not any(_holds(region, params, args) for args in args_list):
                uncovered.append(f"{name}: {region.name}")
    assert not uncovered, (f"solutions/{assignment}.py: no hidden case falls in {uncovered}; add cases there "
                           "(or take the region out of the task text if a correct answer cannot meet it)")


def _holds(region: Region, params: list[str], args: tuple) -> bool:
    if region.param is None:
        return bool(region.holds(*args))
    return bool(region.holds(args[params.index(region.param)]))


def test_the_reference_is_finite_on_every_hidden_case(assignment):
    """A correct formula must be able to answer every hidden case: nan, inf or an error is never expected."""
    bad = []
    for name, ref in functions(assignment).items():
        for i, args in enumerate(cases(assignment, name)):
            out = ref.fn(*args)
            if _numeric(out) is not None and not numpy.isfinite(_numeric(out)).all():
                bad.append(f"{name} case {i + 1}")
    assert not bad, f"solutions/{assignment}.py: the reference is not finite on {bad}"


def _numeric(value: object) -> numpy.ndarray | None:
    """The value as a float array, or None for non-numeric answers (frames, strings, shapes of ints)."""
    if hasattr(value, "asnumpy"):
        value = value.asnumpy()
    if isinstance(value, (bool, str)) or value is None or hasattr(value, "columns"):
        return None  # frames hold NaN for missing values by design
    try:
        arr = numpy.asarray(value, dtype=float)
    except (TypeError, ValueError):
        return None
    return arr

