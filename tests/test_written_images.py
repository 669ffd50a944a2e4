"""Images in written answers are bounded before anything renders them (d2lgrade/judging/written.py).

An honest answer's figure is kept as it is; one attachment referenced hundreds of times, an attachment or a
``data:`` image over the size cap, and references that slip past the count (reference definitions, links) are
replaced by a note a grader sees, saying which image and why. The cost of the capping itself is linear.
"""

from __future__ import annotations

import time
from html.parser import HTMLParser

import nbformat

from d2lgrade.judging.written import CAPS, MIB_CHARS, REMOVED_URL, cap_images
from d2lgrade.nbgrader.defang import clean_markdown_html, defang

SMALL_PNG = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="
BIG = "A" * int(1.1 * MIB_CHARS)  # a 1.1 MiB image, as base64


def _answer(source: str, attachments: dict[str, dict[str, str]]) -> nbformat.NotebookNode:
    cell = nbformat.v4.new_markdown_cell(source)
    cell["attachments"] = attachments
    return cell


def _kept_images(cell: nbformat.NotebookNode) -> int:
    return cell.source.count("](attachment:") + cell.source.count("](data:")


def test_an_honest_figure_is_kept_as_it_is():
    cell = _answer("My plot:\n\n![the curve](attachment:plot.png)", {"plot.png": {"image/png": SMALL_PNG}})
    before = cell.source
    cap_images([cell])
    assert cell.source == before and set(cell.attachments) == {"plot.png"}


def test_one_attachment_referenced_400_times_is_shown_within_the_caps_and_the_rest_said():
    cell = _answer("Answer.\n\n" + "\n".join("![p](attachment:big.png)" for _ in range(400)),
                   {"big.png": {"image/png": BIG}})
    cap_images([cell])
    kept = _kept_images(cell)
    assert 0 < kept <= CAPS.max_images and kept * len(BIG) <= CAPS.max_total_chars
    assert cell.source.count("attachment `big.png` left out: the images before it already take") == 400 - kept


def test_an_image_over_the_size_cap_and_an_unknown_one_are_replaced_by_a_note():
    huge = "A" * (CAPS.max_each_chars + 1)
    cell = _answer("![a](attachment:huge.png) ![b](attachment:nowhere.png) ![c](data:image/png;base64," + huge + ")",
                   {"huge.png": {"image/png": huge}})
    cap_images([cell])
    assert "attachment `huge.png` left out: it is 2 MiB, over the 2 MiB a single image may take" in cell.source
    assert "attachment `nowhere.png` left out: the notebook holds no image by that name" in cell.source
    assert "an embedded data: image left out: it is 2 MiB" in cell.source
    assert _kept_images(cell) == 0 and cell.attachments == {}


def test_the_count_is_across_the_whole_notebook():
    cells = [_answer("![p](attachment:big.png)", {"big.png": {"image/png": BIG}}) for _ in range(100)]
    cap_images(cells)
    assert sum(_kept_images(c) for c in cells) <= CAPS.max_images
    assert sum(bool(c.get("attachments")) for c in cells) == sum(_kept_images(c) for c in cells)


def test_references_outside_an_image_are_made_inert_and_said():
    source = ("[r]: attachment:big.png\n\n" + "![x][r] " * 400 + "\n\n[link](data:text/html;base64,PHNjcmlwdD4=)\n\n"
              "the metadata: stays")
    cell = _answer(source, {"big.png": {"image/png": BIG}})
    cap_images([cell])
    assert "attachment:" not in cell.source and "data:text" not in cell.source
    assert f"[r]: {REMOVED_URL}" in cell.source and "the metadata: stays" in cell.source
    assert "2 attachment or data: reference(s) outside an image were made inert" in cell.source
    assert cell.attachments == {}


def test_capped_notebook_renders_small_and_capping_twice_changes_nothing():
    nb = nbformat.v4.new_notebook(cells=[_answer("\n".join("![p](attachment:big.png)" for _ in range(400)),
                                                 {"big.png": {"image/png": BIG}})])
    defang(nb)
    once = nbformat.writes(nb)
    defang(nb)
    assert nbformat.writes(nb) == once
    from d2lgrade.nbgrader.defang import markdown2html

    html = markdown2html({"cell": nb.cells[0], "resources": {}}, nb.cells[0].source)
    assert len(html) < CAPS.max_total_chars + 200_000
    assert html.count("<img") == _kept_images(nb.cells[0])


def test_capping_costs_time_linear_in_the_answer():
    hostile = "![a](data:" + "x" * 5_000_000 + " ![a](data:x)" * 100_000 + "![a](data:xxxx" * 500_000
    start = time.process_time()
    cap_images([{"cell_type": "markdown", "source": hostile}])
    assert time.process_time() - start < 5, "capping a 12 MB answer took more than 5 s of CPU"


def test_markdown_html_keeps_text_links_and_raster_images_only():
    html = clean_markdown_html(
        "<p onclick=\"x()\" id=\"submission_id\">text</p><img src=\"http://example.org/beacon\">"
        "<img src=\"data:image/png;base64,AA==\"><img src=\"data:image/svg+xml;base64,AA==\">"
        "<a href=\"javascript:x()\">j</a><a href=\"data:text/html,x\">d</a><a href=\"https://d2l.ai\">ok</a>"
        "<details open ontoggle=\"x()\">d</details><svg><animate onbegin=\"x()\"></animate></svg>"
        "<script>x()</script><iframe src=\"/\"></iframe><form action=\"/\"><input></form>")
    assert "<p>text</p>" in html and "<img>" in html and "<img src=\"data:image/png;base64,AA==\">" in html
    assert "svg+xml" not in html and "javascript:" not in html and "data:text" not in html
    assert "<a href=\"https://d2l.ai\">ok</a>" in html
    tags = _Tags()
    tags.feed(html)
    assert {t for t, _ in tags.seen} <= {"p", "img", "a"}, tags.seen
    assert not [a for _, attrs in tags.seen for a in attrs if a.startswith("on") or a == "id"], tags.seen


class _Tags(HTMLParser):
    """Each element with its attributes' names: what a browser would build (escaped text is only text)."""

    def __init__(self) -> None:
        super().__init__()
        self.seen: list[tuple[str, list[str]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.seen.append((tag, [name for name, _ in attrs]))
