"""The files a sandbox user can leave outside its scratch folder: where they can be, what they weigh, their removal.

In the container mode (:class:`d2lgrade.sandbox.kernels.ContainerEnclosure`) there is no mount namespace: the
kernel's user can write in every folder of the machine that lets it (``/tmp``, ``/var/tmp``, ``/run/lock``,
``/dev/shm``, an nbgrader exchange, a queue in ``/dev/mqueue``...). Those folders are *found*, by one walk of the
file tree per grader process (:func:`writable_places`), not listed by hand. Between submissions, everything the
user owns in them is removed (:func:`remove_owned`); while a kernel runs, what it owns there is weighed
(:func:`weigh_owned`) so that its files can be bounded in total.

Every walk goes by descriptors opened with ``O_NOFOLLOW``: a link, whatever its name, is removed or skipped as
the link it is, and never leads the grader (root) anywhere else.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import os
import re
import shutil
import stat
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

LOG = logging.getLogger("d2lgrade.sandbox")
PSEUDO_FILESYSTEMS = frozenset({
    "proc", "sysfs", "cgroup", "cgroup2", "devpts", "debugfs", "tracefs", "securityfs", "bpf", "fusectl",
    "configfs", "pstore", "autofs", "binfmt_misc", "efivarfs", "nsfs",
})
"""Filesystems that hold no files a user leaves (the kernel's own views); not walked."""
QUEUE_FOLDER = Path("/run/d2lgrade-mqueue")
"""Where POSIX message queues are made visible when no ``mqueue`` filesystem is mounted yet (Docker mounts one on
/dev/mqueue; a bare host may not): queues are files there, found and removed like any other."""
OPEN_DIRECTORY = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC


def _mounts() -> list[tuple[str, str]]:
    """(mount point, filesystem type) of every mount this process sees."""
    found = []
    for line in Path("/proc/self/mountinfo").read_text().splitlines():
        fields = line.split()
        point = re.sub(r"\\([0-7]{3})", lambda m: chr(int(m[1], 8)), fields[4])  # spaces and the like, escaped
        found.append((point, fields[fields.index("-") + 1]))
    return found


@functools.cache
def queue_folder() -> Path | None:
    """A folder listing the machine's POSIX message queues: an ``mqueue`` mount, made here if there is none and
    mounting is allowed. None: queues cannot be listed (the container filter then refuses to make them)."""
    for point, kind in _mounts():
        if kind == "mqueue":
            return Path(point)
    with contextlib.suppress(OSError):
        QUEUE_FOLDER.mkdir(mode=0o755, exist_ok=True)
        done = subprocess.run(["mount", "-t", "mqueue", "-o", "nosuid,nodev,noexec", "mqueue", str(QUEUE_FOLDER)],
                              capture_output=True, check=False)
        if done.returncode == 0:
            return QUEUE_FOLDER
    LOG.warning("no mqueue filesystem is mounted and none can be: POSIX message queues are refused to kernels")
    return None


def _may_search(info: os.stat_result, uid: int, gid: int) -> bool:
    owner, group = info.st_uid == uid, info.st_gid == gid
    return bool(info.st_mode & (stat.S_IXUSR if owner else stat.S_IXGRP if group else stat.S_IXOTH))


def _may_write(info: os.stat_result, uid: int, gid: int) -> bool:
    owner, group = info.st_uid == uid, info.st_gid == gid
    return bool(info.st_mode & (stat.S_IWUSR if owner else stat.S_IWGRP if group else stat.S_IWOTH))


@functools.cache
def writable_places(uid: int, gid: int) -> tuple[Path, ...]:
    """The outermost folders ``uid`` (with no supplementary groups) can write in and reach, found by walking the
    tree from ``/`` through the folders it may search (pseudo-filesystems skipped). About 0.3 s of CPU for a
    tree of 20,000 folders; once per grader process and user. Folders made writable later inside these are
    walked at each removal; elsewhere, they are not seen."""
    queue_folder()  # so that queues are among the files found
    skipped = {point for point, kind in _mounts() if kind in PSEUDO_FILESYSTEMS}
    found: list[Path] = []
    stack = [Path("/")]
    while stack:
        folder = stack.pop()
        with contextlib.suppress(OSError), os.scandir(folder) as entries:
            for entry in entries:
                with contextlib.suppress(OSError):
                    info = entry.stat(follow_symlinks=False)
                    if not stat.S_ISDIR(info.st_mode) or entry.path in skipped or not _may_search(info, uid, gid):
                        continue
                    (found if _may_write(info, uid, gid) else stack).append(Path(entry.path))
    return tuple(sorted(found))


def _entries(fd: int) -> Iterator[tuple[str, os.stat_result]]:
    """Each entry of the folder open at ``fd``, with its own status (a link's, not its target's)."""
    for name in os.listdir(fd):
        with contextlib.suppress(OSError):
            yield name, os.stat(name, dir_fd=fd, follow_symlinks=False)


@contextlib.contextmanager
def _open_folder(name: str | Path, parent: int | None = None) -> Iterator[int]:
    fd = os.open(name, OPEN_DIRECTORY, dir_fd=parent)
    try:
        yield fd
    finally:
        os.close(fd)


def remove_owned(uid: int, places: tuple[Path, ...]) -> None:
    """Everything ``uid`` owns in ``places``, and in the folders anyone may write within them, removed; its
    folders whole. Nothing is followed: a link is unlinked, never its target."""
    for place in places:
        with contextlib.suppress(OSError), _open_folder(place) as fd:
            _remove_in(fd, uid)


def _remove_in(fd: int, uid: int) -> None:
    for name, info in _entries(fd):
        with contextlib.suppress(OSError):
            if info.st_uid == uid and stat.S_ISDIR(info.st_mode):
                shutil.rmtree(name, dir_fd=fd)  # descriptor-based: immune to links swapped inside
            elif info.st_uid == uid:
                os.unlink(name, dir_fd=fd)
            elif stat.S_ISDIR(info.st_mode) and info.st_mode & stat.S_IWOTH:
                with _open_folder(name, fd) as inner:
                    _remove_in(inner, uid)


@dataclass
class Weight:
    """What a user's files take: bytes on disk (or in memory, for tmpfs) and entries, each inode once."""

    bytes: int = 0
    entries: int = 0
    seen: set[tuple[int, int]] = field(default_factory=set, repr=False)

    def add(self, info: os.stat_result) -> None:
        key = (info.st_dev, info.st_ino)
        if key not in self.seen:
            self.seen.add(key)
            self.bytes += info.st_blocks * 512
        self.entries += 1


def weigh_owned(uid: int, places: tuple[Path, ...], pids: list[int], stop_at: Weight) -> Weight:
    """The user's files in ``places`` (as :func:`remove_owned` would find them) and the deleted files its
    processes ``pids`` still hold open. Stops counting past ``stop_at`` (either figure): the cost of one
    weighing is bounded whatever number of files a submission makes."""
    weight = Weight()
    for place in places:
        with contextlib.suppress(OSError), _open_folder(place) as fd:
            _weigh_in(fd, uid, weight, stop_at, owned=False)
    for info in _open_deleted_files(pids):
        weight.add(info)
    return weight


def _over(weight: Weight, bound: Weight) -> bool:
    return weight.bytes > bound.bytes or weight.entries > bound.entries


def _weigh_in(fd: int, uid: int, weight: Weight, bound: Weight, owned: bool) -> None:
    for name, info in _entries(fd):
        if _over(weight, bound):
            return
        mine = owned or info.st_uid == uid
        if mine:
            weight.add(info)
        if stat.S_ISDIR(info.st_mode) and (mine or info.st_mode & stat.S_IWOTH):
            with contextlib.suppress(OSError), _open_folder(name, fd) as inner:
                _weigh_in(inner, uid, weight, bound, mine)


def _open_deleted_files(pids: list[int]) -> Iterator[os.stat_result]:
    """Files removed from every folder but kept open by one of ``pids``: they still take their space."""
    for pid in pids:
        with contextlib.suppress(OSError):
            for fd in os.listdir(f"/proc/{pid}/fd"):
                with contextlib.suppress(OSError):
                    info = os.stat(f"/proc/{pid}/fd/{fd}")
                    if stat.S_ISREG(info.st_mode) and info.st_nlink == 0:
                        yield info
