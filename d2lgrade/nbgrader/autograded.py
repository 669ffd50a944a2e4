"""The autograded notebook nbgrader's formgrader and feedback read: ``autograded/<student>/<assignment>/``.

The submission with its locked cells restored by nbgrader's own preprocessors, the outputs of the
sandboxed run, each test cell's verdict as its output, and active content taken out
(:mod:`d2lgrade.nbgrader.defang`) before anyone opens it in a browser.
"""

from __future__ import annotations

import logging

import nbformat
from nbgrader.preprocessors import CheckCellMetadata, ClearHiddenTests, DeduplicateIds, OverwriteCells

from d2lgrade.course.layout import Course
from d2lgrade.course.records import write_atomic
from d2lgrade.grading.steps import Job
from d2lgrade.judging.results import SubmissionResult
from d2lgrade.nbgrader.defang import defang
from d2lgrade.sandbox.execute import is_test_cell

_QUIET = logging.getLogger("d2lgrade.nbgrader")
"""nbgrader's preprocessors warn for every answer cell a student changed (as every answer does): errors only."""
_QUIET.setLevel(logging.ERROR)


def write_autograded(course: Course, job: Job, notebook: str, result: SubmissionResult) -> None:
    """``autograded/<student>/<assignment>/<notebook>.ipynb``: what the formgrader opens, made safe to open."""
    assert job.notebook is not None
    resources = {"nbgrader": {"notebook": notebook, "assignment": result.assignment, "student": result.student,
                              "db_url": course.db_url}}
    nb = nbformat.from_dict(job.notebook)
    for pp in (DeduplicateIds(log=_QUIET), OverwriteCells(log=_QUIET), ClearHiddenTests(log=_QUIET),
               CheckCellMetadata(log=_QUIET)):
        nb, resources = pp.preprocess(nb, resources)
    annotate(nb, job, result)
    folder = course.folder("autograded_directory", "autograded") / result.student / result.assignment
    write_atomic(folder / f"{notebook}.ipynb", nbformat.writes(defang(nb)).encode(), course.access)


def annotate(nb: nbformat.NotebookNode, job: Job, result: SubmissionResult) -> None:
    """The run's outputs in the student's cells, and each test cell's verdict as its output: the message,
    then the score as a result, which nbgrader reads as the cell's (partial) credit. Used for the
    autograded notebook of ``d2lgrade grade`` and of ``nbgrader autograde`` alike."""
    _copy_outputs(nb, job)
    verdicts = {q.id: q for q in result.questions}
    for cell in nb.cells:
        q = verdicts.get(cell.metadata.get("nbgrader", {}).get("grade_id"))
        if q is not None and is_test_cell(cell):
            text = f"{q.score:g} / {q.max_score:g} points. {q.output}\n"
            cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text=text),
                            nbformat.v4.new_output("execute_result", data={"text/plain": f"{q.score:g}"},
                                                   execution_count=None)]


def _copy_outputs(nb: nbformat.NotebookNode, job: Job) -> None:
    """Outputs of the run, matched by cell id (the run keeps ids), for the student's code cells."""
    executed = job.execution.notebook if job.execution else None
    if executed is None:
        return
    # code cells only: the executed notebook of a report (a cluster worker's, the grading service's) has all cells
    outputs = {c.get("id"): c.outputs for c in executed.cells if c.get("id") and c.cell_type == "code"}
    for cell in nb.cells:
        if cell.cell_type == "code" and not is_test_cell(cell):
            cell.outputs = outputs.get(cell.get("id"), [])
