"""release/ is exactly what the build makes from source/, and holds nothing secret."""

from __future__ import annotations

import json
import re

import nbformat
import pytest

from d2lgrade.authoring.stated import limits_paragraph
from d2lgrade.nbgrader.release import release_into

SECRET = re.compile(r"BEGIN SOLUTION|END SOLUTION|BEGIN HIDDEN TESTS|check\.judge|from solutions|import solutions"
                    r"|BEGIN MARK SCHEME|Rubric", re.IGNORECASE)


def test_release_holds_no_solution_code_no_hidden_test_no_rubric(course, assignment):
    text = course.release_notebook(assignment).read_text(encoding="utf-8")
    for cell in json.loads(text)["cells"]:
        source = "".join(cell["source"])
        assert not SECRET.search(source), f"{assignment}: release cell leaks: {source[:200]!r}"
        assert not cell.get("outputs"), f"{assignment}: release cells carry no outputs"


@pytest.mark.slow
def test_release_equals_what_build_makes_from_source(course, assignment, tmp_path):
    fresh = release_into(course, assignment, tmp_path)
    committed = course.release_dir / assignment
    assert sorted(p.name for p in fresh.iterdir()) == sorted(p.name for p in committed.iterdir())
    for path in fresh.iterdir():
        assert nbformat.read(path, as_version=4) == nbformat.read(committed / path.name, as_version=4), (
            f"release/{assignment}/{path.name} is stale: run `make build` and commit release/"
        )


def test_every_autograded_question_has_a_reference_that_meets_its_contract(bundles, assignment):
    """compile_bundle raises if a reference is missing or breaks its own contract; check coverage too."""
    bundle = bundles[assignment]
    compiled = {c.question.id for c in bundle.compiled}
    assert compiled == {q.id for q in bundle.questions if q.autograded}


def test_graded_cells_follow_exercise_order_and_every_exercise_is_graded(course, assignment):
    spec = course.spec(assignment)
    exercises = [q.exercise for q in spec.questions]
    assert exercises == sorted(exercises), f"{assignment}: graded cells out of exercise order: {exercises}"
    assert exercises[0] == 1
    assert set(exercises) == set(range(1, max(exercises) + 1)), f"{assignment}: an exercise has no graded part"


def test_the_introduction_states_the_grading_limits_that_apply(course, assignment):
    intro = nbformat.read(course.source_notebook(assignment), as_version=4).cells[0].source
    assert limits_paragraph() in intro, (
        f"{assignment}: the introduction must state the limits as d2lgrade.authoring.stated.limits_paragraph() says them "
        "(a limit changed?): paste its text into the first cell of the source notebook, then `make build`")
