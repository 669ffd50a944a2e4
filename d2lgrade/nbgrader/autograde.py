"""nbgrader's own autograde, through d2lgrade's sandboxed core: one grading path, whatever the entry point.

``nbgrader autograde`` and the formgrader's Autograde button run nbgrader's Autograde converter. Its
stock ``Execute`` step would run the submission unconfined, with the hidden tests (which import
``solutions/``) in the student's own process. ``nbgrader_config.py`` replaces that step with
:class:`GradeInSandbox`: the submitted bytes are graded by :func:`d2lgrade.grading.steps.grade_bytes` in the
sandbox, against the assignment's bundle, exactly as ``d2lgrade grade`` grades them; the verdicts
become the test cells' outputs (message, then score), which nbgrader's ``SaveAutoGrades`` records as
the cells' credit. Nothing of the submission runs outside the sandbox, and the scores in the gradebook
are those of ``d2lgrade grade``.

Only root starts the sandbox. A TA on the class server is not root: their hub server names the grading service
(``D2LGRADE_GRADER_URL``, with their hub token), which grades the bytes in the sandbox as root and sends back a
report checked here against this course's own bundle (:mod:`d2lgrade.grading.remote`); the verdicts are written
the same way after.
"""

from __future__ import annotations

import functools
import os
import shutil
from pathlib import Path
from typing import Any, NoReturn

import nbformat
from nbgrader.preprocessors import NbGraderPreprocessor

from d2lgrade.course.layout import Course
from d2lgrade.grading.remote import URL_VARIABLE, GradingService, GradingServiceError, checking_assignment
from d2lgrade.grading.steps import Assignment, Job, grade_bytes
from d2lgrade.judging.bundle import Bundle
from d2lgrade.nbgrader.autograded import annotate
from d2lgrade.nbgrader.gradebook import ensure_assignment
from d2lgrade.sandbox.kernels import SandboxUnavailable


class SandboxGradingFailed(RuntimeError):
    """The assignment cannot be graded here (not built, sandbox unavailable): said with the remedy."""


class CannotGradeHere(SystemExit):
    """No submission can be graded by this process (no sandbox, no grading service, a service that refuses): the
    whole autograde stops with the sentence, rather than nbgrader logging a traceback per submission."""


NO_SERVICE_REMEDY = (f"A TA grades through the class server's grading service: run nbgrader in a terminal of your "
                     f"JupyterHub server (it sets {URL_VARIABLE} and JUPYTERHUB_API_TOKEN) or use the formgrader's "
                     "Autograde button; or an instructor grades as root (`sudo d2lgrade grade <assignment> submitted`).")


def runs_sandbox() -> bool:
    """Whether this process can start the sandbox's kernels itself: only root can (they run as other users)."""
    return os.geteuid() == 0


def grading_service(course_id: str) -> GradingService | None:
    """The grading service to grade through: when this process cannot run the sandbox and the user's hub server
    names one. None: grade here, as ``d2lgrade grade`` does."""
    return None if runs_sandbox() else GradingService.from_env(course_id)


def _bundle_file(bundle_path: Path) -> Path:
    if not bundle_path.is_file():
        raise SandboxGradingFailed(f"{bundle_path} is missing: run `d2lgrade build` in the course folder first")
    return bundle_path


@functools.cache
def _assignment(bundle_path: Path) -> Assignment:
    """Loaded once per nbgrader process; raises SandboxUnavailable rather than grade unconfined."""
    return Assignment.load(_bundle_file(bundle_path))


@functools.cache
def _checked_against(bundle_path: Path) -> Assignment:
    """The bundle a grading service's reports are checked against: this course's own, read once per process."""
    return checking_assignment(Bundle.load(_bundle_file(bundle_path)))


class GradeInSandbox(NbGraderPreprocessor):  # type: ignore[misc]
    """Grade the submitted notebook in the sandbox and write the verdicts into the test cells."""

    def preprocess(self, nb: nbformat.NotebookNode, resources: dict[str, Any]) -> tuple[nbformat.NotebookNode,
                                                                                       dict[str, Any]]:
        info = resources["nbgrader"]
        course = Course.find()
        name = f"{info['notebook']}.ipynb"
        submitted = course.folder("submitted_directory", "submitted") / info["student"] / info["assignment"] / name
        service = grading_service(str(self.config.CourseDirectory.get("course_id", "")))
        ensure_assignment(course, info["assignment"])  # its due date, for nbgrader's late penalty after this step
        try:
            job = self.grade(course.bundle_path(info["assignment"]), service, submitted.read_bytes(), info["student"],
                             name)
        except (SandboxGradingFailed, SandboxUnavailable, GradingServiceError) as exc:
            self.stop(course, info, f"{info['assignment']} of {info['student']} cannot be graded: {exc}")
        assert job.result is not None
        annotate(nb, job, job.result)
        self.log.info("graded in the sandbox%s: %s %s: %g / %g", f" by the grading service at {service.url}"
                      if service else "", info["student"], info["assignment"], job.result.score, job.result.max_score)
        return nb, resources

    @staticmethod
    def grade(bundle_path: Path, service: GradingService | None, raw: bytes, student: str, name: str) -> Job:
        if service is not None:
            return service.grade(_checked_against(bundle_path), raw, student, name)
        try:
            return grade_bytes(_assignment(bundle_path), raw, student, name)
        except SandboxUnavailable as exc:
            raise SandboxGradingFailed(f"{exc}. {'' if runs_sandbox() else NO_SERVICE_REMEDY}") from None

    def stop(self, course: Course, info: dict[str, Any], sentence: str) -> NoReturn:
        """Stop the whole autograde with ``sentence``, leaving no half-made autograded folder (nbgrader's own
        failure handling removes it; a leftover would make the next run skip the submission as graded)."""
        self.log.error(sentence)
        autograded = course.folder("autograded_directory", "autograded").resolve()
        made = (autograded / info["student"] / info["assignment"]).resolve()
        if made.is_relative_to(autograded) and made != autograded and made.is_dir():
            shutil.rmtree(made)
        raise CannotGradeHere(1)
