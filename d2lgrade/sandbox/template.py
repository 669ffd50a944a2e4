"""Warm kernels, fresh per submission: a template process forks one kernel per submission.

Starting a kernel costs a new Python, IPython and MXNet each time (about 3 s of CPU); grading a
short notebook costs less than that. The template is started once per grader process, as root and
outside any sandbox; it runs only trusted code: it imports :data:`PRELOAD` and then waits for
requests on its standard input. For each request (an :class:`~d2lgrade.sandbox.enter.Entry`, as JSON) it
forks a *monitor*, which makes a new PID namespace and forks the kernel as its PID 1; the kernel
takes :data:`d2lgrade.sandbox.enter.ENTER_STEPS` and only then runs IPython. The monitor reports the
kernel's pid and waits for it. Kernels never outlive their grader: the template kills them when
the grader's pipe closes (even on SIGKILL), and each kernel dies with its monitor, which dies with
the template (parent-death signals).

The template never sees a submission, a reference or a result: what a kernel inherits from it is
the state of freshly imported modules, copied on write, so nothing one submission does is visible
to the next (tests/test_warm.py tries).
"""

from __future__ import annotations

import base64
import contextlib
import ctypes
import importlib
import json
import os
import select
import signal
import subprocess
import sys
import tempfile
import threading
from dataclasses import asdict
from pathlib import Path
from typing import IO

from d2lgrade.sandbox import enter
from d2lgrade.sandbox.faults import GraderFault

PRELOAD = (
    "numpy", "mxnet", "mxnet.numpy", "mxnet.numpy_extension", "mxnet.autograd", "pandas",
    "ipykernel.kernelapp", "ipykernel.ipkernel", "ipykernel.zmqshell", "IPython.core.completer",
    "jupyter_client.session", "d2lgrade.student", "d2lgrade.judging.probe", "d2lgrade.judging.plain",
    # what IPKernelApp imports as it starts (its debugger among them): half of a warm start otherwise
    "ipykernel.debugger", "IPython.core.history", "IPython.extensions", "sqlite3", "pdb", "pydoc", "runpy",
    "faulthandler", "tornado.queues", "http.server", "xmlrpc.server", "encodings.latin_1",
)
"""What every kernel imports or is likely to: MXNet alone is about 1.7 s of a cold start."""

KERNEL_ENV = {
    "MPLBACKEND": "Agg", "PYTHONDONTWRITEBYTECODE": "1", "OMP_NUM_THREADS": "1",
    "MXNET_CPU_WORKER_NTHREADS": "1", "MXNET_ENGINE_TYPE": "NaiveEngine",
}
"""Set before the imports, as they read it. MXNet's NaiveEngine runs operators in the calling thread:
the template stays single-threaded, so a forked kernel has one thread when its seccomp filter loads."""

PR_SET_PDEATHSIG = 1
PR_SET_CHILD_SUBREAPER = 36
_LIBC = ctypes.CDLL(None, use_errno=True)


class TemplateFailed(GraderFault):
    """The template could not start or could not fork a kernel."""


# --- the template process ------------------------------------------------------------------------


def serve(requests: IO[bytes], replies: IO[bytes]) -> None:
    """One JSON line in (an Entry), one JSON line out (``{"pid": N}`` or ``{"error": "..."}``). When the
    grader goes (its end of the pipe closes, even on SIGKILL), every kernel still running goes too."""
    kernels: list[int] = []  # pidfds
    try:
        for line in requests:
            try:
                entry = _entry_from_json(line)
                pid = spawn(entry)
                kernels = [fd for fd in kernels if _alive(fd)] + [os.pidfd_open(pid)]
                reply: dict[str, object] = {"pid": pid}
            except (OSError, ValueError, TypeError, KeyError, enter.EntryFailed, TemplateFailed) as exc:
                reply = {"error": f"{type(exc).__name__}: {exc}"}
            replies.write(json.dumps(reply).encode() + b"\n")
            replies.flush()
    finally:
        for fd in kernels:
            with contextlib.suppress(OSError):
                signal.pidfd_send_signal(fd, signal.SIGKILL)  # PID 1 of its namespace: its processes go with it


def _alive(pidfd: int) -> bool:
    if select.select([pidfd], [], [], 0)[0]:
        os.close(pidfd)
        return False
    return True


def _entry_from_json(line: bytes) -> enter.Entry:
    data = json.loads(line)
    data["seccomp"] = base64.b64decode(data["seccomp"])
    data["procs_files"] = tuple(data["procs_files"])
    data["argv"] = tuple(data["argv"])
    return enter.Entry(**data)


def spawn(entry: enter.Entry) -> int:
    """Fork the monitor; it forks the kernel into a new PID namespace and sends back its pid."""
    readable, writable = os.pipe()
    template = os.getpid()
    monitor = os.fork()
    if monitor == 0:
        os.close(readable)
        _monitor(entry, writable, template)  # never returns
    os.close(writable)
    with os.fdopen(readable, "rb") as pipe:
        said = pipe.read(4096).decode(errors="replace")
    if not said.startswith("pid "):
        raise TemplateFailed(said or "the monitor died before the kernel started")
    return int(said.split()[1])


def _monitor(entry: enter.Entry, report: int, template: int) -> None:
    """The kernel's parent for its whole life: dies with the template (and the kernel with it), reaps the
    kernel (and, in the container mode, its orphans). Never returns."""
    ok = False
    try:
        _LIBC.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        if os.getppid() != template:  # the template died before the line above
            os._exit(1)
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        ns = enter.CONFINEMENTS[entry.confinement].prepare(entry)
        steps_r, steps_w = os.pipe()
        kernel = os.fork()
        if kernel == 0:
            os.close(steps_r)
            _kernel(entry, ns, steps_w)
        os.close(steps_w)
        for fd in ns.values():
            os.close(fd)
        with os.fdopen(steps_r, "rb") as pipe:  # "ok" once the kernel got through every step
            said = pipe.read(4096).decode(errors="replace")
        ok = said == "ok"
        os.write(report, (f"pid {kernel}" if ok else f"error {said or 'the kernel died entering its sandbox'}").encode())
    except BaseException as exc:  # noqa: BLE001 - reported to the grader, never raised in the template's copy
        with contextlib.suppress(OSError):
            os.write(report, f"error {type(exc).__name__}: {exc}".encode())
    os.close(report)
    if ok:
        _let_go_of_the_template()
        _reap_all()
    os._exit(0)


WALL = 0x40000000
"""``__WALL``: children whatever signal they send at their end."""


def _reap_all() -> None:
    """Reap the kernel and whatever it orphaned to us (the container mode's monitor is a subreaper), until no
    child is left: each one's time joins ours, where :class:`d2lgrade.sandbox.userprocs.Reaper` reads it."""
    while True:
        try:
            os.waitpid(-1, WALL)
        except ChildProcessError:
            return
        except InterruptedError:
            continue


def _let_go_of_the_template() -> None:
    """The monitor keeps no descriptor of the template's (its pipes to the grader among them)."""
    null = os.open("/dev/null", os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(null, fd)
    os.closerange(3, 65536)


def _kernel(entry: enter.Entry, ns: dict[str, int], report: int) -> None:
    """Take every entry step, then run IPython; a failed step is written to ``report`` and ends the
    process before any student code. Never returns."""
    try:
        enter.enter(entry, enter.Passage(ns, report))
        os.write(report, b"ok")  # fails if the monitor is gone: then so are we
        os.close(report)
    except BaseException as exc:  # noqa: BLE001
        with contextlib.suppress(OSError):
            os.write(report, f"{type(exc).__name__}: {exc}".encode())
        os._exit(70)
    try:
        enter.run_kernel()
    finally:
        os._exit(0)


def preload() -> None:
    for name in PRELOAD:
        importlib.import_module(name)


def main() -> int:
    """``python -I -m d2lgrade.sandbox.template``: started by :class:`Template`, never by hand."""
    _LIBC.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)  # a kernel whose monitor was killed is ours to reap
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # ... which the kernel does for us, as for monitors
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the grader's; our stdin closing ends us (serve)
    os.environ.update(KERNEL_ENV)
    preload()
    sys.stdout.buffer.write(b"ready\n")
    sys.stdout.buffer.flush()
    serve(sys.stdin.buffer, sys.stdout.buffer)
    return 0


# --- the grader's side ---------------------------------------------------------------------------


class Template:
    """The grader's handle on its template process: started on first use, one request at a time."""

    def __init__(self, seccomp: bytes) -> None:
        self.seccomp = seccomp
        self.process: subprocess.Popen[bytes] | None = None
        self.lock = threading.Lock()

    def _start(self) -> subprocess.Popen[bytes]:
        home = tempfile.mkdtemp(prefix="d2lgrade-template-")
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": home, **KERNEL_ENV}
        process = subprocess.Popen([sys.executable, "-I", "-m", "d2lgrade.sandbox.template"], stdin=subprocess.PIPE,
                                   stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env, cwd=home,
                                   start_new_session=True)
        assert process.stdout is not None
        if process.stdout.readline() != b"ready\n":
            process.kill()
            raise TemplateFailed("the kernel template did not start: run `python -m d2lgrade.sandbox.template` to see why")
        return process

    def spawn(self, entry: enter.Entry) -> int:
        """The host pid of a new kernel that has entered ``entry``'s sandbox."""
        data = asdict(entry)
        data["seccomp"] = base64.b64encode(entry.seccomp).decode()
        with self.lock:
            if self.process is None or self.process.poll() is not None:
                self.process = self._start()
            assert self.process.stdin is not None and self.process.stdout is not None
            try:
                self.process.stdin.write(json.dumps(data).encode() + b"\n")
                self.process.stdin.flush()
                reply = json.loads(self.process.stdout.readline() or b'{"error": "the template exited"}')
            except (OSError, ValueError) as exc:
                self.close()
                raise TemplateFailed(f"the kernel template failed: {exc}") from exc
        if "pid" not in reply:
            raise TemplateFailed(f"the kernel could not enter its sandbox: {reply.get('error')}")
        return int(reply["pid"])

    def close(self) -> None:
        if self.process is not None:
            with contextlib.suppress(OSError):
                self.process.kill()
            self.process.wait()
            self.process = None


def kernel_argv(connection_file: Path) -> tuple[str, ...]:
    return ("ipykernel_launcher", "-f", str(connection_file))


if __name__ == "__main__":
    sys.exit(main())
