"""What a student sees: the public tests, run in their own kernel as JupyterLab runs them."""

from __future__ import annotations

import shutil

import nbformat
import pytest
from jupyter_core.utils import run_sync
from nbclient import NotebookClient

from d2lgrade.authoring.samples import samples_dir
from d2lgrade.sandbox.execute import is_test_cell, trusted_kernel_factory


def run_like_jupyterlab(path, tmp_path) -> nbformat.NotebookNode:
    """Run All Cells, errors and all, in the notebook's own folder."""
    shutil.copy(path, tmp_path / path.name)
    nb = nbformat.read(tmp_path / path.name, as_version=4)
    km = trusted_kernel_factory()
    try:
        NotebookClient(nb, km=km, timeout=120, allow_errors=True,
                       resources={"metadata": {"path": str(tmp_path)}}).execute()
    finally:  # nbclient leaves a kernel manager it was given running
        run_sync(km.shutdown_kernel)(now=True)
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


def _with_answer(course, tmp_path, source: str):
    """The 2.1 release with `lt` answered by ``source`` (the other answers left as released)."""
    from d2lgrade.authoring.samples import fill

    release = nbformat.read(course.release_notebook("s02_1"), as_version=4)
    nb = fill(release, {"ex1_lt_answer": source}, "test")
    tmp_path.mkdir(parents=True, exist_ok=True)
    path = tmp_path / "data_manipulation.ipynb"
    nbformat.write(nb, path)
    return path


TRANSPOSED_BOOL = "lt = (X < Y).T"  # MXNet cannot transpose a bool array: it fails when the value is read
MESSAGE = "`lt` could not be computed: MXNetError: an operation that made it does not support bool arrays"


@pytest.mark.slow
def test_a_failed_check_shows_its_message_alone_in_jupyterlab(course, tmp_path):
    path = _with_answer(course, tmp_path / "in", TRANSPOSED_BOOL)
    (tmp_path / "out").mkdir()
    nb = run_like_jupyterlab(path, tmp_path / "out")
    cell = next(c for c in public_test_cells(nb) if c.metadata.nbgrader.grade_id == "ex1_lt")
    [error] = [o for o in cell.outputs if o.output_type == "error"]
    assert error.ename == "AnswerError" and error.evalue.startswith(MESSAGE)
    assert len(error.traceback) == 1, error.traceback  # one line, no frames through d2lgrade's code
    assert error.traceback[0] == f"\x1b[31m✗ {error.evalue}\x1b[0m"


@pytest.mark.slow
def test_nbgrader_validate_shows_a_failed_checks_message_whole(course, tmp_path):
    import re
    import subprocess
    import sys
    from pathlib import Path

    path = _with_answer(course, tmp_path, TRANSPOSED_BOOL)
    nbgrader = Path(sys.executable).with_name("nbgrader")
    out = subprocess.run([str(nbgrader), "validate", str(path)], capture_output=True, text=True, timeout=300,
                         cwd=tmp_path).stdout
    block = out[out.index("✗ `lt`"):]
    block = block[:block.index("\n\n")]
    assert "..." not in block, block  # no line cut by nbgrader's 87-character limit
    assert "Traceback" not in out and "d2lgrade/" not in out
    text = re.sub(r"\s*\n\s*", " ", block)
    assert text.startswith(f"✗ {MESSAGE}") and text.endswith("or compute it another way"), text


# --- the public check warns about rules (issue 20) ----------------------------------------------------

RULE = dict(forbid=("*.norm", "*.hypot", "math.dist"), rule="no norm function: build it from elementwise operations")


def _checks_over(cells: list[str], answer):
    """A Checks bound to a namespace whose ``In`` history holds ``cells``, as IPython keeps it."""
    from mxnet import np

    from d2lgrade.student import Checks

    return Checks("s02_3", namespace={"In": ["", *cells], "norm_any": answer, "X": np.ones(3)}), np.ones(3)


def test_the_public_check_warns_of_a_broken_rule_and_names_the_change():

    from d2lgrade.student import AnswerError

    check, X = _checks_over(["from mxnet import np", "from numpy.linalg import *",
                             "def norm_any(X):\n    return norm(X.asnumpy())"], lambda X: 1.0)
    with pytest.raises(AnswerError) as raised:
        check.function("norm_any", ("X",), "number", example=(X,), **RULE)
    message = str(raised.value)
    assert message.startswith("`norm_any` uses `numpy.linalg.norm` (the cell run as [3], line 2)")
    assert "no norm function" in message and "change that code" in message and "0 points" in message


def test_the_public_check_warns_when_the_rule_cannot_be_checked_and_passes_honest_habits(capsys):

    from d2lgrade.student import AnswerError

    honest = "def norm_any(X):\n    return np.sqrt((X ** 2).sum())"
    check, X = _checks_over(["from mxnet import np", "%load_ext autoreload\n%autoreload 2", "%%html\n<b>x</b>", honest],
                            lambda X: 1.0)
    check.function("norm_any", ("X",), "number", example=(X,), **RULE)
    assert capsys.readouterr().out.startswith("✓ ")
    check, X = _checks_over(["from mxnet import np", honest, "exec('norm_any = np.linalg.norm')"],
                            lambda X: 1.0)
    with pytest.raises(AnswerError, match=r"cannot be checked .* `exec` \(the cell run as \[3\], line 1\)"):
        check.function("norm_any", ("X",), "number", example=(X,), **RULE)


@pytest.mark.slow
def test_the_public_check_reads_each_cell_as_last_run_in_the_kernel(course, tmp_path):
    """As JupyterLab runs it (each request carries its cell's id): a forbidden answer warns; the same cell fixed
    and run again passes, its earlier run forgotten."""
    from jupyter_client.manager import start_new_kernel

    nb = nbformat.read(course.release_notebook("s02_3"), as_version=4)
    cells = [c for c in nb.cells if c.cell_type == "code"]
    answer = next(c for c in cells if c.metadata.get("nbgrader", {}).get("grade_id") == "ex9_norm_any_answer")
    test = next(c for c in cells if c.metadata.get("nbgrader", {}).get("grade_id") == "ex9_norm_any")
    km, kc = start_new_kernel(kernel_name="python3", cwd=str(tmp_path), startup_timeout=60)
    try:
        for cell in cells[:cells.index(answer)]:
            _run_in_kernel(kc, cell.source, cell.id)
        _run_in_kernel(kc, "def norm_any(X):\n    return np.linalg.norm(X)", answer.id)
        warned = _run_in_kernel(kc, test.source, test.id)
        assert "uses `mxnet.np.linalg.norm`" in warned and "no norm function" in warned, warned
        _run_in_kernel(kc, "def norm_any(X):\n    return np.sqrt((X ** 2).sum())", answer.id)
        passed = _run_in_kernel(kc, test.source, test.id)
        assert passed.startswith("✓ ") and "Error" not in passed, passed
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)


def _run_in_kernel(kc, code: str, cell_id: str) -> str:
    """One execute request with JupyterLab's ``cellId`` metadata; the text of its stream and error outputs."""
    msg = kc.session.msg("execute_request", {"code": code, "silent": False, "store_history": True,
                                             "user_expressions": {}, "allow_stdin": False, "stop_on_error": False},
                         metadata={"cellId": cell_id})
    kc.shell_channel.send(msg)
    out = []
    while True:
        reply = kc.get_iopub_msg(timeout=120)
        if reply["parent_header"].get("msg_id") != msg["header"]["msg_id"]:
            continue
        kind, content = reply["msg_type"], reply["content"]
        if kind == "stream":
            out.append(content["text"])
        elif kind == "error":
            out.append(f"{content['ename']}: {content['evalue']}")
        elif kind == "status" and content["execution_state"] == "idle":
            return "".join(out)
