"""System V IPC objects (shared memory, semaphores, message queues) a sandbox user leaves, and their removal.

In the container mode there is no IPC namespace of the kernel's own: a segment, a semaphore set or a queue it
makes outlives it, and the next submission, graded as the same user, could read it. They are listed from
``/proc/sysvipc`` and removed with ``IPC_RMID`` (what ``ipcrm`` does) between submissions. POSIX message queues
are files of an ``mqueue`` filesystem: :mod:`d2lgrade.sandbox.userfiles` finds and removes them.
"""

from __future__ import annotations

import ctypes
from dataclasses import dataclass
from pathlib import Path

SYSVIPC = Path("/proc/sysvipc")
IPC_RMID = 0
_LIBC = ctypes.CDLL(None, use_errno=True)


@dataclass(frozen=True)
class IpcObject:
    kind: str
    """``shm``, ``sem`` or ``msg``: the file of /proc/sysvipc that lists it."""
    ident: int


def _rows(kind: str) -> list[dict[str, str]]:
    try:
        lines = (SYSVIPC / kind).read_text().splitlines()
    except OSError:
        return []
    header = lines[0].split() if lines else []
    return [dict(zip(header, line.split(), strict=False)) for line in lines[1:]]


def objects_of(uid: int) -> list[IpcObject]:
    """Every object whose owner or creator is ``uid`` (an owner can hand its object to another user; its creator
    stays)."""
    found = []
    for kind, ident in (("shm", "shmid"), ("sem", "semid"), ("msg", "msqid")):
        for row in _rows(kind):
            if str(uid) in (row.get("uid"), row.get("cuid")):
                found.append(IpcObject(kind, int(row[ident])))
    return found


def _remove(thing: IpcObject) -> None:
    if thing.kind == "shm":  # a segment still attached goes when its last process detaches (they are killed first)
        _LIBC.shmctl(thing.ident, IPC_RMID, None)
    elif thing.kind == "sem":
        _LIBC.semctl(thing.ident, 0, IPC_RMID)
    else:
        _LIBC.msgctl(thing.ident, IPC_RMID, None)


def remove_objects_of(uid: int) -> None:
    """The user's objects removed; run once its processes are gone, so that it makes no new ones meanwhile."""
    for thing in objects_of(uid):
        _remove(thing)
