"""Stand-ins for ``d2lgrade serve``'s tests: an exchange in a SQLite file (shared with a service subprocess) and a
grader that needs no sandbox. ``python -m tests.serve_fakes FOLDER`` runs the real loop over them until killed."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import sqlite3
import sys
import time
from pathlib import Path

from d2lgrade.hub.exchange_files import ExchangeFile
from d2lgrade.hub.submission_policy import Policy
from d2lgrade.serve.feedback import Graded, Part
from d2lgrade.serve.loop import GradeOnSubmit, Serve, ToGrade
from d2lgrade.serve.queue import Queue, Received

SCHEMA = """
CREATE TABLE IF NOT EXISTS submissions (id INTEGER PRIMARY KEY, course TEXT, assignment TEXT, student TEXT,
    at TEXT, notebook BLOB);
CREATE TABLE IF NOT EXISTS feedback (id INTEGER PRIMARY KEY, submission INTEGER, path TEXT, sha256 TEXT);
CREATE TABLE IF NOT EXISTS gradings (id INTEGER PRIMARY KEY, submission INTEGER);
CREATE TABLE IF NOT EXISTS results (id INTEGER PRIMARY KEY, submission INTEGER, result TEXT);
"""


class FakeExchange:
    """The exchange's listing, files and feedback as ``ExchangeAPI`` gives them, kept in ``<folder>/exchange.db``."""

    def __init__(self, folder: Path) -> None:
        # the service grades (and so reads submissions and posts feedback) in threads of its own: its lanes
        self.db = sqlite3.connect(folder / "exchange.db", isolation_level=None, timeout=30, check_same_thread=False)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.executescript(SCHEMA)

    def submit(self, course: str, assignment: str, student: str, notebook: bytes, at: dt.datetime | None = None) -> int:
        when = (at or dt.datetime.now(dt.UTC)).strftime("%Y-%m-%d %H:%M:%S.%f UTC")
        return self.db.execute("INSERT INTO submissions (course, assignment, student, at, notebook) VALUES (?,?,?,?,?)",
                               (course, assignment, student, when, notebook)).lastrowid

    def submissions(self, course: str, after: int) -> list[Received]:
        rows = self.db.execute("SELECT course, assignment, student, id, at FROM submissions WHERE course=? AND id>? "
                               "ORDER BY id", (course, after)).fetchall()
        return [Received(*r) for r in rows]

    def files(self, course: str, sid: int) -> list[ExchangeFile]:
        row = self.db.execute("SELECT assignment, notebook FROM submissions WHERE id=?", (sid,)).fetchone()
        return [ExchangeFile(f"{row[0]}.ipynb", row[1])]

    def feedback(self, course: str, sid: int) -> dict[str, str]:
        row = self.db.execute("SELECT path, sha256 FROM feedback WHERE id=(SELECT max(id) FROM feedback WHERE "
                              "submission=?)", (sid,)).fetchone()
        return {row[0]: row[1]} if row else {}

    def add_feedback(self, course: str, sid: int, files: list[ExchangeFile]) -> None:
        for f in files:
            self.db.execute("INSERT INTO feedback (submission, path, sha256) VALUES (?,?,?)",
                            (sid, f.path, hashlib.sha256(f.data).hexdigest()))

    def result(self, course: str, sid: int) -> dict | None:
        row = self.db.execute("SELECT result FROM results WHERE id=(SELECT max(id) FROM results WHERE submission=?)",
                              (sid,)).fetchone()
        return json.loads(row[0]) if row else None

    def add_result(self, course: str, sid: int, result: dict) -> None:
        self.db.execute("INSERT INTO results (submission, result) VALUES (?,?)", (sid, json.dumps(result)))

    def results(self) -> dict[int, tuple[int, dict]]:
        """Per submission: how many results were posted, and the latest."""
        rows = self.db.execute("SELECT submission, count(*), max(id) FROM results GROUP BY submission").fetchall()
        return {sid: (n, json.loads(self.db.execute("SELECT result FROM results WHERE id=?", (last,)).fetchone()[0]))
                for sid, n, last in rows}

    def feedback_rows(self) -> list[tuple[int, int]]:
        return self.db.execute("SELECT submission, count(*) FROM feedback GROUP BY submission").fetchall()

    def gradings(self) -> int:
        return self.db.execute("SELECT count(*) FROM gradings").fetchone()[0]


def fake_grade(exchange: FakeExchange | None = None, seconds: float = 0.0):
    """A grader without a sandbox: the score is the notebook's first byte's digit; each grading is counted."""

    def grade(course: str, assignment: str, subs: list[ToGrade], regrade: bool) -> dict[int, Graded | str]:
        out: dict[int, Graded | str] = {}
        for sub in subs:
            if exchange is not None:
                exchange.db.execute("INSERT INTO gradings (submission) VALUES (?)", (sub.item.exchange_id,))
            time.sleep(seconds)
            if not sub.raw[:1].isdigit():
                out[sub.item.id] = f"{sub.name} is not a notebook"
                continue
            score = float(sub.raw[:1].decode())
            out[sub.item.id] = Graded(assignment, sub.item.student, score, 9.0, f"{assignment}: {score:g} / 9",
                                      (Part("q1", score, 9.0, "ok" if score == 9 else "wrong"),), ("q2",))
        return out

    return grade


def loop(folder: Path, policies: dict[str, Policy] | None = None, seconds: float = 0.0, batch: int = 1,
         lanes: int = 1) -> Serve:
    """The real loop and handler over the fakes in ``folder``."""
    exchange = FakeExchange(folder)
    queue = Queue(folder / "queue.sqlite")
    handler = GradeOnSubmit(exchange, queue, fake_grade(exchange, seconds), folder / "pages",
                            lambda course: policies or {})
    return Serve(queue, exchange, ["c1", "c2"], handler, handler.tell_failed, batch=batch, poll_seconds=0.01,
                 lanes=lanes, every_pass=handler.release_held)


if __name__ == "__main__":
    loop(Path(sys.argv[1]), seconds=float(sys.argv[2]), batch=2, lanes=2).run()
