"""What a student sees: the public tests, run in their own kernel as JupyterLab runs them."""

from __future__ import annotations

import shutil

import nbformat
import pytest
from nbclient import NotebookClient

from d2lgrade.execute import is_test_cell, trusted_kernel_factory
from d2lgrade.samples import samples_dir


def run_like_jupyterlab(path, tmp_path) -> nbformat.NotebookNode:
    """Run All Cells, errors and all, in the notebook's own folder."""
    shutil.copy(path, tmp_path / path.name)
    nb = nbformat.read(tmp_path / path.name, as_version=4)
    NotebookClient(nb, km=trusted_kernel_factory(), timeout=120, allow_errors=True,
                   resources={"metadata": {"path": str(tmp_path)}}).execute()
    return nb


def public_test_cells(nb):
    return [c for c in nb.cells if is_test_cell(c)]


@pytest.mark.slow
def test_public_tests_pass_on_a_complete_notebook(course, assignment, tmp_path):
    nb = run_like_jupyterlab(samples_dir(course, assignment) / "complete.ipynb", tmp_path)
    for cell in public_test_cells(nb):
        errors = [o for o in cell.outputs if o.output_type == "error"]
        assert not errors, f"{assignment} {cell.metadata.nbgrader.grade_id}: {errors[0].evalue if errors else ''}"
        text = "".join(o.get("text", "") for o in cell.outputs)
        assert text.startswith("✓ ") and "form OK" in text


@pytest.mark.slow
def test_public_tests_of_the_release_say_what_is_missing(course, assignment, tmp_path):
    nb = run_like_jupyterlab(course.release_notebook(assignment), tmp_path)
    for cell in public_test_cells(nb):
        errors = [o for o in cell.outputs if o.output_type == "error"]
        grade_id = cell.metadata.nbgrader.grade_id
        assert len(errors) == 1 and errors[0].ename == "AnswerError", f"{assignment} {grade_id}: {errors}"
        assert "is not defined" in errors[0].evalue or "should" in errors[0].evalue, errors[0].evalue
