"""Read an authored notebook into a typed assignment spec (see docs/authoring.md).

Test cells are parsed with :mod:`ast`, never executed here: the public line ``check.value(...)`` or
``check.function(...)`` gives the answer contract, the hidden line ``check.judge(...)`` gives the
tolerance. Every error names the notebook, the cell and the remedy.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import nbformat

from d2lgrade.judging.compare import Tolerance
from d2lgrade.judging.contract import Contract, FunctionContract, ValueContract, mode_form_problem
from d2lgrade.judging.inputs import inputs_paragraph, unknown_kinds
from d2lgrade.judging.rules import Rules

KINDS = ("NUMERIC", "CODE", "CHOICE", "SYMBOLIC", "PLOT", "FREE")
"""Exercise kinds of the catalog (docs/catalog.md)."""

_HIDDEN = re.compile(r"^\s*###\s*(?:BEGIN|END) HIDDEN TESTS\s*$", re.MULTILINE)


class SpecError(ValueError):
    """An authoring mistake, with the place it was found and what to do."""


@dataclass(frozen=True)
class Question:
    """One graded part of an exercise: an nbgrader grade cell."""

    id: str
    exercise: int
    kind: str
    points: float
    cell_index: int
    contract: Contract | None = None
    tolerance: Tolerance | None = None
    rules: Rules | None = None
    """How the answer must (not) be computed, when the task says so (d2lgrade/judging/rules.py)."""

    @property
    def autograded(self) -> bool:
        return self.contract is not None


@dataclass(frozen=True)
class TaskText:
    """What one autograded question's task says (its markdown since the previous graded cell), beside the kinds
    of hidden input its test cell declares (metadata ``d2l.inputs``: parameter -> kinds, for functions)."""

    question_id: str
    text: str
    inputs: dict[str, tuple[str, ...]] | None = None


@dataclass(frozen=True)
class NotebookSpec:
    """An assignment's notebook as data: where it is, what the book calls it, what it asks."""

    assignment: str
    section: str
    title: str
    path: Path
    questions: tuple[Question, ...] = field(default=())
    tasks: tuple[TaskText, ...] = field(default=())
    """The task text of each autograded question, in notebook order."""

    @property
    def name(self) -> str:
        return self.path.stem

    def autograded(self) -> tuple[Question, ...]:
        return tuple(q for q in self.questions if q.autograded)

    def question(self, question_id: str) -> Question:
        for q in self.questions:
            if q.id == question_id:
                return q
        raise KeyError(question_id)


def read_spec(path: Path) -> NotebookSpec:
    """Parse a source notebook (with hidden tests) into its spec."""
    nb = nbformat.read(path, as_version=4)
    meta = nb.metadata.get("d2l")
    if not isinstance(meta, dict) or not {"assignment", "section", "title"} <= meta.keys():
        raise SpecError(
            f"{path}: notebook metadata 'd2l' must give 'assignment', 'section' and 'title' "
            "(Edit > Notebook metadata in JupyterLab; see docs/authoring.md)"
        )
    if meta["assignment"] != path.parent.name:
        raise SpecError(f"{path}: metadata d2l.assignment is {meta['assignment']!r}, but the folder is {path.parent.name!r}")
    questions = tuple(_question(path, i, cell) for i, cell in enumerate(nb.cells) if _is_graded(cell))
    _check_unique(path, questions)
    tasks = tuple(_task_text(path, nb.cells, q) for q in questions if q.autograded)
    return NotebookSpec(meta["assignment"], str(meta["section"]), meta["title"], path, questions, tasks)


def _task_text(path: Path, cells: list[Any], q: Question) -> TaskText:
    """The markdown a question's task is told in, and the input kinds its test cell declares, which that text
    must state word for word (so that the text and the declaration the tests check cannot disagree)."""
    start = max((i + 1 for i, cell in enumerate(cells[:q.cell_index]) if _is_graded(cell)), default=0)
    text = "\n\n".join(c.source for c in cells[start:q.cell_index]
                        if c.cell_type == "markdown" and not c.metadata.get("nbgrader", {}).get("solution"))
    declared = cells[q.cell_index].metadata.get("d2l", {}).get("inputs")
    if declared is None:
        return TaskText(q.id, text)
    where = f"{path}, cell {q.cell_index} ({q.id})"
    inputs = _declared_inputs(declared, q, where)
    sentence = inputs_paragraph(inputs)
    if sentence not in text:
        raise SpecError(f"{where}: the task text must state the hidden inputs its metadata d2l.inputs declares; "
                        f"put this sentence in the task's markdown cell, word for word:\n{sentence}")
    return TaskText(q.id, text, inputs)


def _declared_inputs(declared: Any, q: Question, where: str) -> dict[str, tuple[str, ...]]:
    if not isinstance(q.contract, FunctionContract):
        raise SpecError(f"{where}: metadata d2l.inputs is for function questions; remove it from this value question")
    if not isinstance(declared, dict) or set(declared) != set(q.contract.params) or not all(
            isinstance(kinds, list) and kinds and all(isinstance(k, str) for k in kinds) for kinds in declared.values()):
        raise SpecError(f"{where}: metadata d2l.inputs must map each parameter of {q.contract.name} "
                        f"({', '.join(q.contract.params)}) to a list of input kinds (d2lgrade/judging/inputs.py)")
    inputs = {param: tuple(declared[param]) for param in q.contract.params}  # JSON keeps keys sorted: the order is the call's
    unknown = unknown_kinds(inputs)
    if unknown:
        raise SpecError(f"{where}: metadata d2l.inputs names kinds {unknown} that are not in the vocabulary of "
                        "d2lgrade/judging/inputs.py (VOCABULARY)")
    return inputs


def _is_graded(cell: Any) -> bool:
    return bool(cell.metadata.get("nbgrader", {}).get("grade"))


def _question(path: Path, index: int, cell: Any) -> Question:
    where = f"{path}, cell {index} ({cell.metadata['nbgrader'].get('grade_id', 'no grade_id')})"
    nbg = cell.metadata["nbgrader"]
    d2l = cell.metadata.get("d2l", {})
    if "exercise" not in d2l or d2l.get("kind") not in KINDS:
        raise SpecError(f"{where}: cell metadata 'd2l' needs 'exercise' (int) and 'kind' (one of {', '.join(KINDS)})")
    base = {"id": nbg["grade_id"], "exercise": int(d2l["exercise"]), "kind": d2l["kind"],
            "points": float(nbg["points"]), "cell_index": index}
    if nbg.get("solution"):
        if cell.cell_type != "markdown" or d2l["kind"] not in ("FREE", "PLOT"):
            raise SpecError(f"{where}: a manually graded answer must be a markdown cell of kind FREE or PLOT")
        return Question(**base)
    if cell.cell_type != "code":
        raise SpecError(f"{where}: an autograded test cell must be a code cell")
    contract, tolerance = parse_test_cell(cell.source, where)
    return Question(**base, contract=contract, tolerance=tolerance, rules=parse_rules(cell.source, where))


def _check_unique(path: Path, questions: tuple[Question, ...]) -> None:
    seen: set[str] = set()
    for q in questions:
        if q.id in seen:
            raise SpecError(f"{path}: grade_id {q.id!r} is used twice; give each graded cell its own id")
        seen.add(q.id)


def parse_test_cell(source: str, where: str) -> tuple[Contract, Tolerance]:
    """The contract (public line) and tolerance (hidden line) declared by a test cell."""
    parts = _HIDDEN.split(source)
    if len(parts) != 3:
        raise SpecError(f"{where}: a test cell needs one '### BEGIN HIDDEN TESTS' ... '### END HIDDEN TESTS' region")
    public, hidden = _calls(parts[0] + parts[2], where), _calls(parts[1], where)
    contracts = [c for c in public if c[0] in ("value", "function")]
    judges = [c for c in hidden if c[0] == "judge"]
    if len(contracts) != 1 or len(public) != 1:
        raise SpecError(f"{where}: the public part must hold exactly one check.value(...) or check.function(...)")
    if len(judges) != 1 or len(hidden) != 1:
        raise SpecError(f"{where}: the hidden part must hold exactly one check.judge(...)")
    contract = _contract(*contracts[0], where)
    _, args, kwargs = judges[0]
    if args != [contract.name]:
        raise SpecError(f"{where}: check.judge must name the same answer as the public check ({contract.name!r})")
    if not {"rtol", "atol"} <= set(kwargs) <= {"rtol", "atol", "mode"}:
        raise SpecError(f"{where}: check.judge takes explicit rtol= and atol= (0, 0 for exact answers) and an "
                        "optional mode=")
    try:
        tolerance = Tolerance(float(kwargs["rtol"]), float(kwargs["atol"]), kwargs.get("mode", "values"))
    except ValueError as exc:
        raise SpecError(f"{where}: check.judge: {exc}") from exc
    answer = contract.returns if isinstance(contract, FunctionContract) else contract
    problem = mode_form_problem(answer, tolerance.mode)
    if problem:
        raise SpecError(f"{where}: {problem}")
    return contract, tolerance


def parse_rules(source: str, where: str) -> Rules | None:
    """The rule a test cell's public line declares (``forbid=``, ``require=``, ``rule=``), if any."""
    parts = _HIDDEN.split(source)
    public = _calls(parts[0] + parts[-1], where) if len(parts) == 3 else []
    kwargs = public[0][2] if len(public) == 1 else {}
    try:
        return rules_of(kwargs)
    except ValueError as exc:
        raise SpecError(f"{where}: {exc} (see docs/authoring.md, 'Rules on how an answer is computed')") from exc


RULE_KEYS = ("forbid", "require", "rule")
"""Keywords of check.value/check.function that declare a rule rather than the answer's form."""


def rules_of(kwargs: dict[str, Any]) -> Rules | None:
    """The Rules that the keywords of a public check declare, or None."""
    if not any(k in kwargs for k in RULE_KEYS):
        return None
    return Rules(kwargs.get("rule", ""), tuple(kwargs.get("forbid", ())), tuple(kwargs.get("require", ())))


def _calls(code: str, where: str) -> list[tuple[str, list[Any], dict[str, Any]]]:
    """The ``check.<verb>(literal args)`` calls of a code fragment; nothing else is allowed."""
    try:
        tree = ast.parse(code)
    except SyntaxError as exc:
        raise SpecError(f"{where}: test code does not parse: {exc}") from exc
    calls = []
    for stmt in tree.body:
        call = stmt.value if isinstance(stmt, ast.Expr) else None
        if not (isinstance(call, ast.Call) and isinstance(call.func, ast.Attribute)
                and isinstance(call.func.value, ast.Name) and call.func.value.id == "check"):
            raise SpecError(f"{where}: line {stmt.lineno} is not a check.<verb>(...) call; test cells hold only those")
        try:
            args = [ast.literal_eval(a) for a in call.args]
            kwargs = {k.arg: ast.literal_eval(k.value) for k in call.keywords if k.arg != "example"}
        except ValueError as exc:
            raise SpecError(f"{where}: check.{call.func.attr} arguments must be literals ({exc})") from exc
        calls.append((call.func.attr, args, kwargs))
    return calls


def _contract(verb: str, args: list[Any], kwargs: dict[str, Any], where: str) -> Contract:
    try:
        if verb == "value":
            return value_contract(*args, **kwargs)
        return function_contract(*args, **kwargs)
    except (TypeError, ValueError) as exc:
        raise SpecError(f"{where}: check.{verb}: {exc}") from exc


def value_contract(name: str, kind: str, **constraints: Any) -> ValueContract:
    """The ValueContract a ``check.value(name, kind, ...)`` line declares (its rule keywords aside)."""
    return ValueContract(name, kind, **_tuples(constraints))


def function_contract(name: str, params: tuple[str, ...], returns: str, **constraints: Any) -> FunctionContract:
    """The FunctionContract a ``check.function(name, params, returns, ...)`` line declares."""
    constraints.pop("example", None)
    return FunctionContract(name, tuple(params), ValueContract("", returns, **_tuples(constraints)))


def _tuples(constraints: dict[str, Any]) -> dict[str, Any]:
    return {k: tuple(v) if isinstance(v, list) else v for k, v in constraints.items() if k not in RULE_KEYS}
