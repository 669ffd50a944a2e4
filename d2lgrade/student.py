"""The ``check`` object of a notebook: public tests a student runs for immediate feedback.

``check.value`` and ``check.function`` apply the same contract the grader applies (through
:mod:`d2lgrade.judging.contract`, on the same plain data), so "passes here" means "has the right form" in
grading too. A question with a rule on how its answer is computed (``forbid=``, ``require=``) is also
checked by the grader's own rule analysis (:mod:`d2lgrade.judging.rules`), on the cells as last run in this
kernel (:class:`KernelCells`), so a broken or uncheckable rule is told before submission. Correctness is
decided only by the grader, outside the student's kernel; in a source notebook, ``check.judge`` lets an
instructor compare with the reference while authoring.
"""

from __future__ import annotations

import importlib.util
import os
import textwrap
from pathlib import Path
from typing import Any

from d2lgrade.judging.contract import Contract, Problem
from d2lgrade.judging.plain import error, to_plain
from d2lgrade.judging.rules import ModuleSources, Program, Rules, Source, rule_warning
from d2lgrade.judging.spec import function_contract, rules_of, value_contract


class AnswerError(AssertionError):
    """A public test failed; the message says what to change.

    Shown as the message alone: a traceback through d2lgrade's code tells a student nothing. IPython
    prints what ``_render_traceback_`` returns instead of the traceback: one line in JupyterLab (which
    wraps it on screen). nbgrader's validate prints those lines too but cuts each at 87 characters, so
    under validate (``NBGRADER_EXECUTION=validate`` in the kernel's environment) the line is wrapped.
    """

    WIDTH = 80
    """Line width under nbgrader validate, which shows lines of up to 83 characters whole."""

    def _render_traceback_(self) -> list[str]:
        text = f"✗ {self}"
        if os.environ.get("NBGRADER_EXECUTION") == "validate":
            lines = textwrap.wrap(text, self.WIDTH, break_on_hyphens=False, subsequent_indent="  ")
        else:
            lines = text.splitlines()
        return [f"{_RED}{line}{_RESET}" for line in lines or ["✗"]]


_RED, _RESET = "\x1b[31m", "\x1b[0m"


class KernelCells:
    """The code of the cells as they stand in this kernel: the last run of each cell, in the order run.

    IPython keeps every input in its raw history (``In``), a cell run again twice. JupyterLab sends each
    cell's id with its code; a ``post_run_cell`` hook notes which input is each cell's last run, and earlier
    runs of the same cell are left out. Inputs run before the hook, or without an id (nbclient, nbgrader
    validate: a fresh Run All there), are all kept. Chosen over the notebook file, which is saved late and
    whose path the kernel is not told reliably.
    """

    def __init__(self, shell: Any) -> None:
        self.shell = shell
        self.last: dict[str, int] = {}
        self.stale: set[int] = set()
        shell.events.register("post_run_cell", self.record)

    def record(self, result: Any) -> None:
        info = getattr(result, "info", None)
        cell_id = getattr(info, "cell_id", None)
        if cell_id and getattr(info, "store_history", False):
            if cell_id in self.last:
                self.stale.add(self.last[cell_id])
            self.last[cell_id] = len(self.shell.history_manager.input_hist_raw) - 1

    def sources(self) -> list[Source]:
        raw = self.shell.history_manager.input_hist_raw
        return [Source(f"the cell run as [{n}]", text) for n, text in enumerate(raw)
                if n and n not in self.stale and text.strip()]


_KERNEL_CELLS: dict[int, KernelCells] = {}
"""One per IPython shell, made by the first :class:`Checks` of the kernel."""


def kernel_cells(shell: Any) -> KernelCells:
    if id(shell) not in _KERNEL_CELLS:
        _KERNEL_CELLS[id(shell)] = KernelCells(shell)
    return _KERNEL_CELLS[id(shell)]


def _reference_modules() -> ModuleSources | None:
    """The instructor's ``solutions`` package when importable here (authoring); a student's kernel has none."""
    spec = importlib.util.find_spec("solutions")
    locations = list(spec.submodule_search_locations or []) if spec else []
    return ModuleSources(Path(locations[0]).parent) if locations else None


class Checks:
    """Public tests bound to an assignment and to the notebook's namespace."""

    def __init__(self, assignment: str, namespace: dict[str, Any] | None = None) -> None:
        self.assignment = assignment
        self._namespace = namespace
        self._contracts: dict[str, Contract] = {}
        shell = self._shell() if namespace is None else None
        self._cells = kernel_cells(shell) if shell is not None else None

    @staticmethod
    def _shell() -> Any:
        try:
            from IPython import get_ipython
        except ImportError:
            return None
        shell = get_ipython()
        return shell if hasattr(shell, "history_manager") and hasattr(shell, "events") else None

    def _sources(self) -> list[Source]:
        """This kernel's cells; with an explicit namespace, its ``In`` list (as IPython names its history)."""
        if self._cells is not None:
            return self._cells.sources()
        inputs = (self._namespace or {}).get("In")
        if not isinstance(inputs, list):
            return []
        return [Source(f"the cell run as [{n}]", t) for n, t in enumerate(inputs) if n and isinstance(t, str)]

    def _check_rule(self, name: str, rules: Rules | None) -> None:
        """The grader's rule analysis on the cells as run here: raises with what to change."""
        sources = self._sources() if rules is not None else []
        if rules is None or not sources:
            return
        message = rule_warning(Program(sources, _reference_modules()).check(name, rules))
        if message:
            raise AnswerError(message)

    def _ns(self) -> dict[str, Any]:
        if self._namespace is not None:
            return self._namespace
        from IPython import get_ipython  # the notebook's own namespace, asked for by name

        shell = get_ipython()
        if shell is None:
            raise RuntimeError("check needs a namespace outside IPython: Checks(assignment, namespace=globals())")
        return shell.user_ns

    def _plain(self, name: str) -> dict[str, Any]:
        ns = self._ns()
        return to_plain(ns[name]) if name in ns else {"t": "missing"}

    def value(self, name: str, kind: str, **constraints: Any) -> None:
        """Check that ``name`` is bound to a value of the promised kind."""
        contract = value_contract(name, kind, **constraints)
        self._contracts[name] = contract
        result = contract.normalize(self._plain(name))
        if isinstance(result, Problem):
            raise AnswerError(result.message)
        self._check_rule(name, rules_of(constraints))
        print(f"✓ {contract.describe()}: form OK. Its value is checked when graded.")

    def function(self, name: str, params: tuple[str, ...], returns: str, example: tuple[Any, ...] | None = None,
                 **constraints: Any) -> None:
        """Check that ``name`` is a function of the promised parameters; try it on ``example``."""
        contract = function_contract(name, params, returns, **constraints)
        self._contracts[name] = contract
        problem = contract.check_signature(self._plain(name))
        if problem:
            raise AnswerError(problem.message)
        if example is not None:
            try:
                out = to_plain(self._ns()[name](*example))
            except Exception as exc:  # noqa: BLE001 - report the student's error as feedback
                out = error(exc)
            result = contract.returns.normalize(out)
            if isinstance(result, Problem):
                raise AnswerError(f"`{name}` on the example: {result.message}")
        self._check_rule(name, rules_of(constraints))
        print(f"✓ {contract.describe()}: form OK. Its results are checked when graded.")

    def judge(self, name: str, rtol: float, atol: float, mode: str = "values") -> None:
        """Instructors only: compare with the reference in ``solutions/`` (absent from students' machines).

        Uses the contract the public line of the same test cell declared for ``name``.
        """
        from d2lgrade.judging.compare import Tolerance
        from d2lgrade.judging.reference import judge_live

        if os.environ.get("NBGRADER_EXECUTION") == "autograde":
            raise AnswerError("refused: nbgrader's own Execute step is running this notebook, outside the sandbox, "
                              "so nbgrader_config.py's sandboxed autograde was not in effect (was the config file "
                              "loaded? nbgrader drops one that raises). Fix it and autograde again.")
        if name not in self._contracts:
            raise AnswerError(f"run the public check of `{name}` before judging it")
        verdict = judge_live(self.assignment, self._contracts[name], Tolerance(rtol, atol, mode), self._ns())
        if verdict:
            raise AnswerError(f"hidden test of `{name}`: {verdict}")
        print(f"✓ `{name}` matches the reference.")
