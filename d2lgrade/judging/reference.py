"""How ``solutions/<assignment>.py`` declares reference answers, and how they are computed.

Each solutions module ends with a ``REFERENCES`` dict from answer name to :class:`Value` (the
expected value of a name) or :class:`Function` (the reference function, the hidden inputs it is
compared on, and the domain its task states, as :class:`Region` s the hidden inputs must cover:
``tests/test_domains.py``). Either may list :class:`Misconception` s: known wrong answers, computed
like the reference, so that feedback can name the mistake. The build computes them once per
assignment, on MXNet, into plain data; grading never imports MXNet in the grader process.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from types import ModuleType
from typing import Any

from d2lgrade.judging.compare import Tolerance, differs
from d2lgrade.judging.contract import Canonical, Contract, FunctionContract, Problem, ValueContract
from d2lgrade.judging.inputs import case_label
from d2lgrade.judging.plain import Plain, error, to_plain


@dataclass(frozen=True)
class Misconception:
    """A known wrong answer and the hint that names its mistake without giving the answer away.

    ``wrong`` is computed like the reference it is attached to: for a :class:`Value`, the wrong value
    itself or a callable without arguments returning it; for a :class:`Function`, a function with the
    reference's parameters, evaluated on the same hidden inputs. ``code`` is an answer cell a student
    might write that exhibits it (tests, and generated classes, submit it).
    """

    id: str
    hint: str
    wrong: Any
    code: str


@dataclass(frozen=True)
class Value:
    """The expected value of an answer name: ``compute()`` returns it."""

    compute: Callable[[], Any]
    misconceptions: tuple[Misconception, ...] = ()


@dataclass(frozen=True)
class Region:
    """A part of the domain a task states ("a real number a": a <= 0 is in it), with a predicate saying
    whether a hidden input falls in it. ``param`` names the one argument the predicate takes; without
    it, the predicate takes all the arguments (for relations: "x and y far apart")."""

    name: str
    holds: Callable[..., Any]
    param: str | None = None


def regions(param: str, **named: Callable[[Any], Any]) -> tuple[Region, ...]:
    """Regions of one parameter, named by keyword: ``regions("a", negative=lambda a: a < 0)``;
    underscores in a name read as spaces (``below_support``)."""
    return tuple(Region(name.replace("_", " "), holds, param) for name, holds in named.items())


@dataclass(frozen=True)
class Function:
    """A reference function, ``cases()``: the argument tuples it is compared on, and ``domain``: the
    regions of inputs its task allows, each of which some case must fall in (so that a formula wrong
    in one region cannot get full marks)."""

    fn: Callable[..., Any]
    cases: Callable[[], Sequence[tuple[Any, ...]]]
    domain: tuple[Region, ...] = ()
    misconceptions: tuple[Misconception, ...] = ()


Reference = Value | Function


class BadReference(LookupError):
    """A question has no usable reference; the message names the module and the answer."""


def solutions_module(assignment: str) -> ModuleType:
    """The reference module of an assignment, by convention ``solutions.<assignment>``."""
    return importlib.import_module(f"solutions.{assignment}")


def reference_for(assignment: str, name: str) -> Reference:
    module = solutions_module(assignment)
    refs = getattr(module, "REFERENCES", None)
    if not isinstance(refs, dict) or name not in refs:
        raise BadReference(f"solutions/{assignment}.py: REFERENCES has no entry {name!r}; add one")
    return refs[name]


def expected_value(ref: Value) -> Plain:
    return to_plain(ref.compute())


def expected_cases(ref: Function, cases: Sequence[tuple[Any, ...]] | None = None) -> list[tuple[list[Plain], Plain]]:
    """Plain arguments and the reference's plain output for each hidden case (``ref.cases()`` unless given)."""
    return [([to_plain(a) for a in args], _call(ref.fn, args)) for args in (ref.cases() if cases is None else cases)]


def wrong_value(m: Misconception) -> Plain:
    """A value misconception's plain value (computed when ``wrong`` is a callable)."""
    return _call(m.wrong, ()) if callable(m.wrong) else to_plain(m.wrong)


def wrong_outputs(m: Misconception, cases: Sequence[tuple[Any, ...]]) -> list[Plain]:
    """A function misconception's plain outputs on the reference's hidden inputs."""
    if not callable(m.wrong):
        raise BadReference(f"misconception {m.id!r} of a Function must be a function of the same parameters")
    return [_call(m.wrong, args) for args in cases]


def _call(fn: Callable[..., Any], args: Sequence[Any]) -> Plain:
    try:
        return to_plain(fn(*args))
    except Exception as exc:  # noqa: BLE001 - turned into data, judged elsewhere
        return error(exc)


def judge_live(assignment: str, contract: Contract, tol: Tolerance, namespace: dict[str, Any]) -> str | None:
    """Compare a live answer with its reference in one process: an authoring aid, never grading."""
    ref = reference_for(assignment, contract.name)
    if isinstance(contract, ValueContract) and isinstance(ref, Value):
        got = to_plain(namespace[contract.name]) if contract.name in namespace else {"t": "missing"}
        return verdict_value(contract, tol, got, expected_value(ref))
    if isinstance(contract, FunctionContract) and isinstance(ref, Function):
        fn = namespace.get(contract.name)
        cases = expected_cases(ref)
        outputs = [_call(fn, [arg for arg in ref_args]) for ref_args in ref.cases()] if callable(fn) else []
        signature = to_plain(fn) if fn is not None else {"t": "missing"}
        return verdict_function(contract, tol, signature, outputs, [c[1] for c in cases], [c[0] for c in cases])
    raise BadReference(f"solutions/{assignment}.py: {contract.name!r} is declared as the wrong kind of reference")


def _expected(contract: ValueContract, tol: Tolerance, plain: Plain) -> Canonical | Problem:
    """The reference's canonical value; interval bounds are an array whatever the answer's kind."""
    if tol.mode == "interval":
        return ValueContract(contract.name, "array").normalize(plain)
    return contract.normalize(plain)


def verdict_value(contract: ValueContract, tol: Tolerance, got: Plain, expected: Plain) -> str | None:
    """None if the plain answer ``got`` fits the contract and matches; else the reason."""
    want = _expected(contract, tol, expected)
    if isinstance(want, Problem):
        raise BadReference(f"the reference for {contract.name!r} breaks its own contract: {want.message}")
    have = contract.normalize(got)
    if isinstance(have, Problem):
        return have.message
    problem = differs(have, want, tol)
    return f"`{contract.name}`: {problem}" if problem else None


def verdict_function(contract: FunctionContract, tol: Tolerance, signature: Plain, outputs: Sequence[Plain],
                     expected: Sequence[Plain], inputs: Sequence[Sequence[Plain]] = ()) -> str | None:
    """None if the function fits its contract and matches the reference on every case; else the reason.
    ``inputs`` are the cases' arguments, for naming the kind of the first failed one."""
    problem = contract.check_signature(signature)
    if problem:
        return problem.message
    return verdict_outputs(contract, tol, outputs, expected, inputs)


def verdict_outputs(contract: FunctionContract, tol: Tolerance, outputs: Sequence[Plain],
                    expected: Sequence[Plain], inputs: Sequence[Sequence[Plain]] = ()) -> str | None:
    """None if a function's outputs match the reference's on every case; else the reason, naming the kind of the
    first failed input (:func:`d2lgrade.judging.inputs.case_label`, only for that one) when ``inputs`` are given."""
    if len(outputs) != len(expected):
        return f"`{contract.name}` did not return for every test input ({len(outputs)} of {len(expected)})"
    failures = []
    for i, (got, want_plain) in enumerate(zip(outputs, expected, strict=True)):
        want = _expected(contract.returns, tol, want_plain)
        if isinstance(want, Problem):
            raise BadReference(f"the reference {contract.name!r} breaks its contract on case {i}: {want.message}")
        have = contract.returns.normalize(got)
        reason = have.message if isinstance(have, Problem) else differs(have, want, tol)
        if reason:
            failures.append((i + 1, reason))
    if failures:
        message = _function_message(contract.name, len(expected), failures)
        first = failures[0][0]
        label = case_label(contract.params, inputs[first - 1]) if len(inputs) >= first else ""
        return f"{message}. Test input {first}: {label}" if label else message
    return None


def misconception_problem(contract: Contract, tol: Tolerance, wrong: Sequence[Plain],
                          reference: Sequence[Plain]) -> str | None:
    """Why a misconception's plain values (one, or one per hidden input) cannot be declared: they break the
    question's contract, or they are not a wrong answer (the question's judgement accepts them, so a right
    answer could be told it made that mistake); None when it is a well-formed wrong answer."""
    returns = contract.returns if isinstance(contract, FunctionContract) else contract
    for plain in wrong:
        broken = _expected(returns, tol, plain)
        if isinstance(broken, Problem):
            return f"it breaks the answer contract ({broken.message})"
    answers = [as_answer(tol, plain) for plain in wrong]
    if isinstance(contract, FunctionContract):
        accepted = verdict_outputs(contract, tol, answers, reference) is None
    else:
        accepted = verdict_value(contract, tol, answers[0], reference[0]) is None
    return "it equals the reference on every hidden input: it is not a wrong answer" if accepted else None


def as_answer(tol: Tolerance, plain: Plain) -> Plain:
    """A misconception's value as an answer would give it: itself, or under interval judgement (where it is
    a band of lower and upper bounds, like the reference) the centre of its band."""
    if tol.mode != "interval":
        return plain
    band = ValueContract("band", "array").normalize(plain)
    if isinstance(band, Problem) or not band.shape:
        return plain
    half = len(band.data) // 2
    centre = [(float(lo) + float(hi)) / 2 for lo, hi in zip(band.data[:half], band.data[half:], strict=True)]
    return {"t": "array", "lib": "numpy", "dtype": "float64", "shape": list(band.shape[1:]), "data": centre}


def _function_message(name: str, cases: int, failures: list[tuple[int, str]]) -> str:
    """Which test inputs are wrong (and so which are right), and why on the first: the inputs are hidden, so
    naming them lets no answer be searched part by part, unlike counts of wrong entries (docs/authoring.md)."""
    first, reason = failures[0]
    if len(failures) == cases:
        where = f"any of its {cases} test inputs" if cases > 1 else "its test input"
        return f"`{name}` is not right on {where}; on test input {first}: {reason}"
    numbers = [str(n) for n, _ in failures]
    if len(numbers) == 1:
        others = "the other" if cases == 2 else "the others"
        return f"`{name}` is not right on test input {first} of {cases} (right on {others}): {reason}"
    listed = f"{', '.join(numbers[:-1])} and {numbers[-1]}"
    return f"`{name}` is not right on test inputs {listed} of {cases} (right on the others); on test input {first}: {reason}"
