"""The container mode's stand-in for a cgroup: a kernel's processes found by their user.

Where no cgroup can be made (a Docker container without CAP_SYS_ADMIN), each grader's kernels run
under a user of their own (:func:`d2lgrade.grading.workers.worker_policy` gives each worker a uid), so the
processes of that user are exactly the kernel and what it started. This module counts their CPU
time and threads for :class:`d2lgrade.sandbox.cpuwatch.CpuWatch`, and clears them away between submissions:
every process of the user killed, then every file it left where it could write
(:mod:`d2lgrade.sandbox.userfiles`) and every System V IPC object it made (:mod:`d2lgrade.sandbox.useripc`)
removed, so nothing one submission leaves reaches the next.

CPU time survives reaping: the kernel's monitor (:mod:`d2lgrade.sandbox.template`) is a child subreaper, so the
processes a kernel orphans (a double fork) are reparented to it, not to init, and their time is added to its
children's time when it reaps them. The user's CPU time is the monitor's children's time plus that of the
user's live processes.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

from d2lgrade.sandbox import userfiles, useripc

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def pids_of(uid: int) -> list[int]:
    """Processes whose real user is ``uid`` (read from ``status``: a process that made itself non-dumpable
    has its /proc folder owned by root, its real uid unchanged)."""
    found = []
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        with contextlib.suppress(OSError, ValueError, IndexError), open(f"/proc/{name}/status", "rb") as f:
            for line in f:
                if line.startswith(b"Uid:"):
                    if int(line.split()[1]) == uid:
                        found.append(int(name))
                    break
    return found


def _stat_fields(pid: int) -> list[bytes]:
    """The fields of ``/proc/<pid>/stat`` after the name (state first: field 3 of proc(5) is index 0)."""
    with open(f"/proc/{pid}/stat", "rb") as f:
        return f.read().rsplit(b")", 1)[1].split()


def _ticks(fields: list[bytes], first: int, last: int) -> int:
    return sum(int(v) for v in fields[first:last])


@dataclass(frozen=True)
class Reaper:
    """The process that reaps the user's orphans (the kernel's monitor), known by its pid and start time, so
    that a pid reused after it died is never read as it."""

    pid: int
    started: bytes

    @classmethod
    def parent_of(cls, pid: int) -> Reaper | None:
        with contextlib.suppress(OSError, IndexError):
            parent = int(_stat_fields(pid)[1])
            return cls(parent, _stat_fields(parent)[19])
        return None

    def children_seconds(self) -> float:
        """CPU time of the children it reaped (the kernel's orphans; the kernel itself once it ended)."""
        with contextlib.suppress(OSError, IndexError, ValueError):
            fields = _stat_fields(self.pid)
            if fields[19] == self.started:
                return _ticks(fields, 13, 15) / CLOCK_TICKS
        return 0.0


def kill_all(uid: int, gid: int, seconds: float = 5.0) -> bool:
    """SIGKILL every process of ``uid``, again until none is left (a fork bomb races the first rounds).

    The signal is sent by ``kill -9 -1`` running as that user: the kernel delivers it to all of the
    user's processes at once, and never to anyone else's, whatever pids are reused meanwhile."""
    deadline = time.monotonic() + seconds
    while pids_of(uid):
        if time.monotonic() > deadline:
            return False
        subprocess.run(["/bin/kill", "-9", "-1"], user=uid, group=gid, extra_groups=[], check=False,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(0.01)
    return True


@dataclass
class UserProcesses:
    """What :class:`d2lgrade.sandbox.cpuwatch.CpuWatch` and the executor ask of a kernel's group, by user."""

    uid: int
    gid: int
    thread_limit: int
    procs_files: tuple[Path, ...] = ()
    """None: there is no cgroup to join."""
    reaper: Reaper | None = None
    """Set once the kernel runs (:meth:`kernel_started`)."""
    places: tuple[Path, ...] = field(default=(), repr=False)
    """Where the user can write besides the machine's writable places (its scratch folder)."""

    def kernel_started(self, pid: int) -> None:
        self.reaper = Reaper.parent_of(pid)

    def pids(self) -> list[int]:
        return pids_of(self.uid)

    def cpu_seconds(self) -> float:
        """CPU time of the user's live processes, of the children they reaped, and of those the monitor reaped.
        The monitor is read first: a process reaped between the two readings is missed for one reading, never
        counted twice."""
        seconds = self.reaper.children_seconds() if self.reaper is not None else 0.0
        ticks = 0
        for pid in self.pids():
            with contextlib.suppress(OSError, ValueError, IndexError):
                ticks += _ticks(_stat_fields(pid), 11, 15)  # utime, stime, cutime, cstime
        return seconds + ticks / CLOCK_TICKS

    def writable_places(self) -> tuple[Path, ...]:
        found = userfiles.writable_places(self.uid, self.gid)
        return found + tuple(p for p in self.places if not any(p.is_relative_to(f) for f in found))

    def at_task_limit(self) -> bool:
        """Threads of the user at RLIMIT_NPROC (which counts threads): the kernel cannot start another."""
        threads = 0
        for pid in self.pids():
            with contextlib.suppress(OSError, ValueError), open(f"/proc/{pid}/status", "rb") as f:
                threads += next((int(line.split()[1]) for line in f if line.startswith(b"Threads:")), 0)
        return threads >= self.thread_limit

    def destroy(self) -> None:
        """The user's processes killed, then its files and IPC objects removed."""
        kill_all(self.uid, self.gid)
        userfiles.remove_owned(self.uid, self.writable_places())
        useripc.remove_objects_of(self.uid)
