"""Stop a cell by the CPU time it used, not by the clock: the same submission gets the same verdict
on an idle machine and on one where every core is busy.

The kernel's cgroup (:mod:`d2lgrade.sandbox.cgroups`) counts the CPU time of all its processes. While a
cell runs, a watcher thread reads that count; past the cell's CPU limit it sends SIGINT to the
kernel's processes (the kernel is PID 1 of its namespace and has a SIGINT handler, so the signal is
delivered), and if the cell still runs after the grace period, it kills them. A wall-clock limit
stays as a generous backstop for cells that wait without computing (``time.sleep``).
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


@dataclass
class CpuWatch:
    """Watches one cell; ``fired`` once it was interrupted, ``hung`` once it had to be killed."""

    group: Cgroup
    limit: float
    grace: float
    fired: bool = False
    hung: bool = False
    used: float = 0.0
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def __enter__(self) -> CpuWatch:
        self._start = self.group.cpu_seconds()
        self._thread = threading.Thread(target=self._watch, name="d2lgrade-cpuwatch", daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()

    def _watch(self) -> None:
        fired_at = 0.0
        while not self._stop.wait(POLL_SECONDS):
            try:
                self.used = self.group.cpu_seconds() - self._start
            except OSError:
                return  # the group is gone: the kernel died, nbclient notices
            if not self.fired and self.used > self.limit:
                self.fired, fired_at = True, time.monotonic()
                self._signal(signal.SIGINT)
            elif self.fired and not self.hung and time.monotonic() - fired_at > self.grace:
                self.hung = True
                self._signal(signal.SIGKILL)

    def _signal(self, sig: int) -> None:
        for pid in self.group.pids():  # the kernel and what it started: the sandbox's own processes are outside
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, sig)
