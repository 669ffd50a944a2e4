"""How well similarity finds what the class generator planted: the measure the tests hold and the README quotes.

- precision and recall of the top-k pairs, k the number of planted pairs (no threshold to tune);
- precision and recall of the pairs at or above :data:`~d2lgrade.reports.similarity.FLAGGED` (what the page
  shows side by side);
- the false-positive rate on one-line answers: of every pair of students who did not copy and who both
  wrote a one-line code answer to a question, the share whose score on that question reaches
  :data:`~d2lgrade.reports.similarity.QUESTION_FLAGGED`.

Pairs of two of the generator's hostile students are left out of every count: they hand in the same
markup on purpose, neither a ring nor independent work.
"""

from __future__ import annotations

from dataclasses import dataclass

from d2lgrade.reports.similarity import FLAGGED, QUESTION_FLAGGED, Pair, StudentAnswer


@dataclass(frozen=True)
class Measure:
    planted: int
    top_k_precision: float
    top_k_recall: float
    flagged_precision: float
    flagged_recall: float
    one_line_pairs: int
    one_line_false_positives: int

    @property
    def one_line_false_positive_rate(self) -> float:
        return self.one_line_false_positives / self.one_line_pairs if self.one_line_pairs else 0.0


def one_line(answer: StudentAnswer) -> bool:
    """One line of code or text besides blanks and comments (as written: the release's lines count too,
    since a student who kept them still wrote one line of their own at most)."""
    lines = [line for line in answer.source.splitlines() if line.strip() and not line.lstrip().startswith("#")]
    return len(lines) == 1


def measure(pairs: list[Pair], answers: dict[str, dict[str, StudentAnswer]], planted: set[frozenset[str]],
            hostile: set[str], written: set[str]) -> Measure:
    """``pairs``: every pair's scores (:func:`~d2lgrade.reports.similarity.pair_scores` with ``listed=0``)."""
    truth = {p for p in planted if all(s in answers for s in p)}
    pairs = [p for p in pairs if not set(p.students) <= hostile]
    answers = {s: a for s, a in answers.items() if s not in hostile}
    top = {frozenset(p.students) for p in pairs[:len(truth)]}
    flagged = {frozenset(p.students) for p in pairs if p.score >= FLAGGED}
    pairs_total, false_positives = _one_line_counts(pairs, answers, truth, written)
    return Measure(len(truth), _share(top & truth, top), _share(top & truth, truth),
                   _share(flagged & truth, flagged), _share(flagged & truth, truth), pairs_total, false_positives)


def _share(part: set[frozenset[str]], whole: set[frozenset[str]]) -> float:
    return len(part) / len(whole) if whole else 1.0


def _one_line_counts(pairs: list[Pair], answers: dict[str, dict[str, StudentAnswer]],
                     truth: set[frozenset[str]], written: set[str]) -> tuple[int, int]:
    """(pairs of honest students both with a one-line code answer to a question, those flagged on it)."""
    writers: dict[str, list[str]] = {}
    for student, by_question in answers.items():
        for question, answer in by_question.items():
            if question not in written and one_line(answer):
                writers.setdefault(question, []).append(student)
    total = 0
    for students in writers.values():
        total += len(students) * (len(students) - 1) // 2
        total -= sum(1 for t in truth if t <= set(students))
    flagged = sum(1 for p in pairs if frozenset(p.students) not in truth for m in p.matches
                  if m.score >= QUESTION_FLAGGED and p.students[0] in writers.get(m.question, ())
                  and p.students[1] in writers[m.question])
    return total, flagged
