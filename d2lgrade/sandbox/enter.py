"""How a kernel forked from the warm template (:mod:`d2lgrade.sandbox.template`) enters its own sandbox.

The template is a trusted root process that has imported the heavy modules once. For each kernel
it forks a child that is PID 1 of a new PID namespace and joins the namespaces of a fresh bubblewrap
*holder* (new mount, network, IPC and UTS namespaces with their own tmpfs scratch, built by bubblewrap
for this kernel alone), and takes the steps of :data:`ENTER_STEPS` in order, each one irreversible, before any student code runs:
its own cgroup, its own cgroup namespace, no inherited descriptors, rlimits, an unprivileged user
with no capabilities, ``no_new_privs``, the seccomp filter, and an interpreter state as a fresh
process would have it. A step that fails ends the child: no kernel starts half-confined.

Where namespaces cannot be made (a container without CAP_SYS_ADMIN, as Docker runs them), the
*container* confinement (:data:`CONFINEMENTS`) takes the steps that need none: a private scratch
folder, rlimits, the kernel's own user, ``no_new_privs`` and a seccomp filter that also refuses
every socket but a Unix one (no network without a network namespace).
"""

from __future__ import annotations

import ctypes
import importlib
import os
import random
import resource
import signal
import sys
from collections.abc import Callable
from dataclasses import dataclass, field

CLONE_NEWCGROUP = 0x02000000
NAMESPACES = {"ipc": 0x08000000, "uts": 0x04000000, "net": 0x40000000, "mnt": 0x00020000}
"""The holder's namespaces, joined by the kernel itself, mount last (after it, host paths are gone)."""
CLONE_NEWPID = 0x20000000
"""The kernel's PID namespace is its own: its parent unshares one (that applies to children only) and
forks it as PID 1, as ``bwrap --as-pid-1`` would."""
MS_NOSUID, MS_NODEV, MS_NOEXEC = 2, 4, 8
PR_SET_PDEATHSIG = 1
PR_SET_DUMPABLE = 4
PR_SET_NO_NEW_PRIVS = 38
PR_SET_SECCOMP = 22
SECCOMP_MODE_FILTER = 2


@dataclass(frozen=True)
class Entry:
    """Everything one kernel needs to enter its sandbox: plain data, sent by the grader."""

    confinement: str
    """Which of :data:`CONFINEMENTS`: ``"namespaces"`` or ``"container"``."""
    holder: int
    """Host pid of a process inside the holder's namespaces (0: no holder, the container confinement)."""
    procs_files: tuple[str, ...]
    uid: int
    gid: int
    rlimits: dict[str, int]
    env: dict[str, str]
    cwd: str
    argv: tuple[str, ...]
    seccomp: bytes = field(default=b"", repr=False)


@dataclass
class Passage:
    """What the steps carry between them: the holder's namespaces, and where a failure is reported."""

    ns: dict[str, int]
    report: int


class EntryFailed(RuntimeError):
    """A step could not be taken: the kernel must not start."""


_LIBC = ctypes.CDLL(None, use_errno=True)


def _check(result: int, what: str) -> None:
    if result != 0:
        err = ctypes.get_errno()
        raise EntryFailed(f"{what}: {os.strerror(err)}")


def setns(fd: int, kind: int, what: str) -> None:
    _check(_LIBC.setns(fd, kind), f"setns({what})")


def open_namespaces(holder: int) -> dict[str, int]:
    """Descriptors of the holder's namespaces, opened while /proc is still the host's."""
    return {name: os.open(f"/proc/{holder}/ns/{name}", os.O_RDONLY | os.O_CLOEXEC) for name in NAMESPACES}


def join_cgroup(entry: Entry, passage: Passage) -> None:
    for procs in entry.procs_files:
        with open(procs, "w") as f:  # "0": the writing process itself
            f.write("0")


def enter_namespaces(entry: Entry, passage: Passage) -> None:
    for name, kind in NAMESPACES.items():
        setns(passage.ns[name], kind, name)
    for fd in passage.ns.values():
        os.close(fd)
    os.chdir(entry.cwd)


def unshare(flags: int, what: str) -> None:
    _check(_LIBC.unshare(flags), f"unshare({what})")


def mount_proc(entry: Entry, passage: Passage) -> None:
    """/proc of the kernel's own PID namespace, on the holder's empty /proc: no other process is visible."""
    _check(_LIBC.mount(b"proc", b"/proc", b"proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, None), "mount(/proc)")


def new_cgroup_namespace(entry: Entry, passage: Passage) -> None:
    """Rooted at the kernel's own cgroup: the host's hierarchy is not visible."""
    unshare(CLONE_NEWCGROUP, "cgroup")


def enter_scratch(entry: Entry, passage: Passage) -> None:
    """The kernel's private working folder (the container confinement: no holder's mount namespace)."""
    os.chdir(entry.cwd)


def offer_to_oom_killer(entry: Entry, passage: Passage) -> None:
    """When memory runs out for the machine or container as a whole, the kernel is killed, not its grader."""
    with open("/proc/self/oom_score_adj", "w") as f:
        f.write("1000")


def quiet_stdio(entry: Entry, passage: Passage) -> None:
    """Standard streams to /dev/null (the sandbox's): what cells print reaches the notebook over ZeroMQ."""
    null = os.open("/dev/null", os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(null, fd)
    os.close(null)


def close_descriptors(entry: Entry, passage: Passage) -> None:
    """Nothing the template held open (its pipe to the grader included) reaches the kernel; the report
    pipe stays until the last step is done."""
    top = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
    os.closerange(3, passage.report)
    os.closerange(passage.report + 1, max(top, passage.report + 1))


def set_rlimits(entry: Entry, passage: Passage) -> None:
    for name, value in entry.rlimits.items():
        resource.setrlimit(getattr(resource, f"RLIMIT_{name.upper()}"), (value, value))


def drop_privileges(entry: Entry, passage: Passage) -> None:
    """The unprivileged user, no groups: changing every uid away from root clears all capabilities."""
    os.setgroups([])
    os.setresgid(entry.gid, entry.gid, entry.gid)
    os.setresuid(entry.uid, entry.uid, entry.uid)
    with open("/proc/self/status") as f:
        status = dict(line.split(":", 1) for line in f.read().splitlines() if ":" in line)
    if int(status["CapEff"], 16) or int(status["CapPrm"], 16) or os.getuid() != entry.uid:
        raise EntryFailed("capabilities survived the change of user")
    # A change of user makes the process non-dumpable (its /proc/self owned by root); an ordinary process
    # of this user is dumpable, and ptrace, the one thing that flag guards, is denied by the seccomp filter.
    _check(_LIBC.prctl(PR_SET_DUMPABLE, 1, 0, 0, 0), "prctl(dumpable)")


def die_with_parent(entry: Entry, passage: Passage) -> None:
    """SIGKILL when the monitor dies (set after the change of user, which clears it)."""
    _check(_LIBC.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0), "prctl(pdeathsig)")


def forbid_privileges(entry: Entry, passage: Passage) -> None:
    """``no_new_privs``: no setuid program or file capability can give anything back."""
    _check(_LIBC.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), "prctl(no_new_privs)")


class _SockFprog(ctypes.Structure):
    _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_void_p)]


def load_seccomp(entry: Entry, passage: Passage) -> None:
    """The filter of :mod:`d2lgrade.sandbox.seccomp_filter`, for this thread, which is the process's only one."""
    if len(os.listdir("/proc/self/task")) != 1:
        raise EntryFailed("the kernel has more than one thread before its seccomp filter")
    if not entry.seccomp or len(entry.seccomp) % 8:
        raise EntryFailed("no seccomp program")
    program = ctypes.create_string_buffer(entry.seccomp, len(entry.seccomp))
    fprog = _SockFprog(len(entry.seccomp) // 8, ctypes.cast(program, ctypes.c_void_p))
    _check(_LIBC.prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, ctypes.byref(fprog), 0, 0), "seccomp")


def fresh_interpreter(entry: Entry, passage: Passage) -> None:
    """What a new process would have: its environment, arguments, default signals, fresh random seeds,
    no cached listings of host folders."""
    os.environ.clear()
    os.environ.update(entry.env)
    sys.argv = list(entry.argv)
    for sig in (signal.SIGCHLD, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGPIPE, signal.SIG_IGN)  # as Python sets it at start-up
    sys.path_importer_cache.clear()
    importlib.invalidate_caches()
    reseed()


def reseed() -> None:
    """Python's, NumPy's and MXNet's generators seeded afresh from the system's entropy: a forked kernel would
    otherwise draw what its template's next draw would be, the same in every kernel. A task that fixes a seed
    fixes it in its own code, after this. The hash seed cannot change once the interpreter runs (every dict of
    the template holds hashes made with it): it is the template's, random per template process."""
    random.seed()
    numpy = sys.modules.get("numpy")
    if numpy is not None:
        numpy.random.seed()
    mxnet = sys.modules.get("mxnet")
    if mxnet is not None:
        mxnet.random.seed(int.from_bytes(os.urandom(4), "little"))


MESSAGE_BYTES = 128 * 2**20
"""The largest message the grader reads (:attr:`d2lgrade.sandbox.execute.Limits.message_bytes`): ZeroMQ drops a
bigger one by closing the connection, and the outputs sent after it, answer reports included, could be lost."""


def cap_messages(entry: Entry, passage: Passage) -> None:
    """A message bigger than the grader reads (a huge print, or many prints flushed together: how many depends on
    when ipykernel's output thread flushes) is sent as a short notice instead, so the connection stays up and the
    verdict does not depend on the clock. Code that undoes this only loses its own outputs."""
    from jupyter_client.session import Session

    serialize = Session.serialize

    def capped(self: Session, msg: dict, ident: object = None) -> list[bytes]:
        frames = serialize(self, msg, ident)
        if max(map(len, frames)) <= MESSAGE_BYTES:
            return frames
        return serialize(self, {**msg, "content": _notice(msg)}, ident)

    Session.serialize = capped


def _notice(msg: dict) -> dict:
    text = f"[output truncated: a message over the {MESSAGE_BYTES // 2**20} MiB limit]\n"
    content = msg.get("content") if isinstance(msg.get("content"), dict) else {}
    if msg.get("header", {}).get("msg_type") == "stream":
        return {"name": content.get("name", "stdout"), "text": text}
    return {"data": {"text/plain": text}, "metadata": {}, "execution_count": content.get("execution_count")}


Step = Callable[[Entry, Passage], None]
BECOME_THE_USER: tuple[Step, ...] = (
    offer_to_oom_killer,
    quiet_stdio,
    close_descriptors,
    set_rlimits,
    drop_privileges,
    die_with_parent,
    forbid_privileges,
    load_seccomp,
    fresh_interpreter,
    cap_messages,
)
"""The steps both confinements end with, in order: privileges go before the filter, which forbids setns."""

ENTER_STEPS: tuple[Step, ...] = (join_cgroup, enter_namespaces, mount_proc, new_cgroup_namespace, *BECOME_THE_USER)
"""The cgroup and the namespaces first: they need root."""

CONTAINER_STEPS: tuple[Step, ...] = (join_cgroup, enter_scratch, *BECOME_THE_USER)
"""The steps that need no namespace: what a container without CAP_SYS_ADMIN allows."""


def prepare_namespaces(entry: Entry) -> dict[str, int]:
    """In the monitor, before it forks the kernel: the holder's namespaces opened, a PID namespace made."""
    ns = open_namespaces(entry.holder)
    unshare(CLONE_NEWPID, "pid")
    return ns


PR_SET_CHILD_SUBREAPER = 36


def become_subreaper(entry: Entry) -> dict[str, int]:
    """The monitor reaps whatever the kernel orphans (a double fork), not init: the time of those processes
    is then counted in the monitor's children's time (:class:`d2lgrade.sandbox.userprocs.Reaper`), which survives
    their end. (Without a PID namespace, the kernel is not the reaper of its own orphans.)"""
    _check(_LIBC.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0), "prctl(child_subreaper)")
    return {}


@dataclass(frozen=True)
class Confinement:
    """How a kernel is confined: what its monitor prepares, then the kernel's own steps, in order."""

    prepare: Callable[[Entry], dict[str, int]]
    steps: tuple[Step, ...]


CONFINEMENTS = {
    "namespaces": Confinement(prepare_namespaces, ENTER_STEPS),
    "container": Confinement(become_subreaper, CONTAINER_STEPS),
}


def enter(entry: Entry, passage: Passage) -> None:
    for step in CONFINEMENTS[entry.confinement].steps:
        step(entry, passage)


def run_kernel() -> None:
    """The IPython kernel, as ``python -m ipykernel_launcher -f CONNECTION`` would run it (from sys.argv)."""
    from ipykernel import kernelapp

    kernelapp.launch_new_instance()
