"""What of a written answer is kept for a person to read: images bounded in size and number.

A Markdown cell's image is embedded whole in every page that shows it (nbconvert turns each
``![…](attachment:name)`` into a ``data:`` URI, once per reference), so one 1 MB attachment referenced
400 times made a 600 MB page and cost the grader minutes and gigabytes. Before anything renders a
submission (the autograded notebook nbgrader's formgrader and feedback show, the written answers' PDF),
:func:`cap_images` keeps the images of its Markdown cells within :data:`CAPS` and puts a visible note
where one was left out. The submitted notebook itself is never changed; only what is rendered is.
"""

from __future__ import annotations

import re
from collections.abc import MutableMapping
from dataclasses import dataclass
from typing import Any

MIB_CHARS = 4 * 2**20 // 3
"""Base64 characters of one MiB of image data."""


@dataclass(frozen=True)
class ImageCaps:
    """Limits on the images rendered from the Markdown cells of one notebook (base64 characters)."""

    max_each_chars: int = 2 * MIB_CHARS
    max_images: int = 24
    max_total_chars: int = 8 * MIB_CHARS


CAPS = ImageCaps()

_INLINE = (r"!\[(?P<alt>[^\[\]\n]{0,1000})\]\(\s*<?(?P<url>(?:attachment|data):[^\s<>()]+?)>?"
           r"(?:\s+(?:\"[^\"\n]*\"|'[^'\n]*'))?\s*\)")
_STRAY = r"(?P<stray>(?<![A-Za-z0-9])(?:attachment|data):[^\s<>()\[\]\"'`]+)"
_IMAGE_OR_STRAY = re.compile(f"{_INLINE}|{_STRAY}", re.IGNORECASE)
"""An image written ``![alt](attachment:name)`` or ``![alt](data:…)``; else any other ``attachment:`` or
``data:`` URL (a reference definition, a link), which could embed an image this count never saw."""
_PLAIN = re.compile(r"[^A-Za-z0-9_.-]+")
REMOVED_URL = "#image-removed"


@dataclass
class _Budget:
    """What the images kept so far in a notebook have used."""

    caps: ImageCaps
    images: int = 0
    chars: int = 0

    def why_not(self, size: int) -> str | None:
        """None if an image of ``size`` characters may be shown (and count it), else the reason it may not."""
        if size > self.caps.max_each_chars:
            return (f"it is {_mib(size)} MiB, over the {_mib(self.caps.max_each_chars)} MiB a single image "
                    "may take")
        if self.images >= self.caps.max_images:
            return f"written answers show at most {self.caps.max_images} images in all"
        if self.chars + size > self.caps.max_total_chars:
            return (f"the images before it already take most of the {_mib(self.caps.max_total_chars)} MiB "
                    "written answers may show")
        self.images += 1
        self.chars += size
        return None


def cap_images(cells: list[Any], caps: ImageCaps = CAPS) -> None:
    """Keep the Markdown cells' images within ``caps``, in the order they appear (changed in place).

    Each image over a cap becomes a note saying which image and why; any other ``attachment:`` or
    ``data:`` URL becomes an inert link (with a note at the end of its cell), and attachments no kept
    image uses are dropped, so nothing can be embedded that was not counted here.
    """
    budget = _Budget(caps)
    for cell in cells:
        if isinstance(cell, MutableMapping) and cell.get("cell_type") == "markdown":
            _cap_cell(cell, budget)


def _cap_cell(cell: MutableMapping[str, Any], budget: _Budget) -> None:
    attachments = cell.get("attachments") if isinstance(cell.get("attachments"), MutableMapping) else {}
    kept: set[str] = set()
    strays = 0

    def replace(match: re.Match[str]) -> str:
        nonlocal strays
        if match.group("stray") is not None:
            strays += 1
            return REMOVED_URL
        url = match.group("url")
        name = url.split(":", 1)[1] if url.lower().startswith("attachment:") else None
        size = _attachment_chars(attachments.get(name)) if name is not None else len(url)
        what = f"attachment {_plain(name)}" if name is not None else "an embedded data: image"
        if size is None:
            return _note(f"{what} left out: the notebook holds no image by that name")
        reason = budget.why_not(size)
        if reason is not None:
            return _note(f"{what} left out: {reason}; the submitted notebook still holds it")
        if name is not None:
            kept.add(name)
        return match.group(0)

    source = _text(cell.get("source", ""))
    capped = _IMAGE_OR_STRAY.sub(replace, source)
    if strays:
        capped += "\n\n" + _note(f"{strays} attachment or data: reference(s) outside an image were made inert")
    if capped != source:
        cell["source"] = capped
    for name in [n for n in attachments if n not in kept]:
        del attachments[name]


def _attachment_chars(bundle: object) -> int | None:
    """Characters the attachment adds to a page each time it is shown (its largest representation)."""
    if not isinstance(bundle, MutableMapping) or not bundle:
        return None
    return max(len(_text(value)) for value in bundle.values())


def _note(text: str) -> str:
    return f"*({text}.)*"


def _plain(name: str) -> str:
    """A student's attachment name, in characters that Markdown and HTML leave alone."""
    return f"`{_PLAIN.sub('_', name)[:80]}`"


def _mib(chars: int) -> str:
    return f"{chars / MIB_CHARS:.1f}".removesuffix(".0")


def _text(value: object) -> str:
    return "".join(value) if isinstance(value, list) else value if isinstance(value, str) else ""
