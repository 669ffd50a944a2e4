"""Who may read what the grader writes for a course: the instructor and the course folder's group, nobody else.

Results JSON, ``submitted/``, ``submitted-earlier/``, ``refused/``, ``autograded/``, the gradebook, the
grading logs and ledgers, and the build (bundles and Otter zips carry the references: secrets) are written
as files 0640 in folders 0750, owned by the course folder's group: a teaching assistant in that group reads
them, other users of the machine do not. With nbgrader's ``CourseDirectory.groupshared`` (several
instructors writing one course) they are group-writable instead, 0660 and 2770, as nbgrader sets its own.
:meth:`Access.apply` gives what exists already the same (``d2lgrade course-access``), never following a link.
"""

from __future__ import annotations

import logging
import os
import stat
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

LOG = logging.getLogger("d2lgrade.access")
_WARNED: set[int] = set()
_OPEN = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | getattr(os, "O_NOCTTY", 0)


@dataclass
class Applied:
    """What :meth:`Access.apply` did: entries changed, entries already right, and those left alone with why."""

    changed: int = 0
    unchanged: int = 0
    left_alone: list[str] = field(default_factory=list)
    """``"<path>: <why>"``: links (never followed), fifos and devices, as they should be."""
    failed: list[str] = field(default_factory=list)
    """``"<path>: <why>"``: entries this user could not open or change: still to fix (as root, or their owner)."""


@dataclass(frozen=True)
class Access:
    """Modes and group for everything the grader writes for one course."""

    gid: int
    file_mode: int = 0o640
    folder_mode: int = 0o750

    @classmethod
    def for_course(cls, root: Path, groupshared: bool = False) -> Access:
        """The group of the course folder ``root``; group-writable when nbgrader's ``groupshared`` is on."""
        gid = root.stat().st_gid
        return cls(gid, 0o660, 0o2770) if groupshared else cls(gid)

    def file(self, path: Path) -> None:
        """Give an existing file the course's group and file mode."""
        self._chown(path, os.stat(path).st_gid, lambda: os.chown(path, -1, self.gid))
        if stat.S_IMODE(os.stat(path).st_mode) != self.file_mode:  # a TA may not chmod the instructor's file
            os.chmod(path, self.file_mode)

    def descriptor(self, fd: int, where: Path) -> None:
        """The same for a file still open (a temporary file, before it is renamed into place)."""
        self._chown(where, os.fstat(fd).st_gid, lambda: os.fchown(fd, -1, self.gid))
        os.fchmod(fd, self.file_mode)

    def folder(self, path: Path) -> Path:
        """Create ``path`` and its missing parents, each with the course's group and folder mode; folders that
        already exist are left as they are (another instructor's, or the course folder itself)."""
        missing = []
        for p in (path, *path.parents):
            if p.is_dir():
                break
            missing.append(p)
        for p in reversed(missing):
            p.mkdir(exist_ok=True)
            self._chown(p, p.stat().st_gid, lambda p=p: os.chown(p, -1, self.gid))
            os.chmod(p, self.folder_mode)  # after chown, which may clear the setgid bit
        return path

    def apply(self, top: Path, applied: Applied) -> Applied:
        """Give ``top`` and everything under it the course's group and modes (folders and regular files; links,
        fifos and devices are left alone and listed). Each entry is opened without following a link and changed
        through that descriptor, so an entry replaced by a link meanwhile is not changed either."""
        self._apply_at(None, str(top), top, applied)
        return applied

    def _apply_at(self, dir_fd: int | None, name: str, where: Path, applied: Applied) -> None:
        st = os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
        if not (stat.S_ISDIR(st.st_mode) or stat.S_ISREG(st.st_mode)):
            applied.left_alone.append(f"{where}: a link or special file, never followed nor changed")
            return
        try:
            fd = os.open(name, _OPEN | (os.O_DIRECTORY if stat.S_ISDIR(st.st_mode) else 0), dir_fd=dir_fd)
        except OSError as exc:
            applied.failed.append(f"{where}: cannot be opened ({exc.strerror})")
            return
        try:
            now = os.fstat(fd)
            if (now.st_dev, now.st_ino) != (st.st_dev, st.st_ino):
                applied.failed.append(f"{where}: replaced while being changed; run again")
                return
            self._set(fd, now, where, applied)
            if stat.S_ISDIR(now.st_mode):
                for child in sorted(os.listdir(fd)):
                    self._apply_at(fd, child, where / child, applied)
        finally:
            os.close(fd)

    def _set(self, fd: int, st: os.stat_result, where: Path, applied: Applied) -> None:
        """The course's group, then its mode (chown may clear the setgid bit), through the open descriptor."""
        mode = self.folder_mode if stat.S_ISDIR(st.st_mode) else self.file_mode
        if st.st_gid == self.gid and stat.S_IMODE(st.st_mode) == mode:
            applied.unchanged += 1
            return
        try:
            if st.st_gid != self.gid:
                os.fchown(fd, -1, self.gid)
            os.fchmod(fd, mode)
        except PermissionError:
            applied.failed.append(f"{where}: not yours to change (owner uid {st.st_uid}); run as root or as its "
                                  "owner")
            return
        applied.changed += 1

    @staticmethod
    def give_course_folder(root: Path, gid: int, groupshared: bool) -> None:
        """The course folder's group (which :meth:`for_course` reads, so everything graded gets it) and setgid (what
        is made in it later inherits the group); group read, and write with ``groupshared``; others' bits as they
        were. PermissionError unless root or the folder's owner in that group."""
        os.chown(root, -1, gid)
        os.chmod(root, stat.S_IMODE(root.stat().st_mode) | 0o2050 | (0o020 if groupshared else 0))

    def _chown(self, where: Path, gid: int, change: Callable[[], None]) -> None:
        """chown to the course's group; a user not in that group cannot, which is said once, not fatal."""
        if gid == self.gid:
            return
        try:
            change()
        except PermissionError:
            if self.gid not in _WARNED:
                _WARNED.add(self.gid)
                LOG.warning("%s: cannot give it the course folder's group (gid %d): you are not in that group; "
                            "files keep your own group (add yourself to the group, or chgrp the course folder)",
                            where, self.gid)
