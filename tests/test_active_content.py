"""No active content from a submission reaches a browser: the autograded notebook and nbgrader's feedback HTML.

One submission of 2.1 with correct answers carries script in every place a student controls: outputs
of its cells (HTML, JavaScript, SVG, Markdown, widget views), Markdown cells it adds, attachments,
cell tags and notebook metadata (widget state). Every payload carries the marker ``PWNED``; after
grading with the gradebook and ``nbgrader generate_feedback``, no script element, event handler,
``javascript:`` or ``data:`` URL or embedded frame carrying the marker may be left, while the honest
written text and its maths still show. The same holds on each path to a page: ``d2lgrade grade``,
``nbgrader autograde`` (what the formgrader's Autograde button runs), and a notebook in ``autograded/``
that no cleaning saw (rendered by nbgrader's feedback and manual-grading templates as they are configured).
"""

from __future__ import annotations

import copy
import json
import re
import shutil
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import nbformat
import pytest

from d2lgrade.batch.intake import Submission
from d2lgrade.batch.run import grade_submissions
from d2lgrade.course.layout import Course
from d2lgrade.nbgrader.defang import CLEANED_OUTPUT_TYPES, SAFE_OUTPUT_TYPES, Defang, defang
from tests.conftest import copy_course
from tests.test_hostile import FULL, answers

ASSIGNMENT, NOTEBOOK = "s02_1", "data_manipulation"
NBGRADER = str(Path(sys.executable).parent / "nbgrader")
MARKER = "PWNED"
RASTER = re.compile(r"data:image/(png|jpeg|gif);", re.IGNORECASE)

OUTPUTS = """
from IPython.display import HTML, SVG, Javascript, Markdown, display
display(HTML("<b>fine</b><script>alert('PWNED-html')</script><img src=x onerror=\\"alert('PWNED-img')\\">"
             "<a href=\\"javascript:alert('PWNED-link')\\">x</a><iframe src=\\"https://example.org/PWNED\\"></iframe>"
             "<object data=\\"PWNED.swf\\"></object><div onmouseover=\\"alert('PWNED-div')\\">hover</div>"))
display(Javascript("alert('PWNED-js')"))
display(SVG('<svg xmlns="http://www.w3.org/2000/svg"><script>alert("PWNED-svg")</script></svg>'))
display(Markdown("<script>alert('PWNED-md')</script>[link](javascript:alert('PWNED-mdlink'))"))
display({"application/vnd.jupyter.widget-view+json": {"model_id": "PWNED-widget", "version_major": 2,
         "version_minor": 0}, "text/plain": "a widget"}, raw=True)
print("<script>alert('PWNED-stream')</script>")
"""
HONEST_TEXT = "My own words: the sum $a^2 + b^2 = c^2$ holds, **HONEST-ANSWER**."
MARKDOWN = (f"{HONEST_TEXT}\n\n<script>alert('PWNED-mdcell')</script>\n\n<img src=x onerror=\"alert('PWNED-mdimg')\">\n\n"
            "[click](javascript:alert('PWNED-mdlink'))\n\n[a](&#106;avascript:alert('PWNED-entity'))\n\n"
            "[b]( JaVaScRiPt:alert('PWNED-case'))\n\n[c][ref]\n\n[ref]: javascript:alert('PWNED-ref')\n\n"
            "<a href=\"javascript:alert('PWNED-a')\">a</a>\n\n"
            "<iframe srcdoc=\"<script>alert('PWNED-srcdoc')</script>\"></iframe>\n\n![pic](attachment:evil.svg)\n\n"
            "<svg><animate onbegin=\"alert('PWNED-animate')\" attributeName=\"x\" dur=\"1s\"></animate></svg>\n\n"
            "<details open ontoggle=\"alert('PWNED-details')\">d</details>\n\n"
            "[d](data:text/html;base64,PHNjcmlwdD5hbGVydCgnUFdORUQnKTwvc2NyaXB0Pg==)\n\n"
            "![e](data:image/svg+xml;base64,PHN2ZyBvbmxvYWQ9YWxlcnQoJ1BXTkVEJyk+)")
SVG_ATTACHMENT = '<svg xmlns="http://www.w3.org/2000/svg" onload="alert(\'PWNED-attach\')"></svg>'
WIDGET_STATE = {"application/vnd.jupyter.widget-state+json": {
    "version_major": 2, "version_minor": 0, "state": {"m": {"PWNED": "</script><script>alert('PWNED-state')</script>"}}}}


def hostile_notebook(release: nbformat.NotebookNode) -> nbformat.NotebookNode:
    nb = answers()(release)
    nb.cells.append(nbformat.v4.new_code_cell(OUTPUTS, metadata={"tags": ["\" onmouseover=\"alert('PWNED-tag')"]}))
    written = nbformat.v4.new_markdown_cell(MARKDOWN)
    written["attachments"] = {"evil.svg": {"image/svg+xml": SVG_ATTACHMENT}}
    nb.cells.append(written)
    nb.metadata["widgets"] = WIDGET_STATE
    return nb


class _Elements(HTMLParser):
    """Every start tag with its attributes, and the text inside each script element."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str]]] = []
        self.scripts: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, {k: v or "" for k, v in attrs}))
        self._in_script = tag == "script"
        if self._in_script:
            self.scripts.append("")

    def handle_endtag(self, tag: str) -> None:
        if tag == "script":
            self._in_script = False

    def handle_data(self, data: str) -> None:
        if self._in_script:
            self.scripts[-1] += data


def active_content(html: str) -> list[str]:
    """What in ``html`` could run the marker: scripts, handlers, javascript: URLs, frames and objects."""
    parser = _Elements()
    parser.feed(html)
    found = [f"<script>{s[:80]}" for s in parser.scripts if MARKER in s]
    for tag, attrs in parser.tags:
        if tag in ("iframe", "object", "embed", "frame"):
            found.append(f"<{tag}>")
        for name, value in attrs.items():
            if name.startswith("on") and MARKER in value:
                found.append(f"<{tag} {name}>")
            if value.strip().lower().startswith("javascript:"):
                found.append(f"<{tag} {name}=javascript:>")
            if value.strip().lower().startswith("data:") and not (tag == "img" and RASTER.match(value.strip())):
                found.append(f"<{tag} {name}=data:>")
            if name == "srcdoc":
                found.append(f"<{tag} srcdoc>")
    return found


@pytest.fixture(scope="module")
def feedback_course(course, bundles, tmp_path_factory):
    """A copy of the course where the hostile submission and an honest one are graded, with feedback made."""
    root = tmp_path_factory.mktemp("active")
    mp = pytest.MonkeyPatch()
    mp.delenv("D2LGRADE_DB_URL", raising=False)
    tmp_course = copy_course(bundles, ASSIGNMENT, root)
    release = nbformat.read(course.release_notebook(ASSIGNMENT), as_version=4)
    paths = {"hostile": root / "hostile.ipynb", "honest": root / "honest.ipynb"}
    nbformat.write(hostile_notebook(copy.deepcopy(release)), paths["hostile"])
    nbformat.write(answers()(copy.deepcopy(release)), paths["honest"])
    paths["planted"] = paths["honest"]
    results = grade_submissions(tmp_course, ASSIGNMENT, [Submission(k, p) for k, p in paths.items()],
                                root / "results", log=lambda _: None)
    # The formgrader's Autograde button runs nbgrader's Autograde, as this command does.
    by_nbgrader = root / "submitted" / "by-nbgrader" / ASSIGNMENT
    by_nbgrader.mkdir(parents=True)
    shutil.copy(paths["hostile"], by_nbgrader / f"{NOTEBOOK}.ipynb")
    proc = subprocess.run([NBGRADER, "autograde", ASSIGNMENT, "--student", "by-nbgrader"], cwd=root,
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr[-2000:]
    # A notebook in autograded/ that no cleaning saw (an older grader's, a hand edit): the hostile one, as submitted.
    shutil.copy(paths["hostile"], root / "autograded" / "planted" / ASSIGNMENT / f"{NOTEBOOK}.ipynb")
    proc = subprocess.run([NBGRADER, "generate_feedback", ASSIGNMENT], cwd=root, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr[-2000:]
    yield tmp_course, {r.student: r for r in results}
    mp.undo()


def _autograded(tmp_course: Course, student: str) -> nbformat.NotebookNode:
    return nbformat.read(tmp_course.root / "autograded" / student / ASSIGNMENT / f"{NOTEBOOK}.ipynb", as_version=4)


def _feedback(tmp_course: Course, student: str) -> str:
    return (tmp_course.root / "feedback" / student / ASSIGNMENT / f"{NOTEBOOK}.html").read_text(encoding="utf-8")


@pytest.mark.slow
@pytest.mark.long
def test_script_in_a_submission_costs_and_earns_nothing(feedback_course):
    _, results = feedback_course
    assert results["hostile"].score == results["honest"].score == FULL


@pytest.mark.slow
@pytest.mark.parametrize("student", ["hostile", "by-nbgrader"], ids=["d2lgrade-grade", "nbgrader-autograde"])
def test_autograded_notebook_keeps_only_inert_output_types_and_metadata(feedback_course, student):
    tmp_course, _ = feedback_course
    nb = _autograded(tmp_course, student)
    assert "widgets" not in nb.metadata
    for cell in nb.cells:
        assert "tags" not in cell.metadata
        if cell.cell_type == "markdown":
            assert active_content(cell.source) == [], cell.source
        for output in cell.get("outputs", []):
            assert set(output.get("data", {})) <= SAFE_OUTPUT_TYPES | CLEANED_OUTPUT_TYPES
            for key in CLEANED_OUTPUT_TYPES & set(output.get("data", {})):
                assert active_content(output["data"][key]) == [], output["data"][key]
        for bundle in cell.get("attachments", {}).values():
            assert "image/svg+xml" not in bundle
    assert MARKER in json.dumps(nb)  # the payloads are still there, as inert text: nothing is hidden from graders


@pytest.mark.slow
@pytest.mark.parametrize("student", ["hostile", "by-nbgrader", "planted"],
                         ids=["d2lgrade-grade", "nbgrader-autograde", "autograded-by-no-cleaning"])
def test_feedback_html_carries_no_active_content_from_the_submission(feedback_course, student):
    tmp_course, _ = feedback_course
    html = _feedback(tmp_course, student)
    assert active_content(html) == []
    assert "HONEST-ANSWER" in html and "a^2 + b^2 = c^2" in html
    assert "Content-Security-Policy" in html.split("<body", 1)[0]


@pytest.mark.slow
def test_honest_feedback_is_not_changed_by_the_cleaning(feedback_course):
    tmp_course, _ = feedback_course
    assert active_content(_feedback(tmp_course, "honest")) == []
    assert "`c` should be" not in _feedback(tmp_course, "honest").replace("&#96;", "`")


def test_defang_cleans_each_place_a_student_controls():
    spec = {"name": "python3", "display_name": "Python 3"}
    nb = nbformat.v4.new_notebook(metadata={"widgets": WIDGET_STATE, "kernelspec": spec})
    code = nbformat.v4.new_code_cell("x", metadata={"tags": ["t"]})
    code.outputs = [nbformat.v4.new_output("display_data", data={
        "text/html": "<script>alert('PWNED')</script><b>ok</b>", "application/javascript": "alert('PWNED')",
        "image/svg+xml": "<svg onload=\"alert('PWNED')\"/>", "text/plain": "ok"}, metadata={"isolated": False})]
    text = nbformat.v4.new_markdown_cell("<img src=x onerror=\"alert('PWNED')\"> $x^2$ ![b](attachment:b.png)")
    text["attachments"] = {"a.svg": {"image/svg+xml": SVG_ATTACHMENT}, "b.png": {"image/png": "iVBORw0KGgo="}}
    nb.cells = [code, text]
    defang(nb)
    data = nb.cells[0].outputs[0].data
    assert set(data) == {"text/html", "text/plain"} and "<script>" not in data["text/html"] and "<b>ok</b>" in data["text/html"]
    assert nb.cells[0].outputs[0].metadata == {} and "tags" not in nb.cells[0].metadata
    assert active_content(nb.cells[1].source) == [] and "<img" not in nb.cells[1].source
    assert "$x^2$" in nb.cells[1].source
    assert set(nb.cells[1].attachments) == {"b.png"}
    assert set(nb.metadata) == {"kernelspec"}


def test_a_student_id_that_is_markup_reaches_the_grading_page_as_text():
    """nbgrader's manual-grading page prints the student's id and names unescaped; an id is a folder name in the
    exchange that the student picks, and ``<svg onload=…>`` needs no slash."""
    from nbconvert.exporters.exporter import ResourcesDict

    hostile = ResourcesDict(student="<svg onload=alert(1)>", first_name="<b>x</b>", last_name=None, base_url="/b",
                           notebook_path='/files/autograded/x" onmouseover="alert(1)/a.ipynb')
    _, escaped = Defang().preprocess(nbformat.v4.new_notebook(), hostile)
    assert escaped["student"] == "&lt;svg onload=alert(1)&gt;" and escaped["first_name"] == "&lt;b&gt;x&lt;/b&gt;"
    assert escaped["notebook_path"] == "/files/autograded/x&quot; onmouseover=&quot;alert(1)/a.ipynb"
    assert escaped["last_name"] is None and escaped["base_url"] == "/b" and isinstance(escaped, ResourcesDict)
    assert hostile["student"] == "<svg onload=alert(1)>"  # the caller's resources are left as they were
