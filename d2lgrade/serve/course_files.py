"""The queue as the course staff see it, through their course folder (where nbgrader's own files are).

On the class server the queue is root's (``<state>/serve/queue.sqlite``) and the staff are not root; the course
folder is theirs alone (its Unix group, ``o=``). So ``d2lgrade serve`` writes each assignment's rows to
``<course>/serve/queue/<assignment>.json`` when one of them changes (a term's queue is tens of thousands of rows: a
submission rewrites its assignment's file, not the course's), and takes a regrade asked for by an empty file
``<course>/serve/regrade/<assignment>`` (``d2lgrade queue --regrade`` as a TA or an instructor writes it). Root
only lists names in that folder and removes them, through a descriptor opened without following links: a planted
link leads nowhere, and a name that is not an assignment id is removed and ignored.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from d2lgrade.course.access import Access
from d2lgrade.course.layout import Course
from d2lgrade.hub.exchange_local import subfolder
from d2lgrade.hub.identity import COURSE_ID
from d2lgrade.serve.queue import STATES, Item, Queue

LOG = logging.getLogger("d2lgrade.serve")

FOLDER = "serve"
STATUS = "queue"
REGRADE = "regrade"


def status(course_id: str, assignment: str, items: list[Item]) -> bytes:
    return json.dumps({"course": course_id, "assignment": assignment,
                       "items": [dataclasses.asdict(i) for i in items]}).encode()


def write_status(root: Path, assignment: str, data: bytes) -> None:
    """``<course>/serve/queue/<assignment>.json`` replaced whole, written through descriptors that follow no link
    (the folder is the staff's to change; root writes only into the real folders of the course), group-readable."""
    access = Course(root).access
    access.folder(root / FOLDER)  # made with the course's group and mode if missing (a link is refused below)
    serve = os.open(root / FOLDER, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW)
    try:
        folder = subfolder(serve, STATUS, str(root / FOLDER / STATUS), mode=access.folder_mode,
                           on_create=lambda fd, shown: _course_folder_access(fd, access))
    finally:
        os.close(serve)
    try:
        tmp, name = f".{assignment}.json.{os.getpid()}", f"{assignment}.json"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, access.file_mode, dir_fd=folder)
        with os.fdopen(fd, "wb") as f:
            os.fchown(fd, -1, access.gid)
            os.fchmod(fd, access.file_mode)
            f.write(data)
        os.replace(tmp, name, src_dir_fd=folder, dst_dir_fd=folder)
    finally:
        os.close(folder)


def _course_folder_access(fd: int, access: Access) -> None:
    os.fchown(fd, -1, access.gid)
    os.fchmod(fd, access.folder_mode)  # after chown, which may clear the setgid bit


def read_status(root: Path) -> tuple[dict[str, int], list[Item]]:
    """What ``write_status`` wrote, every assignment's rows in arrival order, and their count in each state;
    FileNotFoundError when the service never served this course."""
    folder = root / FOLDER / STATUS
    if not folder.is_dir():
        raise FileNotFoundError(f"{folder} is not there")
    items = [Item(**i) for path in sorted(folder.glob("*.json"))
             for i in json.loads(path.read_text(encoding="utf-8"))["items"]]
    items.sort(key=lambda i: i.id)
    counts = dict.fromkeys(STATES, 0) | Counter(i.state for i in items)
    return counts, items


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
    """Once per pass of the service: the regrades the staff asked for queued, and the rows of each assignment with a
    row changed since the last pass written to its course folder."""

    queue: Queue
    courses: dict[str, Path]
    _mark: int = -1
    _retry: set[tuple[str, str]] = field(default_factory=set)
    """Assignments whose file could not be written: tried again at the next pass."""

    def __call__(self) -> None:
        for course, root in self.courses.items():
            for assignment in take_regrade_requests(root):
                n = self.queue.requeue_latest(course, assignment)
                LOG.info("regrade of %s/%s asked in its course folder: %d submissions queued", course, assignment, n)
        mark, changed = self.queue.changed_since(self._mark)
        pending, self._retry = changed | self._retry, set()
        for course, assignment in sorted(pending):
            if course not in self.courses:
                continue
            try:
                write_status(self.courses[course], assignment,
                             status(course, assignment, self.queue.items(course, assignment)))
            except OSError as e:
                LOG.warning("could not write %s/%s's queue into %s: %s", course, assignment,
                            self.courses[course] / FOLDER / STATUS, e)
                self._retry.add((course, assignment))
        self._mark = mark
