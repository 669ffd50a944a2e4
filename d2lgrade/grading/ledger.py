"""What a batch has already graded: a submission's bytes and the bundle it was graded against, by hash.

One small file per student, ``<output>/<assignment>/.ledger/<student>.json``, written (atomically)
only after the results and the gradebook row, so a batch killed at any moment never records a
submission it did not finish: run again, it grades exactly what is missing or changed.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

from d2lgrade.course.access import Access
from d2lgrade.course.records import write_atomic


def digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@dataclass(frozen=True)
class Ledger:
    folder: Path
    """The assignment's results folder."""
    bundle: str
    """Hash of the bundle the submissions are graded against: a rebuilt assignment regrades everyone."""
    access: Access

    def _entry(self, student: str) -> Path:
        return self.folder / ".ledger" / f"{student}.json"

    def graded(self, student: str, submission: str, recorded: bool) -> bool:
        """Were these bytes graded against this bundle, with their results still in place (and recorded in
        the gradebook, if that is asked now)?"""
        try:
            said = json.loads(self._entry(student).read_text())
        except (OSError, ValueError):
            return False
        same = said.get("submission") == submission and said.get("bundle") == self.bundle
        return same and (said.get("recorded") is True or not recorded) and (self.folder / f"{student}.json").is_file()

    def remember(self, student: str, submission: str, recorded: bool, gradable: bool = True) -> None:
        entry = {"submission": submission, "bundle": self.bundle, "recorded": recorded, "gradable": gradable}
        write_atomic(self._entry(student), json.dumps(entry).encode(), self.access)

    def was_gradable(self, student: str) -> bool:
        """Whether the kept result is a grade, not a zero saying why the submission could not be graded (a batch
        that keeps it must still say so)."""
        try:
            return json.loads(self._entry(student).read_text()).get("gradable", True) is not False
        except (OSError, ValueError):
            return True
