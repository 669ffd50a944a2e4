"""Rules on *how* an answer is computed, checked on the student's source: parsed, never run.

A task may say "without calling ``np.linalg.norm``" or "computed by ``autograd``". The values alone
cannot tell, so the question declares the rule in its public line (docs/authoring.md)::

    check.function("norm_any", ("X",), "number", example=(X,),
                   forbid=("*.norm",), rule="no norm function: build it from ...")

and the grader checks it here, in its own process, on the submitted notebook's code cells (the public
check runs the same analysis on the cells as run in the student's kernel). The cells are parsed with
:mod:`ast` after IPython's own transformation of ``%magics`` (:mod:`~d2lgrade.judging.rules_code`), never
executed; dead code (``if False:``) is left out as Python leaves it out. The work is linear in the code's
size and bounded (:data:`MAX_CELL_CHARS`, :data:`MAX_CODE_CHARS`; Python's parser bounds the nesting).

**What is checked.** The code that defines the answer and everything it uses by name, in any cell,
followed through functions, classes, lambdas, assignments, ``global`` statements and code that changes an
object in place (``obj.f = ...``, ``lst.append(...)``, ``np.sqrt = ...``): every name in it is resolved
through the imports, star imports included, to a dotted name (``numpy.linalg.norm``), and a method call on
an object becomes ``<object>.name`` (``X.norm``); ``getattr``, ``case C(norm=f)``, ``pydoc.locate``,
``importlib.import_module``, ``operator.attrgetter`` with literal names resolve the same way
(:mod:`~d2lgrade.judging.rules_names`). ``forbid`` patterns (:mod:`fnmatch`: ``*.norm``) must match none
of these names; each ``require`` pattern (``*autograd.record``) must match one. Where the answer's code
looks a name up at run time (a computed ``getattr``, ``reduce(getattr, ...)``, ``globals()[...]``), takes a
name a star import of an unknown module may bind, or runs another program (``!cmd``, ``%%bash``,
``subprocess``), the rule cannot be checked if a forbidden name could be reached that way. Anywhere in the
notebook, code that can rebind a name unseen (``exec``, writing ``globals()``, frames, ``%run``, imports of
files the notebook may have written: :mod:`~d2lgrade.judging.rules_dynamic`) makes every rule-bound answer
uncheckable; harmless habits (``%load_ext autoreload``, ``%%html``, ``%env``, ``'x' in locals()``) do not.
A rule is broken for that question only: zero, with the name, the place and the rule.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from fnmatch import fnmatchcase
from pathlib import Path

from d2lgrade.judging.libraries import LIBRARIES, star_names
from d2lgrade.judging.rules_code import (
    FORBIDDEN,
    MAX_CELL_CHARS,
    MAX_CODE_CHARS,
    MISSING,
    UNCHECKABLE,
    Budget,
    Finding,
    Source,
    parse,
)
from d2lgrade.judging.rules_dynamic import dynamic_code
from d2lgrade.judging.rules_names import Ref, Unit, references

__all__ = ["FORBIDDEN", "LIBRARIES", "MAX_CELL_CHARS", "MAX_CODE_CHARS", "MISSING", "UNCHECKABLE", "Finding",
           "ModuleSources", "Program", "RuleCheck", "Rules", "Source", "check_rules", "rule_message", "rule_warning"]

_PATTERN = re.compile(r"[A-Za-z0-9_.*]+")


@dataclass(frozen=True)
class Rules:
    """What a task says about how an answer is computed: ``rule`` in the task's words, and the patterns."""

    rule: str
    forbid: tuple[str, ...] = ()
    require: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if not self.forbid and not self.require:
            raise ValueError("a rule needs forbid=(...) or require=(...) patterns")
        if not isinstance(self.rule, str) or not self.rule.strip():
            raise ValueError("forbid= and require= need rule='...': the rule in the task's words, quoted to students")
        for p in (*self.forbid, *self.require):
            if not isinstance(p, str) or not _PATTERN.fullmatch(p):
                raise ValueError(f"rule pattern {p!r}: write a dotted name with * wildcards, e.g. '*.norm'")


@dataclass(frozen=True)
class RuleCheck:
    """The verdict of a rule on one answer: no findings means the rule is kept."""

    answer: str
    rules: Rules
    findings: tuple[Finding, ...] = ()

    @property
    def kept(self) -> bool:
        return not self.findings


@dataclass(frozen=True)
class ModuleSources:
    """Modules the checker may open and follow: the references, when the instructor validates the
    solved notebooks (their answers are imported from ``solutions``). Students' code gets none."""

    root: Path
    packages: tuple[str, ...] = ("solutions",)

    def read(self, module: str) -> Source | None:
        parts = module.split(".")
        if parts[0] not in self.packages or not all(p.isidentifier() for p in parts):
            return None
        path = self.root.joinpath(*parts).with_suffix(".py")
        if not path.is_file():
            return None
        return Source(str(path.relative_to(self.root)), path.read_text(encoding="utf-8"), ipython=False)


class Program:
    """A submission's code, parsed and indexed once; :meth:`check` applies one question's rule to it."""

    def __init__(self, sources: Sequence[Source], modules: ModuleSources | None = None) -> None:
        self.modules = modules
        self.problems: list[Finding] = []
        """Findings that concern every rule-bound answer (code too large, dynamic code anywhere)."""
        self._units: dict[str, Unit | None] = {}
        self._budget = Budget()
        total = sum(len(s.text) for s in sources)
        if total > MAX_CODE_CHARS:
            self.problems.append(Finding(UNCHECKABLE, f"{total:,} characters of code, over the {MAX_CODE_CHARS:,} "
                                                      "the grader reads"))
            sources = []
        self.notebook = self._read(sources)
        self._units[""] = self.notebook
        self.problems.extend(dynamic_code(self.notebook, self._readable))

    def _read(self, sources: Iterable[Source]) -> Unit:
        unit = Unit()
        for source in sources:
            if len(source.text) > MAX_CELL_CHARS:
                self.problems.append(Finding(UNCHECKABLE, f"a cell of {len(source.text):,} characters (over "
                                                          f"{MAX_CELL_CHARS:,})", source.label))
                continue
            try:
                unit.add(parse(source, self.problems, self._budget), source.label)
            except RecursionError:
                self.problems.append(Finding(UNCHECKABLE, "code nested too deeply to read", source.label))
        unit.index(self._exports)
        return unit

    def _readable(self, module: str) -> bool:
        return self.modules is not None and self.modules.read(module) is not None

    def _exports(self, module: str) -> Iterable[str] | None:
        """What a star import of ``module`` binds: from the libraries' table or a readable module; None: unknown."""
        names = star_names(module)
        if names is not None:
            return names
        unit = self._unit(module)
        return None if unit is None else sorted(n for n in unit.defined if not n.startswith("_"))

    def _unit(self, module: str) -> Unit | None:
        if module not in self._units:
            self._units[module] = None  # a module that star-imports itself is read once
            source = self.modules.read(module) if self.modules else None
            if source is not None:
                self._units[module] = self._read([source])
        return self._units[module]

    def check(self, answer: str, rules: Rules) -> RuleCheck:
        """Apply ``rules`` to the code that defines ``answer`` and everything it uses."""
        try:
            findings, seen = self._reachable_findings(answer, rules)
        except RecursionError:
            findings, seen = [Finding(UNCHECKABLE, "code nested too deeply to read")], set()
        findings = [*self.problems, *findings]
        if answer in self.notebook.binders and not any(f.kind == UNCHECKABLE for f in findings):
            findings += [Finding(MISSING, p) for p in rules.require if not any(fnmatchcase(n, p) for n in seen)]
        return RuleCheck(answer, rules, tuple(_first_per_place(findings)))

    def _reachable_findings(self, answer: str, rules: Rules) -> tuple[list[Finding], set[str]]:
        """Each statement reachable from the answer is read once (linear in the code's size)."""
        findings: list[Finding] = []
        seen: set[str] = set()
        queue, done, visited = [("", answer)], set(), set()
        while queue:
            key = queue.pop()
            unit = None if key in done else self._unit(key[0])
            done.add(key)
            for stmt in unit.binders.get(key[1], ()) if unit else ():
                if id(stmt) in visited:
                    continue
                visited.add(id(stmt))
                queue.extend((key[0], name) for name in stmt.uses if name in unit.binders)  # type: ignore[union-attr]
                for ref in references(stmt, unit):  # type: ignore[arg-type]
                    where = stmt.where(ref.node)
                    findings.extend(_judge(ref, rules, where, seen))
                    queue.extend(self._followed(key[0], ref.names))
                    findings.extend(self._unreadable(ref, where))
        return findings, seen

    def _followed(self, module: str, names: Iterable[str]) -> Iterator[tuple[str, str]]:
        """What a dotted name leads to: a readable module's definition, and code that patches its library."""
        for name in names:
            yield module, f"module:{name.split('.')[0]}"
            follow = self._follow(name)
            if follow:
                yield follow

    def _follow(self, dotted: str) -> tuple[str, str] | None:
        """``solutions.s02_3.f`` -> (``solutions.s02_3``, ``f``) when that module can be read."""
        if self.modules is None:
            return None
        parts = dotted.split(".")
        for i in range(len(parts) - 1, 0, -1):
            module = ".".join(parts[:i])
            if module.split(".")[0] in self.modules.packages and self._unit(module) is not None:
                return module, parts[i]
        return None

    def _unreadable(self, ref: Ref, where: str) -> list[Finding]:
        """An import, in the answer's code, from a module that is neither a library nor readable."""
        from ast import Import, ImportFrom

        node = ref.node
        if not isinstance(node, (Import, ImportFrom)):
            return []
        modules = [a.name for a in node.names] if isinstance(node, Import) else ["." * node.level + (node.module or "")]
        return [Finding(UNCHECKABLE, f"an import from module `{m}`, whose code the grader cannot read", where)
                for m in modules if m.split(".")[0] not in LIBRARIES and not self._readable(m)]


def _judge(ref: Ref, rules: Rules, where: str, seen: set[str]) -> Iterator[Finding]:
    """Forbidden names a reference names; what it may name when a forbidden name could be among it."""
    for name in ref.names:
        seen.add(name)
        if any(fnmatchcase(name, p) for p in rules.forbid):
            yield Finding(FORBIDDEN, name, where)
    for glob, why in ref.maybe:
        if any(overlap(glob, p) for p in rules.forbid):
            yield Finding(UNCHECKABLE, why, where)


def overlap(a: str, b: str) -> bool:
    """Whether some name matches both glob patterns (``*`` their only wildcard): ``numpy.linalg.*`` and
    ``*.norm`` do. A table of reachable (i, j) prefix pairs: linear in each pattern's length."""
    n, m = len(a), len(b)
    reach = [[False] * (m + 1) for _ in range(n + 1)]
    reach[0][0] = True
    for i in range(n + 1):
        for j in range(m + 1):
            if not reach[i][j]:
                continue
            if i < n and a[i] == "*":
                reach[i + 1][j] = True
                if j < m:
                    reach[i][j + 1] = True
            if j < m and b[j] == "*":
                reach[i][j + 1] = True
                if i < n:
                    reach[i + 1][j] = True
            if i < n and j < m and a[i] == b[j] != "*":
                reach[i + 1][j + 1] = True
    return reach[n][m]


def check_rules(sources: Sequence[Source], answer: str, rules: Rules, modules: ModuleSources | None = None) -> RuleCheck:
    """One answer's rule on some code (parses it; use :class:`Program` for several answers)."""
    return Program(sources, modules).check(answer, rules)


def rule_message(check: RuleCheck) -> str | None:
    """What a student reads in the grade when the rule is broken: which name, where, and the rule; None when kept."""
    if check.kept:
        return None
    name = f"`{check.answer}`"
    return (f"{name} {_findings_text(check)}Rules are checked without running anything, on the code that defines "
            f"{name} and everything it uses by name, in any cell. This question earns 0 points.")


def rule_warning(check: RuleCheck) -> str | None:
    """What the public check tells a student before submitting: the same findings and what to change."""
    if check.kept:
        return None
    return (f"`{check.answer}` {_findings_text(check)}Graded as it is, this question earns 0 points: change that "
            "code and run this cell again (checked without running anything, on the cells as last run in this "
            "kernel).")


def _findings_text(check: RuleCheck) -> str:
    first, *rest = check.findings
    also = "; ".join(_finding_text(f) for f in rest[:3]) + ("; ..." if len(rest) > 3 else "")
    return f"{_finding_text(first)}. The rule: {check.rules.rule}. " + (f"Also: {also}. " if also else "")


def _finding_text(f: Finding) -> str:
    place = f" ({f.where})" if f.where else ""
    if f.kind == FORBIDDEN:
        return f"uses `{f.what}`{place}, which this task does not allow"
    if f.kind == MISSING:
        return f"never uses `{f.what.lstrip('*')}`, which this task requires"
    return (f"cannot be checked against this task's rule because of {f.what}{place}: code the grader cannot "
            "see through without running it (remove it, or name what you use directly)")


def _first_per_place(findings: Iterable[Finding]) -> Iterator[Finding]:
    """One finding per kind and place: ``np.linalg.norm`` is one use, not three."""
    seen = set()
    for f in findings:
        key = (f.kind, f.where) if f.where else (f.kind, f.what)
        if key not in seen:
            seen.add(key)
            yield f
