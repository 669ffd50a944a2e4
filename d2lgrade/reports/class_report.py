"""The class report as data: what a class did on an assignment, or on the course, from the results JSON.

Computed apart from any rendering (:mod:`d2lgrade.reports.class_report_html` draws it), in small steps:
results JSON files -> :class:`GradedSubmission` records -> counts per question and per student. The
results JSON are the source because every grading path writes them (``d2lgrade grade``, nbgrader's
autograde through it, the Otter zip); the bundle adds titles, question order and the declared
misconceptions with their hints, and is optional. Nothing here trusts a submission's text: answers
and messages are carried as data, and escaped where they are drawn.

"Public check passed, graded wrong" is the grader's own finding, not the notebook's outputs (which a
student may never have run, or may have edited): a wrong answer has an ``answer`` rendering only when
it has the form its contract asks (d2lgrade/judging/judge.py), which is exactly the test the public check
applies to it, on the same plain data.
"""

from __future__ import annotations

import json
import statistics
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from d2lgrade.course.layout import Course
from d2lgrade.judging.bundle import Bundle, Wrong

NOT_GRADED = "Not graded: "
"""How a results JSON marks every question of a submission that could not be graded as a whole (d2lgrade/grading/steps.py)."""
TOP = 5
"""Wrong answers listed per question."""


class ReportError(Exception):
    """Nothing to report on: the message names the folder and what to run first."""


@dataclass(frozen=True)
class QuestionInfo:
    """An autograded question as the bundle describes it (or as the results JSON name it, without a bundle)."""

    id: str
    exercise: int
    kind: str = ""
    points: float = 0.0
    misconceptions: tuple[Wrong, ...] = ()


@dataclass(frozen=True)
class Verdict:
    """One question of one results JSON."""

    question: str
    exercise: int
    score: float
    max_score: float
    passed: bool
    answer: str | None = None
    misconception: str | None = None


@dataclass(frozen=True)
class GradedSubmission:
    """One student's results JSON for one assignment."""

    student: str
    score: float
    max_score: float
    graded: bool
    """False when the submission could not be graded as a whole (unreadable, wrong notebook): zero everywhere."""
    verdicts: tuple[Verdict, ...]


@dataclass(frozen=True)
class Count:
    """A label (a wrong answer's value, a misconception) and how many submissions gave it."""

    label: str
    count: int
    hint: str | None = None


@dataclass(frozen=True)
class QuestionStats:
    """How the class did on one question."""

    info: QuestionInfo
    submissions: int
    passed: int
    check_passed_graded_wrong: int
    """Wrong answers that had their contract's form: the public check said "form OK" on them."""
    wrong_answers: tuple[Count, ...]
    distinct_wrong_answers: int
    misconceptions: tuple[Count, ...]

    @property
    def pass_rate(self) -> float:
        return self.passed / self.submissions if self.submissions else 0.0


@dataclass(frozen=True)
class ScoreDistribution:
    """The autograded scores of a class on one assignment."""

    max_score: float
    scores: tuple[float, ...]
    not_graded: int

    @property
    def mean(self) -> float:
        return statistics.fmean(self.scores) if self.scores else 0.0

    @property
    def median(self) -> float:
        return statistics.median(self.scores) if self.scores else 0.0


@dataclass(frozen=True)
class FrequentAnswer:
    """A wrong answer frequent across the assignment, with its question."""

    question: str
    answer: str
    count: int
    misconception: str | None


@dataclass(frozen=True)
class AssignmentReport:
    """Everything the assignment page shows."""

    assignment: str
    title: str
    distribution: ScoreDistribution
    questions: tuple[QuestionStats, ...]
    frequent: tuple[FrequentAnswer, ...]
    declared_misconceptions: bool
    """Whether the bundle declares any misconception (else the misconception columns say so)."""
    results_folder: Path


@dataclass(frozen=True)
class AssignmentColumn:
    """One section of the course table."""

    assignment: str
    title: str
    max_score: float
    submissions: int
    mean: float


@dataclass(frozen=True)
class StudentRow:
    """One student across the course: a score fraction per section, None where nothing was submitted."""

    student: str
    fractions: tuple[float | None, ...]
    score: float
    max_score: float


@dataclass(frozen=True)
class CourseReport:
    """Students × sections."""

    columns: tuple[AssignmentColumn, ...]
    rows: tuple[StudentRow, ...]
    results_folder: Path


# --- reading -------------------------------------------------------------------------------------------------


def results_files(folder: Path) -> list[Path]:
    """``<student>.json`` of one assignment's results folder (not the ledger, logs or temporary files)."""
    return sorted(p for p in folder.glob("*.json") if not p.name.startswith(".") and p.is_file())


def read_submission(path: Path) -> GradedSubmission:
    """One results JSON (Gradescope's format, as results.gradescope_json writes it) as a typed record."""
    data = json.loads(path.read_text(encoding="utf-8"))
    verdicts = tuple(_verdict(t) for t in data.get("tests", []))
    graded = not verdicts or not all(str(t.get("output", "")).startswith(NOT_GRADED) for t in data["tests"])
    return GradedSubmission(path.stem, float(data.get("score", 0.0)), sum(v.max_score for v in verdicts), graded,
                            verdicts)


def _verdict(test: dict[str, Any]) -> Verdict:
    """A ``tests[]`` entry; ``answer`` and ``misconception`` at its top level or in Gradescope's ``extra_data``."""
    exercise, _, question = str(test.get("name", "")).partition(": ")
    extra = test.get("extra_data") if isinstance(test.get("extra_data"), dict) else {}
    score, max_score = float(test.get("score", 0.0)), float(test.get("max_score", 0.0))
    status = test.get("status") or ("passed" if score >= max_score else "failed")
    return Verdict(question or exercise, _exercise_number(exercise), score, max_score, status == "passed",
                   _text(test.get("answer", extra.get("answer"))), _text(test.get("misconception", extra.get("misconception"))))


def _exercise_number(label: str) -> int:
    digits = label.removeprefix("Exercise ").strip()
    return int(digits) if digits.isdigit() else 0


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


def read_results(folder: Path) -> list[GradedSubmission]:
    """Every results JSON of an assignment; a folder without any is an error naming what to run."""
    files = results_files(folder)
    if not files:
        raise ReportError(f"{folder}: no results JSON; grade first: `d2lgrade grade {folder.name} <submissions>`"
                          " (or give --results where they are)")
    return [read_submission(p) for p in files]


def read_questions(bundle_path: Path) -> tuple[tuple[QuestionInfo, ...], str]:
    """Autograded questions in notebook order, with their declared misconceptions, and the assignment's title,
    from the bundle. Without a bundle: nothing, and the results name the questions."""
    if not bundle_path.is_file():
        return (), ""
    bundle = Bundle.from_json(bundle_path.read_text(encoding="utf-8"))
    declared = bundle.misconceptions()
    questions = tuple(QuestionInfo(q.id, q.exercise, q.kind, q.points, declared.get(q.id, ()))
                      for q in bundle.questions if q.autograded)
    return questions, f"{bundle.section} {bundle.title}".strip()


# --- counting ------------------------------------------------------------------------------------------------


def score_distribution(submissions: Sequence[GradedSubmission], max_score: float) -> ScoreDistribution:
    return ScoreDistribution(max_score, tuple(s.score for s in submissions), sum(not s.graded for s in submissions))


def known_questions(bundle_questions: Sequence[QuestionInfo], submissions: Iterable[GradedSubmission]) -> list[QuestionInfo]:
    """The bundle's questions, then any the results name that the bundle does not (an older build)."""
    questions = list(bundle_questions)
    seen = {q.id for q in questions}
    for s in submissions:
        for v in s.verdicts:
            if v.question not in seen:
                seen.add(v.question)
                questions.append(QuestionInfo(v.question, v.exercise, points=v.max_score))
    return questions


def question_stats(info: QuestionInfo, submissions: Sequence[GradedSubmission]) -> QuestionStats:
    """Counts for one question over every submission (one not graded as a whole counts as not passed)."""
    verdicts = [v for s in submissions for v in s.verdicts if v.question == info.id]
    wrong = [v for v in verdicts if not v.passed]
    answers = Counter(v.answer for v in wrong if v.answer is not None)
    hints = {m.id: m.hint for m in info.misconceptions}
    matched = Counter(v.misconception for v in wrong if v.misconception)
    misconceptions = [Count(m.id, matched.get(m.id, 0), m.hint) for m in info.misconceptions]
    misconceptions += [Count(mid, n, hints.get(mid)) for mid, n in matched.items() if mid not in hints]
    return QuestionStats(
        info=info, submissions=len(submissions), passed=sum(v.passed for v in verdicts),
        check_passed_graded_wrong=sum(v.answer is not None for v in wrong),
        wrong_answers=tuple(Count(a, n) for a, n in _most_common(answers, TOP)),
        distinct_wrong_answers=len(answers),
        misconceptions=tuple(sorted(misconceptions, key=lambda c: (-c.count, c.label))))


def _most_common(counter: Counter[str], n: int) -> list[tuple[str, int]]:
    """Most frequent first, ties in a stable (alphabetical) order so that reports do not flicker between runs."""
    return sorted(counter.items(), key=lambda item: (-item[1], item[0]))[:n]


def frequent_answers(submissions: Sequence[GradedSubmission], n: int = 10) -> tuple[FrequentAnswer, ...]:
    """The wrong answers given most often across the assignment (two or more times)."""
    counts: Counter[tuple[str, str]] = Counter()
    labels: dict[tuple[str, str], str | None] = {}
    for s in submissions:
        for v in s.verdicts:
            if not v.passed and v.answer is not None:
                counts[(v.question, v.answer)] += 1
                labels[(v.question, v.answer)] = labels.get((v.question, v.answer)) or v.misconception
    top = sorted(((k, c) for k, c in counts.items() if c >= 2), key=lambda item: (-item[1], item[0]))[:n]
    return tuple(FrequentAnswer(q, a, c, labels[(q, a)]) for (q, a), c in top)


def assignment_report(course: Course, assignment: str, results_root: Path) -> AssignmentReport:
    """The assignment page's data: read the results and the bundle, then count."""
    folder = results_root / assignment
    submissions = read_results(folder)
    bundle_questions, title = read_questions(course.bundle_path(assignment))
    questions = known_questions(bundle_questions, submissions)
    max_score = sum(q.points for q in questions) or max((s.max_score for s in submissions), default=0.0)
    return AssignmentReport(
        assignment=assignment, title=title,
        distribution=score_distribution(submissions, max_score),
        questions=tuple(question_stats(q, submissions) for q in questions),
        frequent=frequent_answers(submissions),
        declared_misconceptions=any(q.misconceptions for q in bundle_questions),
        results_folder=folder)


def course_report(course: Course, results_root: Path) -> CourseReport:
    """Students × sections, for every assignment with results (in book order)."""
    per_assignment: dict[str, list[GradedSubmission]] = {}
    for a in course.assignments():
        if results_files(results_root / a):
            per_assignment[a] = read_results(results_root / a)
    if not per_assignment:
        raise ReportError(f"{results_root}: no results JSON for any assignment; grade first "
                          "(`d2lgrade grade <assignment> <submissions>`), or give --results where they are")
    columns = tuple(_column(course, a, subs) for a, subs in per_assignment.items())
    return CourseReport(columns, _student_rows(columns, per_assignment), results_root)


def _column(course: Course, assignment: str, submissions: Sequence[GradedSubmission]) -> AssignmentColumn:
    questions, title = read_questions(course.bundle_path(assignment))
    max_score = sum(q.points for q in questions) or max((s.max_score for s in submissions), default=0.0)
    return AssignmentColumn(assignment, title, max_score, len(submissions),
                            statistics.fmean(s.score for s in submissions))


def _student_rows(columns: Sequence[AssignmentColumn],
                  per_assignment: dict[str, list[GradedSubmission]]) -> tuple[StudentRow, ...]:
    scores = {(s.student, a): s.score for a, subs in per_assignment.items() for s in subs}
    students = sorted({student for student, _ in scores})
    rows = []
    for student in students:
        got = [scores.get((student, c.assignment)) for c in columns]
        fractions = tuple(None if g is None else (g / c.max_score if c.max_score else 0.0) for g, c in zip(got, columns))
        rows.append(StudentRow(student, fractions, sum(g for g in got if g is not None), sum(c.max_score for c in columns)))
    return tuple(rows)
