"""The exchange client's side of the disk: reading an assignment folder as its user, writing without following links.

Reading (submit, release) walks the folder without following links out of it: a link to a file inside the folder
is read as that file, any other link is skipped and said. The files are read by the user running the command, so
what their account cannot read never leaves the machine.

Writing (fetch, feedback, collect) goes folder by folder through descriptors opened with ``O_NOFOLLOW``: a link
planted anywhere below the starting folder stops the write instead of redirecting it. New files are created with
``O_EXCL`` or written under a temporary name and renamed into place.
"""

from __future__ import annotations

import logging
import os
import secrets
import stat
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from d2lgrade.hub.exchange_files import RESERVED, ExchangeFile, Limits, TooLarge
from d2lgrade.hub.exchange_files import size as shown_size

FOLDER_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW
Hook = Callable[[int, str], None]
"""Called with a new file's or folder's descriptor and its shown path (modes and group of a course folder)."""


class LinkRefused(OSError):
    """A link or a non-folder stands where the exchange would write: nothing was written through it."""

    def __str__(self) -> str:
        return str(self.args[0])


@dataclass
class ReadFolder:
    """The files of a folder as the exchange will send them, and what was left out with the reason."""

    files: list[ExchangeFile]
    skipped: list[str]


def read_folder(root: Path, limits: Limits, ignore: Callable[[str, list[str]], list[str]],
                log: logging.Logger) -> ReadFolder:
    """Every regular file under ``root`` (read as the running user), within ``limits``; TooLarge before reading
    more than the caps allow."""
    result = ReadFolder([], [])
    real_root = os.path.realpath(root)
    _read_into(root, "", real_root, limits, ignore, result, [0])
    for reason in result.skipped:
        log.warning("Not submitted: %s", reason)
    return result


def _read_into(folder: Path, prefix: str, real_root: str, limits: Limits, ignore: Callable[[str, list[str]], list[str]],
               result: ReadFolder, total: list[int]) -> None:
    entries = sorted(os.scandir(folder), key=lambda e: e.name)
    ignored = set(ignore(str(folder), [e.name for e in entries]))
    for entry in entries:
        rel = prefix + entry.name
        if entry.name in ignored:
            continue
        if not prefix and entry.name in RESERVED:
            result.skipped.append(f"{rel} (the exchange writes its own {entry.name})")
        elif entry.is_dir(follow_symlinks=False):
            if rel.count("/") + 2 > limits.depth:
                result.skipped.append(f"{rel}/ (folders nest deeper than {limits.depth} levels)")
            else:
                _read_into(Path(entry.path), rel + "/", real_root, limits, ignore, result, total)
        elif entry.is_symlink():
            target = os.path.realpath(entry.path)
            if os.path.commonpath([target, real_root]) == real_root and os.path.isfile(target):
                _add(result, rel, target, limits, total)
            else:
                result.skipped.append(f"{rel} (a link to something outside the assignment folder: copy the file "
                                      "itself into the folder if it is part of your work)")
        elif entry.is_file(follow_symlinks=False):
            _add(result, rel, entry.path, limits, total)
        else:
            result.skipped.append(f"{rel} (not a regular file)")


def _add(result: ReadFolder, rel: str, path: str, limits: Limits, total: list[int]) -> None:
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError as e:
        result.skipped.append(f"{rel} (cannot be read: {e.strerror})")
        return
    with os.fdopen(fd, "rb") as f:
        size = os.fstat(fd).st_size
        if size > limits.file_bytes:
            raise TooLarge(f"{rel} is {shown_size(size)}: a file may be at most {shown_size(limits.file_bytes)}")
        total[0] += size
        if total[0] > limits.total_bytes or len(result.files) >= limits.files:
            raise TooLarge(f"the folder holds more than {shown_size(limits.total_bytes)} or {limits.files} "
                           "files, the most the exchange accepts (leave out data files you did not change)")
        result.files.append(ExchangeFile(rel, f.read(limits.file_bytes + 1)))


def open_folder(path: Path) -> int:
    """A descriptor of an existing folder the caller trusts (their home, the course folder)."""
    return os.open(path, os.O_RDONLY | os.O_DIRECTORY)


def subfolder(parent: int, name: str, shown: str, on_create: Hook | None = None, mode: int = 0o700) -> int:
    """Descriptor of folder ``name`` in ``parent``, created when missing; LinkRefused if a link or a file is there."""
    try:
        os.mkdir(name, mode, dir_fd=parent)
        created = True
    except FileExistsError:
        created = False
    try:
        fd = os.open(name, FOLDER_FLAGS, dir_fd=parent)
    except OSError:
        kind = "a symbolic link" if _is_link(parent, name) else "not a folder"
        raise LinkRefused(f"{shown} is {kind}: not followed; remove it and run the command again") from None
    if created and on_create:
        on_create(fd, shown)
    return fd


def folder_path(start: int, parts: list[str], shown: str, on_create: Hook | None = None, mode: int = 0o700) -> int:
    """Descriptor of ``start``/``parts``, each level opened without following links (created when missing)."""
    fd = os.dup(start)
    walked = shown
    for part in parts:
        walked = f"{walked}/{part}"
        try:
            nxt = subfolder(fd, part, walked, on_create, mode)
        finally:
            os.close(fd)
        fd = nxt
    return fd


def write_new(folder: int, name: str, data: bytes, shown: str, on_file: Hook | None = None,
              mode: int = 0o600) -> bool:
    """Create file ``name`` in ``folder`` with ``data``; False (nothing written) if the name is taken."""
    try:
        fd = os.open(name, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, mode, dir_fd=folder)
    except FileExistsError:
        return False
    with os.fdopen(fd, "wb") as f:
        if on_file:
            on_file(fd, shown)
        f.write(data)
    return True


def write_replacing(folder: int, name: str, data: bytes, shown: str, on_file: Hook | None = None,
                    mode: int = 0o600) -> None:
    """Write ``name`` under a temporary name, then rename it over whatever is there (a link is replaced, never
    followed)."""
    tmp = f".{name}.{secrets.token_hex(4)}"
    write_new(folder, tmp, data, shown, on_file, mode)
    os.replace(tmp, name, src_dir_fd=folder, dst_dir_fd=folder)


def files_under(folder: int, files: list[ExchangeFile], shown: str, on_folder: Hook | None = None,
                on_file: Hook | None = None, file_mode: int = 0o600, folder_mode: int = 0o700,
                keep_existing: bool = False) -> list[str]:
    """Write ``files`` (checked relative paths) below ``folder``; the paths written. With ``keep_existing`` a file
    already there is left as it is, else it is an error (FileExistsError)."""
    written = []
    for f in files:
        *parents, name = f.path.split("/")
        fd = folder_path(folder, parents, shown, on_folder, folder_mode)
        try:
            if not write_new(fd, name, f.data, f"{shown}/{f.path}", on_file, file_mode):
                if not keep_existing:
                    raise FileExistsError(f"{shown}/{f.path} already exists")
                continue
            written.append(f.path)
        finally:
            os.close(fd)
    return written


def read_file(folder: int, name: str, limit: int = 64 * 1024) -> bytes | None:
    """A regular file's bytes (at most ``limit``), not following a link; None if there is no such file."""
    try:
        fd = os.open(name, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK, dir_fd=folder)
    except OSError:
        return None
    with os.fdopen(fd, "rb") as f:
        return f.read(limit) if stat.S_ISREG(os.fstat(fd).st_mode) else None


def _is_link(parent: int, name: str) -> bool:
    try:
        return stat.S_ISLNK(os.lstat(name, dir_fd=parent).st_mode)
    except OSError:
        return False
