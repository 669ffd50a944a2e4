"""Bound the files a kernel writes in total, where no sized tmpfs can hold them (the container mode).

RLIMIT_FSIZE bounds one file; a kernel could still write many. In the namespaces mode every writable place is
a tmpfs of its own size. In a container that forbids mounting, a watcher thread weighs, four times a second,
what the kernel's user owns in the places it can write (:func:`d2lgrade.sandbox.userfiles.weigh_owned`, deleted
files it holds open included) and, past the bound, kills every process of the user: the cell that wrote them
ends, and the executor says why (:attr:`DiskWatch.fired`). A scan rather than a quota, because quotas need the
administrator of the filesystem; it reads directory entries only, and stops counting at the bound, so its cost
stays small whatever a submission makes. What it allows past the bound is what can be written between two
scans (at most a quarter of a second of the disk's speed).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from d2lgrade.sandbox.userfiles import Weight, weigh_owned

SCAN_SECONDS = 0.25


@dataclass
class DiskWatch:
    """Watches one kernel's user for its whole life; ``fired`` once it stopped the kernel."""

    uid: int
    places: Callable[[], tuple[Path, ...]]
    pids: Callable[[], list[int]]
    stop_kernel: Callable[[], object]
    bound: Weight
    fired: bool = False
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def start(self) -> DiskWatch:
        self._thread = threading.Thread(target=self._watch, name="d2lgrade-diskwatch", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()

    def over(self) -> bool:
        weight = weigh_owned(self.uid, self.places(), self.pids(), self.bound)
        return weight.bytes > self.bound.bytes or weight.entries > self.bound.entries

    def check_now(self) -> bool:
        """Weigh now (as a cell ends) and stop the kernel if past the bound; whether it was."""
        if self.fired:
            return True
        if self.over():
            self.fired = True
            self.stop_kernel()
        return self.fired

    def _watch(self) -> None:
        while not self._stop.wait(SCAN_SECONDS):
            if self.check_now():
                return
