"""The Otter autograder zip gives the same scores as `d2lgrade grade`, on every bundled sample."""

from __future__ import annotations

import json
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from d2lgrade.authoring.samples import samples_dir
from d2lgrade.judging.results import entry_name

OTTER = str(Path(sys.executable).parent / "otter")


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


@pytest.mark.slow
def test_otter_run_agrees_with_d2lgrade(course, graded, otter_zips, sample, tmp_path):
    assignment, scenario = sample
    notebook = samples_dir(course, assignment) / f"{scenario}.ipynb"
    ours = graded(assignment, notebook).result
    proc = subprocess.run([OTTER, "run", "-a", str(otter_zips[assignment]), str(notebook), "-o", str(tmp_path)],
                          capture_output=True, text=True, cwd=tmp_path, timeout=600)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    theirs = json.loads((tmp_path / "results.json").read_text())
    scores = {t["name"]: t["score"] for t in theirs["tests"] if "score" in t}
    assert scores == {entry_name(q): q.score for q in ours.autograded}
    assert sum(scores.values()) == ours.score
