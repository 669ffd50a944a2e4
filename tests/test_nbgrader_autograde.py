"""``nbgrader autograde`` (and so the formgrader's Autograde button) grades through d2lgrade's sandbox.

The same submissions, graded by ``nbgrader autograde`` in one course folder and by ``d2lgrade grade``
in another, give the same gradebook rows. A submission that imports the reference solutions, or
writes outside its sandbox, gets exactly what it gets from ``d2lgrade grade``: nothing of it ran
unconfined.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from nbgrader.api import Gradebook

from d2lgrade.authoring.samples import samples_dir
from d2lgrade.batch.intake import Submission
from d2lgrade.batch.run import run_batch
from d2lgrade.course.layout import Course
from tests.conftest import copy_course

ASSIGNMENT = "s02_1"
NOTEBOOK = "data_manipulation.ipynb"
NBGRADER = str(Path(sys.executable).parent / "nbgrader")
ESCAPE = f"/tmp/d2lgrade-escaped-{uuid.uuid4().hex}"


def _with_cell(sample: Path, source: str) -> bytes:
    nb = json.loads(sample.read_text())
    nb["cells"].append({"cell_type": "code", "id": "hostile", "metadata": {}, "source": source, "outputs": [],
                        "execution_count": None})
    return json.dumps(nb).encode()


def _submissions(course: Course) -> dict[str, bytes]:
    samples = {p.stem: p for p in sorted(samples_dir(course, ASSIGNMENT).glob("*.ipynb"))}
    subs = {name: path.read_bytes() for name, path in samples.items()}
    subs["imports-solutions"] = _with_cell(samples["complete"], "del lt\nfrom solutions.s02_1 import less_than\n"
                                                                "lt = less_than(X, Y)\n")
    subs["writes-outside"] = _with_cell(samples["complete"], f"open({ESCAPE!r}, 'w').write('out')\n")
    return subs


def _rows(course: Course) -> list[tuple[str, str, float | None, bool]]:
    with Gradebook(course.db_url) as gb:
        return sorted((s.student.id, g.name, g.auto_score, g.needs_manual_grade)
                      for s in gb.assignment_submissions(ASSIGNMENT) for nb in s.notebooks for g in nb.grades)


@pytest.fixture()
def two_courses(course, bundles, tmp_path, monkeypatch) -> tuple[Course, Course]:
    monkeypatch.delenv("D2LGRADE_DB_URL", raising=False)
    made = []
    for name in ("by-nbgrader", "by-d2lgrade"):
        (tmp_path / name).mkdir()
        made.append(copy_course(bundles, ASSIGNMENT, tmp_path / name))
        subprocess.run([NBGRADER, "generate_assignment", ASSIGNMENT, "--force"], cwd=tmp_path / name, check=True,
                       capture_output=True)
    return made[0], made[1]


@pytest.mark.slow
@pytest.mark.long
def test_nbgrader_autograde_grades_in_the_sandbox_and_writes_the_rows_d2lgrade_writes(course, two_courses,
                                                                                       tmp_path):
    by_nbgrader, by_d2lgrade = two_courses
    subs = _submissions(course)
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    for student, raw in subs.items():
        folder = by_nbgrader.root / "submitted" / student / ASSIGNMENT
        folder.mkdir(parents=True)
        (folder / NOTEBOOK).write_bytes(raw)
        (inbox / f"{student}.ipynb").write_bytes(raw)

    done = subprocess.run([NBGRADER, "autograde", ASSIGNMENT], cwd=by_nbgrader.root, capture_output=True, text=True,
                          env={k: v for k, v in os.environ.items() if k != "D2LGRADE_DB_URL"})
    assert done.returncode == 0, done.stderr[-2000:]
    assert "graded in the sandbox" in done.stderr
    report = run_batch(by_d2lgrade, ASSIGNMENT, [Submission(s, inbox / f"{s}.ipynb") for s in subs], tmp_path / "out",
                       log=lambda _: None)
    assert not report.internal_errors

    assert _rows(by_nbgrader) == _rows(by_d2lgrade)
    scores = {r.student: r.score for r in report.results}
    assert scores["imports-solutions"] < scores["complete"], "the reference solutions were importable"
    assert not Path(ESCAPE).exists(), "a submission wrote outside its sandbox"
    autograded = by_nbgrader.root / "autograded" / "complete" / ASSIGNMENT / NOTEBOOK
    assert "points." in autograded.read_text(), "the verdicts are in the autograded notebook"
    shutil.rmtree(tmp_path / "out")


@pytest.mark.slow
def test_without_the_sandboxed_autograde_nbgrader_s_own_run_earns_nothing(course, two_courses):
    """Fail closed: if nbgrader_config.py's override is not in effect, nbgrader's Execute runs the hidden tests,
    and they refuse to judge: every autograded question gets zero, loudly, rather than a score reached outside
    the sandbox."""
    unconfigured, _ = two_courses
    config = unconfigured.root / "nbgrader_config.py"
    text = config.read_text()
    config.write_text(text[:text.index("c.Autograde.autograde_preprocessors")])
    folder = unconfigured.root / "submitted" / "ada" / ASSIGNMENT
    folder.mkdir(parents=True)
    (folder / NOTEBOOK).write_bytes((samples_dir(course, ASSIGNMENT) / "complete.ipynb").read_bytes())
    subprocess.run([NBGRADER, "autograde", ASSIGNMENT], cwd=unconfigured.root, capture_output=True, text=True,
                   env={k: v for k, v in os.environ.items() if k != "D2LGRADE_DB_URL"})
    with Gradebook(unconfigured.db_url) as gb:
        assert gb.find_submission(ASSIGNMENT, "ada").score == 0
    graded = (unconfigured.root / "autograded" / "ada" / ASSIGNMENT / NOTEBOOK).read_text()
    assert "sandboxed autograde was not in effect" in graded
