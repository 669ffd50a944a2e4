"""Nothing from a submission runs in the pages a person opens: the formgrader's manual-grading page and the
feedback, in real Chromium, after ``nbgrader autograde`` (what the formgrader's Autograde button runs).

The submission carries each kind of payload in its written answer (an nbgrader answer cell) and in a Markdown
cell of its own: ``<img onerror>``, ``<svg><animate onbegin>``, ``<details open ontoggle>``, ``<script>``, an
SVG attachment, ``data:`` and ``javascript:`` links, MathJax macros (``\\def``, ``\\href{javascript:…}``), and
a code cell whose outputs are HTML, SVG and JavaScript. Each payload, if it ran, would count itself in
``window.__pwned``, rename the page and fetch a local canary server. The instructor's Jupyter server runs as
``make lab-instructor`` starts it (``jupyter/instructor``). One browser opens both pages; the test asserts that
no payload ran, nothing reached the canary, every request went to the Jupyter server and none to its REST API,
and that the honest text and its maths (MathJax, under the pages' Content-Security-Policy) are shown.
"""

from __future__ import annotations

import http.server
import json
import os
import shutil
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path

import nbformat
import pytest
from nbgrader.api import Gradebook
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.support.ui import WebDriverWait

from tests.conftest import COURSE, copy_course
from tests.jupyter_servers import BIN, CHROMEDRIVER, CHROMIUM, WAIT, jupyter_server, require_chromium, run_ok

ASSIGNMENT, NOTEBOOK, STUDENT, WRITTEN = "s02_7", "documentation", "mallory", "ex1_lookup"
TOKEN = "d2lgrade-inert-test"
HONEST = "My own words: HONEST-ANSWER, with maths $a^2 + b^2 = c^2$."


def _ran(name: str, port: int) -> str:
    """JavaScript that, if it ran, leaves three traces: a count, the page's title, a request to the canary."""
    return (f"window.__pwned=(window.__pwned||0)+1;document.title='PWNED-{name}';"
            f"fetch('http://127.0.0.1:{port}/{name}').catch(function(){{}})")


def payloads(port: int) -> str:
    """A written answer carrying each payload class, around the honest text."""
    def js(name: str) -> str:
        return _ran(name, port).replace('"', "&quot;")

    return "\n\n".join([
        HONEST,
        f"<img src=x onerror=\"{js('img')}\">",
        f"<svg><animate onbegin=\"{js('animate')}\" attributeName=\"x\" dur=\"1s\"></animate></svg>",
        f"<details open ontoggle=\"{js('details')}\">open</details>",
        f"<script>{_ran('script', port)}</script>",
        "![figure](attachment:evil.svg)",
        f"[data link](data:text/html,<script>{_ran('data', port)}</script>)",
        f"[js link](javascript:{_ran('js-link', port)})",
        f"<a href=\"javascript:{js('a')}\">a</a>",
        f"![beacon](http://127.0.0.1:{port}/md-image)",
        "$\\def\\evil{\\href{javascript:" + _ran("mathjax-def", port) + "}{x}}\\evil$ and "
        "$\\href{javascript:" + _ran("mathjax-href", port) + "}{click}$",
    ])


def outputs_cell(port: int) -> str:
    """Code whose run (in the sandbox) leaves HTML, SVG and JavaScript outputs in the autograded notebook."""
    return "\n".join([
        "from IPython.display import HTML, SVG, Javascript, display",
        f"display(HTML('<b>fine</b><img src=x onerror=\"{_ran('out-html', port)}\">'))",
        f"display(SVG('<svg xmlns=\"http://www.w3.org/2000/svg\" onload=\"{_ran('out-svg', port)}\"></svg>'))",
        f"display(Javascript({_ran('out-js', port)!r}))",
    ])


def hostile_submission(port: int) -> nbformat.NotebookNode:
    nb = nbformat.read(COURSE.release_notebook(ASSIGNMENT), as_version=4)
    written = next(c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == WRITTEN)
    written.source = payloads(port)
    svg = f"<svg xmlns='http://www.w3.org/2000/svg' onload=\"{_ran('attachment', port)}\"/>"
    written["attachments"] = {"evil.svg": {"image/svg+xml": svg}}
    own = nbformat.v4.new_markdown_cell(payloads(port))
    own["attachments"] = dict(written["attachments"])
    nb.cells += [nbformat.v4.new_code_cell(outputs_cell(port)), own]
    return nb


class _Canary(http.server.BaseHTTPRequestHandler):
    hits: list[str] = []  # noqa: RUF012 -- one server per test

    def do_GET(self) -> None:
        self.hits.append(self.path)
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@contextmanager
def canary() -> Iterator[tuple[int, list[str]]]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Canary)
    _Canary.hits = []
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield server.server_address[1], _Canary.hits
    finally:
        server.shutdown()
        server.server_close()


def instructor_server(course_root: Path, home: Path, env: dict[str, str], log: Path) -> AbstractContextManager[str]:
    """``jupyter server`` with the instructor's set-up (the formgrader; no JupyterLab needed for its pages)."""
    return jupyter_server("server", "instructor", course_root, home, env, log, TOKEN)


def chromium_with_network_log() -> webdriver.Chrome:
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu", "--window-size=1400,1000",
                "--no-first-run", "--disable-background-networking", "--disable-component-update"):
        options.add_argument(arg)
    options.set_capability("goog:loggingPrefs", {"performance": "ALL", "browser": "ALL"})
    driver = webdriver.Chrome(service=Service(executable_path=str(CHROMEDRIVER)), options=options)
    driver.set_page_load_timeout(WAIT)
    return driver


def requested_urls(driver: webdriver.Chrome) -> list[str]:
    """Every URL the page asked for since the last call (Chromium's DevTools network log)."""
    urls = []
    for entry in driver.get_log("performance"):
        message = json.loads(entry["message"])["message"]
        if message["method"] == "Network.requestWillBeSent":
            urls.append(message["params"]["request"]["url"])
    return urls


def settled(driver: webdriver.Chrome) -> bool:
    """The page has loaded and MathJax has typeset it (its queue is empty)."""
    return bool(driver.execute_script(
        "return document.readyState === 'complete' && !!window.MathJax && !!MathJax.Hub && "
        "MathJax.Hub.queue.pending === 0 && MathJax.Hub.queue.running === 0 && "
        "document.querySelectorAll('.MathJax, .MathJax_CHTML, mjx-container').length > 0"))


def what_ran(driver: webdriver.Chrome) -> dict[str, object]:
    return driver.execute_script(
        "return {pwned: window.__pwned || 0, title: document.title,"
        " js_links: Array.from(document.querySelectorAll('[href], [src], [action]')).map(function (e) {"
        "  return e.getAttribute('href') || e.getAttribute('src') || e.getAttribute('action'); })"
        "  .filter(function (u) { return /^\\s*(javascript|vbscript|data:text)/i.test(u); })}")


@pytest.fixture()
def chromium() -> None:
    require_chromium()


@pytest.mark.slow
@pytest.mark.long
def test_no_payload_runs_in_the_manual_grading_page_or_the_feedback(chromium, bundles, tmp_path, monkeypatch):
    monkeypatch.delenv("D2LGRADE_DB_URL", raising=False)
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}", "HOME": str(tmp_path / "home")}
    (tmp_path / "home").mkdir()
    (tmp_path / "course").mkdir()
    course = copy_course(bundles, ASSIGNMENT, tmp_path / "course")
    nbgrader = str(BIN / "nbgrader")
    with canary() as (port, hits):
        run_ok([nbgrader, "generate_assignment", ASSIGNMENT, "--force"], course.root, env)
        folder = course.root / "submitted" / STUDENT / ASSIGNMENT
        folder.mkdir(parents=True)
        nbformat.write(hostile_submission(port), folder / f"{NOTEBOOK}.ipynb")
        run_ok([nbgrader, "autograde", ASSIGNMENT], course.root, env)
        run_ok([nbgrader, "generate_feedback", ASSIGNMENT], course.root, env)
        with Gradebook(course.db_url) as gb:
            submission_id = gb.find_submission_notebook(NOTEBOOK, ASSIGNMENT, STUDENT).id
        with instructor_server(course.root, tmp_path / "home", env, tmp_path / "server.log") as url:
            served = urllib.request.Request(f"{url}/formgrader", headers={"Authorization": f"token {TOKEN}"})
            with urllib.request.urlopen(served, timeout=WAIT) as response:  # jupyter/instructor's policy
                assert "connect-src 'self'" in response.headers["Content-Security-Policy"]
            driver = chromium_with_network_log()
            try:
                pages = {"manual grading": f"{url}/formgrader/submissions/{submission_id}/?token={TOKEN}",
                         "feedback": f"{url}/files/feedback/{STUDENT}/{ASSIGNMENT}/{NOTEBOOK}.html?token={TOKEN}"}
                for page, address in pages.items():
                    driver.get(address)
                    try:
                        WebDriverWait(driver, WAIT).until(settled, f"the {page} page never finished typesetting")
                    except Exception:
                        print(driver.get_log("browser"), driver.page_source[:3000], sep="\n")
                        raise
                    text = driver.find_element("css selector", "body").text
                    assert "HONEST-ANSWER" in text, f"{page}: the honest answer is not shown"
                    ran = what_ran(driver)
                    assert ran == {"pwned": 0, "title": ran["title"], "js_links": []}, f"{page}: {ran}"
                    assert "PWNED" not in str(ran["title"]), f"{page}: a payload renamed the page: {ran['title']}"
                    requested = requested_urls(driver)
                    assert requested, f"{page}: no request logged (is the network log on?)"
                    foreign = [u for u in requested if not u.startswith((f"{url}/", "data:", "about:blank"))]
                    assert foreign == [], f"{page}: requests left for elsewhere: {foreign}"
                    api = [u for u in requested if u.startswith(f"{url}/api/")]
                    assert api == [], f"{page}: the page called Jupyter's REST API: {api}"
                assert hits == [], f"the canary server was reached: {hits}"
            finally:
                driver.quit()
    shutil.rmtree(tmp_path / "home", ignore_errors=True)
