"""The course covers the exercise catalog (../shared/exercises.md): every section, every exercise, its kind."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

CATALOG = Path(__file__).resolve().parents[2] / "shared" / "exercises.md"


def catalog() -> dict[str, list[str]]:
    """Section number -> the kind of each exercise, in order."""
    text = CATALOG.read_text(encoding="utf-8")
    sections = {}
    for number, body in re.findall(r"^## (\d+\.\d+) [^\n]*\n(.*?)(?=^## |\Z)", text, flags=re.M | re.S):
        line = re.search(r"^Kinds, in order: (.*)$", body, flags=re.M)
        assert line, f"catalog section {number} has no kinds line"
        top_level = re.sub(r"\([^)]*\)", "", line.group(1))
        sections[number] = [part.strip().split()[0] for part in top_level.split(",") if part.strip()]
    return sections


@pytest.fixture(scope="module")
def kinds() -> dict[str, list[str]]:
    assert CATALOG.is_file(), f"the catalog is expected at {CATALOG} (../shared beside the repository)"
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
