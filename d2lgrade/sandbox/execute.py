"""Run a submission's cells and the probes in a fresh kernel; collect plain answers.

Test cells are not run: they are judged outside. Each probe runs in its own cell after the
student's cells, under the per-cell time limit, so one question that loops or crashes costs only
that question. The kernel comes from ``kernel_factory``: :mod:`d2lgrade.sandbox.kernels` for submissions,
:func:`trusted_kernel_factory` only for the instructor's own notebooks.
"""

from __future__ import annotations

import json
import logging
import secrets
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from queue import Empty
from typing import Any

import nbformat
import zmq
from jupyter_client.asynchronous import AsyncKernelClient
from jupyter_client.connect import channel_socket_types
from jupyter_client.manager import AsyncKernelManager
from jupyter_core.utils import ensure_async, run_sync
from nbclient import NotebookClient
from nbclient.exceptions import CellTimeoutError, DeadKernelError

from d2lgrade.judging.answer_report import Invalid, validate_report
from d2lgrade.judging.plain import error_summary
from d2lgrade.judging.probe import MIME
from d2lgrade.sandbox.cpuwatch import CpuWatch
from d2lgrade.sandbox.enter import MESSAGE_BYTES
from d2lgrade.sandbox.faults import GraderFault

PROBE_TAG = "d2lgrade-probe"
_QUIET = logging.getLogger("d2lgrade.kernel")
WATCHLESS_WALL_FACTOR = 4
"""nbclient's own timeout, as a multiple of the backstop the CPU watch keeps (which does not count a cell's wait
for a CPU): for a watcher that could not run; the submission's budget still bounds it."""
_QUIET.setLevel(logging.CRITICAL)  # kernel deaths and timeouts are reported in the results, not logged


@dataclass(frozen=True)
class Limits:
    """Time and size limits for running one submission."""

    cell_seconds: int = 60
    """CPU time a cell (or a probe) may use before it is interrupted (killed and restarted if it does not
    stop); counted by the kernel's cgroup, so machine load does not change it. Without a cgroup (the
    instructor's trusted kernel) it is a wall-clock limit."""
    cell_wall_factor: int = 5
    """Wall-clock backstop per cell, as a multiple of ``cell_seconds``: for cells that wait without computing (time
    the cell's threads waited for a CPU is not counted where a CPU watch runs)."""
    submission_seconds: int = 600
    """All cells and probes of one submission, restarts included."""
    startup_seconds: int = 60
    interrupt_grace_seconds: int = 5
    """How long an interrupted kernel has to answer before it is restarted."""
    restarts: int = 5
    """Kernel restarts per submission (after a crash or a hang) before giving up."""
    output_bytes: int = 1_000_000
    """Outputs kept per student cell; the rest is dropped as it arrives."""
    total_output_bytes: int = 8_000_000
    """Outputs kept for all student cells of a submission together."""
    report_bytes: int = 64_000_000
    """Output kept per probe cell (the answer report: arrays up to the size plain.py sends)."""
    message_bytes: int = MESSAGE_BYTES
    """Largest message the grader accepts from the kernel (zmq drops bigger ones before they are read, closing the
    connection: the kernel sends a notice instead of any bigger one, :func:`d2lgrade.sandbox.enter.cap_messages`)."""


@dataclass
class Execution:
    """What running a submission produced: validated answers, reasons for missing ones, notes."""

    answers: dict[str, dict[str, Any]] = field(default_factory=dict)
    failures: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    notebook: nbformat.NotebookNode | None = None
    seconds: float = 0.0


class QuietKernelManager(AsyncKernelManager):
    """A kernel whose own stdout and stderr go nowhere: a submission writing megabytes to file
    descriptor 1 must not flood the grader's terminal (what cells print still reaches the notebook).

    Asynchronous, as nbclient needs: with a blocking client, a kernel that dies mid-cell leaves
    nbclient waiting for output forever instead of noticing the death.
    """

    async def _async_start_kernel(self, **kw: Any) -> None:
        kw.setdefault("stdout", subprocess.DEVNULL)
        kw.setdefault("stderr", subprocess.DEVNULL)
        kw.setdefault("stdin", subprocess.DEVNULL)
        await super()._async_start_kernel(**kw)

    start_kernel = _async_start_kernel

    def _close_control_socket(self) -> None:
        """Closed without lingering: it closes once the kernel is gone, and a request still queued for it (a
        shutdown, an interrupt) held jupyter_client's context for the socket's whole 100 ms linger, a third of a
        submission's grading."""
        if self._control_socket is not None:
            self._control_socket.linger = 0
        super()._close_control_socket()


class TrustedKernelManager(QuietKernelManager):
    """A plain kernel talking over IPC sockets in a private folder, removed with the kernel.

    Over TCP, jupyter_client picks free ports by binding and releasing them, and another process on a busy machine
    (parallel tests, a class built on two cores) can take one before the kernel binds it: the kernel dies at
    start ("Kernel died before replying to kernel_info"). Socket files in a folder of its own cannot collide.
    """

    def __init__(self, **kwargs: Any) -> None:
        self.sockets = Path(tempfile.mkdtemp(prefix="d2lgrade-kernel-"))
        super().__init__(transport="ipc", ip=str(self.sockets / "kernel"),
                         connection_file=str(self.sockets / "connection.json"), **kwargs)

    async def _async_cleanup_resources(self, restart: bool = False) -> None:
        await super()._async_cleanup_resources(restart=restart)
        if not restart:
            shutil.rmtree(self.sockets, ignore_errors=True)

    cleanup_resources = _async_cleanup_resources


def trusted_kernel_factory() -> AsyncKernelManager:
    """A plain kernel as the current user: for the instructor's own notebooks (source/), never submissions."""
    km = TrustedKernelManager(kernel_name="python3")
    km.extra_env = {"MPLBACKEND": "Agg", "PYTHONDONTWRITEBYTECODE": "1"}  # type: ignore[attr-defined]
    return km


def is_test_cell(cell: nbformat.NotebookNode) -> bool:
    nbg = cell.metadata.get("nbgrader", {})
    return cell.cell_type == "code" and bool(nbg.get("grade")) and not nbg.get("solution")


def runnable_notebook(nb: nbformat.NotebookNode, probes: list[dict[str, Any]]) -> nbformat.NotebookNode:
    """The student's code cells (test cells left out) followed by one probe cell per question.

    Each copied cell remembers its position in the submitted notebook, for messages.
    """
    cells = []
    for position, cell in enumerate(nb.cells, start=1):
        if cell.cell_type == "code" and not is_test_cell(cell):
            copy = nbformat.from_dict(cell)
            copy.metadata = {**cell.metadata, "d2lgrade": {"cell": position}}
            cells.append(copy)
    for probe in probes:
        sent = {**probe, "nonce": secrets.token_hex(16)}
        code = f"import d2lgrade.judging.probe\nd2lgrade.judging.probe.report(__import__('json').loads({json.dumps(sent)!r}))"
        expects = {"probe": probe["id"], "nonce": sent["nonce"], "cases": len(probe["cases"]) if "cases" in probe else None}
        cell = nbformat.v4.new_code_cell(code, metadata={"tags": [PROBE_TAG], "d2lgrade": expects})
        cells.append(cell)
    out = nbformat.v4.new_notebook(cells=cells, metadata=nb.metadata)
    return out


def run(nb: nbformat.NotebookNode, probes: list[dict[str, Any]], workdir: Path, limits: Limits,
        kernel_factory: Callable[[], AsyncKernelManager]) -> Execution:
    """Execute ``nb`` with ``probes`` appended, in ``workdir``; never raises for student behaviour.

    A cell that crashes the kernel or hangs past an interrupt is skipped: the kernel is restarted,
    the cells that ran before it are replayed, and the run goes on after it.
    """
    runnable = runnable_notebook(nb, probes)
    run = _Run(runnable, workdir, limits, kernel_factory, Execution(notebook=runnable))
    run.all()
    result = run.result
    for probe in probes:
        if probe["id"] not in result.answers:
            result.failures.setdefault(probe["id"], "Your notebook stopped before this answer could be read "
                                                     "(see the notes above).")
    return result


class _CappedClient(NotebookClient):
    """Keeps outputs within :class:`Limits` as they arrive: per student cell, per submission, per probe
    cell. A message that would pass a cap is dropped whole (a single 1 GiB print included), with a
    note in the cell, so the autograded notebook and the grader's memory stay bounded."""

    limits = Limits()
    used_total = 0

    def output(self, outs: list[nbformat.NotebookNode], msg: dict[str, Any], display_id: str | None,
               cell_index: int) -> nbformat.NotebookNode | None:
        probe = "probe" in self.nb.cells[cell_index].metadata.get("d2lgrade", {})
        size = len(json.dumps(msg.get("content")))
        in_cell = sum(len(json.dumps(o)) for o in outs)
        over = in_cell + size > (self.limits.report_bytes if probe else self.limits.output_bytes)
        if not probe:
            over = over or self.used_total + size > self.limits.total_output_bytes
        if over:
            if not (outs and outs[-1].get("name") == "truncated"):
                outs.append(nbformat.v4.new_output("stream", name="truncated", text="[output truncated]\n"))
            return None
        if not probe:
            self.used_total += size
        return super().output(outs, msg, display_id, cell_index)


class _Hung(Exception):
    """The kernel did not answer after an interrupt."""


class _OverCpu(Exception):
    """The cell used its CPU time and was interrupted (the kernel lives on)."""


class _OverWall(Exception):
    """The cell stayed past the wall-clock backstop without computing (its wait for a CPU not counted)."""


class _Exhausted(Exception):
    """The cell left the kernel's cgroup at its task limit (a fork bomb): the kernel cannot go on."""


class _Unreadable(Exception):
    """The kernel sent something the Jupyter client could not read (bad signature, content not a dict, ...)."""


class BoundedKernelClient(AsyncKernelClient):
    """A kernel client whose sockets refuse messages over :attr:`Limits.message_bytes` before reading them,
    so no single output can take the grader's memory."""

    max_message_bytes = Limits.message_bytes

    async def _async_wait_for_ready(self, timeout: float | None = None) -> None:
        """jupyter_client's wait, without its fixed pauses (0.2 s for IOPub after the reply, 0.2 s of quiet
        to end the flush): a warm kernel is ready in a tenth of a second, and these pauses were most of
        a submission's wall time. Ready means: a kernel_info reply on shell *and* a message on IOPub (so
        no output of the first cell is lost to a subscription not yet in place); then IOPub is read up to the
        idle status of the last request, after which the kernel_info requests have left nothing there."""
        deadline = time.monotonic() + (timeout if timeout is not None else float("inf"))
        while True:
            last = self.kernel_info()
            try:
                reply = await ensure_async(self.shell_channel.get_msg(timeout=0.5))
            except Empty:
                reply = None
            if reply is not None and reply["msg_type"] == "kernel_info_reply":
                try:
                    first = await ensure_async(self.iopub_channel.get_msg(timeout=0.05))
                except Empty:
                    pass
                else:
                    self._handle_kernel_info_reply(reply)
                    break
            if not await self._async_is_alive():
                raise RuntimeError("Kernel died before replying to kernel_info")
            if time.monotonic() > deadline:
                raise RuntimeError(f"Kernel didn't respond in {timeout:.0f} seconds")
        await self._drain_iopub_to_idle(first, last)

    async def _drain_iopub_to_idle(self, msg: dict[str, Any], request: str) -> None:
        """IOPub read up to the idle status of ``request`` (the kernel answers requests in order, so every earlier
        one's messages came before it), or until 0.5 s of quiet, or 2 s in all, from a kernel that never says it."""
        end = time.monotonic() + 2
        while time.monotonic() < end and not (msg["msg_type"] == "status" and msg["content"].get("execution_state") == "idle"
                   and msg["parent_header"].get("msg_id") == request):
            try:
                msg = await ensure_async(self.iopub_channel.get_msg(timeout=0.5))
            except Empty:
                return

    wait_for_ready = _async_wait_for_ready

    def _create_connected_socket(self, channel: str, identity: bytes | None = None) -> zmq.Socket:
        sock = self.context.socket(channel_socket_types[channel])
        sock.linger = 1000
        if identity:
            sock.identity = identity
        sock.setsockopt(zmq.MAXMSGSIZE, self.max_message_bytes)
        sock.setsockopt(zmq.RECONNECT_IVL, 5)  # the kernel binds its sockets a moment after we connect
        sock.connect(self._make_url(channel))
        return sock


class _Run:
    """One submission's cells across kernel incarnations."""

    def __init__(self, nb: nbformat.NotebookNode, workdir: Path, limits: Limits,
                 kernel_factory: Callable[[], AsyncKernelManager], result: Execution) -> None:
        self.nb, self.workdir, self.limits, self.factory, self.result = nb, workdir, limits, kernel_factory, result
        self.started = time.monotonic()
        self.kept: list[int] = []  # student cells that ran to the end: replayed after a restart
        self.output_used = 0  # student output kept so far, across kernel incarnations
        self.cpu_used: float | None = None  # CPU time of the last cell run under a CpuWatch, for messages

    def remaining(self) -> float:
        return self.limits.submission_seconds - (time.monotonic() - self.started)

    def all(self) -> None:
        start: int | None = 0
        restarts = 0
        while start is not None:
            if restarts > self.limits.restarts:
                self.result.notes.append(f"The kernel had to be restarted more than {self.limits.restarts} times; "
                                         "grading stopped there.")
                break
            if self.remaining() <= 0:
                self._out_of_time(start)
                break
            start = self._incarnation(start)
            restarts += 1
        self.result.seconds = time.monotonic() - self.started

    def _client(self) -> _CappedClient:
        km = self.factory()
        km.client_class = "d2lgrade.sandbox.execute.BoundedKernelClient"
        client = _CappedClient(self.nb, km=km, timeout=self.limits.cell_seconds,
                               startup_timeout=max(1, int(min(self.limits.startup_seconds, self.remaining()))),
                               allow_errors=True, interrupt_on_timeout=False, record_timing=False,
                               resources={"metadata": {"path": str(self.workdir)}}, log=_QUIET)
        client.limits = self.limits
        client.used_total = self.output_used
        return client

    def _incarnation(self, start: int) -> int | None:
        """Run cells from ``start`` in a fresh kernel; the index to resume at after a skipped cell, or None."""
        client = self._client()
        try:
            with client.setup_kernel():
                if not self._replay(client):
                    return None
                for index in range(start, len(self.nb.cells)):
                    if self.remaining() <= 0:
                        self._out_of_time(index)
                        return None
                    if not self._cell(client, index):
                        return index + 1
        except GraderFault:
            raise
        except (RuntimeError, TimeoutError) as exc:  # the kernel failed to start
            self.result.notes.append(f"The notebook could not be run: {str(exc)[:300]}")
        finally:
            self.output_used = client.used_total
            _shut_down(client)
        return None

    def _replay(self, client: NotebookClient) -> bool:
        """Run again the cells that completed before a restart, within the same submission budget."""
        for index in self.kept:
            copy = nbformat.from_dict(self.nb.cells[index])
            if self.remaining() <= 0:
                self._out_of_time(index)
                return False
            try:
                self._execute(client, copy, index)
            except (_Hung, DeadKernelError, CellTimeoutError, _Unreadable, _OverCpu, _OverWall, _Exhausted):
                if self.remaining() < self.limits.cell_seconds:  # the budget, not the cell, ran out
                    self._out_of_time(index)
                else:
                    self.result.notes.append(f"After a restart, cell {_position(copy)} could not be run again; "
                                             "grading stopped there.")
                return False
        return True

    def _execute(self, client: NotebookClient, cell: nbformat.NotebookNode, index: int) -> None:
        group = getattr(client.km, "group", None)
        if group is None:
            client.timeout = max(1, int(min(self.limits.cell_seconds, self.remaining())))
            return self._execute_timed(client, cell, index)
        wall = self.limits.cell_seconds * self.limits.cell_wall_factor
        client.timeout = max(1, int(min(wall * WATCHLESS_WALL_FACTOR, self.remaining())))
        with CpuWatch(group, self.limits.cell_seconds, self.limits.interrupt_grace_seconds, wall) as watch:
            try:
                self._execute_timed(client, cell, index)
            except DeadKernelError:
                if watch.hung:
                    raise _Hung() from None
                raise
            finally:
                self.cpu_used = watch.used
        if watch.hung:
            raise _Hung()
        if watch.over_wall:
            raise _OverWall()
        if watch.fired:
            raise _OverCpu()
        if group.at_task_limit():
            raise _Exhausted()
        return None

    def _execute_timed(self, client: NotebookClient, cell: nbformat.NotebookNode, index: int) -> None:
        """Run a cell under nbclient's wall-clock timeout: interrupt it when it passes, restart if it hangs."""
        try:
            client.execute_cell(cell, index)
        except CellTimeoutError:
            run_sync(client.km.interrupt_kernel)()
            if not _answers(client, self.limits.interrupt_grace_seconds):
                raise _Hung() from None
            raise
        except DeadKernelError:
            raise
        except Exception as exc:  # whatever the kernel sent stays this submission's problem
            _QUIET.info("unreadable kernel message in cell %s: %r", index, exc)
            raise _Unreadable() from exc

    def _cell(self, client: NotebookClient, index: int) -> bool:
        """Run one cell; False when the kernel had to be abandoned (crash or hang)."""
        cell = self.nb.cells[index]
        probe_id = cell.metadata.get("d2lgrade", {}).get("probe")
        cpu_limit, wall_limit = self._limits_text(client)
        self.cpu_used, started = None, time.monotonic()
        try:
            self._execute(client, cell, index)
        except _OverCpu:
            self._timed_out(cell, probe_id, "was stopped", self._ran(started, cpu=True), cpu_limit)
            return True
        except (CellTimeoutError, _OverWall):
            self._timed_out(cell, probe_id, "was stopped", self._ran(started, cpu=False), wall_limit)
            return True
        except _Hung:
            over_cpu = self.cpu_used is not None and self.cpu_used > self.limits.cell_seconds
            self._timed_out(cell, probe_id, "did not stop when interrupted; the kernel was restarted",
                            self._ran(started, cpu=over_cpu), cpu_limit if over_cpu else wall_limit)
            return False
        except DeadKernelError:
            stopped = getattr(client.km, "stopped_because", lambda: None)()
            self._crashed(cell, probe_id, f" by {stopped}" if stopped else "")
            return False
        except _Exhausted:
            self._crashed(cell, probe_id, " by leaving processes running up to its limit")
            return False
        except _Unreadable:
            self._unreadable(cell, probe_id)
            return False
        if getattr(client.km, "stop_if_over", lambda: False)():  # it wrote past a bound between two scans
            self._crashed(cell, probe_id, f" by {client.km.stopped_because()}")
            return False
        if probe_id is None:
            self.kept.append(index)
            _note_error(cell, self.result)
        else:
            _read_probe(cell, probe_id, self.result)
        return True

    def _timed_out(self, cell: nbformat.NotebookNode, probe_id: str | None, what: str, ran: str, limit: str) -> None:
        """Say how long it ran and what the limit is: the facts, not a guess at the cause."""
        if probe_id is None:
            self.result.notes.append(f"Cell {_position(cell)} ran for {ran}, past {limit}, and {what}; "
                                     "the cells after it ran on.")
        else:
            self.result.failures[probe_id] = f"Checking this answer ran for {ran}, past {limit}, and {what}."

    def _ran(self, started: float, cpu: bool) -> str:
        """How long a stopped cell ran: CPU time when it was stopped by the CPU limit, else time on the clock."""
        if cpu and self.cpu_used is not None:
            return f"{self.cpu_used:.1f} s of CPU time"
        return f"{time.monotonic() - started:.0f} s"

    def _limits_text(self, client: NotebookClient) -> tuple[str, str]:
        """How the CPU limit and the wall-clock limit of a cell read in messages."""
        seconds = self.limits.cell_seconds
        if getattr(client.km, "group", None) is None:
            return f"the {seconds} s limit", f"the {seconds} s limit"
        return f"the {seconds} s limit of CPU time", f"the {seconds * self.limits.cell_wall_factor} s wall-clock limit"

    def _crashed(self, cell: nbformat.NotebookNode, probe_id: str | None, how: str = "") -> None:
        if probe_id is None:
            self.result.notes.append(f"Cell {_position(cell)} made the Python kernel exit or crash{how}; it was "
                                     "skipped and the kernel restarted.")
        else:
            self.result.failures[probe_id] = f"Checking this answer made the Python kernel exit or crash{how}."

    def _unreadable(self, cell: nbformat.NotebookNode, probe_id: str | None) -> None:
        what = "sent messages grading could not read (a tampered kernel session?)"
        if probe_id is None:
            self.result.notes.append(f"While cell {_position(cell)} ran, the kernel {what}; the cell was skipped "
                                     "and the kernel restarted.")
        else:
            self.result.failures[probe_id] = f"While checking this answer, the kernel {what}; it earns nothing."

    def _out_of_time(self, index: int) -> None:
        self.result.notes.append(f"The notebook ran for {time.monotonic() - self.started:.0f} s, up to the "
                                 f"{self.limits.submission_seconds} s limit for a whole "
                                 f"submission; cells from cell {_position(self.nb.cells[index])} on were not run.")


def _answers(client: NotebookClient, seconds: float) -> bool:
    """Does the kernel answer a trivial request within ``seconds`` (i.e. is it idle again)?"""
    kc = client.kc
    msg_id = kc.execute("", silent=True, store_history=False)
    deadline = time.monotonic() + seconds
    while (left := deadline - time.monotonic()) > 0:
        try:
            msg = run_sync(kc.shell_channel.get_msg)(timeout=left)
        except Empty:
            return False
        if msg["parent_header"].get("msg_id") == msg_id:
            return True
    return False


def _shut_down(client: NotebookClient) -> None:
    """Stop the kernel now (nbclient leaves kernels it did not create running) and close the channels."""
    try:
        if client.kc is not None:
            client.kc.stop_channels()
        if client.km is not None and client.km.has_kernel:
            run_sync(client.km.shutdown_kernel)(now=True)
    except Exception:  # noqa: BLE001 - a kernel that is already gone is fine
        pass
    try:  # a kernel that died by itself was never shut down: its sandbox (cgroup, holder) goes now
        if client.km is not None:
            run_sync(client.km.cleanup_resources)()
    except Exception:  # noqa: BLE001
        pass


def _position(cell: nbformat.NotebookNode) -> str:
    return str(cell.metadata.get("d2lgrade", {}).get("cell", "?"))


def _note_error(cell: nbformat.NotebookNode, result: Execution) -> None:
    """A note for the first error a student cell raised (the run goes on after it)."""
    for output in cell.outputs:
        if output.get("output_type") == "error":
            lines = cell.source.strip().splitlines()
            first = f" ({lines[0][:60]!r})" if lines else ""
            if output.get("ename") == "NotImplementedError":
                result.notes.append(f"Cell {_position(cell)}{first} is not answered yet (it still raises "
                                    "NotImplementedError).")
            else:
                result.notes.append(f"Cell {_position(cell)}{first} raised {output.get('ename')}: "
                                    f"{error_summary(str(output.get('evalue')))}")
            return


def _read_probe(cell: nbformat.NotebookNode, probe_id: str, result: Execution) -> None:
    """The probe cell's one report carrying its nonce, validated (:mod:`d2lgrade.judging.answer_report`) before it is trusted.

    Reports without the nonce (emitted by code that never saw it) are ignored; two with it, or one that
    does not validate, make the question a wrong answer with the reason.
    """
    expects = cell.metadata.get("d2lgrade", {})
    nonce = expects.get("nonce")
    reports = [o["data"][MIME] for o in cell.outputs
               if o.get("output_type") == "display_data" and isinstance(o.get("data"), Mapping) and MIME in o["data"]]
    ours = [r for r in reports if isinstance(r, Mapping) and r.get("nonce") == nonce]
    errors = [o for o in cell.outputs if o.get("output_type") == "error"]
    if len(ours) > 1:
        result.failures[probe_id] = (f"The answer was reported {len(ours)} times; the notebook interfered with "
                                     "grading, so this answer earns nothing.")
    elif ours:
        checked = validate_report(_plain_json(ours[0]), probe_id, expects.get("cases"), nonce)
        if isinstance(checked, Invalid):
            result.failures[probe_id] = checked.message
        else:
            result.answers[probe_id] = checked
    elif errors:
        result.failures[probe_id] = (f"Reading this answer failed: {errors[0].get('ename')}: "
                                     f"{error_summary(str(errors[0].get('evalue')))}")
    else:
        result.failures[probe_id] = "The answer report was missing or malformed; the notebook interfered with grading."


def _plain_json(value: Any, depth: int = 0) -> Any:
    """nbformat's dict subclasses back to plain dicts and lists, as the validator wants exact types
    (to a bounded depth: anything deeper is refused by the validator anyway)."""
    if depth > 64:
        return None
    if isinstance(value, Mapping):
        return {k: _plain_json(v, depth + 1) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain_json(v, depth + 1) for v in value]
    return value
