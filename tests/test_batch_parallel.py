"""Batches on several workers, and batches run again: same verdicts as one job, nothing graded twice.

(A batch killed with SIGKILL on one job or two workers, then run again, is in tests/test_faults.py.)
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from d2lgrade.authoring.samples import samples_dir
from d2lgrade.batch.intake import find_submissions
from d2lgrade.batch.run import run_batch
from d2lgrade.course.layout import Course
from tests.conftest import copy_course

ASSIGNMENT = "s02_1"
INFINITE_LOOP = "while True:\n    pass\n"


@pytest.fixture()
def classroom(course, bundles, tmp_path) -> tuple[Course, Path]:
    """A course with s02_1 built and an inbox of its samples, a hostile one among them."""
    (tmp_path / "course").mkdir()
    copy = copy_course(bundles, ASSIGNMENT, tmp_path / "course")
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    for sample in sorted(samples_dir(course, ASSIGNMENT).glob("*.ipynb")):
        shutil.copy(sample, inbox / sample.name)
    nb = json.loads((inbox / "complete.ipynb").read_text())
    nb["cells"].insert(3, {"cell_type": "code", "id": "kills-its-kernel", "metadata": {}, "source": "import os\nos._exit(3)\n",
                           "outputs": [], "execution_count": None})
    (inbox / "kills-its-kernel.ipynb").write_text(json.dumps(nb))
    return copy, inbox


def _scores(folder: Path) -> dict[str, object]:
    return {p.stem: json.loads(p.read_text()) for p in sorted(folder.glob("*.json"))}


@pytest.mark.slow
def test_two_workers_give_the_verdicts_of_one(classroom, tmp_path):
    course, inbox = classroom
    one = run_batch(course, ASSIGNMENT, find_submissions(inbox), tmp_path / "one", gradebook=False, jobs=1)
    two = run_batch(course, ASSIGNMENT, find_submissions(inbox), tmp_path / "two", gradebook=False, jobs=2)
    assert [r.student for r in two.results] == [r.student for r in one.results]
    assert _scores(tmp_path / "two" / ASSIGNMENT) == _scores(tmp_path / "one" / ASSIGNMENT)
    assert not one.internal_errors and not two.internal_errors


@pytest.mark.slow
@pytest.mark.long
def test_a_rerun_keeps_what_is_graded_and_grades_what_changed(classroom, tmp_path):
    course, inbox = classroom
    out = tmp_path / "results"
    first = run_batch(course, ASSIGNMENT, find_submissions(inbox), out, jobs=2)
    assert len(first.results) == 4 and not first.kept

    again = run_batch(course, ASSIGNMENT, find_submissions(inbox), out, jobs=2)
    assert again.results == [] and sorted(again.kept) == sorted(r.student for r in first.results)

    (inbox / "partial.ipynb").write_bytes((inbox / "complete.ipynb").read_bytes())  # a resubmission
    changed = run_batch(course, ASSIGNMENT, find_submissions(inbox), out, jobs=2)
    assert [r.student for r in changed.results] == ["partial"]
    assert changed.results[0].score == changed.results[0].max_score

    forced = run_batch(course, ASSIGNMENT, find_submissions(inbox), out, jobs=2, regrade=True)
    assert len(forced.results) == 4 and not forced.kept


@pytest.mark.slow
def test_a_rebuilt_assignment_regrades_everyone(classroom, tmp_path):
    course, inbox = classroom
    out = tmp_path / "results"
    run_batch(course, ASSIGNMENT, find_submissions(inbox), out, gradebook=False, jobs=1)
    bundle = course.bundle_path(ASSIGNMENT)
    bundle.write_text(bundle.read_text() + "\n")  # same content, other bytes: as after a rebuild
    again = run_batch(course, ASSIGNMENT, find_submissions(inbox), out, gradebook=False, jobs=1)
    assert len(again.results) == 4 and not again.kept


@pytest.mark.slow
def test_a_batch_without_the_gradebook_is_not_kept_by_one_with_it(classroom, tmp_path):
    course, inbox = classroom
    out = tmp_path / "results"
    run_batch(course, ASSIGNMENT, find_submissions(inbox), out, gradebook=False, jobs=1)
    recorded = run_batch(course, ASSIGNMENT, find_submissions(inbox), out, gradebook=True, jobs=1)
    assert len(recorded.results) == 4 and not recorded.kept
    again = run_batch(course, ASSIGNMENT, find_submissions(inbox), out, gradebook=False, jobs=1)
    assert len(again.kept) == 4


@pytest.mark.slow
def test_a_worker_killed_from_outside_costs_zeros_with_a_reason_not_the_batch(classroom, tmp_path):
    """A worker process SIGKILLed mid-batch (the OOM killer, an operator) breaks the pool: every submission still
    gets a result (an internal-error zero where grading was lost), and a rerun grades those again."""
    import multiprocessing
    import os
    import signal

    course, inbox = classroom
    killed: list[int] = []

    def kill_a_worker(line: str) -> None:
        if not killed:
            victim = multiprocessing.active_children()[0]
            os.kill(victim.pid, signal.SIGKILL)
            killed.append(victim.pid)

    out = tmp_path / "results"
    report = run_batch(course, ASSIGNMENT, find_submissions(inbox), out, gradebook=False, jobs=2, log=kill_a_worker)
    students = sorted(p.stem for p in inbox.glob("*.ipynb"))
    assert killed and sorted(r.student for r in report.results) == students
    assert report.internal_errors and sorted(_scores(out / ASSIGNMENT)) == students
    rerun = run_batch(course, ASSIGNMENT, find_submissions(inbox), out, gradebook=False, jobs=2)
    assert not rerun.internal_errors and len(rerun.results) == len(report.internal_errors)
