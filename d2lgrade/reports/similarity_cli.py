"""``d2lgrade similarity <assignment> [submissions] [--output DIR]``: which students' answers are alike.

The command's logic, for ``cli.py`` to register as a thin call: the folder is read as ``d2lgrade grade``
reads it (d2lgrade/batch/intake.py), by default the course's ``submitted/`` (nbgrader's layout, where
``grade`` archives every submission); nothing in a submission runs.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from d2lgrade.batch.intake import find_submissions
from d2lgrade.course.layout import Course
from d2lgrade.reports.similarity import SimilarityError, similarity_report
from d2lgrade.reports.similarity_html import write_similarity


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="d2lgrade similarity",
        description="Scores every pair of students per answer cell from normalised code and text, weighted by how "
                    "rare the shared part is in the class. Writes <output>/<assignment>/similarity.json and "
                    "similarity.html beside the class report (instructors only: it says what a score does not "
                    "prove). Exit status: 0 written; 2 nothing to compare or bad arguments.")
    p.add_argument("assignment")
    p.add_argument("submissions", nargs="?", default=None,
                   help="a folder as `d2lgrade grade` takes it (default: the course's submitted/)")
    p.add_argument("--output", default="reports", help="where reports are written (default: reports/)")
    p.add_argument("--course", default=None, metavar="DIR",
                   help="the course folder (default: the one at or above the current folder)")
    return p


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


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        course = Course.find(Path(args.course) if args.course else None)
        submissions = Path(args.submissions) if args.submissions else course.folder("submitted_directory", "submitted")
        output = Path(args.output) if Path(args.output).is_absolute() else course.root / args.output
        data, page = run(course, args.assignment, submissions, output)
    except (SimilarityError, FileNotFoundError) as exc:
        print(f"d2lgrade similarity: {exc}", file=sys.stderr)
        return 2
    print(f"wrote {page} and {data.name} beside it (instructors only: open it in a browser)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
