"""Every assignment, end to end on its notebooks: source, release and the bundled samples.

Golden files: tests/golden/<assignment>/<scenario>.json hold the exact results JSON each sample
must produce. After an intended change, run `make goldens` and review the diff.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import nbformat
import pytest

from d2lgrade.authoring.samples import UNTOUCHED, sample_notebooks, samples_dir
from d2lgrade.judging.results import PASSED, gradescope_json

GOLDEN = Path(__file__).parent / "golden"
UPDATE = os.environ.get("UPDATE_GOLDENS") == "1"


@pytest.mark.slow
def test_source_notebook_with_solutions_scores_full_marks(course, graded, assignment):
    job = graded(assignment, course.source_notebook(assignment), trusted=True)
    result = job.result
    failed = [(q.id, q.output) for q in result.autograded if q.status != PASSED]
    assert not failed, f"{assignment}: the solved source notebook fails {failed}; notes: {result.notes}"
    assert result.score == result.max_score > 0


@pytest.mark.slow
def test_untouched_release_scores_zero_and_says_why(course, graded, assignment):
    job = graded(assignment, course.release_notebook(assignment))
    result = job.result
    assert result.problem is None, "an untouched release is a valid notebook: graded, not rejected"
    assert result.score == 0
    for q in result.autograded:
        assert q.output and "Traceback" not in q.output, f"{q.id}: {q.output!r}"
    assert any("NotImplementedError" in note for note in result.notes), result.notes


def test_samples_are_in_sync_with_release_and_scenarios(course, assignment):
    """tests/submissions/<a>/*.ipynb are what `d2lgrade samples` writes from release/ today."""
    expected = sample_notebooks(course, assignment)
    folder = samples_dir(course, assignment)
    on_disk = {p.stem for p in folder.glob("*.ipynb")}
    assert on_disk == set(expected), f"run `make samples`: {sorted(on_disk ^ set(expected))}"
    for name, nb in expected.items():
        assert nbformat.read(folder / f"{name}.ipynb", as_version=4) == nb, f"{name}.ipynb is stale: run `make samples`"


def test_each_assignment_bundles_a_complete_a_partial_and_an_untouched_sample(course, assignment):
    names = {p.stem for p in samples_dir(course, assignment).glob("*.ipynb")}
    assert {"complete", "partial", UNTOUCHED} <= names


@pytest.mark.slow
def test_sample_results_match_golden(course, graded, sample):
    assignment, scenario = sample
    job = graded(assignment, samples_dir(course, assignment) / f"{scenario}.ipynb")
    produced = gradescope_json(job.result)
    path = GOLDEN / assignment / f"{scenario}.json"
    if UPDATE:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(produced, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    assert path.is_file(), f"no golden file {path}: run `make goldens` and review it"
    assert produced == json.loads(path.read_text(encoding="utf-8"))


@pytest.mark.slow
def test_complete_sample_gets_every_autograded_point(course, graded, assignment):
    job = graded(assignment, samples_dir(course, assignment) / "complete.ipynb")
    assert job.result.score == job.result.max_score, [(q.id, q.output) for q in job.result.autograded]


@pytest.mark.slow
def test_partial_sample_loses_some_parts_but_not_all(course, graded, assignment):
    job = graded(assignment, samples_dir(course, assignment) / "partial.ipynb")
    statuses = {q.status for q in job.result.autograded}
    assert statuses == {"passed", "failed"}, "a partial sample should get some parts right and some wrong"
