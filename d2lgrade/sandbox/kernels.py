"""Run the student's kernel in a sandbox of its own, as an unprivileged user, warm but fresh.

What holds (tested in tests/test_hostile.py, test_sandbox_limits.py, test_warm.py): the kernel runs
as an unprivileged user of this grader's own (:func:`grader_uid_base`; each parallel worker its own) with no capabilities and
``no_new_privs``; it has no network (its own network namespace, loopback only); it sees the system
and the Python environment read-only, the grading package's code read-only, and nothing else of the
course (no ``solutions/``, ``source/``, bundles, gradebook, other submissions); it writes only to
tmpfs folders of capped size; RLIMIT_AS, RLIMIT_CPU, RLIMIT_NPROC, RLIMIT_FSIZE and RLIMIT_NOFILE
cap memory, CPU time, processes, file size and open files; it is PID 1 of its own PID namespace, so
the processes it starts die with it. It talks to the grader over ZeroMQ on Unix sockets in a folder
shared for that purpose only.

How a kernel gets there (no new Python per submission):

- a *holder* per kernel: bubblewrap, run as root, builds new mount, network, IPC and UTS namespaces
  around ``sleep`` (:func:`holder_command`): read-only binds, sized tmpfs ``/scratch``, ``/tmp``,
  ``/dev/shm``, ``/dev`` read-only, an empty ``/proc``;
- the grader's warm template (:mod:`d2lgrade.sandbox.template`) forks the kernel, which joins its control
  group (:mod:`d2lgrade.sandbox.cgroups`: memory with swap, processes, CPU bandwidth and CPU time of all its
  processes together), makes its own PID namespace, joins the holder's namespaces, mounts its /proc,
  drops to the unprivileged user and loads the seccomp filter (:mod:`d2lgrade.sandbox.seccomp_filter`: no
  ptrace, namespaces, mounts, keyring, BPF or perf events) before IPython starts
  (:mod:`d2lgrade.sandbox.enter`);
- interrupts go to the kernel as ``interrupt_request`` messages; the grader watches it through a pidfd.

Inside a container that withholds CAP_SYS_ADMIN (Docker's default, maybe Gradescope's), bubblewrap
cannot build namespaces: :func:`confinement` detects it and grades in *container mode*
(:class:`ContainerEnclosure`): the grader stays root; the kernel runs as its own unprivileged user in a
private scratch folder, with the same rlimits, ``no_new_privs`` and seccomp filter, whose sockets are
Unix ones only; its CPU time and processes are counted by a cgroup where one can be made, else by user and by
its monitor, a subreaper (:mod:`d2lgrade.sandbox.userprocs`); the files it owns anywhere are bounded in total
(:mod:`d2lgrade.sandbox.diskwatch`); between submissions its processes, its files in every place it can write
(:mod:`d2lgrade.sandbox.userfiles`, POSIX message queues included) and its System V IPC objects
(:mod:`d2lgrade.sandbox.useripc`) are removed. What it may read is what file permissions allow: the
autograder image keeps the configuration and references in a folder only root can enter
(``autograder/README.md`` states both modes' guarantees).
``D2LGRADE_SANDBOX=namespaces|container`` forces a mode.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import logging
import os
import secrets
import select
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from jupyter_client.provisioning.local_provisioner import LocalProvisioner

from d2lgrade.sandbox import cgroups
from d2lgrade.sandbox.diskwatch import DiskWatch
from d2lgrade.sandbox.enter import Entry
from d2lgrade.sandbox.execute import QuietKernelManager
from d2lgrade.sandbox.faults import GraderFault
from d2lgrade.sandbox.template import KERNEL_ENV, Template, kernel_argv
from d2lgrade.sandbox.userfiles import Weight, queue_folder
from d2lgrade.sandbox.userprocs import UserProcesses, kill_all

LOG = logging.getLogger("d2lgrade.sandbox")
SYSTEM_PYTHON = "/usr/bin/python3"
"""The interpreter with Debian's python3-seccomp, used once per grader process to build the filter."""


class SandboxUnavailable(GraderFault):
    """The sandbox cannot start here; grading stops rather than run student code unconfined."""


UIDS_FROM, UIDS_SPAN, UIDS_PER_GRADER = 1_500_000_000, 500_000_000, 1024
"""Sandbox users are taken from here: no Debian or Ubuntu account is allocated in this range."""


@functools.cache
def grader_uid_base() -> int:
    """The first of this grader's sandbox users: random per grader process, a block of
    :data:`UIDS_PER_GRADER` (its workers take the next ones). RLIMIT_NPROC counts a user's processes across
    the whole machine, containers included, and the container mode clears a kernel's leftovers by user: two
    graders on one machine (two batches, two containers, two CI jobs) must never share a user."""
    return UIDS_FROM + secrets.randbelow(UIDS_SPAN // UIDS_PER_GRADER) * UIDS_PER_GRADER


@dataclass(frozen=True)
class Policy:
    """Limits for one submission's kernel."""

    uid: int = field(default_factory=grader_uid_base)
    gid: int = field(default_factory=grader_uid_base)
    memory_bytes: int = 4 * 2**30
    cpu_seconds: int = 600
    processes: int = 64
    file_bytes: int = 64 * 2**20
    open_files: int = 512
    scratch_bytes: int = 256 * 2**20
    tmp_bytes: int = 64 * 2**20
    shm_bytes: int = 64 * 2**20
    ipc_bytes: int = 1 * 2**20
    group_memory_bytes: int = 3 * 2**30
    """All processes of the kernel together (cgroup), swap included. The modules the kernel shares with
    its template are charged to the template, not here: a cold kernel had about as much left of 4 GiB."""
    group_processes: int = 64
    cpus: float = 1.0
    """CPU bandwidth of the whole kernel: one core's worth."""
    written_bytes: int = 384 * 2**20
    """All files the kernel's user owns together, where no sized tmpfs holds them (the container mode): as much as
    the namespaces mode's /scratch, /tmp and /dev/shm together."""
    written_entries: int = 100_000
    """Files and folders the kernel's user owns, the same way: so that weighing them stays cheap."""

    def group_limits(self) -> cgroups.Limits:
        return cgroups.Limits(self.group_memory_bytes, self.group_processes, self.cpus)


def _python_roots() -> list[Path]:
    """Folders the kernel's interpreter needs: the environment and the base installation."""
    roots = {Path(sys.prefix).resolve(), Path(sys.base_prefix).resolve()}
    return sorted(r for r in roots if not str(r).startswith("/usr"))


def _package_dir() -> Path:
    """The whole d2lgrade package (the kernel imports the student's checks and the probe from it)."""
    return Path(__file__).resolve().parents[1]


CONFINEMENT_VARIABLE = "D2LGRADE_SANDBOX"


def check_available(policy: Policy = Policy()) -> str:
    """The confinement this machine allows (``"namespaces"`` or ``"container"``); raise
    :class:`SandboxUnavailable` with the remedy if neither can run here."""
    if os.geteuid() != 0:
        raise SandboxUnavailable("the grader must run as root to start kernels as the unprivileged sandbox user")
    if seccomp_program() is None:
        raise SandboxUnavailable(f"the seccomp filter cannot be built: install python3-seccomp (apt-get install "
                                 f"python3-seccomp) so that {SYSTEM_PYTHON} can import seccomp")
    enclosure = confinement(policy)
    if enclosure == "container":
        check_reachable(policy)
    return enclosure


def check_reachable(policy: Policy) -> None:
    """The container mode has no mount namespace: the kernel's user reads the environment and the package where
    they are, so no folder on the way may be private (raise :class:`SandboxUnavailable` naming it)."""
    for root in (*_python_roots(), _package_dir()):
        private = _private_parent(root)
        if private is not None:
            raise SandboxUnavailable(
                f"{root} is not readable by the sandbox's user (uid {policy.uid}): {private} is private. "
                f"Let others enter it (`chmod o+x {private}`) or put the course and its .venv elsewhere.")


@functools.cache
def confinement(policy: Policy) -> str:
    """Namespaces where bubblewrap can build them; else the container mode, said once in the log."""
    forced = os.environ.get(CONFINEMENT_VARIABLE, "")
    if forced not in ("", "namespaces", "container"):
        raise SandboxUnavailable(f"{CONFINEMENT_VARIABLE}={forced!r}: use 'namespaces', 'container' or leave it unset")
    if forced == "container":
        return forced
    problem = _namespaces_problem(policy)
    if problem is None:
        _warn_once_without_cgroups(policy)
        return "namespaces"
    if forced == "namespaces":
        raise SandboxUnavailable(problem)
    LOG.warning("%s: grading in container mode (the kernel as its own user, with rlimits and the seccomp filter; "
                "see autograder/README.md)", problem)
    return "container"


def _namespaces_problem(policy: Policy) -> str | None:
    if shutil.which("bwrap") is None:
        return "bubblewrap is not installed (apt-get install bubblewrap)"
    probe = subprocess.run(holder_command(policy, Path("/nonexistent"), 1, ["/usr/bin/true"]),
                           capture_output=True, text=True, timeout=60)
    if probe.returncode != 0:
        return f"bubblewrap cannot build namespaces here ({probe.stderr.strip()[:200]})"
    return None


@functools.cache
def _warn_once_without_cgroups(policy: Policy) -> None:
    group = cgroups.Cgroup.create(policy.group_limits())
    if group is None:
        LOG.warning("cgroups are not writable here: memory, processes and CPU are capped per process (rlimits), "
                    "not for the sandbox as a whole")
    else:
        group.destroy()


@functools.cache
def seccomp_program(no_network: bool = False, no_queues: bool = False) -> Path | None:
    """The filter's BPF, built once per grader process into a private file (None: cannot be built).
    ``no_network``: sockets other than Unix ones refused too (the container mode); ``no_queues``: POSIX message
    queues refused (the container mode where no mqueue filesystem lists them)."""
    source = Path(__file__).with_name("seccomp_filter.py")
    flags = [*(["--no-network"] if no_network else []), *(["--no-queues"] if no_queues else [])]
    try:
        bpf = subprocess.run([SYSTEM_PYTHON, "-I", str(source), *flags], capture_output=True, timeout=60,
                             check=True).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    if not bpf or len(bpf) % 8:
        return None
    fd, path = tempfile.mkstemp(prefix="d2lgrade-seccomp-", suffix=".bpf")
    with os.fdopen(fd, "wb") as f:
        f.write(bpf)
    os.chmod(path, 0o644)
    return Path(path)


def _private_parent(path: Path) -> Path | None:
    """The first folder on the way to ``path`` (or ``path`` itself) that other users cannot pass (or read); None
    when there is none. In the namespaces' confinement the holder binds what the kernel needs under fresh
    0755 folders, so only the container mode needs the path open as it is."""
    for part in (*reversed(path.parents), path):
        mode = part.stat().st_mode
        if not (mode & stat.S_IXOTH and (mode & stat.S_IROTH or part != path)):
            return part
    return None


def holder_command(policy: Policy, shared: Path, info_fd: int, command: list[str]) -> list[str]:
    """bubblewrap, run as root, building a new sandbox's namespaces and mounts around ``command``: the
    *holder*, whose namespaces a warm kernel joins (:mod:`d2lgrade.sandbox.enter`). bubblewrap writes the
    host pid of the namespace's first process on ``info_fd``."""
    binds: list[str] = []
    package = _package_dir()
    for folder in _parents([*_python_roots(), package]):  # bubblewrap, as root, would make them 0700
        binds += ["--perms", "0755", "--dir", str(folder)]
    for root in _python_roots():
        binds += ["--ro-bind", str(root), str(root)]
    binds += ["--ro-bind", str(package), str(package)]
    if shared.exists():
        binds += ["--bind", str(shared), str(shared),
                  "--ro-bind", str(shared / "hosts"), "/etc/hosts", "--ro-bind", str(shared / "passwd"), "/etc/passwd"]
    return [
        "bwrap", "--unshare-ipc", "--unshare-net", "--unshare-uts", "--die-with-parent",
        "--new-session", "--info-fd", str(info_fd),
        "--ro-bind", "/usr", "/usr", "--symlink", "usr/lib", "/lib", "--symlink", "usr/lib64", "/lib64",
        "--symlink", "usr/bin", "/bin", "--symlink", "usr/sbin", "/sbin",
        "--dir", "/proc", "--dev", "/dev",
        "--perms", "1777", "--size", str(policy.shm_bytes), "--tmpfs", "/dev/shm", "--remount-ro", "/dev",
        "--perms", "1777", "--size", str(policy.tmp_bytes), "--tmpfs", "/tmp",
        *binds,
        "--perms", "1777", "--size", str(policy.scratch_bytes), "--tmpfs", "/scratch", "--remount-ro", "/",
        "--", *command,
    ]


HOLDING_COMMAND = ["/usr/bin/sh", "-c", "echo ready; exec /usr/bin/sleep infinity >/dev/null"]
"""What the holder runs: it says "ready" on its standard output once it runs, that is once bubblewrap has
finished the mounts (bubblewrap reports the pid on its info descriptor before that, and a kernel that
joined the mount namespace then could find no /scratch: seen under load), and then sleeps."""


def _parents(paths: list[Path]) -> list[Path]:
    """The folders above ``paths`` (outside /usr, /tmp), outermost first, each once."""
    found = {parent for path in paths for parent in path.parents if parent not in (Path("/"), Path("/tmp"))
             and not str(parent).startswith("/usr")}
    return sorted(found, key=lambda p: (len(p.parts), str(p)))


def kernel_env(home: str) -> dict[str, str]:
    return {"HOME": home, "USER": "nobody", "LOGNAME": "nobody", "PATH": f"{Path(sys.prefix)}/bin:/usr/bin:/bin",
            **KERNEL_ENV}


def kernel_rlimits(policy: Policy) -> dict[str, int]:
    return {"as": policy.memory_bytes, "cpu": policy.cpu_seconds, "nproc": policy.processes,
            "fsize": policy.file_bytes, "nofile": policy.open_files, "core": 0}


class Holder:
    """A running holder: its bubblewrap process and the host pid of a process in its namespaces."""

    def __init__(self, policy: Policy, shared: Path) -> None:
        readable, writable = os.pipe()
        try:
            self.process = subprocess.Popen(holder_command(policy, shared, writable, HOLDING_COMMAND),
                                            pass_fds=(writable,), stdin=subprocess.DEVNULL,
                                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        finally:
            os.close(writable)
        assert self.process.stdout is not None
        with os.fdopen(readable, "rb") as info, self.process.stdout as ready:
            said = info.read()
            running = ready.readline() == b"ready\n"  # EOF instead: bubblewrap failed before the command ran
        try:
            if not running:
                raise ValueError("the holder never started")
            self.pid = int(json.loads(said)["child-pid"])
        except (ValueError, KeyError, TypeError):
            error = self.error()
            self.close()
            raise SandboxUnavailable(f"bubblewrap failed to build the sandbox: {error}") from None

    def error(self) -> str:
        if self.process.stderr is None:
            return ""
        return self.process.stderr.read(600).decode(errors="replace").strip()

    def close(self) -> None:
        """bubblewrap's own process, killed: everything in the namespaces dies with it (``--die-with-parent``)."""
        with contextlib.suppress(OSError):
            self.process.kill()
        self.process.wait()
        if self.process.stderr is not None:
            self.process.stderr.close()


class NamespaceEnclosure:
    """One kernel's cgroup and holder: where the ``namespaces`` confinement puts it."""

    confinement = "namespaces"
    ipc_tmpfs = True
    """Whether the IPC folder gets a tmpfs of its own (mounting needs CAP_SYS_ADMIN)."""

    def __init__(self, policy: Policy, shared: Path) -> None:
        self.group = cgroups.Cgroup.create(policy.group_limits())
        try:
            self.holder = Holder(policy, shared)
        except BaseException:
            if self.group is not None:
                self.group.destroy()
            raise

    def entry(self, policy: Policy, argv: tuple[str, ...], seccomp: bytes) -> Entry:
        procs = tuple(str(p) for p in (self.group.procs_files if self.group else ()))
        return Entry(confinement=self.confinement, holder=self.holder.pid, procs_files=procs, uid=policy.uid,
                     gid=policy.gid, rlimits=kernel_rlimits(policy), env=kernel_env("/scratch"), cwd="/scratch",
                     argv=argv, seccomp=seccomp)

    def kernel_started(self, pid: int) -> None:
        """Nothing to learn: the cgroup counts the kernel whoever reaps its processes."""

    def stopped_because(self) -> str | None:
        """Nothing stops this kernel but the limits the executor watches itself (its tmpfs sizes bound files)."""
        return None

    def stop_if_over(self) -> bool:
        """Nothing to check between cells: a full tmpfs refuses the write itself."""
        return False

    def close(self) -> None:
        if self.group is not None:
            self.group.destroy()
        self.holder.close()


class ContainerEnclosure:
    """One kernel's scratch folder and its user's processes, files and IPC objects: the ``container``
    confinement. Its CPU time and processes are counted by a cgroup where one can be made, else by user
    (:mod:`d2lgrade.sandbox.userprocs`); its files are bounded in total by a :class:`DiskWatch`."""

    confinement = "container"
    ipc_tmpfs = False

    def __init__(self, policy: Policy, shared: Path) -> None:
        self.user = UserProcesses(policy.uid, policy.gid, policy.processes)
        self.user.destroy()  # nothing an earlier kernel of this user left (even a crashed grader's) survives
        self.scratch = Path(tempfile.mkdtemp(prefix="d2lgrade-scratch-"))
        os.chown(self.scratch, policy.uid, policy.gid)
        self.user.places = (self.scratch,)
        self.cgroup = cgroups.Cgroup.create(policy.group_limits())
        self.group: cgroups.Cgroup | UserProcesses = self.cgroup or self.user
        self.disk = DiskWatch(policy.uid, self.user.writable_places, self.user.pids,
                              functools.partial(kill_all, policy.uid, policy.gid),
                              Weight(policy.written_bytes, policy.written_entries)).start()

    def entry(self, policy: Policy, argv: tuple[str, ...], seccomp: bytes) -> Entry:
        procs = tuple(str(p) for p in (self.cgroup.procs_files if self.cgroup else ()))
        return Entry(confinement=self.confinement, holder=0, procs_files=procs, uid=policy.uid, gid=policy.gid,
                     rlimits=kernel_rlimits(policy), env=kernel_env(str(self.scratch)), cwd=str(self.scratch),
                     argv=argv, seccomp=seccomp)

    def kernel_started(self, pid: int) -> None:
        self.user.kernel_started(pid)

    def stop_if_over(self) -> bool:
        """Weigh the files once more as a cell ends: a cell that wrote past the bound faster than the watcher's scan
        is the one stopped (and not replayed after the restart), not whichever cell happens to run next."""
        return self.disk.check_now()

    def stopped_because(self) -> str | None:
        if self.disk.fired:
            bound = self.disk.bound
            return (f"writing more than {bound.bytes // 2**20} MiB of files (or {bound.entries} files and folders) "
                    "in all, the limit for a notebook's files")
        return None

    def close(self) -> None:
        self.disk.stop()
        if self.cgroup is not None:
            self.cgroup.destroy()
        self.user.destroy()
        shutil.rmtree(self.scratch, ignore_errors=True)


ENCLOSURES: dict[str, type[NamespaceEnclosure] | type[ContainerEnclosure]] = {
    "namespaces": NamespaceEnclosure, "container": ContainerEnclosure}


class ForkedKernel:
    """What jupyter_client's provisioner needs of a kernel process (poll, wait, signals), for a kernel the
    template forked: the grader is not its parent, so it watches a pidfd instead."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.stdin = self.stdout = self.stderr = None
        self.returncode: int | None = None
        try:
            self.pidfd: int | None = os.pidfd_open(pid)
        except ProcessLookupError:
            self.pidfd, self.returncode = None, -signal.SIGKILL

    def poll(self) -> int | None:
        if self.returncode is None and self.pidfd is not None and select.select([self.pidfd], [], [], 0)[0]:
            self.returncode = -signal.SIGKILL  # its monitor reaps it; the status is not ours to read
            os.close(self.pidfd)
            self.pidfd = None
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        if self.pidfd is not None:
            select.select([self.pidfd], [], [], timeout)
        code = self.poll()
        if code is None:
            raise subprocess.TimeoutExpired(["kernel"], timeout or 0)
        return code

    def send_signal(self, sig: int) -> None:
        if self.poll() is None and self.pidfd is not None:
            signal.pidfd_send_signal(self.pidfd, sig)

    def kill(self) -> None:
        self.send_signal(signal.SIGKILL)

    def terminate(self) -> None:
        self.send_signal(signal.SIGTERM)


class WarmProvisioner(LocalProvisioner):  # type: ignore[misc]
    """Launches the kernel by asking the manager's template to fork one into a new holder."""

    async def launch_kernel(self, cmd: list[str], **kwargs: Any) -> Any:
        self.process = self.parent.launch_forked()
        self.pid, self.pgid = self.process.pid, None
        return self.connection_info

    async def wait(self) -> int | None:
        """Until the kernel is gone, watching its pidfd (jupyter_client polls every 0.1 s)."""
        code = 0
        if self.process is not None:
            while (code := self.process.poll()) is None:
                await asyncio.sleep(0.005)
            self.process = None
        return code


HOSTS = b"127.0.0.1 localhost\n::1 localhost\n"


def passwd(policy: Policy) -> bytes:
    return f"nobody:x:{policy.uid}:{policy.gid}:nobody:/scratch:/usr/sbin/nologin\n".encode()


class SandboxedKernelManager(QuietKernelManager):
    """A KernelManager whose kernel starts inside the sandbox, in its own cgroup, and talks over IPC
    sockets in a small tmpfs of its own."""

    def __init__(self, policy: Policy, template: Template, enclosure: str = "namespaces", **kwargs: Any) -> None:
        self.enclosure_type = ENCLOSURES[enclosure]
        self.shared = Path(tempfile.mkdtemp(prefix="d2lgrade-ipc-"))
        self.mounted = self.enclosure_type.ipc_tmpfs and _mount_tmpfs(self.shared, policy.ipc_bytes)
        (self.shared / "hosts").write_bytes(HOSTS)
        (self.shared / "passwd").write_bytes(passwd(policy))
        self.shared.chmod(0o1777)  # the sandbox user creates its sockets here; sticky: it cannot remove ours
        super().__init__(kernel_name="python3", transport="ipc", ip=str(self.shared / "kernel"),
                         connection_file=str(self.shared / "connection.json"), **kwargs)
        self.policy, self.template = policy, template
        self.enclosure: NamespaceEnclosure | ContainerEnclosure | None = None

    @property
    def group(self) -> cgroups.Cgroup | UserProcesses | None:
        """What counts the kernel's CPU time and processes (:class:`d2lgrade.sandbox.cpuwatch.CpuWatch`)."""
        return self.enclosure.group if self.enclosure is not None else None

    def stopped_because(self) -> str | None:
        """Why the sandbox itself stopped the kernel (a limit no rlimit holds), for the executor's message."""
        return self.enclosure.stopped_because() if self.enclosure is not None else None

    def stop_if_over(self) -> bool:
        """After a cell ran to its end: stop the kernel if what it left is past a bound the sandbox watches."""
        return self.enclosure.stop_if_over() if self.enclosure is not None else False

    def write_connection_file(self, **kwargs: Any) -> None:
        super().write_connection_file(**kwargs)
        os.chmod(self.connection_file, 0o644)  # jupyter_client writes it 0600; the kernel is another user

    async def _async_pre_start_kernel(self, **kw: Any) -> tuple[list[str], dict[str, Any]]:
        self.kernel_id = self.kernel_id or kw.pop("kernel_id", str(uuid.uuid4()))
        self.provisioner = WarmProvisioner(kernel_id=self.kernel_id, kernel_spec=self.kernel_spec, parent=self)
        return await super()._async_pre_start_kernel(**kw)

    def launch_forked(self) -> ForkedKernel:
        """A new enclosure (cgroup and holder, or scratch folder), and a kernel forked from the template into it."""
        self._drop_sandbox()
        self.enclosure = self.enclosure_type(self.policy, self.shared)
        entry = self.enclosure.entry(self.policy, kernel_argv(Path(self.connection_file)), self.template.seccomp)
        kernel = ForkedKernel(self.template.spawn(entry))
        self.enclosure.kernel_started(kernel.pid)
        return kernel

    async def _async_interrupt_kernel(self) -> None:
        """As a message on the control channel: a signal would reach bubblewrap, which does not forward it."""
        if not self.has_kernel:
            raise RuntimeError("Cannot interrupt kernel. No kernel is running!")
        msg = self.session.msg("interrupt_request", content={})
        self._connect_control_socket()
        self.session.send(self._control_socket, msg)

    interrupt_kernel = _async_interrupt_kernel

    async def _async_wait(self, pollinterval: float = 0.005) -> None:
        """Until a killed kernel is gone: its pidfd answers at once, jupyter_client's 0.1 s polls added 0.1 s
        to every submission."""
        await super()._async_wait(pollinterval)

    def _drop_sandbox(self) -> None:
        if self.enclosure is not None:
            enclosure, self.enclosure = self.enclosure, None
            enclosure.close()

    async def _async_cleanup_resources(self, restart: bool = False) -> None:
        await super()._async_cleanup_resources(restart=restart)
        self._drop_sandbox()
        if not restart:
            if self.mounted:
                subprocess.run(["umount", "-l", str(self.shared)], capture_output=True, check=False)
                self.mounted = False
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


@functools.cache
def process_template(seccomp: bytes) -> Template:
    """One template per grader process, whatever number of assignments or factories it uses: the
    template holds nothing of theirs (each kernel's sandbox comes with its request)."""
    return Template(seccomp)


def sandboxed_kernel_factory(policy: Policy = Policy()) -> Any:
    """A kernel factory for :func:`d2lgrade.sandbox.execute.run` that confines the kernel (in the confinement this
    machine allows): warm kernels forked by the process's template, started on first use."""
    enclosure = confinement(policy)
    container = enclosure == "container"
    if container:
        check_reachable(policy)
    program = seccomp_program(no_network=container, no_queues=container and queue_folder() is None)
    if program is None:
        raise SandboxUnavailable("the seccomp filter cannot be built: install python3-seccomp")
    template = process_template(program.read_bytes())

    def factory() -> SandboxedKernelManager:
        return SandboxedKernelManager(policy, template, enclosure)

    factory.template = template  # type: ignore[attr-defined]
    return factory
