"""Rules on *how* an answer is computed, checked on the student's source: parsed, never run.

A task may say "without calling ``np.linalg.norm``" or "computed by ``autograd``". The values alone
cannot tell, so the question declares the rule in its public line (docs/authoring.md)::

    check.function("norm_any", ("X",), "number", example=(X,),
                   forbid=("*.norm",), rule="no norm function: build it from ...")

and the grader checks it here, in its own process, on the submitted notebook's code cells: they are
parsed with :mod:`ast` (after IPython's own transformation of ``%magics``), never executed, and the
work is bounded (:data:`MAX_CELL_CHARS`, :data:`MAX_CODE_CHARS`; Python's parser bounds the nesting).

**What is checked.** The code that defines the answer and everything it uses by name, in any cell,
followed through functions, classes, lambdas, assignments and ``global`` statements: every name in it
is resolved through the imports (``from numpy.linalg import norm as n``, ``import numpy.linalg as la``,
``getattr(np.linalg, 'norm')``) to a dotted name (``numpy.linalg.norm``), and a method call on an
object becomes ``<object>.name`` (``X.norm``). ``forbid`` patterns (:mod:`fnmatch`: ``*.norm``)
must match none of these names; each ``require`` pattern (``*autograd.record``) must match one.
Code the grader cannot see through is refused, because it could change the answer at run time:
anywhere in the notebook, code run from strings or reached by computed names (``exec``, ``eval``,
``compile``, ``__import__``, ``globals()``, ``vars()``, ``setattr``, ``getattr`` with a computed name,
``importlib``, ``sys.modules``, frames, ``__dict__``-like attributes, magics other than
:data:`SAFE_MAGICS`), and, in the answer's code, imports from modules other than Python's and the
course's libraries (:data:`LIBRARIES`). A rule is broken for that question only: zero, with the
name, the place and the rule.
"""

from __future__ import annotations

import ast
import re
import sys
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from pathlib import Path

MAX_CELL_CHARS = 50_000
"""A cell of code longer than this is not read; a rule-bound answer of such a notebook cannot be checked."""
MAX_CODE_CHARS = 500_000
"""All code cells together (about 25 times an honest notebook)."""
MAX_MAGIC_DEPTH = 3
"""``%%time`` inside ``%%capture`` inside ...: deeper is refused."""

LIBRARIES = frozenset(sys.stdlib_module_names) | {
    "mxnet", "numpy", "pandas", "scipy", "matplotlib", "d2l", "d2lgrade", "IPython", "sklearn", "torch",
    "tensorflow", "jax", "sympy", "seaborn"}
"""Packages whose functions are leaves: matched against the patterns, never read."""

SAFE_MAGICS = frozenset({"matplotlib", "pinfo", "pinfo2", "psearch", "pdef", "pdoc", "psource", "who", "whos",
                         "pwd", "ls", "precision", "config", "pip"})
"""Magics that cannot define or change a name."""
CODE_MAGICS = frozenset({"time", "timeit", "prun", "capture"})
"""Magics whose argument (or cell body) is Python code: read as code of the cell when at its top level."""

DYNAMIC_BUILTINS = frozenset({"eval", "exec", "compile", "__import__", "globals", "locals", "vars", "setattr",
                              "delattr", "breakpoint", "__builtins__"})
DYNAMIC_NAMES = ("importlib*", "sys.modules*", "sys._getframe", "builtins*", "runpy*", "ctypes*", "pickle*",
                 "marshal*", "operator.attrgetter", "operator.methodcaller", "inspect.currentframe",
                 "inspect.stack", "inspect.getmembers", "types.FunctionType", "types.CodeType", "types.ModuleType",
                 "IPython*")
DYNAMIC_ATTRS = frozenset({
    "__dict__", "__globals__", "__builtins__", "__code__", "__subclasses__", "__bases__", "__base__", "__mro__",
    "__getattribute__", "__getattr__", "__setattr__", "__delattr__", "__import__", "__loader__", "__spec__",
    "__closure__", "__func__", "__self__", "__wrapped__", "__reduce__", "__reduce_ex__", "f_globals", "f_locals",
    "f_back", "f_builtins", "gi_frame", "cr_frame", "tb_frame", "user_ns", "user_global_ns"})
"""Attributes that reach namespaces, frames or code objects: ways to rebind a name unseen."""
SAFE_NAMES = ("IPython.display*",)
"""Names under :data:`DYNAMIC_NAMES` that cannot rebind anything: showing HTML or a plot is what students do."""

FORBIDDEN, MISSING, UNCHECKABLE = "forbidden", "missing", "uncheckable"
_PATTERN = re.compile(r"[A-Za-z0-9_.*]+")
_SCOPES = (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef, ast.ListComp, ast.SetComp,
           ast.DictComp, ast.GeneratorExp)


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
class Source:
    """One unit of code as the checker reads it: a notebook cell or a module file."""

    label: str
    text: str
    ipython: bool = True
    """Cells are IPython (``%magics``); module files are plain Python."""


@dataclass(frozen=True)
class Finding:
    """One way the answer breaks its rule, with the place (``cell 12, line 3``) when there is one."""

    kind: str
    what: str
    where: str = ""


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


@dataclass
class _Statement:
    """A top-level statement with the module-level names it binds and uses (free names of nested scopes)."""

    node: ast.stmt
    label: str
    binds: set[str]
    uses: set[str]


@dataclass
class _Unit:
    """A notebook or a module: its top-level statements and, flow-insensitively, what each import binds."""

    statements: list[_Statement] = field(default_factory=list)
    imports: dict[str, set[str]] = field(default_factory=dict)
    defined: set[str] = field(default_factory=set)
    """Names bound at top level (followed, not matched)."""

    def binders(self, name: str) -> Iterator[_Statement]:
        return (s for s in self.statements if name in s.binds)


class Program:
    """A submission's code, parsed once; :meth:`check` applies one question's rule to it."""

    def __init__(self, sources: Sequence[Source], modules: ModuleSources | None = None) -> None:
        self.modules = modules
        self.problems: list[Finding] = []
        """Findings that concern every rule-bound answer (code too large, dynamic code anywhere)."""
        self._units: dict[str, _Unit | None] = {}
        total = sum(len(s.text) for s in sources)
        if total > MAX_CODE_CHARS:
            self.problems.append(Finding(UNCHECKABLE, f"{total:,} characters of code, over the {MAX_CODE_CHARS:,} "
                                                      "the grader reads"))
            sources = []
        self.notebook = _Unit()
        for source in sources:
            self._add(self.notebook, source)
        self._units[""] = self.notebook
        self.problems.extend(_dynamic_code(self.notebook))

    def _add(self, unit: _Unit, source: Source) -> None:
        if len(source.text) > MAX_CELL_CHARS:
            self.problems.append(Finding(UNCHECKABLE, f"a cell of {len(source.text):,} characters (over "
                                                      f"{MAX_CELL_CHARS:,})", source.label))
            return
        try:
            statements = [(node, *_module_names(node)) for node in _parse(source, self.problems)]
        except RecursionError:
            self.problems.append(Finding(UNCHECKABLE, "code nested too deeply to read", source.label))
            return
        for node, binds, uses in statements:
            unit.statements.append(_Statement(node, source.label, binds, uses))
            unit.defined |= binds
            for sub in ast.walk(node):
                if isinstance(sub, (ast.Import, ast.ImportFrom)):
                    for name, target in _imported(sub):
                        unit.imports.setdefault(name, set()).add(target)

    def _unit(self, module: str) -> _Unit | None:
        if module not in self._units:
            source = self.modules.read(module) if self.modules else None
            unit = None
            if source is not None:
                unit = _Unit()
                self._add(unit, source)
            self._units[module] = unit
        return self._units[module]

    def check(self, answer: str, rules: Rules) -> RuleCheck:
        """Apply ``rules`` to the code that defines ``answer`` and everything it uses."""
        try:
            findings, seen = self._reachable_findings(answer, rules)
        except RecursionError:
            findings, seen = [Finding(UNCHECKABLE, "code nested too deeply to read")], set()
        findings = [*self.problems, *findings]
        answered = any(True for _ in self.notebook.binders(answer))
        if answered and not any(f.kind == UNCHECKABLE for f in findings):
            findings += [Finding(MISSING, p) for p in rules.require if not any(fnmatchcase(n, p) for n in seen)]
        return RuleCheck(answer, rules, tuple(_first_per_place(findings)))

    def _reachable_findings(self, answer: str, rules: Rules) -> tuple[list[Finding], set[str]]:
        findings: list[Finding] = []
        seen: set[str] = set()
        queue, done = [("", answer)], set()
        visited: set[int] = set()
        while queue:
            key = queue.pop()
            if key in done:
                continue
            done.add(key)
            unit = self._unit(key[0])
            if unit is None:
                continue
            for stmt in unit.binders(key[1]):
                if id(stmt) in visited:
                    continue
                visited.add(id(stmt))
                queue.extend((key[0], name) for name in stmt.uses if name in unit.defined)
                for node, names in _references(stmt.node, unit):
                    where = f"{stmt.label}, line {getattr(node, 'lineno', '?')}"
                    for name in names:
                        seen.add(name)
                        findings.extend(Finding(FORBIDDEN, name, where) for p in rules.forbid
                                        if fnmatchcase(name, p))
                        follow = self._follow(name)
                        if follow:
                            queue.append(follow)
                    if isinstance(node, (ast.Import, ast.ImportFrom)):
                        findings.extend(self._unreadable(node, where))
        return findings, seen

    def _follow(self, dotted: str) -> tuple[str, str] | None:
        """``solutions.s02_3.f`` -> (``solutions.s02_3``, ``f``) when that module can be read."""
        if self.modules is None:
            return None
        parts = dotted.split(".")
        for i in range(len(parts) - 1, 0, -1):
            module = ".".join(parts[:i])
            if self._unit(module) is not None:
                return module, parts[i]
        return None

    def _unreadable(self, node: ast.Import | ast.ImportFrom, where: str) -> list[Finding]:
        """An import, in the answer's code, from a module that is neither a library nor readable."""
        modules = [a.name for a in node.names] if isinstance(node, ast.Import) else [
            "." * node.level + (node.module or "")]
        return [Finding(UNCHECKABLE, f"an import from module `{m}`, whose code the grader cannot read", where)
                for m in modules
                if m.split(".")[0] not in LIBRARIES and (self.modules is None or self.modules.read(m) is None)]


def check_rules(sources: Sequence[Source], answer: str, rules: Rules, modules: ModuleSources | None = None) -> RuleCheck:
    """One answer's rule on some code (parses it; use :class:`Program` for several answers)."""
    return Program(sources, modules).check(answer, rules)


def rule_message(check: RuleCheck) -> str | None:
    """What a student reads when the rule is broken: which name, where, and the rule; None when kept."""
    if check.kept:
        return None
    name = f"`{check.answer}`"
    first, *rest = check.findings
    also = "; ".join(_finding_text(f) for f in rest[:3]) + ("; ..." if len(rest) > 3 else "")
    return (f"{name} {_finding_text(first)}. The rule: {check.rules.rule}. "
            + (f"Also: {also}. " if also else "")
            + f"Rules are checked without running anything, on the code that defines {name} and everything it "
              "uses by name, in any cell. This question earns 0 points.")


def _finding_text(f: Finding) -> str:
    place = f" ({f.where})" if f.where else ""
    if f.kind == FORBIDDEN:
        return f"uses `{f.what}`{place}, which this task does not allow"
    if f.kind == MISSING:
        return f"never uses `{f.what.lstrip('*')}`, which this task requires"
    return (f"cannot be checked against this task's rule because of {f.what}{place}: code the grader cannot "
            "see through without running it (remove it)")


# --- parsing ---------------------------------------------------------------------------------------


def _parse(source: Source, problems: list[Finding], depth: int = 0) -> list[ast.stmt]:
    """The top-level statements of a source; a cell that does not parse defines nothing (it fails when run)."""
    text = _python(source.text) if source.ipython else source.text
    try:
        tree = ast.parse(text)
    except (SyntaxError, ValueError):
        return []  # Python refuses it in the kernel too: the cell defines nothing
    except (RecursionError, MemoryError, OverflowError):
        problems.append(Finding(UNCHECKABLE, "code too complex for the grader to read", source.label))
        return []
    out: list[ast.stmt] = []
    for stmt in tree.body:
        code = _magic_code(stmt)
        if code is None:
            out.append(stmt)
        elif depth >= MAX_MAGIC_DEPTH:
            problems.append(Finding(UNCHECKABLE, "magics nested too deeply", f"{source.label}, line {stmt.lineno}"))
        else:
            inner = _parse(Source(source.label, code), problems, depth + 1)
            for node in inner:
                ast.increment_lineno(node, stmt.lineno - 1)
            out.extend(inner)
    return out


def _python(text: str) -> str:
    """IPython's own transformation of a cell (``%time x`` -> ``get_ipython().run_line_magic(...)``)."""
    try:
        from IPython.core.inputtransformer2 import TransformerManager

        return TransformerManager().transform_cell(text)
    except Exception:  # noqa: BLE001 - an untransformable cell is read as plain Python (and fails to parse)
        return text


def _magic(node: ast.AST) -> tuple[str, list[ast.expr]] | None:
    """``get_ipython().run_line_magic('time', ...)`` -> (``time``, its arguments)."""
    if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
            and node.func.attr in ("run_line_magic", "run_cell_magic")
            and isinstance(node.func.value, ast.Call) and isinstance(node.func.value.func, ast.Name)
            and node.func.value.func.id == "get_ipython" and node.args
            and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str)):
        return node.args[0].value.lstrip("%"), node.args[1:]
    return None


def _magic_code(stmt: ast.stmt) -> str | None:
    """The Python code run by a code magic at a cell's top level (``%time``, ``%%capture``), else None."""
    value = stmt.value if isinstance(stmt, (ast.Expr, ast.Assign)) else None
    magic = _magic(value) if value is not None else None
    if magic is None or magic[0] not in CODE_MAGICS:
        return None
    texts = [a.value for a in magic[1] if isinstance(a, ast.Constant) and isinstance(a.value, str)]
    if not texts:
        return None
    code = texts[-1]
    if magic[0] in ("time", "timeit", "prun") and len(texts) == 1:
        code = re.sub(r"^\s*(?:-\w+(?:\s+\d+)?\s+)*", "", code)  # options before the statement: -n 10 -r 3
    return code


# --- names -----------------------------------------------------------------------------------------


def _imported(node: ast.Import | ast.ImportFrom) -> Iterator[tuple[str, str]]:
    """(bound name, dotted name it refers to) for each alias of an import."""
    for alias in node.names:
        if isinstance(node, ast.Import):
            if alias.asname:
                yield alias.asname, alias.name
            else:
                yield alias.name.split(".")[0], alias.name.split(".")[0]
        elif alias.name != "*":
            module = "." * node.level + (node.module or "")
            yield alias.asname or alias.name, f"{module}.{alias.name}"


def _own(roots: Iterable[ast.AST]) -> Iterator[ast.AST]:
    """The nodes of one scope: nested scopes are yielded but not entered, except for what the enclosing
    scope evaluates (decorators, defaults, bases, the first iterable of a comprehension)."""
    stack = list(roots)
    while stack:
        node = stack.pop()
        yield node
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            a = node.args
            stack.extend([*node.decorator_list, *a.defaults, *(d for d in a.kw_defaults if d),
                          *(x.annotation for x in [*a.posonlyargs, *a.args, *a.kwonlyargs] if x.annotation),
                          *([node.returns] if node.returns else [])])
        elif isinstance(node, ast.Lambda):
            stack.extend([*node.args.defaults, *(d for d in node.args.kw_defaults if d)])
        elif isinstance(node, ast.ClassDef):
            stack.extend([*node.decorator_list, *node.bases, *(k.value for k in node.keywords)])
        elif isinstance(node, (ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)):
            stack.append(node.generators[0].iter)
        else:
            stack.extend(ast.iter_child_nodes(node))


def _stored(node: ast.AST) -> set[str]:
    """Names a node binds in its own scope."""
    if isinstance(node, ast.Name) and isinstance(node.ctx, (ast.Store, ast.Del)):
        return {node.id}
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        return {node.name}
    if isinstance(node, (ast.Import, ast.ImportFrom)):
        return {name for name, _ in _imported(node)}
    if isinstance(node, ast.ExceptHandler) and node.name:
        return {node.name}
    if isinstance(node, (ast.MatchAs, ast.MatchStar)) and node.name:
        return {node.name}
    return set()


def _free(scope: ast.AST) -> tuple[set[str], set[str]]:
    """Names a nested scope takes from outside, and the names it assigns as ``global``."""
    if isinstance(scope, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
        a = scope.args
        params = {x.arg for x in [*a.posonlyargs, *a.args, *a.kwonlyargs, *(v for v in (a.vararg, a.kwarg) if v)]}
        body = scope.body if isinstance(scope.body, list) else [scope.body]
    elif isinstance(scope, ast.ClassDef):
        params, body = set(), scope.body
    else:  # a comprehension: its targets are its own
        gens = scope.generators  # type: ignore[attr-defined]
        params = set().union(*(_targets(g.target) for g in gens))
        elts = [scope.key, scope.value] if isinstance(scope, ast.DictComp) else [scope.elt]  # type: ignore[attr-defined]
        body = [*elts, *(g.target for g in gens), *(g.iter for g in gens[1:]), *(c for g in gens for c in g.ifs)]
    local, loads, inner, declared, assigned_globals = set(params), set(), set(), set(), set()
    for node in _own(body):
        local |= _stored(node)
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load):
            loads.add(node.id)
        elif isinstance(node, (ast.Global, ast.Nonlocal)):
            declared.update(node.names)
        if isinstance(node, _SCOPES):
            free, glob = _free(node)
            inner |= free
            assigned_globals |= glob
    if isinstance(scope, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
        assigned_globals |= local & declared
    own_local = local - declared
    free = (loads - own_local) | (inner if isinstance(scope, ast.ClassDef) else inner - own_local)
    return free | declared, assigned_globals


def _targets(node: ast.AST) -> set[str]:
    return {n.id for n in ast.walk(node) if isinstance(n, ast.Name)}


def _module_names(stmt: ast.stmt) -> tuple[set[str], set[str]]:
    """(names a top-level statement binds, names it uses) at module level, nested scopes included."""
    binds, uses = set(), set()
    for node in _own([stmt]):
        binds |= _stored(node)
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load):
            uses.add(node.id)
        if isinstance(node, _SCOPES):
            free, glob = _free(node)
            uses |= free
            binds |= glob
    return binds, uses


def _dotted(node: ast.AST, unit: _Unit) -> list[str]:
    """The dotted names an expression may refer to: ``la.norm`` -> ``numpy.linalg.norm`` after
    ``import numpy.linalg as la``; an unknown root stays as written (``X.norm``); ``getattr`` with a
    constant name counts as an attribute."""
    attrs: list[str] = []
    while True:
        if isinstance(node, ast.Attribute):
            attrs.append(node.attr)
            node = node.value
        elif (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "getattr"
              and len(node.args) >= 2 and isinstance(node.args[1], ast.Constant)
              and isinstance(node.args[1].value, str)):
            attrs.append(node.args[1].value)
            node = node.args[0]
        else:
            break
    tail = "".join(f".{a}" for a in reversed(attrs))
    roots = (unit.imports.get(node.id) or {node.id}) if isinstance(node, ast.Name) else {"<object>"}
    return [r + tail for r in sorted(roots)]


def _references(stmt: ast.stmt, unit: _Unit) -> Iterator[tuple[ast.AST, list[str]]]:
    """Every name, attribute chain, constant ``getattr`` and import of a statement, as dotted names."""
    inner: set[int] = set()
    for node in ast.walk(stmt):
        if id(node) in inner:
            continue
        if isinstance(node, (ast.Attribute, ast.Call)) and (isinstance(node, ast.Attribute) or _is_getattr(node)):
            names = _dotted(node, unit)
            inner.update(id(n) for n in _chain(node))
            yield node, names
        elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load):
            if node.id in unit.imports or node.id not in unit.defined:
                yield node, _dotted(node, unit)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            yield node, [target for _, target in _imported(node)] + [
                a.name for a in node.names if isinstance(node, ast.Import)]


def _is_getattr(node: ast.AST) -> bool:
    return (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "getattr"
            and len(node.args) >= 2 and isinstance(node.args[1], ast.Constant) and isinstance(node.args[1].value, str))


def _chain(node: ast.AST) -> Iterator[ast.AST]:
    """The inner links of an attribute chain (reported once, as the whole chain)."""
    while True:
        if isinstance(node, ast.Attribute):
            node = node.value
        elif _is_getattr(node):
            assert isinstance(node, ast.Call)
            yield node.func
            yield node.args[1]
            node = node.args[0]
        else:
            return
        if isinstance(node, (ast.Attribute, ast.Name)) or _is_getattr(node):
            yield node


def _dynamic_code(unit: _Unit) -> list[Finding]:
    """Anywhere in the notebook: code that can rebind a name where the grader cannot see it."""
    defined = {n.name for s in unit.statements for n in ast.walk(s.node)
               if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))}
    found = []
    for stmt in unit.statements:
        handled: set[int] = set()  # get_ipython() of a call already judged (ast.walk sees the call first)
        for node in ast.walk(stmt.node):
            if id(node) in handled:
                continue
            what = _dynamic(node, unit, defined, handled)
            if what:
                found.append(Finding(UNCHECKABLE, what, f"{stmt.label}, line {getattr(node, 'lineno', '?')}"))
    return found


def _dynamic(node: ast.AST, unit: _Unit, defined: set[str], handled: set[int]) -> str | None:
    """What makes this node code the grader cannot see through, if anything."""
    if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load):
        if node.id in DYNAMIC_BUILTINS | {"get_ipython"} and node.id not in defined and node.id not in unit.imports:
            return f"`{node.id}`"
    elif isinstance(node, ast.Attribute) and node.attr in DYNAMIC_ATTRS:
        return f"the attribute `{node.attr}`"
    elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "getattr" \
            and "getattr" not in defined and not _is_getattr(node):
        return "`getattr` with a computed attribute name"
    elif _ipython_call(node):
        assert isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
        handled.add(id(node.func.value.func))  # type: ignore[attr-defined]
        magic = _magic(node)
        if node.func.attr in ("system", "getoutput") or (magic and magic[0] in SAFE_MAGICS):
            return None  # `!command` and harmless magics cannot rebind a name of the notebook
        return f"`%{magic[0]}`" if magic else f"`get_ipython().{node.func.attr}`"
    if isinstance(node, (ast.Name, ast.Attribute)):
        return next((f"`{n}`" for n in _dotted(node, unit) if any(fnmatchcase(n, p) for p in DYNAMIC_NAMES)
                     and not any(fnmatchcase(n, p) for p in SAFE_NAMES)), None)
    return None


def _ipython_call(node: ast.AST) -> bool:
    """``get_ipython().<method>(...)``: how IPython writes ``%magic`` and ``!command``."""
    return (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
            and isinstance(node.func.value, ast.Call) and isinstance(node.func.value.func, ast.Name)
            and node.func.value.func.id == "get_ipython")


def _first_per_place(findings: Iterable[Finding]) -> Iterator[Finding]:
    """One finding per kind and place: ``np.linalg.norm`` is one use, not three."""
    seen = set()
    for f in findings:
        key = (f.kind, f.where) if f.where else (f.kind, f.what)
        if key not in seen:
            seen.add(key)
            yield f

