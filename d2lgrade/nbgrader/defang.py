"""Take active content out of a submission before anyone opens it in a browser.

The autograded notebook is what nbgrader's formgrader shows the instructor and what
``nbgrader generate_feedback`` turns into the student's HTML; everything in it that came from the
submission (outputs of the run, written answers, metadata) is the student's to choose. These steps
leave only content that cannot run: text, raster images, and HTML or Markdown cleaned by
nbconvert's :class:`~nbconvert.preprocessors.SanitizeHTML` (bleach) with an allow-list of tags. The
submitted copy in ``submitted/`` stays byte for byte; only what is rendered is cleaned.
"""

from __future__ import annotations

import copy
import html
import re
from collections.abc import Callable
from functools import partial
from typing import Any

import bleach
import nbformat
from bleach.css_sanitizer import CSSSanitizer
from jinja2 import pass_context
from nbconvert.filters.markdown_mistune import IPythonRenderer, MarkdownWithMath
from nbconvert.preprocessors import Preprocessor
from nbconvert.preprocessors.sanitize import SanitizeHTML
from traitlets import Bool

from d2lgrade.judging.written import cap_images

SAFE_OUTPUT_TYPES = frozenset({"text/plain", "image/png", "image/jpeg"})
"""Output data kept as they are: they cannot carry script."""
CLEANED_OUTPUT_TYPES = frozenset({"text/html", "text/markdown"})
"""Output data kept after bleach removes every tag and attribute outside its allow-list."""
SAFE_ATTACHMENT_TYPES = frozenset({"image/png", "image/jpeg", "image/gif"})
_ATTACHMENT = re.compile(r"attachment:([^\s)\"'>]+)")
NOTEBOOK_METADATA = frozenset({"kernelspec", "language_info", "d2l", "nbgrader"})
"""Notebook metadata the course uses; anything else (e.g. widget state, which templates embed in a
``<script>`` element) is dropped."""
CELL_METADATA = frozenset({"nbgrader", "d2lgrade", "deletable", "editable"})
"""Cell metadata kept; tags and the rest go (templates write tags into HTML attributes)."""


def _sanitizer() -> SanitizeHTML:
    return SanitizeHTML(safe_output_keys=set(SAFE_OUTPUT_TYPES), sanitized_output_types=set(CLEANED_OUTPUT_TYPES))


def clean_html_and_markdown(nb: nbformat.NotebookNode) -> None:
    """Markdown and raw cells, and HTML/Markdown outputs, through bleach; other output types dropped."""
    sanitizer = _sanitizer()
    for index, cell in enumerate(nb.cells):
        sanitizer.preprocess_cell(cell, {}, index)


def drop_output_metadata(nb: nbformat.NotebookNode) -> None:
    """Output metadata steers renderers (isolation, sizes); nothing of the student's is needed there."""
    for cell in nb.cells:
        for output in cell.get("outputs", []):
            if "metadata" in output:
                output["metadata"] = {}


def keep_raster_attachments(nb: nbformat.NotebookNode) -> None:
    """Attachments of markdown cells become data URIs in HTML: raster images only (no SVG, no HTML).

    A reference to an attachment that is not there (dropped here, or never sent) would make
    nbconvert refuse the whole notebook, so it is turned into an inert link.
    """
    for cell in nb.cells:
        attachments = cell.get("attachments") or {}
        for name in list(attachments):
            bundle = attachments[name]
            kept = {k: v for k, v in bundle.items() if k in SAFE_ATTACHMENT_TYPES} if isinstance(bundle, dict) else {}
            if kept:
                attachments[name] = kept
            else:
                del attachments[name]
        if cell.cell_type == "markdown":
            cell.source = _ATTACHMENT.sub(partial(_attachment_link, set(attachments)), cell.source)


def _attachment_link(kept: set[str], match: re.Match[str]) -> str:
    return match.group(0) if match.group(1) in kept else "#attachment-removed"


def keep_known_metadata(nb: nbformat.NotebookNode) -> None:
    """Only the metadata the course and nbgrader read, on the notebook and on each cell."""
    for key in list(nb.metadata):
        if key not in NOTEBOOK_METADATA:
            del nb.metadata[key]
    for cell in nb.cells:
        for key in list(cell.metadata):
            if key not in CELL_METADATA:
                del cell.metadata[key]


def cap_written_images(nb: nbformat.NotebookNode) -> None:
    """Images of Markdown cells within :data:`d2lgrade.judging.written.CAPS`, each one left out said so."""
    cap_images(nb.cells)


DEFANG_STEPS: tuple[Callable[[nbformat.NotebookNode], None], ...] = (
    clean_html_and_markdown, drop_output_metadata, keep_raster_attachments, cap_written_images, keep_known_metadata)
"""In order; each step changes the notebook in place. The images are capped after the attachments they may
use are known (raster ones only)."""


def defang(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """``nb`` with no active content left (changed in place and returned)."""
    for step in DEFANG_STEPS:
        step(nb)
    return nb


class Defang(Preprocessor):  # type: ignore[misc]
    """:func:`defang` as an nbconvert step, for the pipelines nbgrader runs itself (``nbgrader_config.py``):
    its Autograde (the command and the formgrader's button) before it writes ``autograded/``, and every HTML
    page nbgrader renders (the manual-grading page, feedback), whatever wrote the notebook it renders.
    Enabled by default: nbgrader's pipelines run only the steps that are (nbconvert's are off unless asked)."""

    enabled = Bool(True, help="Whether to defang; turning it off lets submissions run script in graders' browsers")

    def preprocess(self, nb: nbformat.NotebookNode, resources: dict[str, Any]) -> tuple[nbformat.NotebookNode,
                                                                                       dict[str, Any]]:
        return defang(nb), escape_student_fields(resources)


STUDENT_FIELDS = ("student", "first_name", "last_name", "notebook_path")
"""What nbgrader's manual-grading template prints unescaped that holds the student's id or names
(``formgrade_macros.html.j2``; ``notebook_path`` inside an attribute): an id comes from a folder name in the
exchange, which a student chooses (``<svg onload=…>`` and ``x" onmouseover="…`` need no slash)."""


def escape_student_fields(resources: dict[str, Any]) -> dict[str, Any]:
    """The student's id and names as HTML text, so the template prints them as characters, not markup."""
    escaped = copy.copy(resources)  # nbconvert's own mapping type, defaults and all
    for key in STUDENT_FIELDS:
        if resources.get(key) is not None:
            escaped[key] = html.escape(str(resources[key]))
    return escaped


MARKDOWN_TAGS = frozenset({
    "p", "br", "hr", "h1", "h2", "h3", "h4", "h5", "h6", "em", "strong", "del", "s", "sub", "sup", "code", "pre",
    "kbd", "blockquote", "ul", "ol", "li", "dl", "dt", "dd", "a", "img", "table", "thead", "tbody", "tr", "th",
    "td", "div", "span"})
"""What Markdown renders to (mistune, with nbconvert's highlighted code); no element that runs or embeds."""
_MARKDOWN_ATTRIBUTES = {"*": {"class", "title"}, "a": {"href"}, "img": {"src", "alt"}, "ol": {"start"},
                        "th": {"style"}, "td": {"style"}}
_IMAGE_SRC = re.compile(r"data:image/(png|jpeg|gif|webp);base64,[A-Za-z0-9+/=\s]*", re.IGNORECASE)
_LINK_HREF = re.compile(r"(https?:|mailto:|#)", re.IGNORECASE)
_TABLE_CSS = CSSSanitizer(allowed_css_properties=["text-align"])


def _markdown_attribute(tag: str, name: str, value: str) -> bool:
    """Attributes kept: no handler, no id (it would name window globals); images only from data: raster URIs
    (nothing is fetched), links only to the web, mail or the page itself."""
    if name not in _MARKDOWN_ATTRIBUTES.get(tag, set()) | _MARKDOWN_ATTRIBUTES["*"]:
        return False
    if tag == "img" and name == "src":
        return _IMAGE_SRC.fullmatch(value.strip()) is not None
    if tag == "a" and name == "href":
        return _LINK_HREF.match(value.strip()) is not None
    return True


def clean_markdown_html(html: str) -> str:
    """HTML rendered from a student's Markdown, through bleach's allow-list: whatever reached the renderer
    (a cell no :func:`defang` saw, a form of HTML its cleaning missed), only text, links and images leave."""
    return bleach.clean(html, tags=MARKDOWN_TAGS, attributes=_markdown_attribute, protocols={"http", "https",
                        "mailto", "data"}, css_sanitizer=_TABLE_CSS, strip=False, strip_comments=True)


@pass_context
def markdown2html(context: Any, source: str) -> str:
    """nbconvert's Markdown filter without its ``allow_harmful_protocols`` (a ``javascript:`` link written in
    Markdown syntax, which no HTML cleaning of the source can see, becomes ``#harmful-link``), its HTML then
    cleaned by :func:`clean_markdown_html`.

    Registered for nbgrader's formgrader and feedback in ``nbgrader_config.py`` (``HTMLExporter.filters``): the
    templates nbgrader renders Markdown cells with call this filter and no cleaning of their own.
    """
    cell = context.get("cell", {})
    path = context.get("resources", {}).get("metadata", {}).get("path", "")
    renderer = IPythonRenderer(escape=False, allow_harmful_protocols=False, attachments=cell.get("attachments", {}),
                               path=path)
    return clean_markdown_html(MarkdownWithMath(renderer=renderer).render(source))
