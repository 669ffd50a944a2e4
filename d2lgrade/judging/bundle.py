"""The compiled assignment: questions, contracts, tolerances and reference answers as plain data.

``compile_bundle`` runs once per assignment (at build) and is the only place references are
computed. ``Bundle`` is what grading loads: no MXNet, no notebook parsing, no module imports on the
per-submission path. It holds hidden inputs and expected values, so it never enters the sandbox;
:meth:`Bundle.probes` is the part that does (names and inputs, never expected values).
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from d2lgrade.judging.compare import Tolerance
from d2lgrade.judging.contract import FunctionContract, ValueContract
from d2lgrade.judging.plain import Plain
from d2lgrade.judging.reference import (
    BadReference,
    Function,
    Value,
    expected_cases,
    expected_value,
    misconception_problem,
    reference_for,
    wrong_outputs,
    wrong_value,
)
from d2lgrade.judging.rules import Rules
from d2lgrade.judging.spec import NotebookSpec, Question

FORMAT = 1


@dataclass(frozen=True)
class Case:
    """One hidden input of a function question and the reference's output on it."""

    args: list[Plain]
    expected: Plain


@dataclass(frozen=True)
class Wrong:
    """A misconception of a question, compiled: its hint, the answer cell that exhibits it, and its plain
    value (``expected``, for values) or outputs on the hidden inputs (``outputs``, for functions)."""

    id: str
    hint: str
    code: str
    expected: Plain | None = None
    outputs: tuple[Plain, ...] = ()


@dataclass(frozen=True)
class Compiled:
    """A question with its reference: ``expected`` for values, ``cases`` for functions; ``misconceptions``:
    known wrong answers, matched only by answers that are wrong."""

    question: Question
    expected: Plain | None = None
    cases: tuple[Case, ...] = ()
    misconceptions: tuple[Wrong, ...] = ()


@dataclass(frozen=True)
class Bundle:
    """Everything grading needs about one assignment, computed once."""

    assignment: str
    section: str
    title: str
    notebook: str
    questions: tuple[Question, ...]
    compiled: tuple[Compiled, ...]

    @property
    def max_score(self) -> float:
        return sum(q.points for q in self.questions)

    def probes(self) -> list[dict[str, Any]]:
        """What the student's kernel is asked to report: answer names and hidden inputs only."""
        out = []
        for c in self.compiled:
            contract = c.question.contract
            assert contract is not None
            probe: dict[str, Any] = {"id": c.question.id, "name": contract.name}
            if isinstance(contract, FunctionContract):
                probe["cases"] = [case.args for case in c.cases]
            out.append(probe)
        return out

    def misconceptions(self) -> dict[str, tuple[Wrong, ...]]:
        """The declared misconceptions of each question that has any, by question id."""
        return {c.question.id: c.misconceptions for c in self.compiled if c.misconceptions}

    def to_json(self) -> str:
        return json.dumps({"format": FORMAT, **_encode(self)}, indent=1, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> Bundle:
        data = json.loads(text)
        if data.pop("format", None) != FORMAT:
            raise ValueError(f"bundle format is not {FORMAT}: rebuild with `d2lgrade build`")
        return _decode_bundle(data)

    @classmethod
    def load(cls, path: Path) -> Bundle:
        return cls.from_json(path.read_text(encoding="utf-8"))


def compile_bundle(spec: NotebookSpec) -> Bundle:
    """Compute every reference answer of ``spec`` (imports ``solutions.<assignment>``: MXNet)."""
    compiled = []
    for q in spec.autograded():
        contract = q.contract
        assert contract is not None
        ref = reference_for(spec.assignment, contract.name)
        if isinstance(contract, ValueContract) and isinstance(ref, Value):
            c = Compiled(q, expected=expected_value(ref))
            wrongs = tuple(Wrong(m.id, m.hint, m.code, expected=wrong_value(m)) for m in ref.misconceptions)
        elif isinstance(contract, FunctionContract) and isinstance(ref, Function):
            args = list(ref.cases())
            c = Compiled(q, cases=tuple(Case(a, out) for a, out in expected_cases(ref, args)))
            if not c.cases:
                raise BadReference(f"solutions/{spec.assignment}.py: {contract.name!r} has no test cases")
            wrongs = tuple(Wrong(m.id, m.hint, m.code, outputs=tuple(wrong_outputs(m, args))) for m in ref.misconceptions)
        else:
            raise BadReference(
                f"solutions/{spec.assignment}.py: {contract.name!r} must be a "
                f"{'Function' if isinstance(contract, FunctionContract) else 'Value'} for question {q.id}"
            )
        compiled.append(dataclasses.replace(c, misconceptions=checked_misconceptions(spec.assignment, c, wrongs)))
    return Bundle(spec.assignment, spec.section, spec.title, spec.name, spec.questions, tuple(compiled))


def checked_misconceptions(assignment: str, c: Compiled, wrongs: tuple[Wrong, ...]) -> tuple[Wrong, ...]:
    """The misconceptions of ``c``, once each is known to be a well-formed *wrong* answer, with a unique id:
    a right answer must never be told it made a mistake."""
    contract, tol = c.question.contract, c.question.tolerance
    assert contract is not None and tol is not None
    ids = [w.id for w in wrongs]
    if len(set(ids)) != len(ids):
        raise BadReference(f"solutions/{assignment}.py: {contract.name!r} declares a misconception id twice: {ids}")
    for w in wrongs:
        if not (w.id and w.hint and w.code.strip()):
            raise BadReference(f"solutions/{assignment}.py: misconception {w.id!r} of {contract.name!r} "
                               "needs an id, a hint and code")
        if isinstance(contract, FunctionContract):
            problem = misconception_problem(contract, tol, w.outputs, [case.expected for case in c.cases])
        else:
            problem = misconception_problem(contract, tol, [w.expected or {"t": "none"}], [c.expected or {"t": "none"}])
        if problem:
            raise BadReference(f"solutions/{assignment}.py: misconception {w.id!r} of the reference {contract.name!r}: "
                               f"{problem}")
    return wrongs


def _encode(obj: Any) -> Any:
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        out = {f.name: _encode(getattr(obj, f.name)) for f in dataclasses.fields(obj) if f.name != "example"}
        if isinstance(obj, (ValueContract, FunctionContract)):
            out["type"] = type(obj).__name__
        return out
    if isinstance(obj, (list, tuple)):
        return [_encode(x) for x in obj]
    return obj


def _decode_contract(data: dict[str, Any] | None) -> ValueContract | FunctionContract | None:
    if data is None:
        return None
    data = dict(data)
    kind = data.pop("type")
    if kind == "FunctionContract":
        returns = _decode_contract(data["returns"])
        return FunctionContract(data["name"], tuple(data["params"]), returns)  # type: ignore[arg-type]
    return ValueContract(**{k: tuple(v) if isinstance(v, list) else v for k, v in data.items()})


def _decode_question(data: dict[str, Any]) -> Question:
    tol, rules = data.get("tolerance"), data.get("rules")
    return Question(
        id=data["id"], exercise=data["exercise"], kind=data["kind"], points=data["points"],
        cell_index=data["cell_index"], contract=_decode_contract(data.get("contract")),
        tolerance=Tolerance(**tol) if tol else None,
        rules=Rules(rules["rule"], tuple(rules["forbid"]), tuple(rules["require"])) if rules else None,
    )


def _decode_wrong(data: dict[str, Any]) -> Wrong:
    return Wrong(data["id"], data["hint"], data["code"], data.get("expected"), tuple(data.get("outputs", ())))


def _decode_bundle(data: dict[str, Any]) -> Bundle:
    questions = tuple(_decode_question(q) for q in data["questions"])
    by_id = {q.id: q for q in questions}
    compiled = tuple(
        Compiled(by_id[c["question"]["id"]], c["expected"], tuple(Case(**case) for case in c["cases"]),
                 tuple(_decode_wrong(w) for w in c.get("misconceptions", ())))  # absent from bundles before them
        for c in data["compiled"]
    )
    return Bundle(data["assignment"], data["section"], data["title"], data["notebook"], questions, compiled)
