"""A control group per kernel: memory, processes and CPU capped for the sandbox as a whole.

rlimits hold per process; a submission that forks (or takes over a helper process) multiplies
them. A cgroup counts every process of the kernel together, whatever it does. cgroup v2
(``/sys/fs/cgroup/cgroup.controllers``) and v1 (one hierarchy per controller) are both handled;
groups are made inside the grader's own groups, so they also stay inside whatever the grader's
machine or container allows it. Where neither can be written (not root, no cgroup filesystem),
:meth:`Cgroup.create` returns None and the rlimits alone hold: :func:`d2lgrade.sandbox.kernels.check_available`
says so once, and the README states what is lost.
"""

from __future__ import annotations

import contextlib
import logging
import os
import secrets
import signal
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path("/sys/fs/cgroup")
V1_CONTROLLERS = ("memory", "pids", "cpu", "cpuacct")
LOG = logging.getLogger("d2lgrade.sandbox")


@dataclass(frozen=True)
class Limits:
    memory_bytes: int
    processes: int
    cpus: float
    """CPU bandwidth: 1.0 is one core's worth of time per period."""


def _own_paths() -> dict[str, str]:
    """Controller (or "" for v2) -> this process's group path, from /proc/self/cgroup."""
    paths = {}
    for line in Path("/proc/self/cgroup").read_text().splitlines():
        _, controllers, path = line.split(":", 2)
        for c in controllers.split(",") if controllers else [""]:
            paths[c] = path
    return paths


def _write(path: Path, value: str | int) -> None:
    path.write_text(str(value))


@dataclass
class Cgroup:
    """The groups of one kernel (one folder per v1 controller, or one v2 folder)."""

    dirs: tuple[Path, ...]
    version: int

    @classmethod
    def create(cls, limits: Limits) -> Cgroup | None:
        """New groups with ``limits``, or None where cgroups cannot be used here."""
        name = f"d2lgrade-{secrets.token_hex(6)}"
        try:
            if (ROOT / "cgroup.controllers").is_file():
                return cls._create_v2(name, limits)
            return cls._create_v1(name, limits)
        except OSError as exc:
            LOG.debug("no cgroup for the kernel: %s", exc)
            return None

    @classmethod
    def _create_v1(cls, name: str, limits: Limits) -> Cgroup:
        own = _own_paths()
        dirs = []
        try:
            for controller in V1_CONTROLLERS:
                folder = (ROOT / controller / own.get(controller, "/").lstrip("/")).resolve() / name
                if folder not in dirs:  # co-mounted controllers (cpu,cpuacct) share one folder
                    folder.mkdir()
                dirs.append(folder)
            memory, pids, cpu, _ = dirs
            _write(memory / "memory.limit_in_bytes", limits.memory_bytes)
            if (memory / "memory.memsw.limit_in_bytes").exists():
                _write(memory / "memory.memsw.limit_in_bytes", limits.memory_bytes)  # no escape into swap
            _write(pids / "pids.max", limits.processes)
            period = int((cpu / "cpu.cfs_period_us").read_text())
            _write(cpu / "cpu.cfs_quota_us", int(period * limits.cpus))
        except OSError:
            cls(tuple(dirs), 1).destroy()
            raise
        return cls(tuple(dirs), 1)

    @classmethod
    def _create_v2(cls, name: str, limits: Limits) -> Cgroup:
        folder = ROOT / _own_paths().get("", "/").lstrip("/") / name
        folder.mkdir()
        group = cls((folder,), 2)
        try:
            _write(folder / "memory.max", limits.memory_bytes)
            if (folder / "memory.swap.max").exists():
                _write(folder / "memory.swap.max", 0)
            _write(folder / "pids.max", limits.processes)
            _write(folder / "cpu.max", f"{int(100_000 * limits.cpus)} 100000")
        except OSError:
            group.destroy()
            raise
        return group

    @property
    def procs_files(self) -> tuple[Path, ...]:
        """Where the kernel writes its own pid (as root, before it enters its namespaces and drops privileges)."""
        return tuple(d / "cgroup.procs" for d in dict.fromkeys(self.dirs))

    def cpu_seconds(self) -> float:
        """CPU time used by every process of the group so far."""
        if self.version == 1:
            return int((self.dirs[3] / "cpuacct.usage").read_text()) / 1e9
        for line in (self.dirs[0] / "cpu.stat").read_text().splitlines():
            if line.startswith("usage_usec "):
                return int(line.split()[1]) / 1e6
        return 0.0

    def at_task_limit(self) -> bool:
        """Are the group's tasks (processes and threads) at its limit? Then the kernel cannot even start
        a thread: it is as good as dead."""
        folder = self.dirs[1] if self.version == 1 else self.dirs[0]
        try:
            limit = (folder / "pids.max").read_text().strip()
            return limit != "max" and int((folder / "pids.current").read_text()) >= int(limit)
        except (OSError, ValueError):
            return False

    def pids(self) -> list[int]:
        found: set[int] = set()
        for procs in self.procs_files:
            try:
                found |= {int(p) for p in procs.read_text().split()}
            except OSError:
                continue
        return sorted(found)

    def destroy(self) -> None:
        """Kill whatever is left in the group, then remove it (each folder once)."""
        deadline = time.monotonic() + 5
        while (pids := self.pids()) and time.monotonic() < deadline:
            for pid in pids:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
            time.sleep(0.02)
        for folder in dict.fromkeys(reversed(self.dirs)):
            for _ in range(50):
                try:
                    folder.rmdir()
                    break
                except FileNotFoundError:
                    break
                except OSError:
                    time.sleep(0.02)
