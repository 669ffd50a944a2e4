"""Grading one submission: an ordered list of small steps over a :class:`Job`.

``GRADE_STEPS`` is the whole core, shared by ``d2lgrade grade`` and the Otter plugin. A step either
fills in the job or raises :class:`Rejected` with a message for the student, which ends grading with
zero points and that reason. Per-assignment work (the bundle, the probes) is done once, in
:class:`Assignment`, never per submission.
"""

from __future__ import annotations

import json
import logging
import re
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import nbformat

from d2lgrade.judging.bundle import Bundle
from d2lgrade.judging.judge import judge
from d2lgrade.judging.results import FAILED, QuestionResult, SubmissionResult
from d2lgrade.judging.rules import ModuleSources, Program, Source, rule_message
from d2lgrade.sandbox import execute

MAX_NOTEBOOK_BYTES = 20 * 1024 * 1024
MAX_NESTING = 100
"""JupyterLab writes notebooks about 6 levels deep; deeper input is refused before json.loads recurses."""
MAX_CELLS = 2000
LOG = logging.getLogger("d2lgrade.grading")
INTERNAL_ERROR = ("grading failed on our side for this submission (an internal error, not your mistake); "
                  "the instructor has the details and will regrade it.")


class Rejected(Exception):
    """The submission as a whole cannot be graded; the message says why and what to do."""


@dataclass(frozen=True)
class Assignment:
    """What grading needs about an assignment, loaded once for any number of submissions."""

    bundle: Bundle
    probes: tuple[dict[str, Any], ...]
    kernel_factory: Callable[[], Any]
    limits: execute.Limits = field(default_factory=execute.Limits)
    modules: ModuleSources | None = None
    """Modules the rule checker may read: the references, for the instructor's solved notebooks only."""

    @classmethod
    def load(cls, bundle_path: Path, **kwargs: Any) -> Assignment:
        return cls.from_bundle(Bundle.load(bundle_path), **kwargs)

    @classmethod
    def from_bundle(cls, bundle: Bundle, kernel_factory: Callable[[], Any] | None = None, **kwargs: Any) -> Assignment:
        """Submissions run sandboxed unless a factory is given explicitly; raises SandboxUnavailable
        (with the remedy) rather than run student code unconfined."""
        if kernel_factory is None:
            from d2lgrade.sandbox.kernels import check_available, sandboxed_kernel_factory

            check_available()
            kernel_factory = sandboxed_kernel_factory()
        return cls(bundle, tuple(bundle.probes()), kernel_factory, **kwargs)


@dataclass
class Job:
    """One submission on its way through the steps."""

    assignment: Assignment
    student: str
    source: str
    raw: bytes
    workdir: Path
    notebook: nbformat.NotebookNode | None = None
    execution: execute.Execution | None = None
    result: SubmissionResult | None = None
    notes: list[str] = field(default_factory=list)
    broken_rules: dict[str, str] = field(default_factory=dict)
    """Question id -> why its answer breaks the rule its task states (such a question scores zero)."""
    failed_step: str | None = None
    """The step that raised an internal error, if one did (the result is then a zero with a reason)."""


def check_size(job: Job) -> None:
    if not job.raw.strip():
        raise Rejected(f"{job.source} is empty. Save your notebook in JupyterLab (File > Save) and submit the .ipynb file.")
    if len(job.raw) > MAX_NOTEBOOK_BYTES:
        raise Rejected(f"{job.source} is {len(job.raw) // 2**20} MiB, over the {MAX_NOTEBOOK_BYTES // 2**20} MiB limit. "
                       "Clear all outputs (Edit > Clear Outputs of All Cells), save and submit again.")


def parse_notebook(job: Job) -> None:
    """Bytes to a notebook; every way this fails gets its own message."""
    try:
        text = job.raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise Rejected(f"{job.source} is not UTF-8 text (byte {exc.start}); it is not a saved Jupyter notebook. "
                       "Download the notebook from JupyterLab (File > Download) and submit that file.") from exc
    depth = nesting_depth(text)
    if depth > MAX_NESTING:
        raise Rejected(f"{job.source} nests lists/objects more than {MAX_NESTING} levels deep; a saved notebook "
                       "never does. Download the notebook from JupyterLab (File > Download) and submit that file.")
    try:
        data = json.loads(text)
    except RecursionError as exc:
        raise Rejected(f"{job.source} is nested too deeply to read. Download the notebook from JupyterLab "
                       "(File > Download) and submit that file.") from exc
    except json.JSONDecodeError as exc:
        raise Rejected(f"{job.source} is not valid notebook JSON (line {exc.lineno}, column {exc.colno}: {exc.msg}). "
                       "Submit the .ipynb file that JupyterLab saved, not a copy edited by hand.") from exc
    if not isinstance(data, dict) or data.get("nbformat") != 4:
        found = data.get("nbformat") if isinstance(data, dict) else type(data).__name__
        raise Rejected(f"{job.source} is not a version-4 Jupyter notebook (nbformat is {found!r}). "
                       "Open it in JupyterLab, save it, and submit it again.")
    cells = data.get("cells")
    if isinstance(cells, list) and len(cells) > MAX_CELLS:
        raise Rejected(f"{job.source} has {len(cells)} cells, over the {MAX_CELLS}-cell limit. "
                       "Start again from the released notebook and submit it with your answers.")
    try:
        nb = nbformat.reads(text, as_version=nbformat.NO_CONVERT)  # rejoins multi-line sources
        nbformat.validate(nb)
    except Exception as exc:
        raise Rejected(f"{job.source} is not a valid notebook ({str(exc).splitlines()[0][:200]}). "
                       "Open it in JupyterLab, save it, and submit it again.") from exc
    job.notebook = nb


def nesting_depth(text: str) -> int:
    """Deepest bracket nesting outside JSON strings, counted without recursion (json.loads would recurse)."""
    depth = deepest = 0
    for match in _TOKENS.finditer(text):
        token = match.group()
        if token in "[{":
            depth += 1
            deepest = max(deepest, depth)
            if deepest > MAX_NESTING:
                break  # deep enough to refuse; no need to scan the rest
        elif token in "]}":
            depth -= 1
    return deepest


_TOKENS = re.compile(r'"(?:[^"\\]|\\.)*"|[\[\]{}]')


def check_assignment(job: Job) -> None:
    """A notebook from another assignment is refused, by its metadata or, failing that, its cells."""
    assert job.notebook is not None
    expected = job.assignment.bundle.assignment
    declared = job.notebook.metadata.get("d2l", {}).get("assignment") if isinstance(
        job.notebook.metadata.get("d2l"), dict) else None
    if declared is not None and declared != expected:
        raise Rejected(f"{job.source} is the notebook of assignment {declared!r}, not {expected!r}. "
                       f"Submit your {expected} notebook here.")
    ids = {c.metadata.get("nbgrader", {}).get("grade_id") for c in job.notebook.cells}
    if declared is None and not ids & {q.id for q in job.assignment.bundle.questions}:
        raise Rejected(f"{job.source} has none of the cells of assignment {expected!r}. "
                       f"Start from release/{expected}/{job.assignment.bundle.notebook}.ipynb and submit that notebook.")


def check_rules(job: Job) -> None:
    """The rules some tasks state on how an answer is computed, checked on the submitted code: parsed in
    this process, never run (d2lgrade/judging/rules.py)."""
    assert job.notebook is not None
    ruled = [q for q in job.assignment.bundle.questions if q.rules is not None and q.contract is not None]
    if not ruled:
        return
    program = Program(notebook_sources(job.notebook), job.assignment.modules)
    for q in ruled:
        assert q.rules is not None and q.contract is not None
        message = rule_message(program.check(q.contract.name, q.rules))
        if message:
            job.broken_rules[q.id] = message


def notebook_sources(nb: nbformat.NotebookNode) -> list[Source]:
    """The code cells that run when graded (test cells are not run), named as students see them."""
    sources = []
    for position, cell in enumerate(nb.cells, start=1):
        if cell.cell_type == "code" and not execute.is_test_cell(cell) and isinstance(cell.source, str):
            grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
            label = f"cell {position}" + (f" ({grade_id})" if isinstance(grade_id, str) else "")
            sources.append(Source(label, cell.source))
    return sources


def run_notebook(job: Job) -> None:
    assert job.notebook is not None
    a = job.assignment
    job.execution = execute.run(job.notebook, list(a.probes), job.workdir, a.limits, a.kernel_factory)
    job.notes.extend(job.execution.notes)


def judge_answers(job: Job) -> None:
    assert job.execution is not None
    questions = judge(job.assignment.bundle, job.execution.answers, job.execution.failures, job.broken_rules)
    job.result = SubmissionResult(job.assignment.bundle.assignment, job.student, job.source, questions,
                                  notes=tuple(job.notes))


GRADE_STEPS: tuple[Callable[[Job], None], ...] = (check_size, parse_notebook, check_assignment, check_rules,
                                                  run_notebook, judge_answers)
"""The grading core, in order. Intake steps first: nothing runs before the bytes are a notebook of
this assignment; the rules are read from the code as submitted, before it runs."""


def rejected_result(job: Job, reason: str) -> SubmissionResult:
    """Zero on every question, each saying why, so a gradebook shows the reason next to the zero."""
    questions = tuple(QuestionResult(q.id, q.exercise, q.kind, 0.0, q.points, FAILED, f"Not graded: {reason}")
                      for q in job.assignment.bundle.questions if q.autograded)
    return SubmissionResult(job.assignment.bundle.assignment, job.student, job.source, questions, problem=reason)


def grade_bytes(assignment: Assignment, raw: bytes, student: str, source: str,
                workdir: Path | None = None) -> Job:
    """Run ``GRADE_STEPS`` on one submission's bytes; the job always ends with a result, never raises
    for anything a submission does (an internal error is logged with its traceback and scored zero)."""
    with tempfile.TemporaryDirectory(prefix="d2lgrade-") as tmp:
        job = Job(assignment, student, source, raw, workdir or Path(tmp))
        try:
            for step in GRADE_STEPS:
                step(job)
        except Rejected as exc:
            job.result = rejected_result(job, str(exc))
        except Exception:  # anything a submission provokes stays in its own job
            LOG.exception("internal error grading %s (student %s) in step %s", ascii(source), student, step.__name__)
            job.result = rejected_result(job, INTERNAL_ERROR)
            job.failed_step = step.__name__
    return job
