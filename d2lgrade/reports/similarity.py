"""Which students' answers are alike beyond what the class writes alike: per question, for every pair, as data.

Computed apart from any rendering (:mod:`d2lgrade.reports.similarity_html` draws it), in the order of
:func:`similarity_report`:

1. the release's answer cells (:func:`answer_cells`): which cells are answers, and the lines the
   release gave everyone there;
2. the submissions folder, read as ``grade`` reads it (:func:`d2lgrade.batch.intake.find_submissions`);
   each notebook's answer cells, or the reason it is skipped (:func:`read_class`);
3. each answer's fingerprints (:mod:`d2lgrade.reports.similarity_tokens`);
4. an inverted index of fingerprints per question, never all pairs of full texts (:func:`index`);
5. scores for every pair that shares a fingerprint (:func:`pair_scores`), weighted by rarity;
6. the pairs worth an instructor's look and the clusters of three or more (:func:`clusters`).

Rarity: a fingerprint held by ``df`` of ``N`` students is evidence ``ln(N/df) / ln(N)`` (1 when two
students alone share it, towards 0 as more do); held by more than :data:`COMMON` of the class (the
one-line answer half the class writes, the sample's code) it counts for nothing, on either side of
the ratio. A score is that evidence shared, over the fingerprints either student has, plus
:data:`PRIOR` (an answer of two fingerprints is too short to show anything on its own). It reads
"what share of these two students' work is the same, rare code": 0.8 is two students alone
handing in the same thing. It is a reason to look, not a finding of copying.
"""

from __future__ import annotations

import json
import math
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from itertools import combinations
from pathlib import Path
from typing import Any

import nbformat

from d2lgrade.batch.intake import Intake, read_submission
from d2lgrade.grading.steps import MAX_CELLS, MAX_NESTING, MAX_NOTEBOOK_BYTES, nesting_depth
from d2lgrade.reports.similarity_tokens import fingerprints

COMMON = 0.5
"""A fingerprint more than this share of the class holds is what students write alike: ignored."""
PRIOR = 6.0
"""Fingerprints added to every denominator: how much code it takes before sharing it means anything."""
LISTED = 0.08
"""Pairs scoring at least this are listed in the JSON (every other pair scored lower)."""
FLAGGED = 0.15
"""Pairs scoring at least this are shown side by side and joined into clusters (set from the planted
class, docs/similarity.md: below every planted pair's score and above almost every honest one)."""
QUESTION_FLAGGED = 0.3
"""A question scoring at least this is marked in a pair's row: higher than :data:`FLAGGED`, since one
question is less evidence than a whole assignment (a short answer that a tenth of the class writes
alike reaches 0.2; measured in docs/similarity.md)."""
MAX_SHOWN = 60
"""Side-by-side comparisons on the page, highest first (the JSON lists more)."""


class SimilarityError(Exception):
    """Nothing to compare: the message names the place and what to run first."""


@dataclass(frozen=True)
class AnswerCell:
    """An answer cell of the release: the question it answers, whether it is written, the lines it gave."""

    grade_id: str
    question: str
    written: bool
    given: str


@dataclass(frozen=True)
class Skipped:
    """A folder entry not compared, and why."""

    name: str
    reason: str


@dataclass(frozen=True)
class StudentAnswer:
    """One student's answer to one question: its text as submitted, and its fingerprints with their lines."""

    source: str
    fingerprints: dict[int, frozenset[int]]


@dataclass(frozen=True)
class Match:
    """Two students on one question: the score and the lines (1-based) of each answer that the other shares."""

    question: str
    score: float
    lines: tuple[tuple[int, ...], tuple[int, ...]]


@dataclass(frozen=True)
class Pair:
    """Two students (in id order) over the whole assignment."""

    students: tuple[str, str]
    score: float
    matches: tuple[Match, ...]
    """Per question where they share anything, in the release's order."""


@dataclass(frozen=True)
class SimilarityReport:
    """Everything the JSON and the page hold."""

    assignment: str
    questions: tuple[AnswerCell, ...]
    compared: int
    skipped: tuple[Skipped, ...]
    pairs: tuple[Pair, ...]
    """Pairs scoring at least :data:`LISTED`, highest first."""
    clusters: tuple[tuple[str, ...], ...]
    """Three or more students linked by pairs scoring at least :data:`FLAGGED`, largest first."""
    answers: dict[str, dict[str, StudentAnswer]] = field(repr=False)
    """Student -> question -> answer (the page shows them side by side)."""


# --- 1. the release ---------------------------------------------------------------------------------------------


def answer_cells(release: nbformat.NotebookNode) -> tuple[AnswerCell, ...]:
    """The release's answer cells (nbgrader's ``solution`` cells), in order; a code cell answers the question
    its grade id names without ``_answer``."""
    cells = []
    for cell in release.cells:
        nbg = cell.metadata.get("nbgrader", {})
        if nbg.get("solution") and isinstance(nbg.get("grade_id"), str):
            written = cell.cell_type == "markdown"
            question = nbg["grade_id"] if written else nbg["grade_id"].removesuffix("_answer")
            cells.append(AnswerCell(nbg["grade_id"], question, written, str(cell.source)))
    return tuple(cells)


def read_release(path: Path) -> tuple[AnswerCell, ...]:
    if not path.is_file():
        raise SimilarityError(f"{path}: no release notebook; build it first: `d2lgrade build {path.parent.name}`")
    return answer_cells(nbformat.read(path, as_version=4))


# --- 2. the submissions -----------------------------------------------------------------------------------------


class Unreadable(Exception):
    """A submission whose answers cannot be read; the message says why."""


def notebook_answers(raw: bytes, assignment: str, cells: tuple[AnswerCell, ...]) -> dict[str, str]:
    """grade id -> source of each answer cell of a submission, read as plain JSON (nothing in it runs or
    renders; the grader's own bounds on size, nesting and cells apply first)."""
    if len(raw) > MAX_NOTEBOOK_BYTES:
        raise Unreadable(f"over the {MAX_NOTEBOOK_BYTES // 2**20} MiB limit")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise Unreadable("not UTF-8 text: not a saved notebook") from None
    if nesting_depth(text) > MAX_NESTING:
        raise Unreadable(f"nested more than {MAX_NESTING} levels deep: not a saved notebook")
    try:
        data = json.loads(text)
    except (json.JSONDecodeError, RecursionError) as exc:
        raise Unreadable(f"not notebook JSON ({str(exc)[:80]})") from None
    if not isinstance(data, dict) or data.get("nbformat") != 4 or not isinstance(data.get("cells"), list):
        raise Unreadable("not a version-4 Jupyter notebook")
    if len(data["cells"]) > MAX_CELLS:
        raise Unreadable(f"more than {MAX_CELLS} cells")
    meta = data.get("metadata")
    declared = meta.get("d2l", {}).get("assignment") if isinstance(meta, dict) and isinstance(meta.get("d2l"), dict) else None
    if declared is not None and declared != assignment:
        raise Unreadable(f"the notebook of assignment {str(declared)[:40]!r}, not {assignment!r}")
    return _sources(data["cells"], {c.grade_id for c in cells})


def _sources(cells: list[Any], wanted: set[str]) -> dict[str, str]:
    """The first cell with each wanted grade id (a copied cell twice keeps the first), its source joined."""
    found: dict[str, str] = {}
    for cell in cells:
        meta = cell.get("metadata") if isinstance(cell, dict) else None
        nbg = meta.get("nbgrader") if isinstance(meta, dict) else None
        grade_id = nbg.get("grade_id") if isinstance(nbg, dict) else None
        if isinstance(grade_id, str) and grade_id in wanted and grade_id not in found:
            source = cell.get("source", "")
            if isinstance(source, list):
                source = "".join(s for s in source if isinstance(s, str))
            found[grade_id] = source if isinstance(source, str) else ""
    return found


def read_class(intake: Intake, assignment: str, cells: tuple[AnswerCell, ...]
               ) -> tuple[dict[str, dict[str, StudentAnswer]], list[Skipped]]:
    """Every submission's answers with their fingerprints; what intake refused and what cannot be read,
    skipped with the reason. A submission is never run."""
    skipped = [Skipped(r.name, r.reason) for r in intake.refused]
    answers: dict[str, dict[str, StudentAnswer]] = {}
    for sub in intake.submissions:
        try:
            sources = notebook_answers(read_submission(sub.path), assignment, cells)
        except (Unreadable, ValueError, OSError) as exc:
            skipped.append(Skipped(sub.student, f"{sub.path.name}: {exc}"))
            continue
        answers[sub.student] = {c.question: _answer(sources[c.grade_id], c) for c in cells if c.grade_id in sources}
    return answers, skipped


def _answer(source: str, cell: AnswerCell) -> StudentAnswer:
    prints = fingerprints(source, cell.given, cell.written)
    return StudentAnswer(source, {h: frozenset(lines) for h, lines in prints.items()})


# --- 4. the index -----------------------------------------------------------------------------------------------


def index(answers: dict[str, dict[str, StudentAnswer]]) -> dict[tuple[str, int], list[str]]:
    """(question, fingerprint) -> the students who have it: comparing through this touches only pairs that
    share something, never all pairs."""
    postings: dict[tuple[str, int], list[str]] = defaultdict(list)
    for student, by_question in answers.items():
        for question, answer in by_question.items():
            for h in answer.fingerprints:
                postings[(question, h)].append(student)
    return postings


# --- 5. scores --------------------------------------------------------------------------------------------------


def evidence(df: int, n: int) -> float:
    """What sharing a fingerprint that ``df`` of ``n`` students hold says (see the module's docstring)."""
    return math.log(n / df) / math.log(n) if n > 2 else 1.0


def counted(postings: dict[tuple[str, int], list[str]], n: int) -> dict[tuple[str, str], int]:
    """(student, question) -> how many of their fingerprints count (all but those the class writes alike)."""
    cap = max(2, int(COMMON * n))
    sizes: dict[tuple[str, str], int] = defaultdict(int)
    for (question, _), students in postings.items():
        if len(students) <= cap:
            for s in students:
                sizes[(s, question)] += 1
    return sizes


def shared(postings: dict[tuple[str, int], list[str]], n: int) -> dict[tuple[str, str, str], list[float]]:
    """(a, b, question) with a < b -> [evidence shared, fingerprints shared], over fingerprints that count."""
    cap = max(2, int(COMMON * n))
    acc: dict[tuple[str, str, str], list[float]] = defaultdict(lambda: [0.0, 0.0])
    for (question, _), students in postings.items():
        if 2 <= len(students) <= cap:
            weight = evidence(len(students), n)
            for a, b in combinations(sorted(students), 2):
                entry = acc[(a, b, question)]
                entry[0] += weight
                entry[1] += 1
    return acc


def pair_scores(answers: dict[str, dict[str, StudentAnswer]], listed: float = LISTED) -> list[Pair]:
    """Every pair sharing a fingerprint that counts and scoring at least ``listed``, overall and per question;
    highest first."""
    postings, n = index(answers), len(answers)
    sizes, acc = counted(postings, n), shared(postings, n)
    totals = defaultdict(int)
    for (student, _), size in sizes.items():
        totals[student] += size
    per_pair: dict[tuple[str, str], dict[str, list[float]]] = defaultdict(dict)
    for (a, b, question), entry in acc.items():
        per_pair[(a, b)][question] = entry
    pairs = []
    for (a, b), questions in per_pair.items():
        ev, common = sum(e for e, _ in questions.values()), sum(c for _, c in questions.values())
        score = ev / (totals[a] + totals[b] - common + PRIOR)
        scores = {q: e / (sizes[(a, q)] + sizes[(b, q)] - c + PRIOR) for q, (e, c) in questions.items()}
        pairs.append((score, (a, b), scores))
    pairs.sort(key=lambda p: (-p[0], p[1]))
    return [Pair((a, b), round(score, 4), _matches(answers, a, b, scores, postings)) for score, (a, b), scores in pairs
            if score >= listed]


def _matches(answers: dict[str, dict[str, StudentAnswer]], a: str, b: str, scores: dict[str, float],
             postings: dict[tuple[str, int], list[str]]) -> tuple[Match, ...]:
    """Per question, the lines of each answer holding a fingerprint the other has too (that counts)."""
    matches = []
    for question, score in scores.items():
        left, right = answers[a][question].fingerprints, answers[b][question].fingerprints
        common = [h for h in left.keys() & right.keys() if b in postings[(question, h)]]
        lines = (tuple(sorted({n for h in common for n in left[h]})), tuple(sorted({n for h in common for n in right[h]})))
        matches.append(Match(question, round(score, 4), lines))
    return tuple(matches)


# --- 6. clusters ------------------------------------------------------------------------------------------------


def clusters(pairs: Iterable[Pair], threshold: float = FLAGGED) -> tuple[tuple[str, ...], ...]:
    """Connected groups of three or more students, linked by pairs scoring at least ``threshold``."""
    parent: dict[str, str] = {}

    def root(s: str) -> str:
        while parent.setdefault(s, s) != s:
            parent[s] = parent[parent[s]]
            s = parent[s]
        return s

    for p in pairs:
        if p.score >= threshold:
            parent[root(p.students[0])] = root(p.students[1])
    groups: dict[str, list[str]] = defaultdict(list)
    for s in list(parent):
        groups[root(s)].append(s)
    found = [tuple(sorted(g)) for g in groups.values() if len(g) >= 3]
    return tuple(sorted(found, key=lambda g: (-len(g), g)))


# --- the whole ---------------------------------------------------------------------------------------------------


def similarity_report(release: Path, intake: Intake, assignment: str) -> SimilarityReport:
    """Steps 1 to 6 of the module's docstring, in order."""
    cells = read_release(release)
    answers, skipped = read_class(intake, assignment, cells)
    if len(answers) < 2:
        raise SimilarityError(f"{len(answers)} readable submission(s) of {assignment}: nothing to compare "
                              "(give the folder `d2lgrade grade` takes, or the course's submitted/)")
    pairs = pair_scores(answers)
    order = {c.question: i for i, c in enumerate(cells)}
    pairs = [Pair(p.students, p.score, tuple(sorted(p.matches, key=lambda m: order[m.question]))) for p in pairs]
    return SimilarityReport(assignment, cells, len(answers), tuple(skipped), tuple(pairs), clusters(pairs), answers)


def to_json(report: SimilarityReport) -> str:
    """``{"pairs": [{"students": [a, b], "score": s, "questions": {question: s}}]}``, highest first, with what
    was compared, what was skipped and the clusters."""
    return json.dumps({
        "assignment": report.assignment,
        "compared": report.compared,
        "thresholds": {"listed": LISTED, "flagged": FLAGGED, "question_flagged": QUESTION_FLAGGED},
        "pairs": [{"students": list(p.students), "score": p.score,
                   "questions": {m.question: m.score for m in p.matches}} for p in report.pairs],
        "clusters": [list(c) for c in report.clusters],
        "skipped": [{"name": s.name, "reason": s.reason} for s in report.skipped],
    }, indent=1, ensure_ascii=False)
