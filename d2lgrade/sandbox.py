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
stays root underneath and RLIMIT_NPROC does not hold. Limits that hold for the sandbox as a whole:

- a control group per kernel (:mod:`d2lgrade.cgroups`): memory (swap included), process count and
  CPU bandwidth of every process together; the launcher joins it as root before anything else runs;
- a seccomp filter (:mod:`d2lgrade.seccomp_filter`): no ptrace, no namespaces or mounts, no keyring,
  BPF or perf events;
- ``--as-pid-1``: the kernel is PID 1 of its namespace; bubblewrap's own process is outside it;
- every writable place sized: ``/scratch``, ``/tmp``, ``/dev/shm``, and the IPC folder (a small tmpfs
  the grader mounts), ``/dev`` itself read-only;
- interrupts go to the kernel as ``interrupt_request`` messages (bubblewrap does not forward signals).
"""

from __future__ import annotations

import functools
import logging
import os
import shlex
import shutil
import stat
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from d2lgrade import cgroups
from d2lgrade.execute import QuietKernelManager

LOG = logging.getLogger("d2lgrade.sandbox")
SYSTEM_PYTHON = "/usr/bin/python3"
"""The interpreter with Debian's python3-seccomp, used once per grader process to build the filter."""


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
    tmp_bytes: int = 64 * 2**20
    shm_bytes: int = 64 * 2**20
    ipc_bytes: int = 1 * 2**20
    group_memory_bytes: int = 4 * 2**30
    """All processes of the kernel together (cgroup), swap included."""
    group_processes: int = 64
    cpus: float = 1.0
    """CPU bandwidth of the whole kernel: one core's worth."""

    def group_limits(self) -> cgroups.Limits:
        return cgroups.Limits(self.group_memory_bytes, self.group_processes, self.cpus)


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
    if seccomp_program() is None:
        raise SandboxUnavailable(f"the seccomp filter cannot be built: install python3-seccomp (apt-get install "
                                 f"python3-seccomp) so that {SYSTEM_PYTHON} can import seccomp")
    probe = subprocess.run(launcher(policy, Path("/nonexistent"), None, ["/bin/true"]), capture_output=True,
                           text=True, timeout=60)
    if probe.returncode != 0:
        raise SandboxUnavailable(f"bubblewrap failed to start: {probe.stderr.strip()[:300]}")
    _warn_once_without_cgroups(policy)


@functools.cache
def _warn_once_without_cgroups(policy: Policy) -> None:
    group = cgroups.Cgroup.create(policy.group_limits())
    if group is None:
        LOG.warning("cgroups are not writable here: memory, processes and CPU are capped per process (rlimits), "
                    "not for the sandbox as a whole")
    else:
        group.destroy()


@functools.cache
def seccomp_program() -> Path | None:
    """The filter's BPF, built once per grader process into a private file (None: cannot be built)."""
    source = Path(__file__).with_name("seccomp_filter.py")
    try:
        bpf = subprocess.run([SYSTEM_PYTHON, "-I", str(source)], capture_output=True, timeout=60, check=True).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    if not bpf or len(bpf) % 8:
        return None
    fd, path = tempfile.mkstemp(prefix="d2lgrade-seccomp-", suffix=".bpf")
    with os.fdopen(fd, "wb") as f:
        f.write(bpf)
    os.chmod(path, 0o644)
    return Path(path)


def _world_readable_path(path: Path) -> bool:
    for part in (path, *path.parents):
        mode = part.stat().st_mode
        if not (mode & stat.S_IXOTH and (mode & stat.S_IROTH or part != path)):
            return False
    return True


def launcher(policy: Policy, shared: Path, group: cgroups.Cgroup | None, command: list[str]) -> list[str]:
    """``sh -c`` as root: join the kernel's cgroups, open the seccomp filter on fd 3, then become
    ``setpriv ... bwrap ... prlimit ... command``. Nothing of the submission runs before the last exec."""
    steps = [f"echo $$ > {shlex.quote(str(p))} || exit 70" for p in (group.procs_files if group else ())]
    program = seccomp_program()
    if program is not None:
        steps.append(f"exec 3< {shlex.quote(str(program))} || exit 71")
    steps.append('exec "$@"')
    return ["/bin/sh", "-c", "; ".join(steps), "d2lgrade-launch", *command_prefix(policy, shared, program is not None),
            *command]


def command_prefix(policy: Policy, shared: Path, seccomp: bool) -> list[str]:
    """``setpriv ... bwrap ... prlimit ...``: what confines the kernel once the launcher has joined its cgroups."""
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
        "bwrap", "--unshare-all", "--unshare-user", "--disable-userns", "--die-with-parent", "--new-session", "--as-pid-1",
        *(["--seccomp", "3"] if seccomp else []),
        "--ro-bind", "/usr", "/usr", "--symlink", "usr/lib", "/lib", "--symlink", "usr/lib64", "/lib64",
        "--symlink", "usr/bin", "/bin", "--symlink", "usr/sbin", "/sbin",
        "--proc", "/proc", "--dev", "/dev", "--size", str(policy.shm_bytes), "--tmpfs", "/dev/shm",
        "--remount-ro", "/dev", "--size", str(policy.tmp_bytes), "--tmpfs", "/tmp",
        *binds,
        "--size", str(policy.scratch_bytes), "--tmpfs", "/scratch", "--chdir", "/scratch", "--remount-ro", "/",
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
    """A KernelManager whose kernel starts inside the sandbox, in its own cgroup, and talks over IPC
    sockets in a small tmpfs of its own."""

    def __init__(self, policy: Policy, **kwargs: Any) -> None:
        self.shared = Path(tempfile.mkdtemp(prefix="d2lgrade-ipc-"))
        self.mounted = _mount_tmpfs(self.shared, policy.ipc_bytes)
        (self.shared / "hosts").write_bytes(HOSTS)
        (self.shared / "passwd").write_bytes(PASSWD)
        self.shared.chmod(0o1777)  # the sandbox user creates its sockets here; sticky: it cannot remove ours
        super().__init__(kernel_name="python3", transport="ipc", ip=str(self.shared / "kernel"),
                         connection_file=str(self.shared / "connection.json"), **kwargs)
        self.policy = policy
        self.group: cgroups.Cgroup | None = None

    def write_connection_file(self, **kwargs: Any) -> None:
        super().write_connection_file(**kwargs)
        os.chmod(self.connection_file, 0o644)  # jupyter_client writes it 0600; the kernel runs as nobody

    def format_kernel_cmd(self, extra_arguments: list[str] | None = None) -> list[str]:
        self._drop_group()
        self.group = cgroups.Cgroup.create(self.policy.group_limits())
        return launcher(self.policy, self.shared, self.group, super().format_kernel_cmd(extra_arguments))

    async def _async_interrupt_kernel(self) -> None:
        """As a message on the control channel: a signal would reach bubblewrap, which does not forward it."""
        if not self.has_kernel:
            raise RuntimeError("Cannot interrupt kernel. No kernel is running!")
        msg = self.session.msg("interrupt_request", content={})
        self._connect_control_socket()
        self.session.send(self._control_socket, msg)

    interrupt_kernel = _async_interrupt_kernel

    def _drop_group(self) -> None:
        if self.group is not None:
            self.group.destroy()
            self.group = None

    async def _async_cleanup_resources(self, restart: bool = False) -> None:
        await super()._async_cleanup_resources(restart=restart)
        self._drop_group()
        if not restart:
            if self.mounted:
                subprocess.run(["umount", "-l", str(self.shared)], capture_output=True, check=False)
            shutil.rmtree(self.shared, ignore_errors=True)

    cleanup_resources = _async_cleanup_resources


def _mount_tmpfs(folder: Path, size: int) -> bool:
    """A tmpfs of ``size`` bytes on ``folder`` (the sandbox can fill it, not the grader's disk); False if
    mounting is not allowed here (then the folder stays on disk, capped only by RLIMIT_FSIZE per file)."""
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size},mode=1777,nosuid,nodev,noexec", "d2lgrade-ipc",
                           str(folder)], capture_output=True, check=False)
    if done.returncode != 0:
        LOG.warning("could not mount a tmpfs for the kernel's IPC folder: %s", done.stderr.decode(errors="replace")[:200])
    return done.returncode == 0


def sandboxed_kernel_factory(policy: Policy = Policy()) -> Any:
    """A kernel factory for :func:`d2lgrade.execute.run` that confines the kernel."""

    def factory() -> SandboxedKernelManager:
        return SandboxedKernelManager(policy)

    return factory
