"""The on-submit loop: poll the exchange, queue what is new, grade the oldest, record, attach the feedback.

Each pass: every course's submissions after the last one queued are received into the queue (one transaction);
then the oldest waiting rows (several of one assignment, one per student, when workers are free) are graded by
``grade`` (:class:`d2lgrade.serve.grader.BatchGrader`: batch/run on warm workers, into results/ and the gradebook)
and their feedback attached to each submission in the exchange, if the policy shows it now. Every step is
idempotent per submission, so a service killed anywhere and restarted regrades what was in flight and records it
once: the queue is transactional, batch/run's ledger keeps what is already recorded, and a feedback page already
attached (same bytes) is not attached again.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import math
import os
import threading
import time
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, as_completed, wait
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from d2lgrade.batch.run import LANE
from d2lgrade.hub.exchange_files import ExchangeFile
from d2lgrade.hub.submission_policy import Policy, parse_time
from d2lgrade.hub.submission_result import ResultError, SubmissionResult
from d2lgrade.serve.feedback import Graded, counts_by_time, page, result_of, shown_now
from d2lgrade.serve.queue import Item, Outcome, Queue, Received

LOG = logging.getLogger("d2lgrade.serve")


class Exchange(Protocol):
    def submissions(self, course: str, after: int) -> list[Received]: ...
    def files(self, course: str, sid: int) -> list[ExchangeFile]: ...
    def feedback(self, course: str, sid: int) -> dict[str, str]: ...
    def add_feedback(self, course: str, sid: int, files: list[ExchangeFile]) -> None: ...
    def result(self, course: str, sid: int) -> dict[str, Any] | None: ...
    def add_result(self, course: str, sid: int, result: dict[str, Any]) -> None: ...


class TryLater(RuntimeError):
    """Nothing could be graded now, through no fault of the submissions (the grading service is down or busy): they
    wait in the queue and are taken again shortly."""


@dataclass(frozen=True)
class ToGrade:
    """A downloaded submission: its queue row, notebook name and bytes, and whether it goes into the gradebook."""

    item: Item
    name: str
    raw: bytes
    record: bool


Grade = Callable[[str, str, list[ToGrade], bool], dict[int, Graded | str]]
"""(course, assignment, submissions, regrade) -> per queue id, the grade or why there is none."""


def notebook_of(files: list[ExchangeFile], wanted: str) -> ExchangeFile:
    """The submission's notebook: ``<wanted>.ipynb``, else its only notebook; ValueError says what was there."""
    notebooks = [f for f in files if f.path.endswith(".ipynb") and "/" not in f.path]
    exact = [f for f in notebooks if f.path == f"{wanted}.ipynb"]
    if exact or len(notebooks) == 1:
        return (exact or notebooks)[0]
    names = ", ".join(f.path for f in files[:10]) or "nothing"
    raise ValueError(f"the submission holds no single notebook to grade (it holds {names}); submit "
                     f"{wanted}.ipynb from the assignment's folder")


@dataclass
class GradeOnSubmit:
    """Download, grade, keep the feedback page, attach it when the policy shows it; an outcome per row."""

    exchange: Exchange
    queue: Queue
    grade: Grade
    pages: Path
    """Where each submission's feedback page is kept (root's only): what a held page is released from."""
    policies: Callable[[str], dict[str, Policy]]
    notebooks: Callable[[str, str], str] = lambda course, assignment: assignment
    clock: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC)

    def __call__(self, items: list[Item]) -> dict[int, Outcome | str]:
        course, assignment = items[0].course, items[0].assignment
        policy = self.policies(course).get(assignment, Policy())
        wanted = self.notebooks(course, assignment)
        outcomes: dict[int, Outcome | str] = {}
        subs = []
        for item in items:
            try:
                nb = notebook_of(self.exchange.files(course, item.exchange_id), wanted)
            except ValueError as e:
                outcomes[item.id] = str(e)
                continue
            subs.append(ToGrade(item, nb.path, nb.data, counts_by_time(policy, item.received, self._on_time(item, policy))))
        graded = self.grade(course, assignment, subs, any(i.regrade for i in items)) if subs else {}
        for sub in subs:
            got = graded.get(sub.item.id, "grading gave no result (see grading.log)")
            outcomes[sub.item.id] = got if isinstance(got, str) else self._deliver(sub, got, policy)
        return outcomes

    def _on_time(self, item: Item, policy: Policy) -> bool:
        """Whether the student has an earlier submission of the assignment received by the due date."""
        return any(i.id < item.id and i.state != "failed" and policy.before_due(parse_time(i.received))
                   for i in self.queue.items(item.course, item.assignment, student=item.student))

    def _deliver(self, sub: ToGrade, graded: Graded, policy: Policy) -> Outcome:
        item = sub.item
        show = shown_now(policy, self.clock())
        note = "" if sub.record else ("Received after the due date: it is graded, but your last submission before "
                                      "the due date gives your grade.")
        self._keep(item, page(graded, item.received, "messages", note), result_of(graded, "messages", sub.record))
        if show != "held":
            self.attach(item, sub.name.removesuffix(".ipynb") + ".html", page(graded, item.received, show, note))
        self.tell(item, result_of(graded, show, sub.record))
        return Outcome(graded.score, graded.max_score, sub.record, {"messages": "sent"}.get(show, show))

    def _keep(self, item: Item, html: bytes, result: SubmissionResult) -> None:
        """The whole page and result, kept to be given when the policy shows them (after the due date)."""
        folder = self.pages / item.course
        folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        for suffix, data in ((".html", html), (".json", json.dumps(result.as_dict()).encode())):
            tmp = folder / f".{item.exchange_id}{suffix}.{os.getpid()}"
            tmp.write_bytes(data)
            os.replace(tmp, folder / f"{item.exchange_id}{suffix}")

    def attach(self, item: Item, name: str, html: bytes) -> None:
        """The page attached to the submission in the exchange, unless exactly it is there already (a restart)."""
        if self.exchange.feedback(item.course, item.exchange_id) == {name: hashlib.sha256(html).hexdigest()}:
            return
        self.exchange.add_feedback(item.course, item.exchange_id, [ExchangeFile(name, html)])

    def tell(self, item: Item, result: SubmissionResult) -> None:
        """The result posted to the submission (after its page: a student who sees it can fetch the page), unless
        exactly it is there already (a restart)."""
        if self.exchange.result(item.course, item.exchange_id) != result.as_dict():
            self.exchange.add_result(item.course, item.exchange_id, result.as_dict())

    def tell_failed(self, item: Item, reason: str) -> None:
        """The student learns their submission could not be graded, and why (it is kept; the staff see the queue)."""
        self.tell(item, SubmissionResult("failed", reason=f"{reason[:900]} (your submission is kept; the course staff "
                                                          "see this too)"))

    def release_held(self) -> int:
        """Pages and results held (or shown as a score only) until the due date, given whole once it has passed;
        how many."""
        released = 0
        for course, assignment in sorted(self.queue.held_assignments()):
            if shown_now(self.policies(course).get(assignment, Policy()), self.clock()) == "messages":
                for item in self.queue.held(course, assignment):
                    released += self._release(item)
        return released

    def _release(self, item: Item) -> bool:
        """The kept page and result given; a kept page gone or broken (a state folder cleaned by hand) is graded again
        instead, which gives a new one. The exchange being down is not that: the next pass tries again."""
        kept = self.pages / item.course / str(item.exchange_id)
        try:
            html = kept.with_suffix(".html").read_bytes()
            result = SubmissionResult.from_dict(json.loads(kept.with_suffix(".json").read_text()))
        except (OSError, ValueError, ResultError) as e:
            LOG.warning("the kept feedback of %s %s/%s #%d cannot be released (%s): graded again", item.student,
                        item.course, item.assignment, item.exchange_id, e)
            self.queue.requeue(item)
            return False
        self.attach(item, self.notebooks(item.course, item.assignment) + ".html", html)
        self.tell(item, result)
        self.queue.set_feedback(item, "sent")
        return True


@dataclass
class Serve:
    """The loop over courses: receive, take, grade, finish."""

    queue: Queue
    exchange: Exchange
    courses: list[str]
    handle: Callable[[list[Item]], dict[int, Outcome | str]]
    failed: Callable[[Item, str], object] = lambda item, reason: None
    """Told of each submission that could not be graded (the student's Assignment List says why)."""
    batch: int = 1
    lanes: int = 1
    """Batches grading at once, each in a thread of its own (on shared workers): a submission that runs to its time
    limit holds up the rest of its own batch, not every student's feedback. One when grading runs in this process."""
    poll_seconds: float = 0.05
    """Between polls of the exchange when idle: a student waits half of it on average (the exchange answers a poll
    in about a millisecond: 20 a second per course is nothing to it)."""
    every_pass: Callable[[], object] = lambda: None
    """Run once per pass (policies republished when the course config changed, held feedback released)."""
    rest_seconds: float = 5.0
    """After nothing could be graded (the grading service down): how long the queue waits before trying again."""
    _resting_until: float = 0.0

    def poll(self) -> int:
        """New submissions of every course into the queue; how many."""
        new = 0
        for course in self.courses:
            try:
                new += self.queue.receive(self.exchange.submissions(course, self.queue.last_seen(course)))
            except Exception as e:  # noqa: BLE001 - an exchange down for a moment: said, and polled again
                LOG.warning("could not poll %s: %s", course, e)
        return new

    def step(self) -> int:
        """Grade the oldest waiting rows, here and now; how many were graded."""
        items = self._take()
        if not items:
            return 0
        outcomes = self._handled(items)
        self._settle(items, outcomes)
        return 0 if isinstance(outcomes, TryLater) else len(items)

    def _take(self) -> list[Item]:
        if time.monotonic() < self._resting_until:
            return []
        return self.queue.take(self.batch)

    def _handled(self, items: list[Item]) -> dict[int, Outcome | str] | TryLater:
        """What grading the rows came to (run in a lane): an outcome or the reason per row, or TryLater."""
        try:
            return self.handle(items)
        except TryLater as e:
            return e
        except Exception as e:
            LOG.exception("grading %s of %s failed", items[0].assignment, items[0].course)
            return {i.id: f"internal error ({type(e).__name__}: {str(e)[:200]}); see the service's log" for i in items}

    def _settle(self, items: list[Item], outcomes: dict[int, Outcome | str] | TryLater) -> None:
        """Each row done or failed (the student told why), or all of them back to waiting for a while."""
        if isinstance(outcomes, TryLater):
            LOG.warning("%s; %d submissions wait and are tried again", outcomes, len(items))
            for item in items:
                self.queue.put_back(item)
            self._resting_until = time.monotonic() + self.rest_seconds
            return
        for item in items:
            outcome = outcomes.get(item.id, "grading gave no result")
            if isinstance(outcome, Outcome):
                self.queue.finish(item, outcome)
            else:
                self.queue.fail(item, outcome)
                try:
                    self.failed(item, outcome)
                except Exception as e:  # noqa: BLE001 - the queue has the reason; the student learns it on a retry
                    LOG.warning("could not tell %s that %s/%s failed: %s", item.student, item.course, item.assignment, e)
            LOG.info("%s %s/%s #%d: %s", item.student, item.course, item.assignment, item.exchange_id,
                     f"{outcome.score:g}/{outcome.max_score:g}" if isinstance(outcome, Outcome) else outcome)

    def _every_pass(self) -> None:
        try:
            self.every_pass()
        except Exception:
            LOG.exception("the service's periodic step failed")

    def run(self, stop: threading.Event | None = None) -> None:
        """Until ``stop``: poll, and keep up to ``lanes`` batches grading, each settled as it ends; then the batches
        under way are finished (a kill instead costs their regrade)."""
        stop = stop or threading.Event()
        back = self.queue.recover()
        if back:
            LOG.info("%d submissions were being graded when the service stopped: graded again", back)
        running: dict[Future[dict[int, Outcome | str] | TryLater], list[Item]] = {}
        last = -math.inf
        with ThreadPoolExecutor(self.lanes, thread_name_prefix=LANE) as lanes:
            while not stop.is_set():
                self.poll()
                if not running or time.monotonic() - last >= 1.0:  # in a long burst too: the staff's view, held pages
                    self._every_pass()
                    last = time.monotonic()
                while len(running) < self.lanes and (items := self._take()):
                    running[lanes.submit(self._handled, items)] = items
                if not running:
                    stop.wait(self.poll_seconds)
                    continue
                done, _ = wait(running, timeout=self.poll_seconds, return_when=FIRST_COMPLETED)
                for future in done:
                    self._settle(running.pop(future), future.result())
            for future in as_completed(running):
                self._settle(running[future], future.result())
