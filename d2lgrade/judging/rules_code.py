"""Reading a notebook's cells for the rule checker: IPython's ``%magics`` and ``!commands`` as Python, dead code.

Parsed, never run. A cell becomes its top-level statements after IPython's own transformation; the Python
a code magic runs (``%time x = f()``, ``%%capture``) is read as code of the cell. Every magic is sorted into
one of :data:`MAGIC_KINDS`, which decides whether it can change what an answer computes.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

MAX_CELL_CHARS = 50_000
"""A cell of code longer than this is not read; a rule-bound answer of such a notebook cannot be checked."""
MAX_CODE_CHARS = 500_000
"""All code cells together (about 25 times an honest notebook)."""
MAX_TRANSFORM_WORK = 1_000_000
"""IPython reads a whole cell again after each magic or ``!command`` it rewrites: magics times the cell's length,
summed over the notebook, above which cells are not read (about a second of work)."""
MAX_MAGIC_DEPTH = 3
"""``%%time`` inside ``%%capture`` inside ...: deeper is refused."""

FORBIDDEN, MISSING, UNCHECKABLE = "forbidden", "missing", "uncheckable"

CODE, HARMLESS, SHELL, DYNAMIC = "code", "harmless", "shell", "dynamic"
MAGIC_KINDS: dict[str, frozenset[str]] = {
    CODE: frozenset({"time", "timeit", "prun", "capture"}),
    HARMLESS: frozenset({
        "matplotlib", "pinfo", "pinfo2", "psearch", "pdef", "pdoc", "psource", "pfile", "who", "whos", "who_ls",
        "pwd", "ls", "cd", "precision", "config", "pip", "conda", "env", "set_env", "autoreload", "xmode",
        "lsmagic", "magic", "history", "hist", "page", "pprint", "colors", "html", "HTML", "javascript", "js",
        "latex", "markdown", "svg", "writefile", "file", "killbgscripts"}),
    SHELL: frozenset({"system", "sx", "bash", "sh", "script", "perl", "ruby", "python", "python2", "python3",
                      "pypy"}),
}
"""``code``: its argument or cell body is Python, read as code of the cell (at a cell's top level only).
``harmless``: shows, times, configures or writes a file, and cannot bind a name of the notebook.
``shell``: runs another program; an answer whose code reaches it cannot be checked. Any other magic
(``%run``, ``%load``, ``%rerun``, ``%store``, ``%autocall``, ...) is ``dynamic``: it can run or rebind code
unseen, so no rule-bound answer of the notebook can be checked."""
SAFE_EXTENSIONS = frozenset({"autoreload"})
"""``%load_ext`` of these only adds harmless magics; any other extension is code the grader does not read."""
_ESCAPE_LINE = re.compile(r"^\s*[%!?/,;]|=\s*[%!]|\?\s*$", re.MULTILINE)
"""Lines IPython may rewrite (counted generously): each costs one more reading of the cell."""
_PROMPT_LINE = re.compile(r"^\s*(?:>>>|\.\.\.|In \[\d*\]:)", re.MULTILINE)
"""Lines IPython strips a prompt from (``>>> ``, ``In [3]: ``, ``...: ``)."""
_SCRIPT_OUTPUTS = re.compile(r"--(?:out|err|proc)[ =]+([A-Za-z_]\w*)")


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


@dataclass
class Budget:
    """What is left of :data:`MAX_TRANSFORM_WORK` for one notebook."""

    left: int = MAX_TRANSFORM_WORK


def parse(source: Source, problems: list[Finding], budget: Budget, depth: int = 0) -> list[ast.stmt]:
    """The top-level statements of a source; a cell that does not parse defines nothing (it fails when run)."""
    text = source.text
    if source.ipython:
        work = len(_ESCAPE_LINE.findall(text)) * len(text)
        if work > budget.left:
            problems.append(Finding(UNCHECKABLE, "more magics and `!commands` in long cells than the grader reads "
                                                 "(split the cell, or remove some)", source.label))
            return []
        budget.left -= work
        text = _python(text)
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
            out.append(_script_outputs(stmt))
        elif depth >= MAX_MAGIC_DEPTH:
            problems.append(Finding(UNCHECKABLE, "magics nested too deeply", f"{source.label}, line {stmt.lineno}"))
        else:
            inner = parse(Source(source.label, code), problems, budget, depth + 1)
            for node in inner:
                ast.increment_lineno(node, stmt.lineno - 1)
            out.extend(inner)
    return out


def _python(text: str) -> str:
    """IPython's own transformation of a cell (``%time x`` -> ``get_ipython().run_line_magic(...)``).
    A cell with nothing IPython rewrites (no escape, prompt or leading indent) is Python as it stands."""
    first = text.lstrip("\r\n")[:1]
    if not _ESCAPE_LINE.search(text) and not _PROMPT_LINE.search(text) and not first.isspace():
        return text
    try:
        from IPython.core.inputtransformer2 import TransformerManager

        return TransformerManager().transform_cell(text)
    except Exception:  # noqa: BLE001 - an untransformable cell is read as plain Python (and fails to parse)
        return text


def literal_str(node: ast.AST | None) -> str | None:
    """The value of a string literal, else None."""
    return node.value if isinstance(node, ast.Constant) and isinstance(node.value, str) else None


def magic(node: ast.AST) -> tuple[str, list[ast.expr]] | None:
    """``get_ipython().run_line_magic('time', ...)`` -> (``time``, its arguments)."""
    if (ipython_method(node) in ("run_line_magic", "run_cell_magic") and isinstance(node, ast.Call) and node.args
            and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str)):
        return node.args[0].value.lstrip("%"), node.args[1:]
    return None


def ipython_method(node: ast.AST) -> str | None:
    """``get_ipython().<method>(...)`` -> the method: how IPython writes ``%magic`` and ``!command``."""
    if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
            and isinstance(node.func.value, ast.Call) and isinstance(node.func.value.func, ast.Name)
            and node.func.value.func.id == "get_ipython"):
        return node.func.attr
    return None


def ipython_kind(node: ast.Call) -> str:
    """What an IPython call does, one of :data:`MAGIC_KINDS` (``!command`` is ``shell``)."""
    method = ipython_method(node)
    if method in ("system", "getoutput"):
        return SHELL
    found = magic(node)
    if found is None:
        return DYNAMIC
    name, args = found
    if name in ("load_ext", "reload_ext"):
        words = [a.value.split() for a in args if isinstance(a, ast.Constant) and isinstance(a.value, str)]
        return HARMLESS if words and words[0] and set(words[0]) <= SAFE_EXTENSIONS else DYNAMIC
    return next((kind for kind, names in MAGIC_KINDS.items() if name in names), DYNAMIC)


def _magic_code(stmt: ast.stmt) -> str | None:
    """The Python code run by a code magic at a cell's top level (``%time``, ``%%capture``), else None."""
    value = stmt.value if isinstance(stmt, (ast.Expr, ast.Assign)) else None
    found = magic(value) if value is not None else None
    if found is None or found[0] not in MAGIC_KINDS[CODE]:
        return None
    texts = [a.value for a in found[1] if isinstance(a, ast.Constant) and isinstance(a.value, str)]
    if not texts:
        return None
    code = texts[-1]
    if found[0] in ("time", "timeit", "prun") and len(texts) == 1:
        code = re.sub(r"^\s*(?:-\w+(?:\s+\d+)?\s+)*", "", code)  # options before the statement: -n 10 -r 3
    return code


def _script_outputs(stmt: ast.stmt) -> ast.stmt:
    """``%%bash --out x`` binds ``x`` to what the program printed: written as ``x = <the magic>`` so that
    the name is followed to the program like any assignment."""
    found = magic(stmt.value) if isinstance(stmt, ast.Expr) else None
    if found is None or found[0] not in MAGIC_KINDS[SHELL] or not found[1]:
        return stmt
    first = found[1][0]
    names = _SCRIPT_OUTPUTS.findall(first.value) if isinstance(first, ast.Constant) and isinstance(first.value, str) \
        else []
    if not names:
        return stmt
    targets: list[ast.expr] = [ast.Name(n, ast.Store()) for n in names]
    assign = ast.Assign(targets=targets, value=stmt.value)
    return ast.fix_missing_locations(ast.copy_location(assign, stmt))


# --- dead code -------------------------------------------------------------------------------------


def live_children(node: ast.AST) -> Iterable[ast.AST]:
    """The children of a node that can run: ``if False:`` bodies (and the ``else`` of ``if True:``) and
    ``while False:`` bodies are left out, as Python's compiler leaves them out. Only literal conditions."""
    if not (isinstance(node, (ast.If, ast.While, ast.IfExp)) and isinstance(node.test, ast.Constant)):
        return ast.iter_child_nodes(node)
    body = node.body if isinstance(node.body, list) else [node.body]
    orelse = node.orelse if isinstance(node.orelse, list) else [node.orelse]
    if not node.test.value:
        return [node.test, *orelse]
    return [node.test, *body, *(orelse if isinstance(node, ast.While) else [])]


def live_walk(node: ast.AST) -> Iterator[ast.AST]:
    """Like :func:`ast.walk` (parents before children), without dead code."""
    queue = [node]
    while queue:
        current = queue.pop()
        yield current
        queue.extend(reversed(list(live_children(current))))
