"""Sample submissions: the release notebook with a scenario's answers filled in.

A scenario file ``tests/submissions/<assignment>/<scenario>.py`` lists answer cells in percent
format (``# %% <grade_id>`` then the cell's new source). :func:`write_samples` writes
``<scenario>.ipynb`` for each, and ``untouched.ipynb`` (the release as given), so samples follow
the release whenever it changes; a test checks they are in sync.
"""

from __future__ import annotations

import copy
import re
from pathlib import Path

import nbformat

from d2lgrade.course.layout import Course

UNTOUCHED = "untouched"
_HEADER = re.compile(r"^# %% (\S+)[ \t]*$", re.MULTILINE)


class ScenarioError(ValueError):
    """A scenario names a cell the release does not have, or names one twice."""


def parse_scenario(text: str, where: str) -> dict[str, str]:
    """``{grade_id: new source}`` from percent-format text."""
    parts = _HEADER.split(text)
    if parts[0].strip():
        raise ScenarioError(f"{where}: text before the first '# %% <grade_id>' line")
    answers: dict[str, str] = {}
    for grade_id, body in zip(parts[1::2], parts[2::2]):
        if grade_id in answers:
            raise ScenarioError(f"{where}: {grade_id} appears twice")
        answers[grade_id] = body.strip("\n")
    return answers


def fill(release: nbformat.NotebookNode, answers: dict[str, str], where: str) -> nbformat.NotebookNode:
    """A copy of ``release`` with the answer cells named in ``answers`` replaced."""
    nb = copy.deepcopy(release)
    by_id = {c.metadata.get("nbgrader", {}).get("grade_id"): c for c in nb.cells}
    for grade_id, source in answers.items():
        cell = by_id.get(grade_id)
        if cell is None or not cell.metadata["nbgrader"].get("solution"):
            raise ScenarioError(f"{where}: {grade_id!r} is not an answer cell of the release")
        cell.source = source
    return nb


def sample_notebooks(course: Course, assignment: str) -> dict[str, nbformat.NotebookNode]:
    """Every sample of ``assignment``: one per scenario file, plus the untouched release."""
    release = nbformat.read(course.release_notebook(assignment), as_version=4)
    samples = {UNTOUCHED: release}
    for scenario in sorted(samples_dir(course, assignment).glob("*.py")):
        answers = parse_scenario(scenario.read_text(encoding="utf-8"), str(scenario))
        samples[scenario.stem] = fill(release, answers, str(scenario))
    return samples


def samples_dir(course: Course, assignment: str) -> Path:
    return course.root / "tests" / "submissions" / assignment


def write_samples(course: Course, assignments: list[str] | None = None) -> list[Path]:
    written = []
    for assignment in assignments or course.assignments():
        folder = samples_dir(course, assignment)
        folder.mkdir(parents=True, exist_ok=True)
        for name, nb in sample_notebooks(course, assignment).items():
            path = folder / f"{name}.ipynb"
            nbformat.write(nb, path)
            written.append(path)
    return written
