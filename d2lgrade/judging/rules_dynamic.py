"""Code anywhere in a notebook that can change what a name is where the grader cannot see it.

Running code from strings, writing to namespaces, walking frames or memory, magics that run other code,
imports of modules the notebook may have written: such code can rebind any answer at run time, so a
notebook holding it has no rule-bound answer that can be checked. Reading is harmless (``'x' in
locals()``, ``getattr(obj, name)``, ``%env``, ``%%html``); what an answer's own code reads is judged with
the answer (:mod:`d2lgrade.judging.rules_names`).
"""

from __future__ import annotations

import ast
import fnmatch
import re
from collections.abc import Callable, Iterator
from fnmatch import fnmatchcase

from d2lgrade.judging.libraries import LIBRARIES, installed_packages
from d2lgrade.judging.rules_code import CODE, DYNAMIC, UNCHECKABLE, Finding, ipython_kind, literal_str, live_children, magic
from d2lgrade.judging.rules_names import MODULE_LOOKUPS, Statement, Unit, dotted

DYNAMIC_BUILTINS = frozenset({"eval", "exec", "compile", "__import__", "setattr", "delattr", "breakpoint",
                              "__builtins__"})
NAMESPACE_BUILTINS = frozenset({"globals", "locals", "vars"})
"""Harmless when only read (:func:`_read_only`); ``locals()`` inside a function is a copy."""
DYNAMIC_NAMES = ("importlib.util*", "importlib.machinery*", "importlib.abc*", "importlib._*", "sys.modules*",
                 "sys._getframe", "sys.settrace", "sys.setprofile", "sys.meta_path*", "sys.path_hooks*", "builtins*",
                 "runpy*", "ctypes*", "pickle*", "marshal*", "shelve*", "copyreg*", "inspect.currentframe",
                 "inspect.stack", "inspect.trace", "inspect.getmembers*", "inspect.getouterframes",
                 "inspect.getinnerframes", "types.FunctionType", "types.LambdaType", "types.CodeType",
                 "types.ModuleType", "IPython*", "__main__*", "gc*", "code.*", "codeop*", "doctest*", "pdb*", "bdb*",
                 "threading.settrace*", "zipimport*", "cProfile.run*", "profile.run*")
SAFE_NAMES = ("IPython.display*", "IPython.core.display*", "IPython.lib.display*")
"""Names under :data:`DYNAMIC_NAMES` that cannot rebind anything: showing HTML or a plot is what students do."""
STRING_RUNNERS = ("timeit.timeit", "timeit.repeat", "timeit.Timer")
"""Run their ``stmt`` and ``setup`` as code when given strings; harmless with a ``lambda``."""
DYNAMIC_ATTRS = frozenset({
    "__dict__", "__globals__", "__builtins__", "__code__", "__subclasses__", "__bases__", "__base__", "__mro__",
    "__getattribute__", "__getattr__", "__setattr__", "__delattr__", "__import__", "__loader__", "__spec__",
    "__closure__", "__func__", "__self__", "__wrapped__", "__reduce__", "__reduce_ex__", "f_globals", "f_locals",
    "f_back", "f_builtins", "gi_frame", "cr_frame", "tb_frame", "user_ns", "user_global_ns"})
"""Attributes that reach namespaces, frames or code objects: ways to rebind a name unseen."""
READ_METHODS = frozenset({"get", "keys", "values", "items", "copy", "__contains__", "__len__", "__iter__"})
READERS = frozenset({"print", "len", "sorted", "list", "dict", "set", "tuple", "str", "repr", "iter", "any", "all",
                     "display"})
_FUNCTIONS = (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)


def dynamic_code(unit: Unit, readable: Callable[[str], bool]) -> list[Finding]:
    """Every place in the notebook's live code that can rebind a name unseen. ``readable``: whether the
    checker may open a module (the references, for the instructor's solved notebooks)."""
    found = []
    for stmt in unit.statements:
        for node, parents, in_function in _walk(stmt.node):
            what = _dynamic(node, parents, in_function, stmt, unit) or _loads_unread(node, stmt, unit, readable)
            if what:
                found.append(Finding(UNCHECKABLE, what, stmt.where(node)))
    return found


def _walk(root: ast.AST) -> Iterator[tuple[ast.AST, dict[int, ast.AST], bool]]:
    """Live nodes with their parents so far and whether they run inside a function (where ``locals()`` is a copy)."""
    parents: dict[int, ast.AST] = {}
    stack = [(root, False)]
    while stack:
        node, in_function = stack.pop()
        yield node, parents, in_function
        inside = isinstance(node, _FUNCTIONS) or (in_function and not isinstance(node, ast.ClassDef))
        for child in live_children(node):
            parents[id(child)] = node
            stack.append((child, inside))


def _dynamic(node: ast.AST, parents: dict[int, ast.AST], in_function: bool, stmt: Statement, unit: Unit) -> str | None:
    """What makes this node code the grader cannot see through, if anything."""
    if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load) and node.id not in unit.defined \
            and node.id not in unit.imports:
        if node.id in DYNAMIC_BUILTINS:
            return f"`{node.id}`"
        if node.id in NAMESPACE_BUILTINS:
            return _namespace(node, parents, in_function)
        if node.id == "get_ipython":
            return _ipython(node, parents)
    if isinstance(node, ast.Attribute) and node.attr in DYNAMIC_ATTRS:
        return f"the attribute `{node.attr}`"
    parent = parents.get(id(node))
    outermost = not (isinstance(parent, ast.Attribute) and parent.value is node)
    if isinstance(node, (ast.Name, ast.Attribute)) and outermost:
        return next((f"`{n}`" for n in dotted(node, unit, stmt.uses) if _prefix_matches(n, _DYNAMIC)
                     and not _prefix_matches(n, _SAFE)), None)
    if isinstance(node, ast.Call) and isinstance(node.func, (ast.Name, ast.Attribute)):
        runner = next((n for n in dotted(node.func, unit, stmt.uses) if n in STRING_RUNNERS), None)
        code = [*node.args[:2], *(k.value for k in node.keywords if k.arg in ("stmt", "setup"))]
        if runner and any(not isinstance(c, ast.Lambda) for c in code):
            return f"`{runner}` given code that is not a `lambda` (it runs strings as code)"
    return None


def _any_of(patterns: tuple[str, ...]) -> re.Pattern[str]:
    return re.compile("|".join(f"(?:{fnmatch.translate(p)})" for p in patterns))


_DYNAMIC, _SAFE = _any_of(DYNAMIC_NAMES), _any_of(SAFE_NAMES)


def _prefix_matches(name: str, patterns: re.Pattern[str]) -> bool:
    """Whether the name or one of its first four prefixes (``sys.modules`` of ``sys.modules.x``) matches."""
    parts = name.split(".", 4)
    return any(patterns.match(".".join(parts[:i])) for i in range(1, len(parts) + 1)) or bool(patterns.match(name))


def _namespace(node: ast.Name, parents: dict[int, ast.AST], in_function: bool) -> str | None:
    """``globals()``, ``locals()``, ``vars()``: harmless when only read, or ``locals()`` inside a function."""
    call = parents.get(id(node))
    if not (isinstance(call, ast.Call) and call.func is node):
        return f"`{node.id}` used as a value"
    if node.id == "vars" and (call.args or call.keywords):
        return "`vars(...)`"
    if (node.id == "locals" and in_function) or _read_only(call, parents):
        return None
    return f"`{node.id}()` used other than to read it"


def _read_only(call: ast.Call, parents: dict[int, ast.AST]) -> bool:
    """``'x' in globals()``, ``globals()['x']``, ``locals().get('x')``, ``f(**locals())``, ``print(locals())``."""
    p = parents.get(id(call))
    if isinstance(p, ast.Compare):
        return p.left is not call
    if isinstance(p, ast.Subscript):
        return p.value is call and isinstance(p.ctx, ast.Load)
    if isinstance(p, ast.Attribute):
        grand = parents.get(id(p))
        return p.value is call and p.attr in READ_METHODS and isinstance(grand, ast.Call) and grand.func is p
    if isinstance(p, ast.keyword):
        return p.arg is None
    if isinstance(p, ast.Call):
        return call in p.args and isinstance(p.func, ast.Name) and p.func.id in READERS
    if isinstance(p, (ast.For, ast.comprehension)):
        return p.iter is call
    return isinstance(p, ast.Expr)


def _ipython(node: ast.Name, parents: dict[int, ast.AST]) -> str | None:
    """``get_ipython().<method>(...)``: harmless and shell magics are not; any other use of the shell is."""
    inner, attribute = parents.get(id(node)), None
    if isinstance(inner, ast.Call) and inner.func is node and not inner.args:
        attribute = parents.get(id(inner))
    call = parents.get(id(attribute)) if isinstance(attribute, ast.Attribute) else None
    if not (isinstance(call, ast.Call) and call.func is attribute):
        return "`get_ipython`"
    kind, found = ipython_kind(call), magic(call)
    if kind == DYNAMIC:
        return f"`%{found[0]}`" if found else f"`get_ipython().{attribute.attr}`"  # type: ignore[union-attr]
    if kind == CODE:
        return f"`%{found[0]}` inside a block (read only at a cell's top level)" if found else None
    return None


def _loads_unread(node: ast.AST, stmt: Statement, unit: Unit, readable: Callable[[str], bool]) -> str | None:
    """An import, or a module loaded by name, of code that is neither installed nor readable: a file the
    notebook may have written, whose code runs when imported."""
    modules: list[str] = []
    if isinstance(node, ast.Import):
        modules = [a.name for a in node.names]
    elif isinstance(node, ast.ImportFrom):
        modules = ["." * node.level + (node.module or "")]
    elif isinstance(node, ast.Call) and isinstance(node.func, (ast.Name, ast.Attribute)):
        names = dotted(node.func, unit, stmt.uses)
        if any(fnmatchcase(n, p) for n in names for p in (*MODULE_LOOKUPS, "importlib.reload")):
            arg = node.args[0] if node.args else None
            if "importlib.reload" in names:
                modules = dotted(arg, unit, stmt.uses) if isinstance(arg, (ast.Name, ast.Attribute)) else ["?"]
            else:
                modules = [(literal_str(arg) or "?").replace(":", ".")]
    unread = [m for m in modules if not _installed(m) and not readable(m)]
    return f"code loaded from `{unread[0]}`, which the grader cannot read" if unread else None


def _installed(module: str) -> bool:
    top = module.split(".")[0]
    return top == "__main__" or (bool(top) and (top in LIBRARIES or top in installed_packages()))

