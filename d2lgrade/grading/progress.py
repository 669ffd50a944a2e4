"""Progress of a batch: a bar on a terminal (tqdm), a plain line per submission elsewhere (logs, CI).

Both say done/total, the rate, the time left and how many submissions could not be graded so far.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from typing import Any

from d2lgrade.judging.results import SubmissionResult


class Progress:
    def __init__(self, total: int, log: Callable[[str], None], terminal: bool | None = None) -> None:
        self.total, self.log = total, log
        self.count = self.failed = 0
        self.started = time.monotonic()
        if terminal is None:
            terminal = sys.stderr.isatty()
        self.bar: Any = None
        if terminal and total > 1:
            from tqdm import tqdm

            self.bar = tqdm(total=total, unit="submission", file=sys.stderr, dynamic_ncols=True, leave=True)

    def kept(self, student: str) -> None:
        self._advance(f"{student}: unchanged since last graded, kept")

    def done(self, student: str, result: SubmissionResult) -> None:
        self.failed += result.problem is not None
        problem = f"  ({result.problem})" if result.problem else ""
        self._advance(f"{result.assignment} {student}: {result.totals}{problem}")

    def say(self, line: str) -> None:
        """A line that is not a submission's (a batch's summary), printed above the bar when there is one."""
        if self.bar is not None:
            self.bar.write(line, file=sys.stderr)
        else:
            self.log(line)

    def _advance(self, line: str) -> None:
        self.count += 1
        if self.bar is not None:
            self.bar.set_postfix_str(f"{self.failed} not gradable", refresh=False)
            self.bar.update(1)
            return
        elapsed = time.monotonic() - self.started
        rate = self.count / elapsed if elapsed > 0 else 0.0
        left = (self.total - self.count) / rate if rate > 0 else 0.0
        self.log(f"{line}  [{self.count}/{self.total}, {rate:.2f}/s, {left:.0f} s left, {self.failed} not gradable]")

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
