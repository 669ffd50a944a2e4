"""Names in a notebook's code, for the rule checker: parsed, never run.

Each top-level statement is summed up by the module-level names it binds, uses and changes
(:class:`Statement`); :class:`Unit` indexes them by name. :func:`references` turns every name, attribute
chain, import, ``case`` pattern and lookup of a statement into the dotted names it may refer to
(``la.norm`` -> ``numpy.linalg.norm`` after ``import numpy.linalg as la``) or, where a name is only known
at run time, into a glob of what it may be and why the grader cannot tell (:class:`Ref`).
"""

from __future__ import annotations

import ast
import fnmatch
import functools
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field

from d2lgrade.judging.rules_code import SHELL, ipython_kind, ipython_method, literal_str, live_children, live_walk

MODULE_LOOKUPS = ("importlib.import_module", "importlib.__import__", "pydoc.locate", "pkgutil.resolve_name")
"""Calls that return the module or object a dotted name given as a string names."""
ATTRIBUTE_LOOKUPS = ("operator.attrgetter", "operator.methodcaller")
"""Calls that read the attributes a string names from an object given later."""
GETATTR_LOOKUPS = ("getattr", "inspect.getattr_static")
"""Calls that read the attribute a string names (the second argument) from an object (the first)."""
ANY_OBJECT = ("globals", "locals", "vars", "gc.get_objects", "gc.get_referents", "gc.get_referrers")
"""Calls that reach objects by name at run time or walk memory: an answer using one may call anything."""
RUNS_PROGRAMS = ("subprocess*", "os.system", "os.popen", "os.exec*", "os.spawn*", "os.posix_spawn*", "pty.spawn",
                 "asyncio.create_subprocess*")
"""Functions that run another program, whose work the grader cannot read (``!command`` and ``%%bash`` too)."""
SELF_MATCHING = frozenset({"bool", "bytearray", "bytes", "dict", "float", "frozenset", "int", "list", "set", "str",
                           "tuple"})
"""Classes whose one positional ``case`` pattern (``case int(x)``) binds the subject itself, not an attribute."""
BUILTIN_LOOKUPS = frozenset({"getattr", "globals", "locals", "vars"})
_SCOPES = (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef, ast.ListComp, ast.SetComp,
           ast.DictComp, ast.GeneratorExp)
_FUNCTIONS = (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)


@dataclass
class Statement:
    """A top-level statement and the module-level names it binds, uses (free names of nested scopes
    included) and changes in place (``obj.f = ...``, ``d[k] = ...``, ``lst.append(...)``)."""

    node: ast.stmt
    label: str
    binds: set[str]
    uses: set[str]
    stores: set[str]
    """Names whose object gets an attribute or item assigned or deleted."""
    calls: set[str]
    """Names whose object has a method called with arguments (which may store them)."""

    def where(self, node: ast.AST) -> str:
        return f"{self.label}, line {getattr(node, 'lineno', '?')}"


@dataclass(frozen=True)
class Ref:
    """What one place of the code refers to: dotted ``names``, and globs it ``maybe`` refers to with the
    reason the grader cannot tell which."""

    node: ast.AST
    names: tuple[str, ...] = ()
    maybe: tuple[tuple[str, str], ...] = ()


@dataclass
class Unit:
    """A notebook or a module: its top-level statements and, flow-insensitively, what each name may be."""

    statements: list[Statement] = field(default_factory=list)
    imports: dict[str, set[str]] = field(default_factory=dict)
    """Names bound by explicit imports, in any scope, to the dotted names they import."""
    stars: list[tuple[str, str]] = field(default_factory=list)
    """Each ``from <module> import *``, with its place."""
    star_imports: dict[str, set[str]] = field(default_factory=dict)
    """Module-level names bound by star imports whose exports are known."""
    unknown_stars: list[tuple[str, str]] = field(default_factory=list)
    """Star imports whose exports are not known: any module-level name may come from them."""
    defined: set[str] = field(default_factory=set)
    """Names bound at top level (followed, not matched)."""
    binders: dict[str, list[Statement]] = field(default_factory=dict)
    """Name -> the statements that bind or change it; ``module:numpy`` -> those that patch that library."""

    def add(self, nodes: Iterable[ast.stmt], label: str) -> None:
        for node in nodes:
            names = _module_names(node)
            stmt = Statement(node, label, *names)
            self.statements.append(stmt)
            self.defined |= stmt.binds
            for sub in ast.walk(node):
                if isinstance(sub, (ast.Import, ast.ImportFrom)):
                    for name, target in imported(sub):
                        self.imports.setdefault(name, set()).add(target)
                    if isinstance(sub, ast.ImportFrom) and any(a.name == "*" for a in sub.names):
                        self.stars.append(("." * sub.level + (sub.module or ""), stmt.where(sub)))

    def index(self, exports: Callable[[str], Iterable[str] | None]) -> None:
        """Resolve star imports through ``exports`` (None: unknown) and index statements by the names they
        bind or change. Done once, after every source is added: imports hold in every cell."""
        for module, where in self.stars:
            names = exports(module)
            if names is None:
                self.unknown_stars.append((module, where))
            for name in names or ():
                self.star_imports.setdefault(name, set()).add(f"{module}.{name}")
        for stmt in self.statements:
            keys = stmt.binds | stmt.stores | {n for n in stmt.calls if n not in self.imports}
            keys |= {f"module:{t.split('.')[0]}" for n in stmt.stores for t in self.imports.get(n, ())}
            for key in keys:
                self.binders.setdefault(key, []).append(stmt)

    def resolve(self, name: str, module_level: bool) -> set[str]:
        """The dotted names a name may refer to (itself when it is no import)."""
        found = set(self.imports.get(name, ()))
        if module_level:
            found |= self.star_imports.get(name, set())
        return found or {name}


# --- scopes ----------------------------------------------------------------------------------------


def imported(node: ast.Import | ast.ImportFrom) -> Iterator[tuple[str, str]]:
    """(bound name, dotted name it refers to) for each alias of an import (star imports aside)."""
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
    """The live nodes of one scope: nested scopes are yielded but not entered, except for what the enclosing
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
            stack.extend(live_children(node))


def _declared(body: Iterable[ast.AST]) -> set[str]:
    """``global`` and ``nonlocal`` names of a scope, dead code included (Python's compiler reads them there too)."""
    names: set[str] = set()
    stack = list(body)
    while stack:
        node = stack.pop()
        if isinstance(node, (ast.Global, ast.Nonlocal)):
            names.update(node.names)
        elif not isinstance(node, _SCOPES):
            stack.extend(ast.iter_child_nodes(node))
    return names


def _stored(node: ast.AST) -> set[str]:
    """Names a node binds in its own scope."""
    if isinstance(node, ast.Name) and isinstance(node.ctx, (ast.Store, ast.Del)):
        return {node.id}
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        return {node.name}
    if isinstance(node, (ast.Import, ast.ImportFrom)):
        return {name for name, _ in imported(node)}
    if isinstance(node, ast.ExceptHandler) and node.name:
        return {node.name}
    if isinstance(node, (ast.MatchAs, ast.MatchStar)) and node.name:
        return {node.name}
    return set()


def _root(node: ast.AST) -> str | None:
    """``a`` of ``a.b[c].d``."""
    while isinstance(node, (ast.Attribute, ast.Subscript)):
        node = node.value
    return node.id if isinstance(node, ast.Name) else None


def _changed(node: ast.AST) -> tuple[str | None, str | None]:
    """(name whose object an attribute or item store changes, name whose method is called with arguments)."""
    if isinstance(node, (ast.Attribute, ast.Subscript)) and isinstance(node.ctx, (ast.Store, ast.Del)):
        return _root(node.value), None
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and (node.args or node.keywords):
        return None, _root(node.func.value)
    return None, None


@dataclass
class _Scope:
    """Names of one scope as its enclosing scope sees them."""

    free: set[str] = field(default_factory=set)
    globals: set[str] = field(default_factory=set)
    stores: set[str] = field(default_factory=set)
    calls: set[str] = field(default_factory=set)


def _scope_body(scope: ast.AST) -> tuple[set[str], list[ast.AST]]:
    """(parameters or comprehension targets, the nodes evaluated inside) of a nested scope."""
    if isinstance(scope, _FUNCTIONS):
        a = scope.args
        params = {x.arg for x in [*a.posonlyargs, *a.args, *a.kwonlyargs, *(v for v in (a.vararg, a.kwarg) if v)]}
        return params, list(scope.body) if isinstance(scope.body, list) else [scope.body]
    if isinstance(scope, ast.ClassDef):
        return set(), list(scope.body)
    gens = scope.generators  # type: ignore[attr-defined]
    params = set().union(*(_targets(g.target) for g in gens))
    elts = [scope.key, scope.value] if isinstance(scope, ast.DictComp) else [scope.elt]  # type: ignore[attr-defined]
    return params, [*elts, *(g.target for g in gens), *(g.iter for g in gens[1:]), *(c for g in gens for c in g.ifs)]


def _gather(nodes: list[ast.AST]) -> tuple[set[str], set[str], _Scope]:
    """(names bound, names loaded, and a scope holding what the nested scopes take and declare global, with the
    stores and calls of all) of nodes evaluated in one scope."""
    bound: set[str] = set()
    loads: set[str] = set()
    found = _Scope()
    for node in _own(nodes):
        bound |= _stored(node)
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load):
            loads.add(node.id)
        store, call = _changed(node)
        found.stores |= {store} if store else set()
        found.calls |= {call} if call else set()
        if isinstance(node, _SCOPES):
            nested = _free(node)
            found.free |= nested.free
            found.globals |= nested.globals
            found.stores |= nested.stores
            found.calls |= nested.calls
    return bound, loads, found


def _free(scope: ast.AST) -> _Scope:
    """What a nested scope takes from, assigns as ``global`` in, and changes of the enclosing scopes."""
    params, body = _scope_body(scope)
    bound, loads, inner = _gather(body)
    declared = _declared(body)
    local = params | bound
    own_local = local - declared
    out = _Scope(globals=inner.globals | (local & declared))
    out.free = (loads - own_local) | (inner.free if isinstance(scope, ast.ClassDef) else inner.free - own_local) | declared
    out.stores, out.calls = inner.stores - own_local, inner.calls - own_local
    return out


def _targets(node: ast.AST) -> set[str]:
    return {n.id for n in ast.walk(node) if isinstance(n, ast.Name)}


def _module_names(stmt: ast.stmt) -> tuple[set[str], set[str], set[str], set[str]]:
    """(binds, uses, stores, calls) of a top-level statement at module level, nested scopes included."""
    bound, loads, inner = _gather([stmt])
    return bound | inner.globals, loads | inner.free, inner.stores, inner.calls


# --- references ------------------------------------------------------------------------------------


def is_literal_getattr(node: ast.AST, unit: Unit) -> bool:
    """``getattr(obj, 'name')``: read as ``obj.name``."""
    return (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "getattr"
            and "getattr" not in unit.defined and len(node.args) >= 2 and literal_str(node.args[1]) is not None)


def _chain_root(node: ast.AST, unit: Unit) -> tuple[ast.AST, list[str], list[ast.AST]]:
    """(root, attribute names from the root outwards, the inner links) of ``a.b`` / ``getattr(a, 'b')``."""
    attrs: list[str] = []
    links: list[ast.AST] = []
    while True:
        if isinstance(node, ast.Attribute):
            attrs.append(node.attr)
            node = node.value
        elif is_literal_getattr(node, unit):
            assert isinstance(node, ast.Call)
            attrs.append(literal_str(node.args[1]) or "")
            links += [node.func, node.args[1]]
            node = node.args[0]
        else:
            return node, attrs[::-1], links
        links.append(node)


def dotted(node: ast.AST, unit: Unit, module_free: set[str]) -> list[str]:
    """The dotted names an expression may refer to: ``la.norm`` -> ``numpy.linalg.norm``; an unknown root
    stays as written (``X.norm``), or ``<object>`` when it is no name."""
    root, attrs, _ = _chain_root(node, unit)
    tail = "".join(f".{a}" for a in attrs)
    return [r + tail for r in sorted(_root_names(root, unit, module_free))]


def _root_names(root: ast.AST, unit: Unit, module_free: set[str]) -> set[str]:
    if isinstance(root, ast.Name):
        return unit.resolve(root.id, root.id in module_free)
    if isinstance(root, ast.Call) and root.args and literal_str(root.args[0]) is not None and _matches(
            _func_names(root, unit, module_free), MODULE_LOOKUPS):
        return {(literal_str(root.args[0]) or "").replace(":", ".")}
    return {"<object>"}


def _func_names(call: ast.Call, unit: Unit, module_free: set[str]) -> list[str]:
    return dotted(call.func, unit, module_free) if isinstance(call.func, (ast.Name, ast.Attribute)) else []


def _matches(names: Iterable[str], patterns: tuple[str, ...]) -> str | None:
    regex = _any_of(patterns)
    return next((n for n in names if regex.match(n)), None)


@functools.cache
def _any_of(patterns: tuple[str, ...]) -> re.Pattern[str]:
    return re.compile("|".join(f"(?:{fnmatch.translate(p)})" for p in patterns))


def references(stmt: Statement, unit: Unit) -> Iterator[Ref]:
    """Every live name, attribute chain, constant ``getattr``, import, ``case`` pattern, lookup and program
    run of a statement, as a :class:`Ref`. Each attribute chain is read once, from its outermost link."""
    inner: set[int] = set()
    for node in live_walk(stmt.node):
        if id(node) in inner:
            continue
        if isinstance(node, ast.Attribute) or is_literal_getattr(node, unit):
            inner.update(id(n) for n in _chain_root(node, unit)[2])
            yield _chain_ref(node, stmt, unit)
        elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load):
            ref = _chain_ref(node, stmt, unit)
            if node.id in unit.imports or node.id in unit.star_imports or node.id not in unit.defined:
                yield ref
            elif ref.maybe:  # the notebook's own name: followed, not matched; a star import may still rebind it
                yield Ref(node, (), ref.maybe)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            yield Ref(node, tuple([t for _, t in imported(node)] + [
                a.name for a in node.names if isinstance(node, ast.Import)]))
        elif isinstance(node, ast.Match):
            yield from _match_refs(node, stmt, unit)
        elif isinstance(node, ast.Call):
            ref = _call_ref(node, stmt, unit)
            if ref is not None:
                inner.add(id(node.func))
                inner.update(id(n) for n in _chain_root(node.func, unit)[2])
                yield ref


def _chain_ref(node: ast.AST, stmt: Statement, unit: Unit) -> Ref:
    """A name or attribute chain; a lookup or program runner named here without being called is passed around."""
    names = tuple(dotted(node, unit, stmt.uses))
    maybe = list(_unknown_star_maybes(node, stmt, unit))
    passed = _matches(names, (*MODULE_LOOKUPS, *ATTRIBUTE_LOOKUPS, *ANY_OBJECT, *GETATTR_LOOKUPS))
    if passed and (passed.split(".")[0] not in BUILTIN_LOOKUPS or passed not in unit.defined):
        maybe.append(("*", f"`{passed}` used as a value (it looks names up at run time)"))
    runner = _matches(names, RUNS_PROGRAMS)
    if runner:
        maybe.append(("*", f"`{runner}`, which runs another program"))
    return Ref(node, names, tuple(maybe))


def _unknown_star_maybes(node: ast.AST, stmt: Statement, unit: Unit) -> Iterator[tuple[str, str]]:
    root, attrs, _ = _chain_root(node, unit)
    if isinstance(root, ast.Name) and root.id in stmt.uses:
        tail = "".join(f".{a}" for a in attrs)
        for module, where in unit.unknown_stars:
            yield f"{module}.{root.id}{tail}", f"`from {module} import *` ({where}), which may bind `{root.id}`"


def _call_ref(call: ast.Call, stmt: Statement, unit: Unit) -> Ref | None:
    """A call that looks a name up from a string (resolved when the string is a literal) or runs a program."""
    if ipython_method(call) is not None:
        return Ref(call, maybe=(("*", "a shell command (`!...`, `%%bash`): another program"),)) \
            if ipython_kind(call) == SHELL else None
    names = _func_names(call, unit, stmt.uses)
    args = [literal_str(a) for a in call.args]
    if _matches(names, MODULE_LOOKUPS):
        return Ref(call, (args[0].replace(":", "."),)) if args and args[0] else _unknown(call, names, "*")
    if _matches(names, ATTRIBUTE_LOOKUPS):
        if args and all(args):
            return Ref(call, tuple(f"<object>.{a}" for a in args if a))
        return _unknown(call, names, "*")
    getter = _matches(names, GETATTR_LOOKUPS)
    if getter and (getter != "getattr" or "getattr" not in unit.defined) and not is_literal_getattr(call, unit):
        objects = dotted(call.args[0], unit, stmt.uses) if call.args else ["<object>"]
        if len(args) >= 2 and args[1]:
            return Ref(call, tuple(f"{o}.{args[1]}" for o in objects))
        return Ref(call, maybe=tuple((f"{o}.*", f"`{getter}` with a name computed at run time") for o in objects))
    found = _matches(names, ANY_OBJECT)
    if found and (found not in BUILTIN_LOOKUPS or found not in unit.defined):
        return _unknown(call, names, "*")
    return None


def _unknown(call: ast.Call, names: list[str], glob: str) -> Ref:
    return Ref(call, maybe=((glob, f"`{names[0]}` with a name computed at run time"),))


def _match_refs(match: ast.Match, stmt: Statement, unit: Unit) -> Iterator[Ref]:
    """``case C(norm=f)`` reads ``<subject>.norm`` into ``f``: the attributes a class pattern reads."""
    subject = match.subject
    prefixes = dotted(subject, unit, stmt.uses) if isinstance(subject, (ast.Name, ast.Attribute)) else ["<object>"]
    for case in match.cases:
        yield from _pattern_refs(case.pattern, prefixes, stmt, unit)


def _pattern_refs(pattern: ast.pattern, prefixes: list[str], stmt: Statement, unit: Unit) -> Iterator[Ref]:
    if isinstance(pattern, ast.MatchAs) and pattern.pattern is not None:
        yield from _pattern_refs(pattern.pattern, prefixes, stmt, unit)
    elif isinstance(pattern, ast.MatchOr):
        for alternative in pattern.patterns:
            yield from _pattern_refs(alternative, prefixes, stmt, unit)
    elif isinstance(pattern, ast.MatchClass):
        for attr, sub in zip(pattern.kwd_attrs, pattern.kwd_patterns):
            names = [f"{p}.{attr}" for p in prefixes]
            yield Ref(pattern, tuple(names))
            yield from _pattern_refs(sub, names, stmt, unit)
        cls = pattern.cls.id if isinstance(pattern.cls, ast.Name) else None
        if pattern.patterns and (cls not in SELF_MATCHING or cls in unit.defined or len(pattern.patterns) > 1):
            yield Ref(pattern, maybe=tuple((f"{p}.*", "a `case` pattern that reads attributes by position")
                                           for p in prefixes))
        elif pattern.patterns:
            yield from _pattern_refs(pattern.patterns[0], prefixes, stmt, unit)
