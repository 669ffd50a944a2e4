"""Who may read what the grader writes for a course: the instructor and the course folder's group, nobody else.

Results JSON, ``submitted/``, ``submitted-earlier/``, ``refused/``, ``autograded/``, the gradebook, the
grading logs and ledgers, and the build (bundles and Otter zips carry the references: secrets) are written
as files 0640 in folders 0750, owned by the course folder's group: a teaching assistant in that group reads
them, other users of the machine do not. With nbgrader's ``CourseDirectory.groupshared`` (several
instructors writing one course) they are group-writable instead, 0660 and 2770, as nbgrader sets its own.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

LOG = logging.getLogger("d2lgrade.access")
_WARNED: set[int] = set()


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
