"""``d2lgrade build``: from ``source/`` to the release, the grading bundles and the Otter zips.

``BUILD_STEPS`` runs per assignment, in order: the release first (nbgrader's own
``generate_assignment``, which also registers the assignment in the gradebook), then the bundle
(references computed once, on MXNet), then the Otter zip that carries the bundle.
"""

from __future__ import annotations

import copy
import os
import shutil
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from nbgrader.converters import GenerateAssignment
from nbgrader.coursedir import CourseDirectory
from nbgrader.utils import capture_log

from d2lgrade.bundle import Bundle, compile_bundle
from d2lgrade.course import Course

PYTHON_VERSION = "3.11"
"""Otter's default is 3.13; mxnet 1.9.1 needs 3.11."""


class BuildError(RuntimeError):
    """A build step failed; the message names the assignment and what to fix."""


@dataclass(frozen=True)
class Target:
    """One assignment's build: where its release, bundle and zip go."""

    course: Course
    assignment: str
    release_dir: Path
    db_url: str


def _venv_tools_on_path() -> None:
    """nbgrader runs the ``alembic`` command to create a gradebook: find it beside this Python."""
    bindir = str(Path(sys.executable).parent)
    if bindir not in os.environ.get("PATH", "").split(os.pathsep):
        os.environ["PATH"] = bindir + os.pathsep + os.environ.get("PATH", "")


def generate_release(t: Target) -> None:
    """nbgrader generate_assignment: solutions and hidden tests stripped, gradebook updated."""
    _venv_tools_on_path()
    config = copy.deepcopy(t.course.config)
    config.CourseDirectory.root = str(t.course.root)
    config.CourseDirectory.release_directory = str(t.release_dir)
    config.CourseDirectory.db_url = t.db_url
    config.CourseDirectory.assignment_id = t.assignment
    shutil.rmtree(t.release_dir / t.assignment, ignore_errors=True)  # regenerated whole, every time
    app = GenerateAssignment(coursedir=CourseDirectory(config=config), config=config)
    app.force, app.create_assignment = True, True
    result = capture_log(app)  # nbgrader's own runner: returns the log instead of printing it
    if not result.get("success"):
        raise BuildError(f"{t.assignment}: nbgrader generate_assignment failed:\n{result.get('log') or result.get('error')}")


def write_bundle(t: Target) -> None:
    bundle = compile_bundle(t.course.spec(t.assignment))
    path = t.course.bundle_path(t.assignment)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(bundle.to_json(), encoding="utf-8")


def write_otter_zip(t: Target) -> None:
    from d2lgrade.otter_plugin import write_autograder_zip

    bundle = Bundle.load(t.course.bundle_path(t.assignment))
    write_autograder_zip(bundle, t.course.otter_zip(t.assignment), t.course.root)


BUILD_STEPS: tuple[Callable[[Target], None], ...] = (generate_release, write_bundle, write_otter_zip)


def build(course: Course, assignments: list[str] | None = None, log: Callable[[str], None] = print) -> None:
    """Run every build step for each assignment (all, in book order, by default)."""
    make_exchange(course)
    for assignment in assignments or course.assignments():
        target = Target(course, assignment, course.release_dir, course.db_url)
        for step in BUILD_STEPS:
            step(target)
        log(f"built {assignment}: release/{assignment}, {os.path.relpath(course.bundle_path(assignment), course.root)}, "
            f"{os.path.relpath(course.otter_zip(assignment), course.root)}")


def make_exchange(course: Course) -> Path:
    """nbgrader's exchange folder, as nbgrader_config.py names it: students write their submissions into it,
    so it is world-writable and sticky (nobody removes another's files), as nbgrader's docs set it up."""
    root = Path(str(course.config.Exchange.get("root", course.root / "exchange")))
    root.mkdir(parents=True, exist_ok=True)
    root.chmod(0o1777)
    return root


def release_into(course: Course, assignment: str, folder: Path) -> Path:
    """Generate ``assignment``'s release into ``folder`` with a throwaway gradebook (for sync checks)."""
    with tempfile.TemporaryDirectory() as tmp:
        generate_release(Target(course, assignment, folder, f"sqlite:///{Path(tmp) / 'gradebook.db'}"))
    return folder / assignment
