"""nbgrader's release: ``generate_assignment`` of one assignment, the exchange students submit to, and the
feedback released into it.

nbgrader's own converter strips solutions and hidden tests and registers the assignment in a
gradebook. :func:`generate_release` is the only way d2lgrade releases: the build (into ``release/``
and the course's gradebook), a gradebook that does not know an assignment yet
(:func:`d2lgrade.nbgrader.gradebook.ensure_assignment`), and the sync checks (a throwaway gradebook).
"""

from __future__ import annotations

import copy
import glob
import os
import shutil
import stat
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from nbgrader.converters import GenerateAssignment
from nbgrader.coursedir import CourseDirectory
from nbgrader.exchange.default import ExchangeReleaseFeedback
from nbgrader.utils import capture_log

from d2lgrade.course.layout import SUBMISSION_SECRET, TIMESTAMP, Course
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
    """nbgrader generate_assignment: solutions and hidden tests stripped, gradebook updated (under the course's
    id: a bad one stops here with its remedy, :class:`~d2lgrade.course.layout.CourseIdError`)."""
    _venv_tools_on_path()
    course_id = t.course.course_id
    ours = t.db_url == t.course.db_url
    if ours and t.course.db_path is not None:
        t.course.access.folder(t.course.db_path.parent)  # a demo's records folder, before SQLite creates the file
    config = copy.deepcopy(t.course.config)
    config.CourseDirectory.root = str(t.course.root)
    config.CourseDirectory.release_directory = str(t.release_dir)
    config.CourseDirectory.db_url = t.db_url
    config.CourseDirectory.assignment_id = t.assignment
    config.CourseDirectory.course_id = course_id
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


class ReleaseFeedback(ExchangeReleaseFeedback):
    """nbgrader's ``release_feedback`` into the folder exchange: each released page readable by its student, and
    feedback that cannot be released named instead of stopping everyone's.

    ``feedback/`` is the course group's only (0640, ``c.GenerateFeedback.permissions``), and nbgrader copies that
    mode into the exchange, where the student, who is in no course group, must read it. There the page's name
    is made from the submission's secret, in a folder nobody else can list (0711): that keeps it theirs. A
    submission that did not come through the exchange has no secret: nbgrader would stop the whole release there.
    """

    def copy_files(self) -> None:
        pattern = self.src_path  # feedback/<student or *>/<assignment>
        try:
            for folder in sorted(glob.glob(pattern)):
                if all(os.path.isfile(os.path.join(folder, name)) for name in (TIMESTAMP, SUBMISSION_SECRET)):
                    self.src_path = folder
                    super().copy_files()
                else:
                    self.log.warning("Feedback in %s not released: it has no %s and %s (its submission did not come "
                                     "through the exchange); give it to the student yourself", folder, TIMESTAMP,
                                     SUBMISSION_SECRET)
        finally:
            self.src_path = pattern
        for entry in os.scandir(self.dest_path):
            if entry.name.endswith(".html"):
                readable_by_all(Path(entry.path))


def readable_by_all(path: Path) -> None:
    """Add read for everyone to a regular file of ours, opened without following a link (others' files are
    left alone: another instructor's, with ``groupshared``)."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError:
        return
    try:
        st = os.fstat(fd)
        if stat.S_ISREG(st.st_mode) and st.st_uid == os.geteuid() and st.st_mode & 0o444 != 0o444:
            os.fchmod(fd, stat.S_IMODE(st.st_mode) | 0o444)
    finally:
        os.close(fd)


def release_into(course: Course, assignment: str, folder: Path) -> Path:
    """Generate ``assignment``'s release into ``folder`` with a throwaway gradebook (for sync checks)."""
    with tempfile.TemporaryDirectory() as tmp:
        generate_release(Target(course, assignment, folder, f"sqlite:///{Path(tmp) / 'gradebook.db'}"))
    return folder / assignment
