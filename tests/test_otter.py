"""The Otter autograder zip gives the same scores as `d2lgrade grade`, on every bundled sample."""

from __future__ import annotations

import contextlib
import io
import json
import zipfile
from pathlib import Path

import pytest

from d2lgrade.authoring.samples import samples_dir
from d2lgrade.judging.results import entry_name


def test_zip_pins_python_311_and_keeps_references_out_of_the_submission_folder(course, otter_zips, assignment):
    with zipfile.ZipFile(otter_zips[assignment]) as zf:
        names = zf.namelist()
        environment = zf.read("environment.yml").decode()
        config = json.loads(zf.read("otter_config.json"))
        copied = [n for n in names if n.startswith(("files/", "tests/")) and not n.endswith("/")]
    assert "python=3.11" in environment
    assert "mxnet==1.9.1" in environment and "numpy==1.23.5" in environment
    # Otter copies files/ and tests/ beside the submission: only the grader's code may be there.
    assert all(n.startswith("files/d2lgrade-src/") and n.endswith((".py", "pyproject.toml")) for n in copied), copied
    assert not [n for n in names if n.startswith("tests/") and n != "tests/"], "no Otter tests run in the kernel"
    (plugin,) = config["plugins"]
    assert "bundle" in next(iter(plugin.values()))


def otter_run(ag_zip: Path, notebook: Path, out: Path) -> dict:
    """What ``otter run -a ag_zip notebook -o out`` does, called as the command calls it (``otter.run.main``) in this
    test worker: the zip, Otter's runner and the plugin are the same; the worker's warm sandbox template and
    Otter's imports are shared by the 51 samples instead of started 51 times. The command itself, as a process of
    its own, is run by tests/test_otter_hostile.py (where a shadowed import must find a fresh interpreter) and
    tests/test_written_pdf.py."""
    from otter.run import main

    with contextlib.redirect_stdout(io.StringIO()) as printed:
        main(str(notebook), autograder=str(ag_zip), output_dir=str(out), no_logo=True)
    assert (out / "results.json").is_file(), printed.getvalue()[-2000:]
    return json.loads((out / "results.json").read_text())


@pytest.mark.slow
def test_otter_run_agrees_with_d2lgrade(course, graded, otter_zips, sample, tmp_path, monkeypatch):
    """Scores only: the written answers' PDF (a Chromium run per submission, and no score in it) is left out here;
    ``tests/test_written_pdf.py`` makes it through the ``otter run`` command."""
    from d2lgrade.otter.plugin import D2LGradePlugin

    monkeypatch.setattr(D2LGradePlugin, "_written_pdf", lambda self, *args: self.result)
    assignment, scenario = sample
    notebook = samples_dir(course, assignment) / f"{scenario}.ipynb"
    ours = graded(assignment, notebook).result
    theirs = otter_run(otter_zips[assignment], notebook, tmp_path)
    scores = {t["name"]: t["score"] for t in theirs["tests"] if "score" in t}
    assert scores == {entry_name(q): q.score for q in ours.autograded}
    assert sum(scores.values()) == ours.score
