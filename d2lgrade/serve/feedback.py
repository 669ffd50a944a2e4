"""The feedback page a student gets for one submission, and how much of it the assignment's policy shows now.

Made from the results JSON grading wrote (Gradescope's format: the score, each autograded part's score and message)
and the bundle's written answers, which say "to be graded by hand". Everything from the submission is escaped; the
page has no script. The same grade makes the same bytes (no time in it), so a page already attached to a submission
is recognised and not uploaded twice.
"""

from __future__ import annotations

import datetime as dt
import html
import json
from dataclasses import dataclass
from pathlib import Path

from d2lgrade.hub.submission_policy import Policy, parse_time
from d2lgrade.hub.submission_result import SubmissionResult


@dataclass(frozen=True)
class Part:
    name: str
    score: float
    max_score: float
    message: str


@dataclass(frozen=True)
class Graded:
    """One submission's grade, as its results JSON says."""

    assignment: str
    student: str
    score: float
    max_score: float
    summary: str
    parts: tuple[Part, ...] = ()
    by_hand: tuple[str, ...] = ()
    """Ids of the written answers: graded by a person later."""
    late_penalty: float = 0.0
    """nbgrader's late penalty the gradebook assigned (0 when on time, or not recorded in the gradebook)."""

    @classmethod
    def from_results(cls, path: Path, assignment: str, student: str, by_hand: tuple[str, ...]) -> Graded:
        data = json.loads(path.read_text(encoding="utf-8"))
        parts = tuple(Part(t["name"], float(t["score"]), float(t["max_score"]), str(t.get("output", "")))
                      for t in data.get("tests", []))
        return cls(assignment, student, float(data["score"]), sum(p.max_score for p in parts),
                   str(data.get("output", "")), parts, by_hand)


def shown_now(policy: Policy, now: dt.datetime) -> str:
    """What of the feedback the student sees now: ``messages`` (the page), ``score`` (only the score), ``held``."""
    if policy.before_due(now):
        return {"messages": "messages", "score": "score", "nothing": "held"}[policy.feedback_before_due]
    return "messages"


STYLE = ("body{font-family:sans-serif;max-width:60em;margin:1em auto;padding:0 1em}"
         "table{border-collapse:collapse;width:100%}td,th{border:1px solid #ccc;padding:.3em;vertical-align:top;"
         "text-align:left}pre{white-space:pre-wrap;margin:0}")
"""Readable in JupyterLab's HTML viewer: messages wrap instead of running off the page (the CSP allows inline style
only: the page has no script)."""


def page(graded: Graded, received: str, show: str, note: str = "") -> bytes:
    """The feedback page: with ``show == "score"``, the score and the written answers' note only."""
    e = html.escape
    rows = "".join(f"<tr><td>{e(p.name)}</td><td>{p.score:g} / {p.max_score:g}</td><td><pre>{e(p.message)}</pre></td>"
                   "</tr>" for p in graded.parts)
    hand = "".join(f"<li>{e(q)}: to be graded by hand</li>" for q in graded.by_hand)
    body = [f"<h1>{e(graded.assignment)}: feedback for {e(graded.student)}</h1>",
            f"<p>Submission received {e(received)}.</p>",
            f"<p><strong>Autograded score: {graded.score:g} / {graded.max_score:g}</strong></p>"]
    if graded.late_penalty:
        body.append(f"<p>Received after the due date: late penalty −{graded.late_penalty:g} point(s).</p>")
    if note:
        body.append(f"<p>{e(note)}</p>")
    if show == "messages":
        body += [f"<pre>{e(graded.summary)}</pre>",
                 f"<table><tr><th>part</th><th>score</th><th>message</th></tr>{rows}</table>"]
    else:
        body.append("<p>Before the due date this assignment shows the score only; the messages come after it.</p>")
    if hand:
        body.append(f"<ul>{hand}</ul>")
    return ("<!DOCTYPE html><html><head><meta charset=\"utf-8\"><meta http-equiv=\"Content-Security-Policy\" "
            "content=\"default-src 'none'; style-src 'unsafe-inline'\">"
            f"<title>{e(graded.assignment)} feedback</title><style>{STYLE}</style></head><body>{''.join(body)}"
            "</body></html>").encode()


def result_of(graded: Graded, show: str, counted: bool) -> SubmissionResult:
    """What the student's Assignment List says of the submission, as much as the policy shows now."""
    held = show == "held"
    return SubmissionResult("graded", show, None if held else graded.score, None if held else graded.max_score,
                            len(graded.by_hand), 0.0 if held else graded.late_penalty, counted)


def counts_by_time(policy: Policy, received: str, on_time_before: bool) -> bool:
    """Whether a submission goes into the gradebook when it is graded: under ``last_before_due`` one received after
    the due date does not, if the student has one before it (that one keeps the grade); otherwise every one does
    (the latest graded is the gradebook's; ``best`` is picked from the queue's scores at export)."""
    if policy.counts != "last_before_due" or policy.before_due(parse_time(received)):
        return True
    return not on_time_before
