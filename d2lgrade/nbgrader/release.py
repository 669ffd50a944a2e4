"""nbgrader's release: ``generate_assignment`` of one assignment, and the exchange students submit to.

nbgrader's own converter strips solutions and hidden tests and registers the assignment in a
gradebook. :func:`generate_release` is the only way d2lgrade releases: the build (into ``release/``
and the course's gradebook), a gradebook that does not know an assignment yet
(:func:`d2lgrade.nbgrader.gradebook.ensure_assignment`), and the sync checks (a throwaway gradebook).
"""

from __future__ import annotations

import copy
import os
import shutil
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from nbgrader.converters import GenerateAssignment
from nbgrader.coursedir import CourseDirectory
from nbgrader.utils import capture_log

from d2lgrade.course.layout import Course
from d2lgrade.course.records import protect_gradebook


class ReleaseError(RuntimeError):
    """nbgrader's generate_assignment failed; the message names the assignment and gives nbgrader's log."""


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
    ours = t.db_url == t.course.db_url
    if ours and t.course.db_path is not None:
        t.course.access.folder(t.course.db_path.parent)  # a demo's records folder, before SQLite creates the file
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
        raise ReleaseError(f"{t.assignment}: nbgrader generate_assignment failed:\n{result.get('log') or result.get('error')}")
    if ours:
        protect_gradebook(t.course)


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
