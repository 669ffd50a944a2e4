"""The course's records on disk: what grading keeps, and how it is written.

- ``submitted/<student>/<assignment>/``: each submission byte for byte, with ``timestamp.txt``
  (nbgrader's layout); a different earlier one moves to ``submitted-earlier/``;
- ``refused/<assignment>/``: files intake did not grade, byte for byte;
- the SQLite gradebook's file mode.

Every file is written atomically (a killed run leaves the old file or the new one) and has the
course's group and mode before it appears (:mod:`d2lgrade.course.access`). The gradebook's rows are
nbgrader's side: :mod:`d2lgrade.nbgrader.gradebook`.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import tempfile
from pathlib import Path

from nbgrader.utils import parse_utc

from d2lgrade.course.access import Access
from d2lgrade.course.layout import Course


def write_atomic(path: Path, data: bytes, access: Access) -> None:
    """Write via a temporary file and rename, so a killed run leaves the old file or the new one; the file has
    the course's group and mode before it appears (``access``: see :mod:`d2lgrade.course.access`)."""
    access.folder(path.parent)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        access.descriptor(fd, path)
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def archive(course: Course, assignment: str, notebook: str, student: str, raw: bytes,
            submitted_at: str | None = None) -> Path:
    """Keep the submission exactly as received, in nbgrader's ``submitted/`` layout, with its time (nbgrader's
    own where it came through the exchange, else now). A different earlier submission is not overwritten:
    it moves to ``submitted-earlier/<student>/<assignment>/<its time>/``."""
    folder = course.folder("submitted_directory", "submitted") / student / assignment
    target = folder / f"{notebook}.ipynb"
    stamp = submitted_at or dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M:%S.%f %Z")
    if target.is_file() and target.read_bytes() == raw:
        if submitted_at or not (folder / "timestamp.txt").is_file():
            write_atomic(folder / "timestamp.txt", stamp.encode(), course.access)
        return target  # the same bytes (graded again, or graded where nbgrader collected them)
    if target.is_file():
        _keep_earlier(course, folder, student, assignment)
    write_atomic(target, raw, course.access)
    write_atomic(folder / "timestamp.txt", stamp.encode(), course.access)
    return target


def _keep_earlier(course: Course, folder: Path, student: str, assignment: str) -> None:
    try:
        when = (folder / "timestamp.txt").read_text().strip()
    except OSError:
        when = "unknown-time"
    safe = re.sub(r"[^0-9A-Za-z_.-]+", "_", when) or "unknown-time"
    earlier = course.access.folder(course.records_root / "submitted-earlier" / student / assignment / safe)
    for item in folder.iterdir():
        if item.is_file() and not item.is_symlink():
            write_atomic(earlier / item.name, item.read_bytes(), course.access)


def archive_refused(course: Course, assignment: str, name: str, raw: bytes) -> Path:
    """Keep a file intake refused, byte for byte, in ``refused/<assignment>/`` under its printable name."""
    path = course.records_root / "refused" / assignment / name.replace("/", "__")
    write_atomic(path, raw, course.access)
    return path


def protect_gradebook(course: Course) -> None:
    """A SQLite gradebook holds every student's scores: the course's group and file mode, like the rest
    (SQLite gives its journal files the database's mode)."""
    path = course.db_path
    if path is not None and path.is_file():
        course.access.file(path)


def submitted_timestamp(course: Course, assignment: str, student: str) -> dt.datetime | None:
    """The submission's time as nbgrader reads it from ``submitted/.../timestamp.txt``: the gradebook must
    hold the same, or the formgrader lists the submission as still to autograde."""
    path = course.folder("submitted_directory", "submitted") / student / assignment / "timestamp.txt"
    try:
        return parse_utc(path.read_text().strip())
    except (OSError, ValueError):
        return None
