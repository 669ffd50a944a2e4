"""nbgrader's own autograde, through d2lgrade's sandboxed core: one grading path, whatever the entry point.

``nbgrader autograde`` and the formgrader's Autograde button run nbgrader's Autograde converter. Its
stock ``Execute`` step would run the submission unconfined, with the hidden tests (which import
``solutions/``) in the student's own process. ``nbgrader_config.py`` replaces that step with
:class:`GradeInSandbox`: the submitted bytes are graded by :func:`d2lgrade.grading.steps.grade_bytes` in the
sandbox, against the assignment's bundle, exactly as ``d2lgrade grade`` grades them; the verdicts
become the test cells' outputs (message, then score), which nbgrader's ``SaveAutoGrades`` records as
the cells' credit. Nothing of the submission runs outside the sandbox, and the scores in the gradebook
are those of ``d2lgrade grade``.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

import nbformat
from nbgrader.preprocessors import NbGraderPreprocessor

from d2lgrade.course.layout import Course
from d2lgrade.grading.steps import Assignment, grade_bytes
from d2lgrade.nbgrader.autograded import annotate
from d2lgrade.nbgrader.gradebook import ensure_assignment


class SandboxGradingFailed(RuntimeError):
    """The assignment cannot be graded here (not built, sandbox unavailable): said with the remedy."""


@functools.cache
def _assignment(bundle_path: Path) -> Assignment:
    """Loaded once per nbgrader process; raises SandboxUnavailable rather than grade unconfined."""
    if not bundle_path.is_file():
        raise SandboxGradingFailed(f"{bundle_path} is missing: run `d2lgrade build` in the course folder first")
    return Assignment.load(bundle_path)


class GradeInSandbox(NbGraderPreprocessor):  # type: ignore[misc]
    """Grade the submitted notebook in the sandbox and write the verdicts into the test cells."""

    def preprocess(self, nb: nbformat.NotebookNode, resources: dict[str, Any]) -> tuple[nbformat.NotebookNode,
                                                                                       dict[str, Any]]:
        info = resources["nbgrader"]
        course = Course.find()
        name = f"{info['notebook']}.ipynb"
        submitted = course.folder("submitted_directory", "submitted") / info["student"] / info["assignment"] / name
        ensure_assignment(course, info["assignment"])  # its due date, for nbgrader's late penalty after this step
        job = grade_bytes(_assignment(course.bundle_path(info["assignment"])), submitted.read_bytes(),
                          info["student"], name)
        assert job.result is not None
        annotate(nb, job, job.result)
        self.log.info("graded in the sandbox: %s %s: %g / %g", info["student"], info["assignment"],
                      job.result.score, job.result.max_score)
        return nb, resources
