"""Otter-Grader integration: the same grading core inside an Otter autograder zip.

The zip's ``otter_config.json`` carries the assignment's bundle as this plugin's configuration, so
the references stay in the grader's configuration folder and are never copied beside the
submission (Otter copies ``tests/`` and ``files/`` there). In ``before_execution`` the plugin grades
the submission with :data:`d2lgrade.grade.GRADE_STEPS`, in its own kernel, and hands Otter an empty
notebook to run; in ``after_grading`` it replaces Otter's results with its verdicts. One
implementation of the checks serves ``otter run``, Gradescope and ``d2lgrade grade``.
"""

from __future__ import annotations

import contextlib
import json
import re
import shutil
import tempfile
import zipfile
from pathlib import Path
from typing import Any

import nbformat
from otter.plugins import AbstractOtterPlugin
from otter.test_files.abstract_test import TestCase, TestCaseResult, TestFile

from d2lgrade.bundle import FORMAT, Bundle
from d2lgrade.grade import Assignment, grade_bytes
from d2lgrade.results import PASSED, QuestionResult, SubmissionResult, entry_name, gradescope_json

PLUGIN = "d2lgrade.otter_plugin.D2LGradePlugin"


class Verdict(TestFile):
    """One question's verdict, in the shape Otter's results model expects."""

    def __init__(self, q: QuestionResult) -> None:
        case = TestCase(name=q.id, body="", hidden=False, points=q.max_score, success_message=None,
                        failure_message=None)
        super().__init__(entry_name(q), "", [case], all_or_nothing=True)
        self.test_case_results = [TestCaseResult(case, q.output, q.status == PASSED)]
        self.update_score(q.score)

    @classmethod
    def from_file(cls, path: str) -> TestFile:
        raise NotImplementedError("verdicts are made by d2lgrade, not read from test files")

    @classmethod
    def from_metadata(cls, s: Any, path: str) -> TestFile:
        raise NotImplementedError("verdicts are made by d2lgrade, not read from notebook metadata")

    def run(self, global_environment: dict[str, Any]) -> None:
        """Nothing runs in the student's kernel: the verdict was reached outside it."""


class D2LGradePlugin(AbstractOtterPlugin):
    """Grades with d2lgrade during Otter's run; configured with ``{"bundle": <bundle JSON>}``."""

    result: SubmissionResult | None = None

    def before_execution(self, submission: Any) -> Any:
        bundle = Bundle.from_json(json.dumps(self.plugin_config["bundle"]))
        path = Path(self.submission_path)
        job = grade_bytes(Assignment.from_bundle(bundle), path.read_bytes(), student=path.stem, source=path.name)
        self.result = job.result
        return nbformat.v4.new_notebook()

    def after_grading(self, results: Any) -> None:
        if self.result is None:
            return
        results.clear_results()
        for q in self.result.autograded:
            results.results[entry_name(q)] = Verdict(q)
        results.set_output(gradescope_json(self.result)["output"])


def _pins(lock: Path) -> list[str]:
    """``name==version`` lines of the hashed lock, for the zip's requirements (Gradescope's setup.sh)."""
    return re.findall(r"^([A-Za-z0-9_.\-]+==[^\s\\;]+)", lock.read_text(encoding="utf-8"), flags=re.MULTILINE)


def write_autograder_zip(bundle: Bundle, dest: Path, project_root: Path) -> None:
    """An Otter autograder zip for ``bundle``, made by ``otter generate`` (Python pinned to 3.11)."""
    from otter.generate import main as otter_generate

    from d2lgrade.build import PYTHON_VERSION

    config = {
        "lang": "python",
        "plugins": [{PLUGIN: {"bundle": {"format": FORMAT, **json.loads(bundle.to_json())}}}],
        "show_hidden": True,
        "print_summary": True,
    }
    dest.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        (work / "otter_config.json").write_text(json.dumps(config), encoding="utf-8")
        requirements = [*_pins(project_root / "requirements" / "lock.txt"), "/autograder/source/files/d2lgrade-src"]
        (work / "requirements.txt").write_text("\n".join(requirements) + "\n", encoding="utf-8")
        package = work / "d2lgrade-src"
        shutil.copytree(project_root / "d2lgrade", package / "d2lgrade", ignore=shutil.ignore_patterns("__pycache__"))
        (package / "pyproject.toml").write_text(_PACKAGE_PYPROJECT, encoding="utf-8")
        (work / "tests").mkdir()
        with contextlib.chdir(work):  # otter generate resolves `files` against the working directory
            otter_generate(tests_dir="tests", output_path=str(dest), config="otter_config.json",
                           requirements="requirements.txt", no_environment=True, files=["d2lgrade-src"],
                           python_version=PYTHON_VERSION)
    with zipfile.ZipFile(dest, "a") as zf:
        zf.writestr("tests/", "")  # Otter copies tests/ into place; it must exist even when empty


_PACKAGE_PYPROJECT = """\
[build-system]
requires = ["setuptools>=68"]
build-backend = "setuptools.build_meta"

[project]
name = "d2lgrade"
version = "0.1.0"

[tool.setuptools]
packages = ["d2lgrade"]
"""
