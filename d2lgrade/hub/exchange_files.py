"""What travels through the exchange: a set of files with checked relative paths, within stated caps.

The service checks every upload with :func:`checked_files` (a student's request is hostile); the client checks
the same before sending, so an honest user hears about a cap before uploading 20 MiB for nothing.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from typing import Any

MiB = 1024 * 1024
RESERVED = frozenset({"timestamp.txt", "submission_secret.txt"})
"""Top-level names the exchange writes itself at collect: a student's own copy would only mislead."""
NO_TOKEN = ("the exchange needs your JupyterHub login: run this inside your JupyterHub server, or set "
            "JUPYTERHUB_API_TOKEN to a token from the hub's Token page")


class FilesRefused(ValueError):
    """An upload refused, with a sentence saying which file and what to do."""


class TooLarge(FilesRefused):
    """An upload over one of the caps (files, bytes)."""


@dataclass(frozen=True)
class Limits:
    """Caps on what one upload may hold and how many submissions one student may make to one assignment."""

    file_bytes: int = 20 * MiB
    files: int = 100
    total_bytes: int = 20 * MiB
    depth: int = 6
    path_chars: int = 255
    submissions: int = 50

    def body_bytes(self) -> int:
        """The largest request body that can hold an upload within the caps (base64 and JSON around it)."""
        return self.total_bytes * 4 // 3 + self.files * (self.path_chars + 64) + 64 * 1024


def size(n: int) -> str:
    """Bytes as a person reads them: ``20 MiB``, ``48.8 KiB``, ``120 bytes``."""
    for unit, scale in (("MiB", MiB), ("KiB", 1024)):
        if n >= scale:
            return f"{n / scale:.1f}".removesuffix(".0") + f" {unit}"
    return f"{n} bytes"


@dataclass(frozen=True)
class ExchangeFile:
    path: str
    data: bytes


def check_path(path: Any, limits: Limits) -> str:
    """``path`` if it is a plain relative path inside the upload; FilesRefused says what is wrong with it."""
    if not isinstance(path, str) or not path:
        raise FilesRefused("a file has no name")
    shown = path.encode("unicode_escape").decode("ascii")[:80]
    if len(path) > limits.path_chars:
        raise FilesRefused(f"{shown}…: the path is longer than {limits.path_chars} characters")
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in path) or "\\" in path:
        raise FilesRefused(f"{shown}: control characters and backslashes are not allowed in file names")
    parts = path.split("/")
    if path.startswith("/") or any(p in ("", ".", "..") for p in parts):
        raise FilesRefused(f"{shown}: only relative paths inside the assignment folder are allowed "
                           "(no leading '/', no '.' or '..', no empty parts)")
    if len(parts) > limits.depth:
        raise FilesRefused(f"{shown}: folders nest deeper than {limits.depth} levels")
    return path


def checked_files(files: list[ExchangeFile], limits: Limits, what: str = "a submission") -> list[ExchangeFile]:
    """The files, if each path is plain and unique and every cap holds; FilesRefused names the first problem."""
    if len(files) > limits.files:
        raise TooLarge(f"{what} holds {len(files)} files: at most {limits.files} are accepted")
    seen: set[str] = set()
    total = 0
    for f in files:
        check_path(f.path, limits)
        if f.path in seen:
            raise FilesRefused(f"{f.path}: the same path appears twice")
        if f.path in RESERVED:
            raise FilesRefused(f"{f.path} is the exchange's own file (it records the time of receipt itself): "
                               "leave it out")
        seen.add(f.path)
        if len(f.data) > limits.file_bytes:
            raise TooLarge(f"{f.path} is {size(len(f.data))}: a file may be at most {size(limits.file_bytes)}")
        total += len(f.data)
    for path in seen:
        parent = path.rpartition("/")[0]
        while parent:
            if parent in seen:
                raise FilesRefused(f"{parent} is both a file and a folder")
            parent = parent.rpartition("/")[0]
    if total > limits.total_bytes:
        raise TooLarge(f"{what} holds {size(total)}: at most {size(limits.total_bytes)} in all are accepted "
                           " (leave out data files you did not change)")
    return files


def encode(files: list[ExchangeFile]) -> list[dict[str, str]]:
    """Files as JSON can carry them."""
    return [{"path": f.path, "content": base64.b64encode(f.data).decode("ascii")} for f in files]


def decode(items: Any) -> list[ExchangeFile]:
    """The files of a request body (``[{path, content}]``, content in base64); FilesRefused if malformed."""
    if not isinstance(items, list):
        raise FilesRefused("the request holds no list of files")
    files = []
    for item in items:
        if not isinstance(item, dict) or not isinstance(item.get("content"), str):
            raise FilesRefused("each file needs a path and a base64 content")
        try:
            data = base64.b64decode(item["content"], validate=True)
        except (binascii.Error, ValueError):
            raise FilesRefused(f"{str(item.get('path'))[:80]}: the content is not valid base64") from None
        files.append(ExchangeFile(item.get("path"), data))  # the path is checked by checked_files
    return files
