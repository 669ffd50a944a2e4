"""What the rule checker knows about libraries without importing anything a notebook names.

``from numpy.linalg import *`` binds whatever ``numpy.linalg`` exports. The checker reads that from
:mod:`d2lgrade.judging.library_exports`, a table written from the installed libraries (by
``python -m d2lgrade.judging.libraries``, which imports them in its own process) and kept only while the
installed versions are the ones it was written from: a module missing from it, or a library upgraded since,
is *unknown*, and then any name a rule-bound answer takes from the module level may come from it.
"""

from __future__ import annotations

import functools
import importlib
import importlib.metadata
import pprint
import sys
from pathlib import Path

LIBRARIES = frozenset(sys.stdlib_module_names) | {
    "mxnet", "numpy", "pandas", "scipy", "matplotlib", "d2l", "d2lgrade", "IPython", "sklearn", "torch",
    "tensorflow", "jax", "sympy", "seaborn"}
"""Packages whose functions are leaves: matched against the patterns, never read."""

STAR_MODULES = (
    "math", "cmath", "statistics", "random", "itertools", "functools", "operator", "collections", "os", "os.path",
    "sys", "time", "string", "fractions", "decimal", "numbers", "typing", "copy", "json", "re", "pathlib",
    "numpy", "numpy.linalg", "numpy.random", "numpy.fft", "mxnet", "mxnet.numpy", "mxnet.numpy_extension",
    "mxnet.numpy.linalg", "mxnet.numpy.random", "mxnet.autograd", "mxnet.ndarray", "mxnet.gluon", "mxnet.gluon.nn",
    "mxnet.initializer", "pandas", "matplotlib", "matplotlib.pyplot", "IPython.display")
"""Modules whose star exports the table holds: those students of this course plausibly ``import *`` from."""
DISTRIBUTIONS = {"numpy": "numpy", "mxnet": "mxnet", "pandas": "pandas", "matplotlib": "matplotlib",
                 "IPython": "ipython"}
"""Top-level package -> the distribution whose version the table depends on (others: Python's own)."""
TABLE = Path(__file__).with_name("library_exports.py")


def star_names(module: str) -> frozenset[str] | None:
    """The names ``from <module> import *`` binds, or None when the table does not know them for the
    installed version."""
    from d2lgrade.judging.library_exports import EXPORTS, VERSIONS

    names = EXPORTS.get(module)
    dist = _distribution(module)
    if names is None or VERSIONS.get(dist) != _version(dist):
        return None
    return frozenset(names)


@functools.cache
def installed_packages() -> frozenset[str]:
    """Top-level packages installed in this environment (from their metadata; nothing imported): code a
    notebook did not write. A module outside these and :data:`LIBRARIES` may be a file the notebook wrote."""
    return frozenset(importlib.metadata.packages_distributions())


def _distribution(module: str) -> str:
    return DISTRIBUTIONS.get(module.split(".")[0], "python")


@functools.cache
def _version(dist: str) -> str:
    if dist == "python":
        return "{}.{}".format(*sys.version_info[:2])
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return ""


def exported(module: str) -> list[str]:
    """What ``from <module> import *`` binds, by importing it (table writing only: never on a notebook's names)."""
    mod = importlib.import_module(module)
    names = getattr(mod, "__all__", None)
    if names is None:
        names = [n for n in vars(mod) if not n.startswith("_")]
    return sorted(set(names))


def table_text() -> str:
    """The source of :mod:`library_exports` for the installed libraries."""
    versions = {d: _version(d) for d in sorted({_distribution(m) for m in STAR_MODULES})}
    exports = {m: exported(m) for m in STAR_MODULES}
    return ('"""What ``from <module> import *`` binds, for the versions below.\n\n'
            'Written by ``python -m d2lgrade.judging.libraries``; do not edit."""\n\n'
            f"VERSIONS = {pprint.pformat(versions, width=120)}\n\n"
            f"EXPORTS = {pprint.pformat(exports, width=120, compact=True)}\n")


if __name__ == "__main__":
    if sys.argv[1:] == ["--check"]:
        sys.exit(0 if TABLE.read_text(encoding="utf-8") == table_text() else 1)
    TABLE.write_text(table_text(), encoding="utf-8")
