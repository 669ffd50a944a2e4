"""The container mode's stand-in for a cgroup: a kernel's processes found by their user.

Where no cgroup can be made (a Docker container without CAP_SYS_ADMIN), each grader's kernels run
under a user of their own (:func:`d2lgrade.grading.workers.worker_policy` gives each worker a uid), so the
processes of that user are exactly the kernel and what it started. This module counts their CPU
time and threads for :class:`d2lgrade.sandbox.cpuwatch.CpuWatch`, and clears them away between submissions:
every process of the user killed, every file it left in the world-writable folders removed, so
nothing one submission leaves reaches the next.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import stat
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

WORLD_WRITABLE = (Path("/tmp"), Path("/var/tmp"), Path("/dev/shm"))
"""Where a kernel without a mount namespace of its own can leave files."""
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
    with open(f"/proc/{pid}/stat", "rb") as f:
        return f.read().rsplit(b")", 1)[1].split()


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


def remove_files(uid: int, roots: tuple[Path, ...] = WORLD_WRITABLE) -> None:
    """Everything owned by ``uid`` under the world-writable folders, never following a link. Only folders
    anyone may write to are searched: the user can have written nowhere else outside its own."""
    for root in roots:
        with contextlib.suppress(OSError):
            _remove_owned(root, uid)


def _remove_owned(folder: Path, uid: int) -> None:
    for entry in os.scandir(folder):
        with contextlib.suppress(OSError):
            info = entry.stat(follow_symlinks=False)
            if info.st_uid == uid:
                if stat.S_ISDIR(info.st_mode):
                    shutil.rmtree(entry.path)
                else:
                    os.unlink(entry.path)
            elif stat.S_ISDIR(info.st_mode) and info.st_mode & stat.S_IWOTH:
                _remove_owned(Path(entry.path), uid)


@dataclass
class UserProcesses:
    """What :class:`d2lgrade.sandbox.cpuwatch.CpuWatch` and the executor ask of a kernel's group, by user."""

    uid: int
    gid: int
    thread_limit: int
    procs_files: tuple[Path, ...] = ()
    """None: there is no cgroup to join."""

    def pids(self) -> list[int]:
        return pids_of(self.uid)

    def cpu_seconds(self) -> float:
        """CPU time of the user's live processes and of the children they reaped."""
        ticks = 0
        for pid in self.pids():
            with contextlib.suppress(OSError, ValueError, IndexError):
                fields = _stat_fields(pid)  # after the name: utime, stime, cutime, cstime are fields 12-15
                ticks += sum(int(v) for v in fields[11:15])
        return ticks / CLOCK_TICKS

    def at_task_limit(self) -> bool:
        """Threads of the user at RLIMIT_NPROC (which counts threads): the kernel cannot start another."""
        threads = 0
        for pid in self.pids():
            with contextlib.suppress(OSError, ValueError), open(f"/proc/{pid}/status", "rb") as f:
                threads += next((int(line.split()[1]) for line in f if line.startswith(b"Threads:")), 0)
        return threads >= self.thread_limit

    def destroy(self) -> None:
        """The user's processes killed, then its files removed."""
        kill_all(self.uid, self.gid)
        remove_files(self.uid)
