"""Stop a cell by the CPU time it used, not by the clock: the same submission gets the same verdict
on an idle machine and on one where every core is busy.

The kernel's cgroup (:mod:`d2lgrade.sandbox.cgroups`) counts the CPU time of all its processes. While a
cell runs, a watcher thread reads that count; past the cell's CPU limit it sends SIGINT to the
kernel's processes (the kernel is PID 1 of its namespace and has a SIGINT handler, so the signal is
delivered), and if the cell still runs after the grace period, it kills them.

The same thread keeps the backstop for cells that wait without computing (``time.sleep``): time on the
clock, *less the time the cell's threads stood ready in the run queue waiting for a CPU* (the kernel's
scheduler statistics, ``/proc/<pid>/task/<tid>/schedstat``). On a busy machine that time is the machine's,
not the cell's: a CPU-bound cell is stopped by its CPU limit whatever the load, never by the backstop
first. (nbclient's own timeout stays, further out, for a watcher that could not run.)
"""

from __future__ import annotations

import contextlib
import os
import signal
import threading
import time
from dataclasses import dataclass, field

from d2lgrade.sandbox.cgroups import Cgroup

POLL_SECONDS = 0.05
QUEUE_POLLS = 4
"""The run-queue wait is read every this many polls (each read is a few files per thread of the kernel)."""


def _run_delays(pids: list[int]) -> dict[int, int]:
    """Nanoseconds each thread of ``pids`` has spent runnable but waiting for a CPU, by thread id; threads that
    are gone are left out."""
    delays: dict[int, int] = {}
    for pid in pids:
        with contextlib.suppress(OSError):
            for task in os.listdir(f"/proc/{pid}/task"):
                delay = _queue_delay(f"/proc/{pid}/task/{task}/schedstat")
                if delay is not None:
                    delays[int(task)] = delay
    return delays


def _queue_delay(schedstat: str) -> int | None:
    """The second field of a thread's schedstat: its time in the run queue (on CPU, waiting, timeslices)."""
    try:
        with open(schedstat, "rb") as f:
            return int(f.read().split()[1])
    except (OSError, ValueError, IndexError):
        return None


@dataclass
class QueueWait:
    """How long the cell's most delayed thread has waited for a CPU since the cell started (a running maximum,
    so a thread that exits keeps counting): the part of the clock a busy machine took from the cell."""

    start: dict[int, int]
    seconds: float = 0.0

    def update(self, pids: list[int]) -> float:
        for tid, delay in _run_delays(pids).items():
            self.seconds = max(self.seconds, (delay - self.start.get(tid, 0)) / 1e9)
        return self.seconds


@dataclass
class CpuWatch:
    """Watches one cell; ``fired`` once it was interrupted (``over_wall`` when by the backstop ``wall``, seconds
    on the clock not spent waiting for a CPU), ``hung`` once it had to be killed."""

    group: Cgroup
    limit: float
    grace: float
    wall: float = float("inf")
    fired: bool = False
    over_wall: bool = False
    hung: bool = False
    used: float = 0.0
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def __enter__(self) -> CpuWatch:
        self._start = self.group.cpu_seconds()
        self._began = time.monotonic()
        self._queue = QueueWait(_run_delays(self.group.pids()))
        self._thread = threading.Thread(target=self._watch, name="d2lgrade-cpuwatch", daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()

    def _watch(self) -> None:
        fired_at, polls = 0.0, 0
        while not self._stop.wait(POLL_SECONDS):
            polls += 1
            try:
                self.used = self.group.cpu_seconds() - self._start
            except OSError:
                return  # the group is gone: the kernel died, nbclient notices
            if not self.fired and (self.used > self.limit or (polls % QUEUE_POLLS == 0 and self._past_wall())):
                self.fired, fired_at = True, time.monotonic()
                self._signal(signal.SIGINT)
            elif self.fired and not self.hung and time.monotonic() - fired_at > self.grace:
                self.hung = True
                self._signal(signal.SIGKILL)

    def _past_wall(self) -> bool:
        """Has the cell been on the clock, not counting its wait for a CPU, past the backstop?"""
        waited = self._queue.update(self.group.pids())
        self.over_wall = time.monotonic() - self._began - waited > self.wall
        return self.over_wall

    def _signal(self, sig: int) -> None:
        for pid in self.group.pids():  # the kernel and what it started: the sandbox's own processes are outside
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, sig)
