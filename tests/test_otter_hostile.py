"""Hostile submissions through the Otter zip: nothing from them runs outside the sandbox, and every
one ends in a results.json with its exact score (both entry points: ``otter run`` and the zip's
``run_otter.py`` in an /autograder-like folder)."""

from __future__ import annotations

import copy
import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import dill
import nbformat
import pytest

from tests.conftest import RULE_UNCHECKABLE
from tests.test_hostile import FULL, SCENARIOS, answers

OTTER = str(Path(sys.executable).parent / "otter")
MARKER = Path(f"/tmp/d2lgrade-otter-hostile-marker-{os.getpid()}")  # one per test worker
pytestmark = pytest.mark.slow


class _Forge:
    """Unpickling this writes the marker: proof that a log was deserialised."""

    def __reduce__(self):
        return (exec, (f"open({str(MARKER)!r}, 'w').write('ran')",))


@pytest.fixture(scope="module")
def ag_zip(otter_zips):
    return otter_zips["s02_1"]


@pytest.fixture(scope="module")
def release(course):
    return nbformat.read(course.release_notebook("s02_1"), as_version=4)


def _zip(path: Path, files: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w") as zf:
        for name, data in files.items():
            zf.writestr(name, data)
    return path


def _otter_run(ag_zip: Path, submission: Path, out: Path) -> dict:
    MARKER.unlink(missing_ok=True)
    subprocess.run([OTTER, "run", "-a", str(ag_zip), str(submission), "-o", str(out)],
                   capture_output=True, text=True, cwd=out, timeout=900)
    assert not MARKER.exists(), "submission content ran outside the sandbox"
    return json.loads((out / "results.json").read_text())


def _gradescope_run(ag_zip: Path, files: dict[str, bytes], tmp: Path) -> dict:
    """The zip's own run_otter.py, in a fake /autograder folder (source, submission, results)."""
    ag = tmp / "autograder"
    for sub in ("source", "submission", "results"):
        (ag / sub).mkdir(parents=True)
    (ag / "submission_metadata.json").write_text("{}")
    zipfile.ZipFile(ag_zip).extractall(ag / "source")
    for name, data in files.items():
        (ag / "submission" / name).parent.mkdir(parents=True, exist_ok=True)
        (ag / "submission" / name).write_bytes(data)
    MARKER.unlink(missing_ok=True)
    subprocess.run([sys.executable, str(ag / "source" / "run_otter.py")], capture_output=True, text=True,
                   cwd=tmp, timeout=900)
    assert not MARKER.exists(), "submission content ran outside the sandbox"
    return json.loads((ag / "results" / "results.json").read_text())


def _score(result: dict) -> float:
    """Otter's results.json has no top-level score: the sum of its scored tests is the grade."""
    return sum(t["score"] for t in result["tests"] if "score" in t)


def _nb(release, scenario: str = "honest-complete") -> bytes:
    return nbformat.writes(SCENARIOS[scenario].build(copy.deepcopy(release))).encode()


SHADOW = f"open({str(MARKER)!r}, 'w').write('ran')\n".encode()


def test_crafted_otter_log_and_shadow_modules_in_a_zip_give_zero_and_never_run(ag_zip, release, tmp_path):
    blank = nbformat.writes(copy.deepcopy(release)).encode()
    sub = _zip(tmp_path / "sub.zip", {"blank.ipynb": blank, ".OTTER_LOG": dill.dumps(_Forge()),
                                     "ipykernel_launcher.py": SHADOW, "IPython/__init__.py": SHADOW,
                                     "__init__.py": SHADOW, "d2lgrade/__init__.py": SHADOW})
    assert _score(_otter_run(ag_zip, sub, tmp_path)) == 0


@pytest.mark.parametrize("scenario", ["honest-complete", "forged-answer-report", "write-fake-results-gradebook-bundle"])
def test_hostile_scenarios_score_the_same_through_otter_run(ag_zip, release, tmp_path, scenario):
    nb = tmp_path / f"{scenario}.ipynb"
    nb.write_bytes(_nb(release, scenario))
    assert _score(_otter_run(ag_zip, nb, tmp_path)) == SCENARIOS[scenario].score


READ_REFERENCES = """\
import glob, os
found = []
for pattern in ['/autograder/**/otter_config.json', '/tmp/**/otter_config.json', '/work/**/otter_config.json',
                '/work/**/bundle.json', '/proc/*/cwd/../source/otter_config.json']:
    try:
        found += glob.glob(pattern, recursive=True)
    except Exception:
        pass
lt = None if found else X < Y  # readable references cost this point
print(found[:3])
"""


def test_references_are_not_readable_from_the_sandbox(ag_zip, release, tmp_path):
    nb = tmp_path / "peek.ipynb"
    nb.write_bytes(nbformat.writes(answers(ex1_lt=READ_REFERENCES)(copy.deepcopy(release))).encode())
    result = _otter_run(ag_zip, nb, tmp_path)
    assert _score(result) == FULL, result


DEEP = b'{"nbformat": 4, "nbformat_minor": 5, "cells": [], "metadata": {"x": ' + b"[" * 100_000 + b"]" * 100_000 + b"}}"


@pytest.mark.parametrize(("files", "says"), [
    ({"a.ipynb": b"{}", "b.ipynb": b"{}"}, "2 notebooks"),
    ({"notes.txt": b"hello", "sub/x.ipynb": b"{}"}, "no notebook"),
    ({"deep.ipynb": DEEP}, "deep.ipynb"),
])
def test_unusable_submissions_get_zero_with_a_reason_in_the_gradescope_layout(ag_zip, tmp_path, files, says):
    result = _gradescope_run(ag_zip, files, tmp_path)
    assert _score(result) == 0 and len(result["tests"]) == 5
    assert says in json.dumps(result)


def test_crafted_log_and_shadow_modules_in_the_gradescope_layout(ag_zip, release, tmp_path):
    files = {"sub.ipynb": _nb(release), ".OTTER_LOG": dill.dumps(_Forge()), "ipykernel_launcher.py": SHADOW,
             "IPython/__init__.py": SHADOW}
    assert _score(_gradescope_run(ag_zip, files, tmp_path)) == FULL


def test_symlinked_notebook_is_refused(ag_zip, tmp_path):
    ag_src = tmp_path / "link-target.ipynb"
    ag_src.write_text("{}")
    ag = tmp_path / "g"
    ag.mkdir()
    (tmp_path / "x").mkdir()
    link = tmp_path / "x" / "l.ipynb"
    link.symlink_to(ag_src)
    from d2lgrade.otter.plugin import SubmissionUnusable, take_notebook

    with pytest.raises(SubmissionUnusable, match="not a plain file"):
        take_notebook(tmp_path / "x")
    assert not list((tmp_path / "x").iterdir()) and ag_src.exists()


@pytest.mark.slow
@pytest.mark.parametrize("name", ["shape-without-entries-values", "shape-without-entries-interval",
                                  "two-reports-for-one-probe"])
def test_forged_reports_earn_the_same_through_otter_run(otter_zips, tmp_path, name):
    """The forged-report family (tests/test_forged_reports.py) through the zip: the attacked questions lose."""
    from tests.test_forged_reports import SCENARIOS as FORGERIES
    from tests.test_forged_reports import WRONG, _submission

    forgery = FORGERIES[name]
    assignment = WRONG[forgery.questions[0]][0]
    nb = tmp_path / f"{name}.ipynb"
    nb.write_bytes(_submission(forgery))
    result = _otter_run(otter_zips[assignment], nb, tmp_path)
    attacked = {f"{WRONG[q][1]}" for q in forgery.questions}
    by_id = {t["name"].split(": ", 1)[-1]: t for t in result["tests"] if "score" in t}
    assert attacked <= set(by_id), result
    assert all(by_id[q]["score"] == 0 for q in attacked), result
    assert all(t["score"] == t["max_score"] for q, t in by_id.items() if q not in attacked), result


@pytest.mark.slow
@pytest.mark.parametrize("cell, score", [("ESCAPES", FULL), ("REKEY_SESSION", FULL - 1)], ids=["escapes", "rekey"])
def test_sandbox_limits_hold_through_otter_run(ag_zip, release, tmp_path, cell, score):
    """The sandbox family (tests/test_sandbox_limits.py) through the zip."""
    from tests import test_sandbox_limits

    nb = tmp_path / "limits.ipynb"
    nb.write_bytes(nbformat.writes(answers(ex1_gt=getattr(test_sandbox_limits, cell))(copy.deepcopy(release))).encode())
    result = _otter_run(ag_zip, nb, tmp_path)
    # as score_apart_from_rules: ctypes and get_ipython() elsewhere make broadcast_shape's rule uncheckable
    uncheckable = sum(t["max_score"] for t in result["tests"] if RULE_UNCHECKABLE in t.get("output", ""))
    assert _score(result) + uncheckable == score
