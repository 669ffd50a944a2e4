"""Draw the class report (d2lgrade/reports/class_report.py) as one HTML page per assignment, or for the course,
with its PNG figures beside it (linked relatively: the folder can be copied and opened offline).

Every text that can come from a submission (answers, student ids) is escaped; the page carries a
Content-Security-Policy that allows no script and no request beyond its own images, so that even an
escaping mistake could not run anything in the instructor's browser.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
from matplotlib.colors import LinearSegmentedColormap

from d2lgrade.reports.class_report import AssignmentReport, CourseReport, QuestionStats, ScoreDistribution

CSP = "default-src 'none'; img-src 'self' file: data:; style-src 'unsafe-inline'"
STYLE = """
body{font:14px/1.4 system-ui,sans-serif;margin:24px;color:#222;max-width:1200px}
h1{font-size:22px;margin:0 0 4px} h2{font-size:17px;margin:28px 0 8px;border-bottom:1px solid #ddd}
table{border-collapse:collapse;margin:8px 0} th,td{border:1px solid #ddd;padding:3px 7px;vertical-align:top;text-align:left}
th{background:#f3f3f3} td.n{text-align:right;font-variant-numeric:tabular-nums}
code{background:#f6f6f6;padding:0 3px;white-space:pre-wrap;word-break:break-all}
.bar{display:inline-block;height:10px;background:#4a8;vertical-align:middle} .muted{color:#777}
.summary span{margin-right:18px} img{max-width:100%;border:1px solid #eee}
td.cell{text-align:center;font-size:12px;min-width:34px}
"""
PASSED_COLOUR, CHECKED_COLOUR, OTHER_COLOUR = "#44aa88", "#ee9944", "#cccccc"


def e(text: object) -> str:
    """Escaped for HTML text and attributes."""
    return html.escape(str(text), quote=True)


def _mpl(text: str) -> str:
    """A label matplotlib draws literally (``$`` would start mathtext)."""
    return text.replace("$", r"\$")


# --- figures -------------------------------------------------------------------------------------------------


def score_histogram(dist: ScoreDistribution, path: Path) -> Path:
    """Scores in bins of one point (or of max/20 for long assignments), with the mean and the median."""
    top = max(dist.max_score, max(dist.scores, default=0.0), 1.0)
    width = max(1.0, top / 20)
    bins = [i * width for i in range(int(top // width) + 2)]
    fig, ax = plt.subplots(figsize=(7, 3), dpi=100)
    ax.hist(dist.scores, bins=bins, color=PASSED_COLOUR, edgecolor="white", align="left")
    ax.axvline(dist.mean, color="#333", linestyle="--", label=f"mean {dist.mean:.2f}")
    ax.axvline(dist.median, color="#c33", linestyle=":", label=f"median {dist.median:g}")
    ax.set_xlabel(f"autograded score (of {dist.max_score:g})")
    ax.set_ylabel("submissions")
    ax.legend(frameon=False)
    return _save(fig, path)


def pass_rate_chart(questions: Sequence[QuestionStats], path: Path) -> Path:
    """Per question: passed, wrong although the public check passed, other wrong or missing (stacked shares)."""
    fig, ax = plt.subplots(figsize=(7, 0.35 * len(questions) + 1.0), dpi=100)
    labels = [_mpl(q.info.id) for q in questions][::-1]
    shares = [(q.passed, q.check_passed_graded_wrong, q.submissions - q.passed - q.check_passed_graded_wrong)
              for q in questions][::-1]
    totals = [max(q.submissions, 1) for q in questions][::-1]
    left = [0.0] * len(questions)
    names = ("passed", "public check passed, graded wrong", "other wrong or missing")
    for k, (name, colour) in enumerate(zip(names, (PASSED_COLOUR, CHECKED_COLOUR, OTHER_COLOUR))):
        widths = [s[k] / t for s, t in zip(shares, totals)]
        ax.barh(labels, widths, left=left, color=colour, label=name)
        left = [a + b for a, b in zip(left, widths)]
    ax.set_xlim(0, 1)
    ax.set_xlabel("share of submissions")
    ax.legend(frameon=False, fontsize=8, loc="lower center", bbox_to_anchor=(0.5, 1.0), ncol=3)
    return _save(fig, path)


def course_heatmap(report: CourseReport, path: Path) -> Path:
    """Students (rows) × sections (columns), the share of autograded points; blank where not submitted."""
    rows = report.rows
    data = [[float("nan") if f is None else f for f in r.fractions] for r in rows]
    fig, ax = plt.subplots(figsize=(0.5 * len(report.columns) + 2.5, min(0.12 * len(rows) + 1.5, 30)), dpi=100)
    cmap = LinearSegmentedColormap.from_list("score", ["#d7301f", "#fdcc8a", "#1a9850"])
    cmap.set_bad("#ffffff")
    image = ax.imshow(data, aspect="auto", cmap=cmap, vmin=0, vmax=1, interpolation="nearest")
    ax.set_xticks(range(len(report.columns)), [_mpl(c.assignment) for c in report.columns], rotation=90)
    if len(rows) <= 60:
        ax.set_yticks(range(len(rows)), [_mpl(r.student) for r in rows], fontsize=7)
    else:
        ax.set_ylabel(f"{len(rows)} students (in the order of the table)")
        ax.set_yticks([])
    fig.colorbar(image, ax=ax, label="share of autograded points")
    return _save(fig, path)


def _save(fig: plt.Figure, path: Path) -> Path:
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return path


# --- pages ---------------------------------------------------------------------------------------------------


def _page(title: str, body: str) -> str:
    return (f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
            f'<meta http-equiv="Content-Security-Policy" content="{e(CSP)}">'
            f"<title>{e(title)}</title><style>{STYLE}</style></head>\n<body>\n{body}\n</body></html>\n")


def _percent(part: int, whole: int) -> str:
    return f"{100 * part / whole:.0f}%" if whole else "–"


def _counts(items: Sequence[tuple[str, int]]) -> str:
    return "<br>".join(f"<code>{e(label)}</code> ×{n}" for label, n in items) or '<span class="muted">–</span>'


def _question_row(q: QuestionStats, declared: bool) -> str:
    wrong = _counts([(c.label, c.count) for c in q.wrong_answers])
    if q.distinct_wrong_answers > len(q.wrong_answers):
        wrong += f'<br><span class="muted">{q.distinct_wrong_answers - len(q.wrong_answers)} other values</span>'
    if q.misconceptions:
        misc = "<br>".join(f"<b>{e(c.label)}</b> ×{c.count}" + (f': <span class="muted">{e(c.hint)}</span>' if c.hint else "")
                           for c in q.misconceptions)
    else:
        misc = '<span class="muted">none declared</span>' if declared else '<span class="muted">–</span>'
    return (f"<tr><td><code>{e(q.info.id)}</code></td><td class=n>{e(q.info.exercise)}</td><td>{e(q.info.kind)}</td>"
            f"<td class=n>{e(f'{q.info.points:g}')}</td>"
            f'<td class=n>{_percent(q.passed, q.submissions)} <span class="bar" style="width:{60 * q.pass_rate:.0f}px">'
            f"</span></td><td class=n>{q.passed} / {q.submissions}</td>"
            f"<td class=n>{q.check_passed_graded_wrong} ({_percent(q.check_passed_graded_wrong, q.submissions)})</td>"
            f"<td>{wrong}</td><td>{misc}</td></tr>")


HOW_TO_READ = """<h2>How to read this page</h2><ul>
<li><b>Pass rate</b>: the share of all submissions whose answer to the question is right (a submission that
could not be graded at all counts as not passed).</li>
<li><b>Check passed, graded wrong</b>: wrong answers that had the form the task asks, so the public check in the
notebook said <i>form OK</i> on them: the student had no sign of the mistake before grading. Found by the grader
(the same contract test on the same answer), whether or not the student ran the check. A high count points to a
task whose wording or public check could say more.</li>
<li><b>Most frequent wrong answers</b>: wrong answers grouped by value (of a function: its output on the first
hidden input it gets wrong). Only answers of the right form have a value here.</li>
<li><b>Misconceptions</b>: the known wrong answers the reference declares, how many answers matched each, and the
hint those students were given.</li></ul>"""


def assignment_html(report: AssignmentReport, figures: dict[str, str]) -> str:
    """The assignment page; ``figures`` maps a figure's role to its file name beside the page."""
    d = report.distribution
    n = len(d.scores)
    summary = (f'<p class="summary"><span><b>{n}</b> submissions</span><span>mean <b>{d.mean:.2f}</b> / {d.max_score:g}'
               f"</span><span>median <b>{d.median:g}</b></span><span>full marks <b>{sum(s >= d.max_score for s in d.scores)}"
               f"</b></span><span>zero <b>{sum(s == 0 for s in d.scores)}</b></span>"
               f"<span>not gradable <b>{d.not_graded}</b></span></p>")
    rows = "\n".join(_question_row(q, report.declared_misconceptions) for q in report.questions)
    frequent = "\n".join(
        f"<tr><td><code>{e(f.question)}</code></td><td><code>{e(f.answer)}</code></td><td class=n>{f.count}</td>"
        f"<td>{e(f.misconception or '–')}</td></tr>" for f in report.frequent
    ) or '<tr><td colspan=4 class="muted">none given twice</td></tr>'
    note = "" if report.declared_misconceptions else (
        '<p class="muted">This bundle declares no misconceptions: rebuild after adding them to the references '
        "(<code>d2lgrade build</code>) and regrade to see them here.</p>")
    body = f"""<h1>{e(report.assignment)}: {e(report.title)}</h1>
<p class="muted">From {n} results JSON in <code>{e(report.results_folder)}</code>; autograded points only
(written answers are graded by a person in the formgrader).</p>
{summary}
<h2>Score distribution</h2><img src="{e(figures['scores'])}" alt="histogram of autograded scores">
<h2>Questions</h2><img src="{e(figures['questions'])}" alt="pass rate per question">
<table><tr><th>question</th><th>ex.</th><th>kind</th><th>points</th><th>pass rate</th><th>passed</th>
<th>check passed, graded wrong</th><th>most frequent wrong answers</th><th>misconceptions (matched: hint)</th></tr>
{rows}</table>{note}
<h2>Most frequent wrong answers in the assignment</h2>
<table><tr><th>question</th><th>answer</th><th>submissions</th><th>misconception</th></tr>
{frequent}</table>
{similarity_section(report.assignment)}
{HOW_TO_READ}"""
    return _page(f"{report.assignment} class report", body)


def similarity_section(assignment: str) -> str:
    """Where the page on alike answers is: beside this one, made by ``d2lgrade similarity`` (for the teaching team
    only, like this report)."""
    return (f'<h2>Similar answers</h2><p><a href="similarity.html">similarity.html</a>, beside this page: pairs and '
            f"clusters of students whose answers are alike, per question, with the matches side by side. Made by "
            f"<code>d2lgrade similarity {e(assignment)}</code> (run it again after grading new submissions). "
            "A similarity is a reason to look, not proof of copying; the page says why.</p>")


def _cell(fraction: float | None) -> str:
    if fraction is None:
        return '<td class="cell muted">–</td>'
    hue = int(120 * fraction)  # red (0) to green (120)
    return f'<td class="cell" style="background:hsl({hue},60%,82%)">{100 * fraction:.0f}</td>'


def course_html(report: CourseReport, figures: dict[str, str]) -> str:
    """The course page: a students × sections table (percent of autograded points) and its heatmap."""
    head = "".join(f'<th title="{e(c.title)}">{e(c.assignment)}</th>' for c in report.columns)
    means = "".join(f"<td class=n>{100 * c.mean / c.max_score:.0f}</td>" if c.max_score else "<td></td>"
                    for c in report.columns)
    counts = "".join(f"<td class=n>{c.submissions}</td>" for c in report.columns)
    rows = "\n".join(f"<tr><td><code>{e(r.student)}</code></td>{''.join(_cell(f) for f in r.fractions)}"
                     f"<td class=n>{r.score:g} / {r.max_score:g}</td></tr>" for r in report.rows)
    body = f"""<h1>Course report: students × sections</h1>
<p class="muted">From the results JSON in <code>{e(report.results_folder)}</code>: {len(report.rows)} students,
{len(report.columns)} sections with results. Each cell is the percent of a section's autograded points;
– where the student has no submission. Each section's own page: <code>d2lgrade report &lt;assignment&gt;</code>.</p>
<img src="{e(figures['heatmap'])}" alt="students by sections heatmap">
<h2>Table</h2>
<table><tr><th>student</th>{head}<th>total</th></tr>
<tr><th>mean %</th>{means}<td></td></tr><tr><th>submissions</th>{counts}<td></td></tr>
{rows}</table>"""
    return _page("course report", body)


# --- writing -------------------------------------------------------------------------------------------------


def write_assignment_report(report: AssignmentReport, folder: Path) -> Path:
    """``folder/index.html`` with ``scores.png`` and ``questions.png`` beside it."""
    folder.mkdir(parents=True, exist_ok=True)
    figures = {"scores": score_histogram(report.distribution, folder / "scores.png").name,
               "questions": pass_rate_chart(report.questions, folder / "questions.png").name}
    index = folder / "index.html"
    index.write_text(assignment_html(report, figures), encoding="utf-8")
    return index


def write_course_report(report: CourseReport, folder: Path) -> Path:
    """``folder/index.html`` with ``heatmap.png`` beside it."""
    folder.mkdir(parents=True, exist_ok=True)
    figures = {"heatmap": course_heatmap(report, folder / "heatmap.png").name}
    index = folder / "index.html"
    index.write_text(course_html(report, figures), encoding="utf-8")
    return index
