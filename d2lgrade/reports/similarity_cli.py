"""``d2lgrade similarity <assignment> [submissions] [--output DIR]``: which students' answers are alike.

The command's logic (``cli.py`` holds its arguments): the folder is read as ``d2lgrade grade``
reads it (d2lgrade/batch/intake.py), by default the course's ``submitted/`` (nbgrader's layout, where
``grade`` archives every submission); nothing in a submission runs.
"""

from __future__ import annotations

from pathlib import Path

from d2lgrade.batch.intake import find_submissions
from d2lgrade.course.layout import Course
from d2lgrade.reports.similarity import SimilarityError, similarity_report
from d2lgrade.reports.similarity_html import write_similarity


def run(course: Course, assignment: str, submissions: Path, output: Path) -> tuple[Path, Path]:
    """Compare and write; SimilarityError (with the remedy) when there is nothing to compare."""
    if assignment not in course.assignments():
        raise SimilarityError(f"no assignment {assignment!r} in {course.root}; `d2lgrade list` shows them")
    try:
        intake = find_submissions(submissions, None, assignment)
    except FileNotFoundError as exc:
        raise SimilarityError(f"{exc}; give the submissions folder, as `d2lgrade grade` takes it") from None
    report = similarity_report(course.release_notebook(assignment), intake, assignment)
    return write_similarity(report, output / assignment)
