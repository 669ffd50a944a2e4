"""The course covers the exercise catalog (docs/catalog.md): every section, every exercise, its kind.

docs/catalog.md is the repository's copy of the kinds listed in the project's authoring catalog
(../shared/exercises.md, beside the repository on the authors' and CI's machines, never in a user's clone);
where that file is present, the copy is checked to be in sync with it.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CATALOG = ROOT / "docs" / "catalog.md"
AUTHORS_CATALOG = ROOT.parent / "shared" / "exercises.md"


def catalog(path: Path = CATALOG) -> dict[str, list[str]]:
    """Section number -> the kind of each exercise, in order."""
    text = path.read_text(encoding="utf-8")
    sections = {}
    for number, body in re.findall(r"^## (\d+\.\d+) [^\n]*\n(.*?)(?=^## |\Z)", text, flags=re.M | re.S):
        line = re.search(r"^Kinds, in order: (.*)$", body, flags=re.M)
        assert line, f"catalog section {number} has no kinds line"
        top_level = re.sub(r"\([^)]*\)", "", line.group(1))
        sections[number] = [part.strip().split()[0] for part in top_level.split(",") if part.strip()]
    return sections


@pytest.fixture(scope="module")
def kinds() -> dict[str, list[str]]:
    return catalog()


def test_catalog_is_read_whole(kinds):
    assert len(kinds) == 17
    assert sum(len(k) for k in kinds.values()) == 66


def test_each_exercise_has_a_part_of_its_catalog_kind(course, assignment, kinds):
    spec = course.spec(assignment)
    expected = kinds[spec.section]
    by_exercise: dict[int, set[str]] = {}
    for q in spec.questions:
        by_exercise.setdefault(q.exercise, set()).add(q.kind)
    assert sorted(by_exercise) == list(range(1, len(expected) + 1)), f"{assignment}: exercises {sorted(by_exercise)}"
    for number, kind in enumerate(expected, start=1):
        parts = by_exercise[number]
        assert kind in parts, f"{assignment} exercise {number}: catalog says {kind}, parts are {parts}"


@pytest.mark.skipif(not AUTHORS_CATALOG.is_file(), reason="no authors' catalog beside this clone (a user's clone)")
def test_catalog_copy_is_in_sync_with_the_authors_catalog(kinds):
    assert catalog(AUTHORS_CATALOG) == kinds
