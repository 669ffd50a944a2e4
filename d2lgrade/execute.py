"""Run a submission's cells and the probes in a fresh kernel; collect plain answers.

Test cells are not run: they are judged outside. Each probe runs in its own cell after the
student's cells, under the per-cell time limit, so one question that loops or crashes costs only
that question. The kernel comes from ``kernel_factory``: :mod:`d2lgrade.sandbox` for submissions,
:func:`trusted_kernel_factory` only for the instructor's own notebooks.
"""

from __future__ import annotations

import json
import subprocess
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import nbformat
from jupyter_client.manager import KernelManager
from jupyter_core.utils import run_sync
from nbclient import NotebookClient
from nbclient.exceptions import CellTimeoutError, DeadKernelError

from d2lgrade.probe import MIME

PROBE_TAG = "d2lgrade-probe"


@dataclass(frozen=True)
class Limits:
    """Wall-clock limits for running a submission."""

    cell_seconds: int = 60
    startup_seconds: int = 60


@dataclass
class Execution:
    """What running a submission produced: validated answers, reasons for missing ones, notes."""

    answers: dict[str, dict[str, Any]] = field(default_factory=dict)
    failures: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    notebook: nbformat.NotebookNode | None = None
    seconds: float = 0.0


class QuietKernelManager(KernelManager):
    """A kernel whose own stdout and stderr go nowhere: a submission writing megabytes to file
    descriptor 1 must not flood the grader's terminal (what cells print still reaches the notebook)."""

    async def _async_start_kernel(self, **kw: Any) -> None:
        kw.setdefault("stdout", subprocess.DEVNULL)
        kw.setdefault("stderr", subprocess.DEVNULL)
        kw.setdefault("stdin", subprocess.DEVNULL)
        await super()._async_start_kernel(**kw)

    start_kernel = run_sync(_async_start_kernel)


def trusted_kernel_factory() -> KernelManager:
    """A plain kernel as the current user: for the instructor's own notebooks (source/), never submissions."""
    km = QuietKernelManager(kernel_name="python3")
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
        code = f"import d2lgrade.probe\nd2lgrade.probe.report(__import__('json').loads({json.dumps(probe)!r}))"
        cell = nbformat.v4.new_code_cell(code, metadata={"tags": [PROBE_TAG], "d2lgrade": {"probe": probe["id"]}})
        cells.append(cell)
    out = nbformat.v4.new_notebook(cells=cells, metadata=nb.metadata)
    return out


def run(nb: nbformat.NotebookNode, probes: list[dict[str, Any]], workdir: Path, limits: Limits,
        kernel_factory: Callable[[], KernelManager]) -> Execution:
    """Execute ``nb`` with ``probes`` appended, in ``workdir``; never raises for student behaviour."""
    runnable = runnable_notebook(nb, probes)
    result = Execution(notebook=runnable)
    started = time.monotonic()
    client = NotebookClient(
        runnable, km=kernel_factory(), timeout=limits.cell_seconds, startup_timeout=limits.startup_seconds,
        allow_errors=True, interrupt_on_timeout=True, record_timing=False,
        resources={"metadata": {"path": str(workdir)}},
    )
    try:
        with client.setup_kernel():
            _run_cells(client, runnable, result)
    except DeadKernelError as exc:
        result.notes.append(f"The Python kernel died ({exc}); answers after that point could not be read.")
    except RuntimeError as exc:  # kernel failed to start
        result.notes.append(f"The notebook could not be run: {exc}")
    result.seconds = time.monotonic() - started
    for probe in probes:
        if probe["id"] not in result.answers:
            result.failures.setdefault(probe["id"], "Your notebook stopped before this answer could be read "
                                                     "(see the notes above).")
    return result


def _run_cells(client: NotebookClient, nb: nbformat.NotebookNode, result: Execution) -> None:
    for index, cell in enumerate(nb.cells):
        probe_id = cell.metadata.get("d2lgrade", {}).get("probe")
        try:
            client.execute_cell(cell, index)
        except CellTimeoutError:
            _timed_out(cell, probe_id, client.timeout, result)
            continue
        if _timed_out_output(cell):
            _timed_out(cell, probe_id, client.timeout, result)
        elif probe_id is None:
            _note_error(cell, result)
        else:
            _read_probe(cell, probe_id, result)


def _timed_out_output(cell: nbformat.NotebookNode) -> bool:
    return any(o.get("output_type") == "error" and o.get("ename") == "CellTimeoutError" for o in cell.outputs)


def _timed_out(cell: Any, probe_id: str | None, seconds: Any, result: Execution) -> None:
    if probe_id is None:
        result.notes.append(f"Cell {_position(cell)} ran past the {seconds} s limit and was stopped "
                            "(an infinite loop?); the cells after it ran on.")
    else:
        result.failures[probe_id] = f"Checking this answer ran past the {seconds} s limit (an infinite loop?)."


def _position(cell: nbformat.NotebookNode) -> str:
    return str(cell.metadata.get("d2lgrade", {}).get("cell", "?"))


def _note_error(cell: nbformat.NotebookNode, result: Execution) -> None:
    for output in cell.outputs:
        if output.get("output_type") == "error":
            lines = cell.source.strip().splitlines()
            first = f" ({lines[0][:60]!r})" if lines else ""
            if output.get("ename") == "NotImplementedError":
                result.notes.append(f"Cell {_position(cell)}{first} is not answered yet (it still raises "
                                    "NotImplementedError).")
            else:
                result.notes.append(f"Cell {_position(cell)}{first} raised {output.get('ename')}: "
                                    f"{str(output.get('evalue'))[:200]}")
            return


def _read_probe(cell: nbformat.NotebookNode, probe_id: str, result: Execution) -> None:
    reports = [o["data"][MIME] for o in cell.outputs if o.get("output_type") == "display_data" and MIME in o.get("data", {})]
    errors = [o for o in cell.outputs if o.get("output_type") == "error"]
    if len(reports) == 1 and _well_formed(reports[0], probe_id):
        result.answers[probe_id] = dict(reports[0])
    elif errors:
        result.failures[probe_id] = f"Reading this answer failed: {errors[0].get('ename')}: {str(errors[0].get('evalue'))[:200]}"
    else:
        result.failures[probe_id] = "The answer report was missing or malformed; the notebook interfered with grading."


def _well_formed(report: Any, probe_id: str) -> bool:
    """Reports come from an untrusted process: accept only the exact shape the probe writes."""
    if not isinstance(report, Mapping) or report.get("id") != probe_id or not _plain_ok(report.get("value")):
        return False
    outputs = report.get("outputs", [])
    return isinstance(outputs, list) and all(_plain_ok(o) for o in outputs) and set(report) <= {"id", "value", "outputs"}


def _plain_ok(plain: Any, depth: int = 0) -> bool:
    if depth > 40 or not isinstance(plain, Mapping) or not isinstance(plain.get("t"), str):
        return False
    for key in ("items", "data", "columns"):
        inner = plain.get(key)
        if inner is not None and not isinstance(inner, list):
            return False
    for item in plain.get("items") or []:
        pair = item if isinstance(item, list) else [item]
        if not all(_plain_ok(x, depth + 1) for x in pair):
            return False
    return True
