"""The Otter autograder zip of an assignment, as Gradescope takes it: ``otter generate``, then d2lgrade's entry points.

The zip's ``otter_config.json`` carries the bundle as the plugin's configuration
(:mod:`d2lgrade.otter.plugin`); the zip also carries d2lgrade's own code, the hashed lock, and
``autograder/setup.sh`` and ``run_autograder`` in place of Otter's (no conda, no GitHub).
"""

from __future__ import annotations

import contextlib
import json
import re
import shutil
import tempfile
import zipfile
from pathlib import Path

from d2lgrade.judging.bundle import FORMAT, Bundle
from d2lgrade.otter.plugin import PLUGIN, SAFE_CONFIG

PYTHON_VERSION = "3.11"
"""Otter's default is 3.13; mxnet 1.9.1 needs 3.11."""

RUN_OTTER_PY = '''\
"""Runs the autograder: d2lgrade's safe wrapper around Otter (written by d2lgrade build)."""

from pathlib import Path

from d2lgrade.otter.plugin import run_autograder

if __name__ == "__main__":
    run_autograder(Path(__file__).resolve().parent.parent)
'''


def _pins(lock: Path) -> list[str]:
    """``name==version`` lines of the hashed lock, for the zip's requirements (Gradescope's setup.sh)."""
    return re.findall(r"^([A-Za-z0-9_.\-]+==[^\s\\;]+)", lock.read_text(encoding="utf-8"), flags=re.MULTILINE)


def write_autograder_zip(bundle: Bundle, dest: Path, project_root: Path) -> None:
    """An Otter autograder zip for ``bundle``, made by ``otter generate`` (Python pinned to 3.11)."""
    from otter.generate import main as otter_generate

    config = {
        "lang": "python",
        "plugins": [{PLUGIN: {"bundle": {"format": FORMAT, **json.loads(bundle.to_json())}}}],
        "show_hidden": True,
        "print_summary": True,
        **SAFE_CONFIG,
    }
    dest.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        (work / "otter_config.json").write_text(json.dumps(config), encoding="utf-8")
        requirements = [*_pins(project_root / "requirements" / "lock.txt"), "/autograder/source/files/d2lgrade-src"]
        (work / "requirements.txt").write_text("\n".join(requirements) + "\n", encoding="utf-8")
        package = work / "d2lgrade-src"
        # the grading code only: not the nbgrader page templates (d2lgrade/templates), which grading never reads
        shutil.copytree(project_root / "d2lgrade", package / "d2lgrade",
                        ignore=shutil.ignore_patterns("__pycache__", "templates"))
        (package / "pyproject.toml").write_text(_PACKAGE_PYPROJECT, encoding="utf-8")
        (work / "tests").mkdir()
        with contextlib.chdir(work):  # otter generate resolves `files` against the working directory
            otter_generate(tests_dir="tests", output_path=str(dest), config="otter_config.json",
                           requirements="requirements.txt", no_environment=True, files=["d2lgrade-src"],
                           python_version=PYTHON_VERSION)
    _finish_zip(dest, project_root)


REPLACED = ("run_otter.py", "setup.sh", "run_autograder")
"""Otter's entry points, replaced by d2lgrade's (``autograder/`` in the repository): no conda, no GitHub."""


def _finish_zip(dest: Path, project_root: Path) -> None:
    """Otter's ``run_otter.py`` replaced by :data:`RUN_OTTER_PY`, its ``setup.sh`` and ``run_autograder`` by
    d2lgrade's, the hashed lock beside them; an empty ``tests/`` (Otter copies it)."""
    with zipfile.ZipFile(dest) as zf:
        members = [(info, zf.read(info)) for info in zf.infolist() if info.filename not in REPLACED]
    with zipfile.ZipFile(dest, "w", zipfile.ZIP_DEFLATED) as zf:
        for info, data in members:
            zf.writestr(info, data)
        zf.writestr("run_otter.py", RUN_OTTER_PY)
        for name in ("setup.sh", "run_autograder"):
            info = zipfile.ZipInfo(name, date_time=(2020, 1, 1, 0, 0, 0))
            info.external_attr = 0o100755 << 16  # executable, as Gradescope runs them
            zf.writestr(info, (project_root / "autograder" / name).read_bytes(), zipfile.ZIP_DEFLATED)
        zf.writestr("requirements-lock.txt", (project_root / "requirements" / "lock.txt").read_bytes())
        zf.writestr("tests/", "")


_PACKAGE_PYPROJECT = """\
[build-system]
requires = ["setuptools>=68"]
build-backend = "setuptools.build_meta"

[project]
name = "d2lgrade"
version = "0.1.0"

[tool.setuptools.packages.find]
include = ["d2lgrade*"]
"""
