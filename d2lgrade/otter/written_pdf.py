"""A PDF of a submission's written answers, for grading by a person (Gradescope's manual grading).

The manually graded questions of an assignment (FREE and PLOT kinds: nbgrader markdown answer cells)
are taken from the submitted notebook's bytes, each with the cells that ask it (back to the exercise's
heading or the previous graded cell: the book's exercise, the task, the code and figure a PLOT answer
describes). Nothing of the submission runs: the cells are cut to size, made inert with
:func:`d2lgrade.nbgrader.defang.defang`, rendered to HTML by nbconvert with no script of its own and a
Content-Security-Policy that allows no script and no fetch, and printed to PDF by a headless Chromium
with JavaScript switched off in a fresh profile, no network (a network namespace when it can make one,
else an unresolvable proxy and host map) and a time limit. Any failure ends in :class:`WrittenPdf` with
a ``problem``, never in an exception: grading does not depend on the PDF.
"""

from __future__ import annotations

import contextlib
import copy
import glob
import json
import os
import re
import shutil
import signal
import subprocess
import tempfile
import time
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import nbformat
from jinja2 import DictLoader

from d2lgrade.judging.bundle import Bundle
from d2lgrade.judging.spec import Question
from d2lgrade.nbgrader.defang import defang

CHROMIUM_ENV = "D2LGRADE_CHROMIUM"
"""An explicit Chromium/Chrome executable; else ``chromium``, ``chromium-browser``, ``google-chrome`` on PATH,
else a Playwright download."""
CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
RENDER_TIMEOUT = 60.0
"""Seconds Chromium may take for one PDF before it is killed."""

MAX_CONTEXT_CELLS = 8
"""Cells shown before an answer, at most (the task, its code, the exercise's heading)."""
MAX_SOURCE_CHARS = 20_000
"""Characters of one cell's source kept; the rest is cut with a note."""
MAX_OUTPUT_CHARS = 5_000
MAX_OUTPUTS = 10
MAX_IMAGE_CHARS = 3_000_000
"""Base64 characters of one raster image (about 2 MiB); larger images are left out with a note."""

_HEADING = re.compile(r"^\s*#{1,2}\s")
CSP = ("<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; img-src data:; "
       "style-src 'unsafe-inline'; font-src data:\"/>")
"""No script, no frame, no fetch: only inline styles and data: images and fonts."""
CSS = """
.d2l-title { margin-bottom: 1em; }
.celltag_d2lgrade-question { break-before: page; }
.celltag_d2lgrade-answer { border: 2px solid #1a6; border-radius: 4px; padding: 0.3em 0.6em; margin: 0.4em 0; }
.celltag_d2lgrade-answer::before { content: "Written answer"; font-weight: bold; color: #1a6; display: block; }
.celltag_d2lgrade-missing { border: 2px solid #c33; padding: 0.3em 0.6em; }
"""
TEMPLATE = """{%- extends 'lab/index.html.j2' -%}
{%- block html_head_js -%}{%- endblock html_head_js -%}
{%- block jupyter_widgets -%}{%- endblock jupyter_widgets -%}
{%- block html_head_js_mathjax -%}{%- endblock html_head_js_mathjax -%}
{%- block html_head_js_mermaidjs -%}{%- endblock html_head_js_mermaidjs -%}
{%- block footer_js -%}{%- endblock footer_js -%}
{%- block extra_css -%}<style type="text/css">""" + CSS + """</style>{%- endblock extra_css -%}
"""


@dataclass(frozen=True)
class WrittenPdf:
    """What became of one submission's PDF: ``path`` when written, else ``problem`` says why not
    (``questions == 0``: the assignment has no written answers, so no PDF and no problem)."""

    path: Path | None
    questions: int
    seconds: float = 0.0
    problem: str | None = None


def manual_questions(bundle: Bundle) -> tuple[Question, ...]:
    """The questions a person grades: markdown answer cells (FREE and PLOT kinds)."""
    return tuple(q for q in bundle.questions if not q.autograded)


def pdf_name(source: str) -> str:
    """``<notebook stem>.pdf`` (Otter's name for it), in safe characters whatever the student named the file."""
    stem = re.sub(r"[^A-Za-z0-9_.-]+", "_", Path(source).stem).lstrip(".") or "submission"
    return f"{stem[:100]}.pdf"


def write_written_pdf(bundle: Bundle, raw: bytes, source: str, dest: Path,
                      timeout: float = RENDER_TIMEOUT) -> WrittenPdf:
    """Render ``raw``'s written answers to ``dest``; never raises (see :class:`WrittenPdf`)."""
    questions = manual_questions(bundle)
    if not questions:
        return WrittenPdf(None, 0)
    start = time.monotonic()
    try:
        chromium = find_chromium()
        if chromium is None:
            raise PdfUnavailable(f"no Chromium or Chrome found (set {CHROMIUM_ENV} to its executable, or install "
                                 "Debian's chromium package)")
        nb = nbformat.reads(raw.decode("utf-8"), as_version=4)
        html = written_html(written_notebook(nb, bundle, source), bundle)
        dest.parent.mkdir(parents=True, exist_ok=True)
        html_to_pdf(html, dest, chromium, timeout)
    except Exception as exc:  # noqa: BLE001 -- the PDF is an extra: grading stands without it
        dest.unlink(missing_ok=True)
        reason = str(exc) if isinstance(exc, PdfUnavailable) else f"{type(exc).__name__}: {str(exc)[:300]}"
        return WrittenPdf(None, len(questions), time.monotonic() - start, reason)
    return WrittenPdf(dest, len(questions), time.monotonic() - start)


class PdfUnavailable(RuntimeError):
    """The PDF cannot be made here (no browser, the browser failed or timed out); the message says why."""


# --- which cells ---------------------------------------------------------------------------------------

def written_notebook(nb: nbformat.NotebookNode, bundle: Bundle, source: str) -> nbformat.NotebookNode:
    """A new notebook: a title, then per written question a heading (from the bundle), the cells that ask
    it and the answer cell, each cut to size and made inert."""
    cells = [c for c in nb.get("cells", []) if isinstance(c, dict)]
    ids = [_grade_id(c) for c in cells]
    questions = manual_questions(bundle)
    points = sum(q.points for q in questions)
    out = [_own_markdown(f"# {bundle.section} {bundle.title}: written answers\n\n"
                         f"Submission `{_plain(source)}`, {len(questions)} written answer(s), {points:g} point(s) "
                         "graded by a person. The text is the student's, as submitted (maths shown as LaTeX).",
                         "d2lgrade-title")]
    for n, q in enumerate(questions):  # each question on a page of its own (the first one under the title)
        out.append(_own_markdown(f"## Exercise {q.exercise}, `{q.id}`: {q.points:g} point(s), graded by a person",
                                 "d2lgrade-question" if n else "d2lgrade-first-question"))
        at = next((i for i, c in enumerate(cells) if ids[i] == q.id and c.get("cell_type") == "markdown"), None)
        if at is None:
            out.append(_own_markdown(f"*The answer cell `{q.id}` is not in the submission.*", "d2lgrade-missing"))
            continue
        out.extend(_inert(cells[i]) for i in _context(cells, at))
        answer = _inert(cells[at])
        answer.metadata["d2lgrade"] = {"pdf_tag": "d2lgrade-answer"}
        out.append(answer)
    written = nbformat.v4.new_notebook(cells=out)
    written.metadata = {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"},
                        "language_info": {"name": "python"}}
    return written


def _context(cells: list, at: int) -> list[int]:
    """Indices of the cells that ask the answer at ``at``: back to the previous graded cell (exclusive)
    or the exercise's heading (inclusive), at most :data:`MAX_CONTEXT_CELLS`; then the exercise's
    heading if that walk stopped short of it."""
    picked: list[int] = []
    i = at - 1
    while i >= 0 and len(picked) < MAX_CONTEXT_CELLS and not _is_graded(cells[i]):
        picked.append(i)
        if _is_heading(cells[i]):
            return picked[::-1]
        i -= 1
    heading = next((j for j in range(i, -1, -1) if _is_heading(cells[j])), None)
    return ([heading] if heading is not None else []) + picked[::-1]


def _grade_id(cell: dict) -> object:
    meta = cell.get("metadata")
    nbg = meta.get("nbgrader") if isinstance(meta, dict) else None
    return nbg.get("grade_id") if isinstance(nbg, dict) else None


def _is_graded(cell: dict) -> bool:
    meta = cell.get("metadata")
    nbg = meta.get("nbgrader") if isinstance(meta, dict) else None
    return isinstance(nbg, dict) and bool(nbg.get("grade"))


def _is_heading(cell: dict) -> bool:
    return cell.get("cell_type") == "markdown" and bool(_HEADING.match(_text(cell.get("source", ""))))


def _text(value: object) -> str:
    return "".join(value) if isinstance(value, list) else value if isinstance(value, str) else ""


def _plain(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_. -]+", "_", text)[:100]


def _own_markdown(text: str, tag: str) -> nbformat.NotebookNode:
    cell = nbformat.v4.new_markdown_cell(text)
    cell.metadata["d2lgrade"] = {"pdf_tag": tag}  # a key defang keeps; submitted cells come without metadata
    return cell


def _cut(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    return f"{text[:limit]}\n\n[... {len(text) - limit} more characters left out of this PDF]"


def _inert(cell: dict) -> nbformat.NotebookNode:
    """A copy of a submitted cell cut to size (source, outputs, images); no metadata, no attachments
    but raster ones. It is made inert with the rest of the notebook in :func:`written_html`."""
    kind = cell.get("cell_type")
    source = _cut(_text(cell.get("source", "")), MAX_SOURCE_CHARS)
    if kind == "code":
        new = nbformat.v4.new_code_cell(source)
        new.outputs = [o for o in (_output(o) for o in (cell.get("outputs") or [])[:MAX_OUTPUTS]) if o is not None]
        if len(cell.get("outputs") or []) > MAX_OUTPUTS:
            new.outputs.append(nbformat.v4.new_output("stream", name="stdout", text=(
                f"[... {len(cell['outputs']) - MAX_OUTPUTS} more outputs left out of this PDF]")))
        return new
    new = nbformat.v4.new_markdown_cell(source) if kind == "markdown" else nbformat.v4.new_raw_cell(source)
    attachments = cell.get("attachments")
    if kind == "markdown" and isinstance(attachments, dict):
        new["attachments"] = copy.deepcopy(attachments)
    return new


def _output(output: object) -> nbformat.NotebookNode | None:
    """An output cut to size: stream and error text, or a display's text, HTML, Markdown and raster images."""
    if not isinstance(output, dict):
        return None
    kind = output.get("output_type")
    if kind == "stream":
        return nbformat.v4.new_output("stream", name="stdout", text=_cut(_text(output.get("text", "")),
                                                                          MAX_OUTPUT_CHARS))
    if kind == "error":
        text = "\n".join(_text(line) for line in (output.get("traceback") or [])[:50])
        return nbformat.v4.new_output("stream", name="stderr", text=_cut(_ANSI.sub("", text), MAX_OUTPUT_CHARS))
    if kind not in ("display_data", "execute_result") or not isinstance(output.get("data"), dict):
        return None
    data = {}
    for mime, value in output["data"].items():
        text = _text(value)
        if mime in ("image/png", "image/jpeg"):
            data[mime] = text if len(text) <= MAX_IMAGE_CHARS else None
        elif mime in ("text/plain", "text/html", "text/markdown"):
            data[mime] = _cut(text, MAX_OUTPUT_CHARS)
    if any(v is None for v in data.values()):
        data = {k: v for k, v in data.items() if v is not None}
        data["text/plain"] = "[an image too large for this PDF was left out]"
    return nbformat.v4.new_output("display_data", data=data) if data else None


_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


# --- HTML ----------------------------------------------------------------------------------------------

def written_html(nb: nbformat.NotebookNode, bundle: Bundle) -> str:
    """Inert HTML: :func:`defang` on every cell, nbconvert's lab template without its scripts, the
    Markdown filter without ``javascript:`` links, and a CSP that forbids scripts and fetches."""
    from nbconvert import HTMLExporter

    defang(nb)
    for cell in nb.cells:  # our own tags (after defang, which drops cell tags): page breaks and frames
        tag = cell.metadata.pop("d2lgrade", {}).get("pdf_tag")
        if tag:
            cell.metadata["tags"] = [tag]
    exporter = HTMLExporter(template_name="lab", extra_loaders=[DictLoader({"d2lgrade_written.html.j2": TEMPLATE})],
                            template_file="d2lgrade_written.html.j2",
                            filters={"markdown2html": "d2lgrade.nbgrader.defang.markdown2html"})
    body, _ = exporter.from_notebook_node(nb, resources={"metadata": {"name": f"{bundle.assignment} written answers"}})
    if "<head>" not in body:
        raise PdfUnavailable("nbconvert's HTML has no <head> for the content policy")
    return body.replace("<head>", "<head>" + CSP, 1)


# --- PDF -----------------------------------------------------------------------------------------------

def find_chromium() -> str | None:
    """The browser to print with: ``$D2LGRADE_CHROMIUM``, a Chromium/Chrome on PATH, or Playwright's."""
    explicit = os.environ.get(CHROMIUM_ENV)
    if explicit:
        found = shutil.which(explicit)
        return found if found else None
    for name in CHROMIUM_NAMES:
        found = shutil.which(name)
        if found:
            return found
    roots = [os.environ.get("PLAYWRIGHT_BROWSERS_PATH") or "", str(Path.home() / ".cache" / "ms-playwright")]
    for root in filter(None, roots):
        for pattern in ("chromium_headless_shell-*/chrome-linux*/headless_shell", "chromium-*/chrome-linux*/chrome"):
            hits = sorted(glob.glob(os.path.join(root, pattern)), reverse=True)
            if hits and os.access(hits[0], os.X_OK):
                return hits[0]
    return None


@cache
def _no_network_prefix() -> tuple[str, ...]:
    """``unshare --net --`` when this process may make a network namespace (root, not forbidden), else ()."""
    unshare = shutil.which("unshare")
    if not unshare:
        return ()
    try:
        ok = subprocess.run([unshare, "--net", "--", "true"], capture_output=True, timeout=10).returncode == 0
    except (OSError, subprocess.SubprocessError):
        ok = False
    return (unshare, "--net", "--") if ok else ()


def chromium_command(chromium: str, profile: Path, html: Path, pdf: Path) -> list[str]:
    """Headless print to PDF: JavaScript off (in the profile, see :func:`html_to_pdf`), no network, no
    extensions, no header or footer; ``--no-sandbox`` only where Chromium's own sandbox cannot run (root)."""
    args = [*_no_network_prefix(), chromium, "--headless", "--disable-gpu", "--no-pdf-header-footer",
            f"--user-data-dir={profile}", "--no-first-run", "--no-default-browser-check", "--disable-extensions",
            "--disable-background-networking", "--disable-component-update", "--disable-sync",
            "--disable-default-apps", "--disable-dev-shm-usage", "--host-resolver-rules=MAP * ~NOTFOUND",
            "--proxy-server=127.0.0.1:9", "--proxy-bypass-list=<-loopback>", f"--print-to-pdf={pdf}",
            html.as_uri()]
    if os.geteuid() == 0:
        args.insert(len(_no_network_prefix()) + 1, "--no-sandbox")
    return args


JS_OFF_PREFERENCES = {"profile": {"default_content_setting_values": {"javascript": 2}}}
"""Chromium's content setting "JavaScript: blocked" (Chromium's ``--blink-settings=scriptEnabled=false``
makes headless print-to-pdf write nothing)."""


def html_to_pdf(html: str, dest: Path, chromium: str, timeout: float = RENDER_TIMEOUT) -> None:
    """Print ``html`` to ``dest`` with a fresh profile in a temporary folder; raises :class:`PdfUnavailable`."""
    with tempfile.TemporaryDirectory(prefix="d2lgrade-pdf-") as tmp:
        work = Path(tmp)
        (work / "profile" / "Default").mkdir(parents=True)
        (work / "profile" / "Default" / "Preferences").write_text(json.dumps(JS_OFF_PREFERENCES), encoding="utf-8")
        page, pdf = work / "written.html", work / "written.pdf"
        page.write_text(html, encoding="utf-8")
        env = {"HOME": str(work), "PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LANG": "C.UTF-8",
               "TMPDIR": str(work), "DBUS_SESSION_BUS_ADDRESS": "disabled:"}
        proc = subprocess.Popen(chromium_command(chromium, work / "profile", page, pdf), stdin=subprocess.DEVNULL,
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env, cwd=work,
                                start_new_session=True)
        try:
            log, _ = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.communicate()
            raise PdfUnavailable(f"{Path(chromium).name} took over {timeout:g} s to print the PDF") from None
        finally:  # Chromium's helpers too: everything in the session it was started in
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
        if proc.returncode != 0 or not pdf.is_file() or pdf.stat().st_size == 0:
            last = [ln for ln in log.decode(errors="replace").splitlines() if "dbus" not in ln][-3:]
            raise PdfUnavailable(f"{Path(chromium).name} printed no PDF (exit {proc.returncode}): {' | '.join(last)}")
        shutil.move(str(pdf), dest)
