"""The queue as the course staff see it, through their course folder (where nbgrader's own files are).

On the class server the queue is root's (``<state>/serve/queue.sqlite``) and the staff are not root; the course
folder is theirs alone (its Unix group, ``o=``). So ``d2lgrade serve`` writes each course's rows to
``<course>/serve/queue.json`` when they change, and takes a regrade asked for by an empty file
``<course>/serve/regrade/<assignment>`` (``d2lgrade queue --regrade`` as a TA or an instructor writes it). Root
only lists names in that folder and removes them, through a descriptor opened without following links: a planted
link leads nowhere, and a name that is not an assignment id is removed and ignored.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
from dataclasses import dataclass
from pathlib import Path

from d2lgrade.course.layout import Course
from d2lgrade.hub.identity import COURSE_ID
from d2lgrade.serve.queue import Item, Queue

LOG = logging.getLogger("d2lgrade.serve")

FOLDER = "serve"
STATUS = "queue.json"
REGRADE = "regrade"


def status(course_id: str, items: list[Item], counts: dict[str, int]) -> bytes:
    return json.dumps({"course": course_id, "counts": counts, "items": [dataclasses.asdict(i) for i in items]},
                      indent=1).encode()


def write_status(root: Path, data: bytes) -> None:
    """``<course>/serve/queue.json`` replaced whole, written through descriptors that follow no link (the folder is
    the staff's to change; root writes only into the real ``serve`` folder of the course), group-readable."""
    access = Course(root).access
    access.folder(root / FOLDER)  # made with the course's group and mode if missing (a link is refused below)
    folder = os.open(root / FOLDER, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW)
    try:
        tmp = f".{STATUS}.{os.getpid()}"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, access.file_mode, dir_fd=folder)
        with os.fdopen(fd, "wb") as f:
            os.fchown(fd, -1, access.gid)
            os.fchmod(fd, access.file_mode)
            f.write(data)
        os.replace(tmp, STATUS, src_dir_fd=folder, dst_dir_fd=folder)
    finally:
        os.close(folder)


def read_status(root: Path) -> tuple[dict[str, int], list[Item]]:
    """What the last ``write_status`` wrote; FileNotFoundError when the service never served this course."""
    data = json.loads((root / FOLDER / STATUS).read_text(encoding="utf-8"))
    return data["counts"], [Item(**i) for i in data["items"]]


def request_regrade(root: Path, assignment: str) -> Path:
    """Ask the service to grade every student's latest submission of ``assignment`` again (at its next pass)."""
    if not COURSE_ID.match(assignment):
        raise ValueError(f"{assignment!r} is not an assignment id")
    folder = root / FOLDER / REGRADE
    Course(root).access.folder(folder)
    path = folder / assignment
    path.touch()
    return path


def take_regrade_requests(root: Path) -> list[str]:
    """The assignments asked to be regraded (their files removed); names only, no link followed."""
    try:
        fd = os.open(root / FOLDER / REGRADE, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW)
    except OSError:
        return []
    try:
        names = os.listdir(fd)
        for name in names:
            try:
                os.unlink(name, dir_fd=fd)
            except IsADirectoryError:
                pass
            except OSError:
                continue
    finally:
        os.close(fd)
    return sorted(n for n in names if COURSE_ID.match(n))


@dataclass
class StaffView:
    """Once per pass of the service: the regrades the staff asked for queued, and each course's rows written to
    its folder when the queue changed."""

    queue: Queue
    courses: dict[str, Path]
    _written_at: int = -1

    def __call__(self) -> None:
        for course, root in self.courses.items():
            for assignment in take_regrade_requests(root):
                n = self.queue.requeue_latest(course, assignment)
                LOG.info("regrade of %s/%s asked in its course folder: %d submissions queued", course, assignment, n)
        changes = self.queue.changes()
        if changes == self._written_at:
            return
        for course, root in self.courses.items():
            try:
                write_status(root, status(course, self.queue.items(course), self.queue.counts(course)))
            except OSError as e:
                LOG.warning("could not write %s's queue into %s: %s", course, root / FOLDER / STATUS, e)
        self._written_at = changes
