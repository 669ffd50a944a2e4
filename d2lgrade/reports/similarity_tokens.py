"""One answer cell to the fingerprints similarity compares: normalised tokens, k-grams, winnowing.

A code answer goes through :data:`CODE_STEPS`, a written answer through :data:`TEXT_STEPS`, each an
ordered list of one-transformation steps over an :class:`Answer`; :func:`fingerprints` then winnows
their k-grams (Schleimer, Wilkerson and Aiken, "Winnowing", SIGMOD 2003: a match of at least
``k + window - 1`` tokens always shares a fingerprint). Every token keeps the line it came from, so a
page can mark the lines two students share.

Why not ``copydetect`` (0.5.0, the well-kept winnowing library on PyPI) or its kin: it tokenises
files lexically with Pygments, so statements swapped around or names renamed differently per use
defeat it; it compares every pair of files (a million file comparisons per question for a class of
1,000); it knows one boilerplate but not how common a line is in the class; its report pulls
Bootstrap's script from a CDN; and it brings numpy, matplotlib, jinja2, pygments and tqdm to a grader
that needs none of them here. ``pycode_similar`` (AST, last released 2020) diffs pairs of functions;
``datasketch`` (MinHash LSH) estimates what an exact inverted index of a few hundred thousand
fingerprints answers directly. The ~150 lines below, over :mod:`ast`, are what the task needs.
"""

from __future__ import annotations

import ast
import hashlib
import heapq
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

MAX_CELL_CHARS = 20_000
"""A longer answer is cut here (a hostile cell must not make the index grow without bound)."""
MAX_REORDERED = 200
"""Blocks with more statements than this keep their order (canonical ordering is quadratic in them)."""
CODE_K, CODE_WINDOW = 5, 4
TEXT_K, TEXT_WINDOW = 2, 2
STOPWORDS = frozenset(("a", "an", "and", "are", "as", "at", "be", "by", "for", "from", "has", "in", "is", "it", "its",
                       "of", "on", "or", "so", "that", "the", "then", "this", "to", "was", "we", "which", "with",
                       "each", "every", "both", "hence", "thus", "therefore", "just", "also", "since", "because"))
"""Words a light paraphrase adds or drops freely; they carry no sign of copying."""

Token = tuple[str, int]
"""A normalised token and the line (1-based, of the cell as submitted) it came from."""


@dataclass
class Answer:
    """One answer cell on its way through the steps."""

    source: str
    given: frozenset[str] = frozenset()
    """The release's lines of this cell, stripped: what every student was handed."""
    lines: list[str] = field(default_factory=list)
    tree: ast.Module | None = None
    tokens: list[Token] = field(default_factory=list)


# --- code ------------------------------------------------------------------------------------------------------


def split_lines(a: Answer) -> None:
    """Lines of the answer as submitted (cut at :data:`MAX_CELL_CHARS`)."""
    a.lines = a.source[:MAX_CELL_CHARS].splitlines()


def drop_given(a: Answer) -> None:
    """The release's own lines (``# YOUR CODE HERE``, ``raise NotImplementedError()``) are nobody's work.
    Blanked rather than removed so that line numbers stay those of the cell."""
    a.lines = ["" if line.strip() in a.given else line for line in a.lines]


def drop_magics(a: Answer) -> None:
    """IPython's ``%magic``, ``!shell`` and ``name?`` lines are not Python; they are blanked."""
    a.lines = ["" if line.lstrip().startswith(("%", "!")) or line.rstrip().endswith("?") else line for line in a.lines]


def parse(a: Answer) -> None:
    """The syntax tree, or None (then :func:`code_tokens` reads the lines lexically). Comments are gone here."""
    try:
        a.tree = ast.parse("\n".join(a.lines))
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        a.tree = None


def drop_docstrings(a: Answer) -> None:
    """A bare string statement is a comment in another form."""
    if a.tree is None:
        return
    for node in ast.walk(a.tree):
        for name in ("body", "orelse", "finalbody"):
            block = getattr(node, name, None)
            if isinstance(block, list) and any(_is_docstring(s) for s in block):
                kept = [s for s in block if not _is_docstring(s)]
                setattr(node, name, kept or [ast.Pass()])


def _is_docstring(stmt: ast.AST) -> bool:
    return isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Constant) and isinstance(stmt.value.value, str)


def canonical_order(a: Answer) -> None:
    """Statements of a block that do not depend on each other (no name one writes and the other reads or
    writes; no ``return``/``raise``/``break`` between them) are put in one order whatever order they were
    written in: the dependency graph sorted topologically, ties by the statement's own tokens."""
    if a.tree is None:
        return
    own = own_names(a.tree)
    for node in ast.walk(a.tree):
        for name in ("body", "orelse", "finalbody"):
            block = getattr(node, name, None)
            if isinstance(block, list) and 1 < len(block) <= MAX_REORDERED and all(isinstance(s, ast.stmt) for s in block):
                setattr(node, name, _sorted_block(block, own))


def _sorted_block(block: list[ast.stmt], own: set[str]) -> list[ast.stmt]:
    effects = [reads_writes(s) for s in block]
    keys = [" ".join(t for t, _ in _emit(s, dict.fromkeys(own, "_"))) for s in block]
    after: list[list[int]] = [[] for _ in block]
    waiting = [0] * len(block)
    for j in range(len(block)):
        for i in range(j):
            if depends(effects[i], effects[j]):
                after[i].append(j)
                waiting[j] += 1
    ready = [(keys[j], j) for j in range(len(block)) if not waiting[j]]
    heapq.heapify(ready)
    order = []
    while ready:
        _, i = heapq.heappop(ready)
        order.append(block[i])
        for j in after[i]:
            waiting[j] -= 1
            if not waiting[j]:
                heapq.heappush(ready, (keys[j], j))
    return order


_BARRIERS = (ast.Return, ast.Raise, ast.Break, ast.Continue, ast.Global, ast.Nonlocal, ast.Try, ast.With)


def reads_writes(stmt: ast.stmt) -> tuple[set[str], set[str], bool]:
    """Names a statement reads and writes (a store into ``x[i]`` or ``x.a`` writes ``x``), and whether it
    changes control flow (then nothing moves across it)."""
    reads, writes = set(), set()
    for node in ast.walk(stmt):
        if isinstance(node, ast.Name):
            (reads if isinstance(node.ctx, ast.Load) else writes).add(node.id)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            writes.add(node.name)
        elif isinstance(node, ast.alias):
            writes.add((node.asname or node.name).split(".")[0])
        elif isinstance(node, (ast.Subscript, ast.Attribute)) and not isinstance(node.ctx, ast.Load):
            base = node.value
            while isinstance(base, (ast.Subscript, ast.Attribute)):
                base = base.value
            if isinstance(base, ast.Name):
                writes.add(base.id)
    barrier = any(isinstance(n, _BARRIERS) for n in ast.walk(stmt))
    return reads, writes, barrier


def depends(first: tuple[set[str], set[str], bool], then: tuple[set[str], set[str], bool]) -> bool:
    (r1, w1, b1), (r2, w2, b2) = first, then
    return b1 or b2 or bool(w1 & (r2 | w2)) or bool(r1 & w2)


def own_names(tree: ast.AST) -> set[str]:
    """Names the student's code binds (variables, functions, parameters, imports as ...): theirs to choose,
    so renamed; names it only reads (``np``, ``len``, the release's ``X``) are kept."""
    own: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and not isinstance(node.ctx, ast.Load):
            own.add(node.id)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            own.add(node.name)
        elif isinstance(node, ast.arg):
            own.add(node.arg)
        elif isinstance(node, ast.alias) and node.asname:
            own.add(node.asname)
        elif isinstance(node, ast.ExceptHandler) and node.name:
            own.add(node.name)
    return own


def code_tokens(a: Answer) -> None:
    """Tokens of the tree in source order, the student's own names numbered by first use (``v1``, ``v2``);
    of the lines, lexically, when the cell is not Python."""
    if a.tree is None:
        a.tokens = [(t, n) for n, line in enumerate(a.lines, 1) for t in re.findall(r"\w+|\S", line)]
        return
    renames: dict[str, str] = {}
    own = own_names(a.tree)
    a.tokens = list(_emit(a.tree, renames, own))


def _emit(tree: ast.AST, renames: dict[str, str], own: set[str] | None = None) -> Iterator[Token]:
    """Pre-order, without recursion (a hostile cell may nest thousands deep). A name in ``own`` that has no
    rename yet gets the next number."""
    stack: list[tuple[ast.AST, int]] = [(tree, 0)]
    while stack:
        node, line = stack.pop()
        line = getattr(node, "lineno", line)
        label = _label(node, renames, own)
        if label:
            yield label, line
        stack.extend((child, line) for child in reversed(list(ast.iter_child_nodes(node))))


def _label(node: ast.AST, renames: dict[str, str], own: set[str] | None) -> str:
    def name(n: str) -> str:
        if n not in renames and own is not None and n in own:
            renames[n] = f"v{len(renames) + 1}"
        return renames.get(n, n)

    if isinstance(node, (ast.Module, ast.Expr, ast.expr_context, ast.arguments)):
        return ""
    if isinstance(node, ast.Name):
        return name(node.id)
    if isinstance(node, ast.arg):
        return "arg " + name(node.arg)
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        return f"{type(node).__name__} {name(node.name)}"
    if isinstance(node, ast.Constant):
        return "=" + repr(node.value)[:24]
    if isinstance(node, ast.Attribute):
        return "." + node.attr
    if isinstance(node, ast.keyword):
        return f"{node.arg}="
    if isinstance(node, ast.alias):
        return f"import {node.name} {name(node.asname) if node.asname else ''}"
    if isinstance(node, ast.ImportFrom):
        return f"from {node.module}"
    return type(node).__name__


CODE_STEPS: tuple[Callable[[Answer], None], ...] = (split_lines, drop_given, drop_magics, parse, drop_docstrings,
                                                    canonical_order, code_tokens)
"""A code answer to tokens, in order: the release's lines go before parsing (they may not parse alone);
docstrings before ordering (a comment must not decide an order); ordering before numbering the names
(numbers follow the canonical order, so two orders of the same statements number alike)."""


# --- written answers -------------------------------------------------------------------------------------------


def text_tokens(a: Answer) -> None:
    """Words in lower case (and LaTeX commands as words), without :data:`STOPWORDS`, in the singular:
    markdown, spacing, case and plurals are not what a student copies."""
    a.tokens = [(singular(word), n) for n, line in enumerate(a.lines, 1)
                for word in re.findall(r"\\[a-z]+|[a-z0-9]+", line.lower()) if word not in STOPWORDS]


def singular(word: str) -> str:
    """``entries`` -> ``entry``, ``matrices`` -> ``matrice`` (alike for both students is all it needs to be)."""
    if len(word) > 4 and word.endswith("ies"):
        return word[:-3] + "y"
    return word[:-1] if len(word) > 3 and word.endswith("s") and not word.endswith("ss") else word


TEXT_STEPS: tuple[Callable[[Answer], None], ...] = (split_lines, drop_given, text_tokens)
"""A written answer to tokens, in order."""


# --- fingerprints ----------------------------------------------------------------------------------------------


def normalised(source: str, given: str, steps: tuple[Callable[[Answer], None], ...]) -> list[Token]:
    """Tokens of one answer through ``steps`` (:data:`CODE_STEPS` or :data:`TEXT_STEPS`)."""
    answer = Answer(source, frozenset(line.strip() for line in given.splitlines() if line.strip()))
    for step in steps:
        step(answer)
    return answer.tokens


def kgrams(tokens: list[Token], k: int) -> list[tuple[int, frozenset[int]]]:
    """Hash of every ``k`` consecutive tokens with the lines they came from; a shorter answer is one k-gram."""
    spans = [tokens[i:i + k] for i in range(max(1, len(tokens) - k + 1))] if tokens else []
    return [(_hash([t for t, _ in span]), frozenset(line for _, line in span)) for span in spans]


def _hash(tokens: list[str]) -> int:
    """Stable across runs and machines (Python's ``hash`` of a str is salted per process)."""
    return int.from_bytes(hashlib.blake2b("\x1f".join(tokens).encode(), digest_size=8).digest(), "big")


def winnow(grams: list[tuple[int, frozenset[int]]], window: int) -> dict[int, set[int]]:
    """The minimum hash of every ``window`` consecutive k-grams (the rightmost on ties), with the lines of every
    place it was picked: fingerprint -> lines."""
    picked: dict[int, set[int]] = {}
    last = -1
    for start in range(max(1, len(grams) - window + 1)):
        chunk = grams[start:start + window]
        if not chunk:
            break
        low = min(h for h, _ in chunk)
        at = start + max(i for i, (h, _) in enumerate(chunk) if h == low)
        if at != last:
            h, lines = grams[at]
            picked.setdefault(h, set()).update(lines)
            last = at
    return picked


def fingerprints(source: str, given: str, written: bool) -> dict[int, set[int]]:
    """One answer's fingerprints and the lines each covers."""
    if written:
        return winnow(kgrams(normalised(source, given, TEXT_STEPS), TEXT_K), TEXT_WINDOW)
    return winnow(kgrams(normalised(source, given, CODE_STEPS), CODE_K), CODE_WINDOW)
