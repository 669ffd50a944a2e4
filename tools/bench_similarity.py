"""``make bench``: seconds to compare a class of 1,000 submissions of one assignment, and how well it finds the
class generator's copy rings.

Writes the class (d2lgrade/reports/class_generator.py, seeded, with copy rings) into a temporary folder, then
times ``d2lgrade similarity`` on it (reading every notebook, fingerprints, the index, scores, the JSON and the
page; not the writing of the class), and prints the top-k precision and recall against the planted rings and
the false-positive rate on one-line answers. Needs the assignment built (``make build``).
Usage: ``python tools/bench_similarity.py [ASSIGNMENT] [COUNT] [SEED]``.
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

from d2lgrade.batch.intake import find_submissions
from d2lgrade.course.layout import Course
from d2lgrade.reports import class_generator
from d2lgrade.reports.similarity import pair_scores, read_class, read_release
from d2lgrade.reports.similarity_cli import run
from d2lgrade.reports.similarity_planted import measure

ROOT = Path(__file__).resolve().parents[1]


def main(argv: list[str]) -> int:
    assignment = argv[0] if argv else "s02_3"
    count = int(argv[1]) if len(argv) > 1 else 1000
    seed = int(argv[2]) if len(argv) > 2 else 7
    course = Course(ROOT)
    with tempfile.TemporaryDirectory(prefix="d2lgrade-similarity-") as tmp:
        folder = Path(tmp) / "class"
        class_generator.write_class(course, assignment, folder, count, seed)
        start = time.perf_counter()
        run(course, assignment, folder, Path(tmp) / "reports")
        seconds = time.perf_counter() - start
        print(f"similarity: {count} submissions of {assignment} compared in {seconds:.1f} s "
              f"({'under' if seconds < 60 else 'OVER'} a minute)")
        cells = read_release(course.release_notebook(assignment))
        answers, _ = read_class(find_submissions(folder, None, assignment), assignment, cells)
        m = measure(pair_scores(answers, listed=0.05), answers, class_generator.planted_pairs(count, seed),
                    class_generator.hostile_students(count), {c.question for c in cells if c.written})
    print(f"planted pairs {m.planted}: top-k precision {m.top_k_precision:.3f}, recall {m.top_k_recall:.3f}; "
          f"flagged precision {m.flagged_precision:.3f}, recall {m.flagged_recall:.3f}; one-line false positives "
          f"{m.one_line_false_positives} of {m.one_line_pairs} pairs ({m.one_line_false_positive_rate:.4%})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
