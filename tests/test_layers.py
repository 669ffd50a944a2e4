"""The package's layers: no import circle between modules, and packages that import only from the layers below.

The order is the numbered list in ``d2lgrade/__init__.py``'s docstring (one place, read by a person
first); ``cli`` and ``student`` sit on top. Imports inside functions count too: a circle hidden in a
function is still a circle a reader has to untangle.
"""

from __future__ import annotations

import ast
import functools
import re
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "d2lgrade"
TOP = ("cli", "student")


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports_of(path: Path, modules: set[str]) -> set[str]:
    """The package's own modules that ``path`` imports (``from a import b`` counts ``a.b`` when it is a module)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
        else:
            continue
        found |= {n for n in names if n in modules}
    return found


@functools.cache
def graph() -> dict[str, set[str]]:
    paths = {module_name(p): p for p in PACKAGE.rglob("*.py")}
    return {m: imports_of(p, set(paths)) - {m} for m, p in paths.items()}


@functools.cache
def declared_layers() -> list[str]:
    """The subpackages in the order the package's docstring numbers them, lowest first."""
    doc = ast.get_docstring(ast.parse((PACKAGE / "__init__.py").read_text(encoding="utf-8"))) or ""
    return re.findall(r"^\d+\. ``(\w+)``", doc, flags=re.MULTILINE)


def layer_of(module: str, layers: list[str]) -> int:
    part = module.split(".")[1] if "." in module else ""
    if part in layers:
        return layers.index(part)
    return len(layers) if part in TOP else -1


def find_circle(edges: dict[str, set[str]]) -> list[str] | None:
    """One import circle, as the modules around it, or None."""
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(u: str) -> list[str] | None:
        state[u] = 1
        stack.append(u)
        for v in sorted(edges.get(u, ())):
            if state.get(v) == 1:
                return [*stack[stack.index(v):], v]
            if v not in state and (found := visit(v)):
                return found
        stack.pop()
        state[u] = 2
        return None

    for m in sorted(edges):
        if m not in state and (found := visit(m)):
            return found
    return None


def test_no_module_imports_itself_around_a_circle():
    circle = find_circle(graph())
    assert circle is None, "import circle: " + " -> ".join(circle or [])


def test_the_circle_finder_finds_a_planted_circle():
    assert find_circle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_circle({"a": {"b"}, "b": {"c"}, "c": set()}) is None


def test_every_subpackage_is_a_declared_layer():
    layers = list(declared_layers())
    folders = sorted(p.name for p in PACKAGE.iterdir() if (p / "__init__.py").is_file())
    assert sorted(layers) == folders
    loose = sorted(p.stem for p in PACKAGE.glob("*.py") if p.stem != "__init__")
    assert loose == sorted(TOP), "a module at the top of the package belongs in a layer: " + ", ".join(loose)


@pytest.mark.parametrize("module", sorted(graph()))
def test_imports_run_downward(module):
    """A module imports from its own package or from layers below, never from above."""
    layers = declared_layers()
    mine = layer_of(module, layers)
    upward = sorted(m for m in graph()[module] if layer_of(m, layers) > mine)
    assert not upward, f"{module} (layer {mine}) imports from above: {', '.join(upward)}"
