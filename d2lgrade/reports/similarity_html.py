"""Draw a similarity report (d2lgrade/reports/similarity.py) as one self-contained page for instructors.

Everything from a submission (answers, student ids, file names, skip reasons) is escaped; the page has
no script and no attribute that runs one, and carries the class report's Content-Security-Policy (no
script, no request), so that even an escaping mistake could not run anything in the instructor's
browser. It says what a score does not prove.
"""

from __future__ import annotations

import html
from pathlib import Path

from d2lgrade.reports.similarity import (
    FLAGGED,
    MAX_SHOWN,
    QUESTION_FLAGGED,
    Match,
    Pair,
    SimilarityReport,
    to_json,
)

CSP = "default-src 'none'; style-src 'unsafe-inline'"
STYLE = """
body{font:14px/1.4 system-ui,sans-serif;margin:24px;color:#222;max-width:1300px}
h1{font-size:22px;margin:0 0 4px} h2{font-size:17px;margin:28px 0 8px;border-bottom:1px solid #ddd}
h3{font-size:15px;margin:18px 0 6px} table{border-collapse:collapse;margin:8px 0}
th,td{border:1px solid #ddd;padding:3px 7px;vertical-align:top;text-align:left} th{background:#f3f3f3}
td.n{text-align:right;font-variant-numeric:tabular-nums} code{background:#f6f6f6;padding:0 3px} td>code{white-space:nowrap}
pre{margin:0;font-size:12px;white-space:pre-wrap;word-break:break-all;max-width:600px}
mark{background:#ffe08a} .hi{font-weight:bold;color:#a40} .muted{color:#777}
.note{background:#fff8e6;border:1px solid #f0d58a;padding:8px 12px}
"""
NOTICE = """<p class="note"><b>For instructors only; never show this page to students.</b> A score is the share
of two students' answers that is the same code or text <i>and</i> rare in this class, after removing the
release's given lines, comments, spacing, the students' own names and the order of independent statements.
A high score is a reason to look at the two answers side by side, not a finding of copying: students who
studied together, followed the same tutorial or reached the one natural solution write alike too, and a
copy reworked enough scores low. Answers much of the class writes alike count for nothing.</p>"""


def e(text: object) -> str:
    """Escaped for HTML text and attributes."""
    return html.escape(str(text), quote=True)


def _page(title: str, body: str) -> str:
    return (f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
            f'<meta http-equiv="Content-Security-Policy" content="{e(CSP)}">'
            f'<meta name="robots" content="noindex"><title>{e(title)}</title><style>{STYLE}</style></head>\n'
            f"<body>\n{body}\n</body></html>\n")


def _question_scores(pair: Pair) -> str:
    return ", ".join(f'<span class="{"hi" if m.score >= QUESTION_FLAGGED else ""}"><code>{e(m.question)}</code> '
                     f"{m.score:.2f}</span>" for m in pair.matches)


def pairs_table(report: SimilarityReport, anchors: dict[int, str]) -> str:
    rows = []
    for rank, p in enumerate(report.pairs, 1):
        link = f'<a href="#{anchors[rank]}">{rank}</a>' if rank in anchors else str(rank)
        rows.append(f"<tr><td class=n>{link}</td><td><code>{e(p.students[0])}</code></td><td><code>{e(p.students[1])}"
                    f"</code></td><td class=n>{p.score:.3f}</td><td>{_question_scores(p)}</td></tr>")
    body = "\n".join(rows) or '<tr><td colspan=5 class="muted">no pair scored this high</td></tr>'
    return ("<table><tr><th>#</th><th>student</th><th>student</th><th>score</th>"
            f"<th>per question (bold: at least {QUESTION_FLAGGED:g})</th></tr>\n{body}</table>")


def _marked(source: str, lines: tuple[int, ...]) -> str:
    """The answer as submitted, line by line, escaped; shared lines in ``<mark>``."""
    shared = set(lines)
    out = [f"<mark>{e(text)}</mark>" if n in shared else e(text) for n, text in enumerate(source.splitlines(), 1)]
    return "<pre>" + "\n".join(out) + "</pre>"


def side_by_side(report: SimilarityReport, pair: Pair, rank: int, anchor: str) -> str:
    """Each question the pair shares anything on: both answers, the shared lines marked."""
    a, b = pair.students
    parts = [f'<h3 id="{anchor}">{rank}. <code>{e(a)}</code> and <code>{e(b)}</code>: {pair.score:.3f}</h3>']
    for m in pair.matches:
        parts.append(_match_row(report, a, b, m))
    return "\n".join(parts)


def _match_row(report: SimilarityReport, a: str, b: str, m: Match) -> str:
    left, right = report.answers[a][m.question].source, report.answers[b][m.question].source
    return (f"<table><tr><th colspan=2><code>{e(m.question)}</code>: {m.score:.2f}</th></tr>"
            f"<tr><td>{_marked(left, m.lines[0])}</td><td>{_marked(right, m.lines[1])}</td></tr></table>")


def clusters_list(report: SimilarityReport) -> str:
    if not report.clusters:
        return f'<p class="muted">No three students are linked by pairs scoring at least {FLAGGED:g}.</p>'
    items = "".join("<li>" + ", ".join(f"<code>{e(s)}</code>" for s in c) + "</li>" for c in report.clusters)
    return f"<ul>{items}</ul>"


def skipped_list(report: SimilarityReport) -> str:
    if not report.skipped:
        return ""
    items = "".join(f"<li><code>{e(s.name)}</code>: {e(s.reason)}</li>" for s in report.skipped)
    return f"<h2>Not compared ({len(report.skipped)})</h2><ul>{items}</ul>"


def similarity_html(report: SimilarityReport) -> str:
    """The page: the notice, the clusters, the pairs, then the flagged pairs side by side (at most
    :data:`~d2lgrade.reports.similarity.MAX_SHOWN`)."""
    shown = [(rank, p) for rank, p in enumerate(report.pairs, 1) if p.score >= FLAGGED][:MAX_SHOWN]
    anchors = {rank: f"pair-{rank}" for rank, _ in shown}  # from the rank, never from an id a student chose
    details = "\n".join(side_by_side(report, p, rank, anchors[rank]) for rank, p in shown) or (
        f'<p class="muted">No pair scored at least {FLAGGED:g}.</p>')
    body = f"""<h1>{e(report.assignment)}: similar answers</h1>
{NOTICE}
<p>{report.compared} submissions compared, {len(report.questions)} answer cells each; {len(report.pairs)} pairs
listed (every other pair scored lower). <code>similarity.json</code> beside this page holds the same scores.</p>
<h2>Clusters of three or more</h2>{clusters_list(report)}
<h2>Pairs, highest first</h2>{pairs_table(report, anchors)}
<h2>Side by side (pairs scoring at least {FLAGGED:g})</h2>{details}
{skipped_list(report)}"""
    return _page(f"{report.assignment} similarity", body)


def write_similarity(report: SimilarityReport, folder: Path) -> tuple[Path, Path]:
    """``folder/similarity.json`` and ``folder/similarity.html`` (beside the class report's index.html)."""
    folder.mkdir(parents=True, exist_ok=True)
    data, page = folder / "similarity.json", folder / "similarity.html"
    data.write_text(to_json(report), encoding="utf-8")
    page.write_text(similarity_html(report), encoding="utf-8")
    return data, page
