"""The written answers' PDF (d2lgrade/otter/written_pdf.py) and the Otter zip's quiet, consistent output.

The PDF holds each written answer with the task it answers; a hostile notebook (script in the answer
and in outputs, huge outputs, beacons to a local server) yields a PDF in which nothing ran and nothing
was fetched, in a few seconds, and its grade is the honest one. ``otter run`` prints no NaN row, no
missing-log line and no kernel warning, and its results' visibility is d2lgrade's.
"""

from __future__ import annotations

import copy
import http.server
import json
import re
import subprocess
import sys
import threading
import time
import unicodedata
from html.parser import HTMLParser
from pathlib import Path

import nbformat
import pytest
from pypdf import PdfReader

from d2lgrade.authoring.samples import samples_dir
from d2lgrade.grading.steps import Assignment, grade_bytes
from d2lgrade.judging.bundle import compile_bundle
from d2lgrade.judging.results import gradescope_json
from d2lgrade.judging.written import CAPS, MIB_CHARS
from d2lgrade.otter import written_pdf
from d2lgrade.otter.written_pdf import find_chromium, pdf_name, write_written_pdf, written_html, written_notebook

OTTER = str(Path(sys.executable).parent / "otter")
needs_chromium = pytest.mark.skipif(find_chromium() is None, reason="no Chromium here (set D2LGRADE_CHROMIUM)")


@pytest.fixture(scope="module")
def bundles(course):
    """Only the two assignments used here (the session fixture compiles all of them)."""
    return {a: compile_bundle(course.spec(a)) for a in ("s02_3", "s02_4")}


def _words(text: str) -> str:
    """Whitespace made single spaces, ligatures (fi) split: text as a reader would search it."""
    return re.sub(r"\s+", " ", unicodedata.normalize("NFKC", text)).strip()


def _pdf_text(path: Path) -> str:
    return _words(" ".join(page.extract_text() for page in PdfReader(path).pages))


@needs_chromium
def test_pdf_holds_each_written_answer_with_its_task(course, bundles, tmp_path):
    raw = (samples_dir(course, "s02_3") / "complete.ipynb").read_bytes()
    start = time.monotonic()
    made = write_written_pdf(bundles["s02_3"], raw, "complete.ipynb", tmp_path / "complete.pdf")
    seconds = time.monotonic() - start
    print(f"s02_3: {made.questions} written answers rendered in {seconds:.2f} s")
    assert made.problem is None and made.path == tmp_path / "complete.pdf" and made.questions == 3
    text = _pdf_text(made.path)
    for answer in ("Same shape, same entries", "so the two matrices are equal", "because addition commutes"):
        assert answer.lower() in text.lower(), answer
    for task in ("Exercise 1", "Prove that the transpose", "Task 3b"):  # the prompts they answer
        assert task in text, task
    assert len(PdfReader(made.path).pages) >= 3, "each question starts a page"
    assert seconds < 20


def test_no_browser_or_a_hung_one_is_a_problem_not_an_exception(course, bundles, tmp_path, monkeypatch):
    raw = (samples_dir(course, "s02_4") / "complete.ipynb").read_bytes()
    monkeypatch.setenv(written_pdf.CHROMIUM_ENV, str(tmp_path / "no-such-chromium"))
    made = write_written_pdf(bundles["s02_4"], raw, "complete.ipynb", tmp_path / "x.pdf")
    assert made.path is None and "no Chromium" in made.problem and not (tmp_path / "x.pdf").exists()
    hang = tmp_path / "hang"
    hang.write_text("#!/bin/sh\nsleep 30\n")
    hang.chmod(0o755)
    monkeypatch.setenv(written_pdf.CHROMIUM_ENV, str(hang))
    start = time.monotonic()
    made = write_written_pdf(bundles["s02_4"], raw, "complete.ipynb", tmp_path / "x.pdf", timeout=1)
    assert made.path is None and "took over 1 s" in made.problem and time.monotonic() - start < 10


def test_chromium_is_found_by_env_path_or_playwright(tmp_path, monkeypatch):
    def executable(path: Path) -> Path:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("#!/bin/sh\n")
        path.chmod(0o755)
        return path

    monkeypatch.delenv(written_pdf.CHROMIUM_ENV, raising=False)
    monkeypatch.delenv("PLAYWRIGHT_BROWSERS_PATH", raising=False)
    monkeypatch.setenv("PATH", str(tmp_path / "bin"))
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert find_chromium() is None
    shell = executable(tmp_path / "home/.cache/ms-playwright/chromium_headless_shell-1200/chrome-linux/headless_shell")
    assert find_chromium() == str(shell)
    on_path = executable(tmp_path / "bin/chromium-browser")
    assert find_chromium() == str(on_path)
    named = executable(tmp_path / "elsewhere/chrome")
    monkeypatch.setenv(written_pdf.CHROMIUM_ENV, str(named))
    assert find_chromium() == str(named)


def test_pdf_name_is_otters_in_safe_characters():
    assert pdf_name("complete.ipynb") == "complete.pdf"
    assert pdf_name("../../.bashrc x;y.ipynb") == "bashrc_x_y.pdf"
    assert pdf_name("..ipynb") == "submission.pdf"


def test_token_upload_only_when_configured(monkeypatch, tmp_path):
    from otter.generate import token

    from d2lgrade.otter.plugin import upload_pdf

    calls = []

    class FakeClient:
        def __init__(self, token):
            calls.append(("token", token))

        def upload_pdf_submission(self, course_id, assignment_id, email, filename):
            calls.append((course_id, assignment_id, email, Path(filename).name))
            return type("Response", (), {"status_code": 200})()

    monkeypatch.setattr(token, "APIClient", FakeClient)
    upload_pdf(tmp_path / "a.pdf", {"token": "T", "course_id": 1, "assignment_id": 2},
               {"users": [{"email": "s@example.org"}]})
    assert calls == [("token", "T"), ("1", "2", "s@example.org", "a.pdf")]


# --- a hostile submission ------------------------------------------------------------------------------

HONEST = "The dashed red line touches the curve at (1, 0) HONEST-WRITTEN."
BEACON = "http://127.0.0.1:{port}/{what}"


def _ran(tag: str) -> str:
    """Script that, if it ran, writes EXECUTED-<tag>; the word itself is never in the notebook."""
    return f"document.body.innerHTML += ['EXEC', 'UTED-{tag}'].join('')"


def hostile_notebook(release_like: nbformat.NotebookNode, port: int) -> nbformat.NotebookNode:
    nb = copy.deepcopy(release_like)
    cells = {c.metadata.get("nbgrader", {}).get("grade_id"): c for c in nb.cells}
    beacon = BEACON.format(port=port, what="{}")
    cells["ex1_figure"].source = "\n\n".join([
        HONEST, f"<script>{_ran('answer-script')}</script>",
        f"<img src=\"{beacon.format('img')}\" onerror=\"{_ran('onerror')}\">",
        f"[click](javascript:{_ran('link')})", f"<iframe srcdoc=\"<script>{_ran('srcdoc')}</script>\"></iframe>",
        f"![beacon]({beacon.format('md-img')})", f"<link rel=\"stylesheet\" href=\"{beacon.format('css')}\">",
        f"<style>@import url({beacon.format('import')});</style>", "<b>bold is fine</b>",
        "A long answer. " * 5000])
    plot = cells["ex1_plot_answer"]
    plot.outputs = [
        nbformat.v4.new_output("stream", name="stdout", text="x" * 5_000_000),
        *[nbformat.v4.new_output("stream", name="stdout", text=f"line {i}\n") for i in range(200)]]
    plot.outputs[1:1] = [
        nbformat.v4.new_output("display_data", data={
            "text/html": f"<script>{_ran('html-output')}</script><img src=\"{beacon.format('out-img')}\">",
            "application/javascript": _ran("js-output"),
            "image/svg+xml": f"<svg xmlns='http://www.w3.org/2000/svg' onload=\"{_ran('svg')}\"/>",
            "text/plain": "a display"}),
        nbformat.v4.new_output("display_data", data={"image/png": "A" * 4_000_000, "text/plain": "huge"}),
    ]
    nb.metadata["widgets"] = {"application/vnd.jupyter.widget-state+json": {"state": {
        "m": {"x": f"</script><script>{_ran('widget-state')}</script>"}}}}
    return nb


class _Beacons(http.server.BaseHTTPRequestHandler):
    hits: list[str] = []  # noqa: RUF012 -- one server per test

    def do_GET(self):
        self.hits.append(self.path)
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture
def beacons():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Beacons)
    _Beacons.hits = []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[1], _Beacons.hits
    server.shutdown()
    server.server_close()


class _Active(HTMLParser):
    """Every element or attribute that could run script or embed a page (fetches: see the beacons)."""

    def __init__(self):
        super().__init__()
        self.found: list[str] = []

    def handle_starttag(self, tag, attrs):
        if tag in ("script", "iframe", "object", "embed", "link", "base", "frame"):
            self.found.append(tag)
        for name, value in attrs:
            if name.startswith("on") or (value or "").strip().lower().startswith("javascript:"):
                self.found.append(f"{tag} {name}={value}")


@needs_chromium
def test_hostile_notebook_gives_an_inert_pdf_in_seconds(course, bundles, tmp_path, beacons):
    port, hits = beacons
    sample = nbformat.read(samples_dir(course, "s02_4") / "complete.ipynb", as_version=4)
    nb = hostile_notebook(sample, port)
    html = written_html(written_notebook(copy.deepcopy(nb), bundles["s02_4"], "hostile.ipynb"), bundles["s02_4"])
    parser = _Active()
    parser.feed(html)
    assert parser.found == [], parser.found
    assert "EXECUTED" not in html and written_pdf.CSP in html
    start = time.monotonic()
    made = write_written_pdf(bundles["s02_4"], nbformat.writes(nb).encode(), "hostile.ipynb", tmp_path / "h.pdf")
    seconds = time.monotonic() - start
    print(f"hostile s02_4 (5 MB output, 200 outputs, 4 MB image): rendered in {seconds:.2f} s")
    assert made.problem is None, made.problem
    text = _pdf_text(made.path)
    assert "HONEST-WRITTEN" in text and "bold is fine" in text
    assert "EXECUTED" not in text, "script in the submission ran while printing"
    assert "more characters left out of this PDF" in text and "more outputs left out" in text
    assert "too large for this PDF" in text
    assert hits == [], f"the browser fetched {hits}"
    assert len(PdfReader(made.path).pages) < 40 and made.path.stat().st_size < 3 * 2**20
    assert seconds < 30


@pytest.fixture(scope="module")
def s02_4_zip(course, bundles, tmp_path_factory):
    from d2lgrade.otter.autograder_zip import write_autograder_zip

    path = tmp_path_factory.mktemp("zip") / "s02_4.zip"
    write_autograder_zip(bundles["s02_4"], path, course.root)
    return path


@pytest.mark.slow
@pytest.mark.long
@needs_chromium
def test_hostile_notebook_through_otter_run_keeps_its_grade(course, bundles, s02_4_zip, tmp_path, beacons):
    port, hits = beacons
    sample = samples_dir(course, "s02_4") / "complete.ipynb"
    honest = grade_bytes(Assignment.from_bundle(bundles["s02_4"]), sample.read_bytes(), "s", "complete.ipynb").result
    nb = tmp_path / "hostile.ipynb"
    nb.write_text(nbformat.writes(hostile_notebook(nbformat.read(sample, as_version=4), port)))
    proc = subprocess.run([OTTER, "run", "--no-logo", "-a", str(s02_4_zip), str(nb), "-o", "."],
                          capture_output=True, text=True, cwd=tmp_path, timeout=600)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    result = json.loads((tmp_path / "results.json").read_text())
    assert sum(t["score"] for t in result["tests"]) == honest.score
    assert "could not be made" not in result["output"]
    assert (tmp_path / "hostile.pdf").is_file(), "the PDF lands beside otter run's results.json (relative -o)"
    text = _pdf_text(tmp_path / "hostile.pdf")
    assert "HONEST-WRITTEN" in text and "EXECUTED" not in text and hits == []


# --- otter run's output --------------------------------------------------------------------------------

NOISE = ("NaN", "No log found", "without encryption", "WARNING", "Traceback", "Error")


@pytest.mark.slow
def test_otter_run_prints_what_an_instructor_needs_and_agrees_on_visibility(course, bundles, s02_4_zip, tmp_path):
    sample = samples_dir(course, "s02_4") / "partial.ipynb"
    proc = subprocess.run([OTTER, "run", "-a", str(s02_4_zip), str(sample), "-o", str(tmp_path)],
                          capture_output=True, text=True, cwd=tmp_path, timeout=600)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    for noise in NOISE:
        assert noise not in proc.stdout and noise not in proc.stderr, (noise, proc.stdout, proc.stderr)
    assert proc.stderr.strip() == ""
    ours = gradescope_json(grade_bytes(Assignment.from_bundle(bundles["s02_4"]), sample.read_bytes(), "partial",
                                       "partial.ipynb").result)
    theirs = json.loads((tmp_path / "results.json").read_text())
    assert {t["name"]: t["visibility"] for t in theirs["tests"]} == {t["name"]: t["visibility"] for t in ours["tests"]}
    assert {t["name"]: t["score"] for t in theirs["tests"]} == {t["name"]: t["score"] for t in ours["tests"]}
    for t in ours["tests"]:  # the instructor's summary: every question with its score, and the total
        assert re.search(rf"{re.escape(t['name'])}\s+{t['score']:g} / {t['max_score']:g}", proc.stdout), t["name"]
    assert f"Total Score: {ours['score']:.3f}" in proc.stdout
    if find_chromium() is not None:
        assert (tmp_path / "partial.pdf").is_file() and "Written answers (1): " in proc.stdout


@needs_chromium
def test_one_attachment_referenced_400_times_renders_within_the_caps(course, bundles, tmp_path):
    """Before the caps: 22.6 s of the grader's CPU, 3.5 GiB and a 600 MB page for this answer."""
    nb = nbformat.read(samples_dir(course, "s02_4") / "complete.ipynb", as_version=4)
    answer = next(c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == "ex1_figure")
    answer.source = "HONEST-WRITTEN figure:\n\n" + "\n".join("![p](attachment:big.png)" for _ in range(400))
    answer["attachments"] = {"big.png": {"image/png": "iVBORw0KGgo" + "A" * int(1.1 * MIB_CHARS)}}
    html = written_html(written_notebook(copy.deepcopy(nb), bundles["s02_4"], "big.ipynb"), bundles["s02_4"])
    assert len(html) < CAPS.max_total_chars + 2_000_000
    start = time.process_time()
    made = write_written_pdf(bundles["s02_4"], nbformat.writes(nb).encode(), "big.ipynb", tmp_path / "big.pdf")
    cpu = time.process_time() - start
    print(f"1.1 MB attachment x 400: {made.seconds:.1f} s, {cpu:.1f} s of the grader's CPU")
    assert made.problem is None, made.problem
    text = _pdf_text(made.path)
    assert "HONEST-WRITTEN" in text and "attachment big.png left out" in text.replace("`", "")
    assert cpu < 10
