"""Run the student's kernel inside a bubblewrap sandbox, as an unprivileged user.

What holds (tested in tests/test_hostile.py): the kernel runs as ``nobody`` (uid 65534) with no
capabilities; it has no network (its own network namespace, loopback only); it sees the system and
the Python environment read-only, the grading package's code read-only, and nothing else of the
course (no ``solutions/``, ``source/``, bundles, gradebook, other submissions); it writes only to a
private tmpfs scratch folder of capped size; RLIMIT_AS, RLIMIT_CPU, RLIMIT_NPROC, RLIMIT_FSIZE and
RLIMIT_NOFILE cap memory, CPU time, processes, file size and open files; it lives in its own PID
namespace and dies with the grader. The kernel talks to the grader over ZeroMQ on Unix sockets in a
folder shared for that purpose only.

bubblewrap is started *as* the unprivileged user (``setpriv``): started by root with ``--uid`` it
stays root underneath and RLIMIT_NPROC does not hold (../shared/FINDINGS.md).
"""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from d2lgrade.execute import QuietKernelManager


class SandboxUnavailable(RuntimeError):
    """The sandbox cannot start here; grading stops rather than run student code unconfined."""


@dataclass(frozen=True)
class Policy:
    """Limits for one submission's kernel."""

    uid: int = 65534
    gid: int = 65534
    memory_bytes: int = 4 * 2**30
    cpu_seconds: int = 600
    processes: int = 64
    file_bytes: int = 64 * 2**20
    open_files: int = 512
    scratch_bytes: int = 256 * 2**20


def _python_roots() -> list[Path]:
    """Folders the kernel's interpreter needs: the environment and the base installation."""
    roots = {Path(sys.prefix).resolve(), Path(sys.base_prefix).resolve()}
    return sorted(r for r in roots if not str(r).startswith("/usr"))


def _package_dir() -> Path:
    return Path(__file__).resolve().parent


def check_available(policy: Policy = Policy()) -> None:
    """Raise :class:`SandboxUnavailable` with the remedy if the sandbox cannot run here."""
    for tool, package in (("bwrap", "bubblewrap"), ("setpriv", "util-linux"), ("prlimit", "util-linux")):
        if shutil.which(tool) is None:
            raise SandboxUnavailable(f"`{tool}` is not installed: install it (apt-get install {package}), "
                                     "or grade on a machine that has it. Student code never runs unconfined.")
    if os.geteuid() != 0:
        raise SandboxUnavailable("the grader must run as root to start kernels as the unprivileged sandbox user")
    for root in (*_python_roots(), _package_dir()):
        if not _world_readable_path(root):
            raise SandboxUnavailable(
                f"{root} is not readable by uid {policy.uid} (a parent folder is private, e.g. /root): "
                "create the environment from a Python outside /root (`make env` uses /usr/bin/python3.11)."
            )
    probe = subprocess.run([*command_prefix(policy, Path("/nonexistent")), "/bin/true"], capture_output=True,
                           text=True, timeout=60)
    if probe.returncode != 0:
        raise SandboxUnavailable(f"bubblewrap failed to start: {probe.stderr.strip()[:300]}")


def _world_readable_path(path: Path) -> bool:
    for part in (path, *path.parents):
        mode = part.stat().st_mode
        if not (mode & stat.S_IXOTH and (mode & stat.S_IROTH or part != path)):
            return False
    return True


def command_prefix(policy: Policy, shared: Path) -> list[str]:
    """``setpriv ... bwrap ... prlimit ...``: prepend to the kernel's command line."""
    binds: list[str] = []
    for root in _python_roots():
        binds += ["--ro-bind", str(root), str(root)]
    package = _package_dir()
    binds += ["--ro-bind", str(package), str(package)]
    if shared.exists():
        binds += ["--bind", str(shared), str(shared),
                  "--ro-bind", str(shared / "hosts"), "/etc/hosts", "--ro-bind", str(shared / "passwd"), "/etc/passwd"]
    return [
        "setpriv", f"--reuid={policy.uid}", f"--regid={policy.gid}", "--clear-groups", "--inh-caps=-all",
        "bwrap", "--unshare-all", "--die-with-parent", "--new-session",
        "--ro-bind", "/usr", "/usr", "--symlink", "usr/lib", "/lib", "--symlink", "usr/lib64", "/lib64",
        "--symlink", "usr/bin", "/bin", "--symlink", "usr/sbin", "/sbin",
        "--proc", "/proc", "--dev", "/dev", "--tmpfs", "/tmp",
        *binds,
        "--size", str(policy.scratch_bytes), "--tmpfs", "/scratch", "--chdir", "/scratch",
        "--clearenv", "--setenv", "HOME", "/scratch", "--setenv", "PATH", f"{Path(sys.prefix)}/bin:/usr/bin:/bin",
        "--setenv", "MPLBACKEND", "Agg", "--setenv", "PYTHONDONTWRITEBYTECODE", "1",
        "--setenv", "OMP_NUM_THREADS", "1", "--setenv", "MXNET_CPU_WORKER_NTHREADS", "1",
        "--",
        "prlimit", f"--as={policy.memory_bytes}", f"--cpu={policy.cpu_seconds}", f"--nproc={policy.processes}",
        f"--fsize={policy.file_bytes}", f"--nofile={policy.open_files}",
    ]


HOSTS = b"127.0.0.1 localhost\n::1 localhost\n"
PASSWD = b"nobody:x:65534:65534:nobody:/scratch:/usr/sbin/nologin\n"


class SandboxedKernelManager(QuietKernelManager):
    """A KernelManager whose kernel starts inside the sandbox and talks over IPC sockets."""

    def __init__(self, policy: Policy, **kwargs: Any) -> None:
        self.shared = Path(tempfile.mkdtemp(prefix="d2lgrade-ipc-"))
        (self.shared / "hosts").write_bytes(HOSTS)
        (self.shared / "passwd").write_bytes(PASSWD)
        self.shared.chmod(0o1777)  # the sandbox user creates its sockets here; sticky: it cannot remove ours
        super().__init__(kernel_name="python3", transport="ipc", ip=str(self.shared / "kernel"),
                         connection_file=str(self.shared / "connection.json"), **kwargs)
        self.policy = policy

    def write_connection_file(self, **kwargs: Any) -> None:
        super().write_connection_file(**kwargs)
        os.chmod(self.connection_file, 0o644)  # jupyter_client writes it 0600; the kernel runs as nobody

    def format_kernel_cmd(self, extra_arguments: list[str] | None = None) -> list[str]:
        return [*command_prefix(self.policy, self.shared), *super().format_kernel_cmd(extra_arguments)]

    async def _async_cleanup_resources(self, restart: bool = False) -> None:
        await super()._async_cleanup_resources(restart=restart)
        if not restart:
            shutil.rmtree(self.shared, ignore_errors=True)

    cleanup_resources = _async_cleanup_resources


def sandboxed_kernel_factory(policy: Policy = Policy()) -> Any:
    """A kernel factory for :func:`d2lgrade.execute.run` that confines the kernel."""

    def factory() -> SandboxedKernelManager:
        return SandboxedKernelManager(policy)

    return factory
