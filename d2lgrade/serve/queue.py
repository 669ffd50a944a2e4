"""The grading-on-submit queue: one row per submission received from the exchange, in SQLite (WAL).

A row goes ``waiting`` → ``grading`` → ``done`` | ``failed`` (with the reason), each step in a transaction.
Opening the queue puts rows left in ``grading`` by a killed service back to ``waiting``: a crash costs a
regrade, never a loss (the exchange submission id is unique here, so a row is received once) and never a second
record (what grading writes is idempotent per submission: batch/run's ledger, feedback compared before upload).
A submission that was being graded each time the service died ``MAX_ATTEMPTS`` times is failed with that reason
rather than crash the service forever. The valve is wide on purpose: submissions run in sandboxed worker processes,
so the service itself dying (an administrator's kill, the machine's OOM killer, a restart) is almost never the
submission's doing, and every submission received must end graded, however often the service is killed.
Rows are taken in arrival order (the exchange's ids).
"""

from __future__ import annotations

import datetime as dt
import sqlite3
import threading
from dataclasses import dataclass
from pathlib import Path

STATES = ("waiting", "grading", "done", "failed")
MAX_ATTEMPTS = 20
SCHEMA = """
CREATE TABLE IF NOT EXISTS queue (
    id INTEGER PRIMARY KEY, course TEXT NOT NULL, assignment TEXT NOT NULL, student TEXT NOT NULL,
    exchange_id INTEGER NOT NULL, received TEXT NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('waiting', 'grading', 'done', 'failed')),
    attempts INTEGER NOT NULL DEFAULT 0, reason TEXT, regrade INTEGER NOT NULL DEFAULT 0,
    score REAL, max_score REAL, counted INTEGER, feedback TEXT, finished TEXT,
    UNIQUE (course, exchange_id));
CREATE INDEX IF NOT EXISTS queue_by_state ON queue (state, id);
CREATE INDEX IF NOT EXISTS queue_by_student ON queue (course, assignment, student, id);
CREATE INDEX IF NOT EXISTS queue_by_feedback ON queue (feedback, state);
"""
CHANGES = """
CREATE INDEX IF NOT EXISTS queue_by_change ON queue (changed);
CREATE TRIGGER IF NOT EXISTS queue_changed_on_insert AFTER INSERT ON queue BEGIN
    UPDATE queue SET changed = (SELECT max(changed) + 1 FROM queue) WHERE id = NEW.id; END;
CREATE TRIGGER IF NOT EXISTS queue_changed_on_update
    AFTER UPDATE OF state, attempts, reason, regrade, score, max_score, counted, feedback, finished ON queue BEGIN
    UPDATE queue SET changed = (SELECT max(changed) + 1 FROM queue) WHERE id = NEW.id; END;
"""
"""Each row's ``changed``: the queue's count of changes when it last changed, whoever wrote it (the service, root's
``d2lgrade queue --regrade``): what the staff's copy rewrites is only what changed since it last looked, not a whole
term's rows on every pass."""


@dataclass(frozen=True)
class Received:
    """A submission as the exchange lists it: whose, of what, its id there and its receipt time (UTC)."""

    course: str
    assignment: str
    student: str
    exchange_id: int
    received: str


@dataclass(frozen=True)
class Item:
    """A row of the queue."""

    id: int
    course: str
    assignment: str
    student: str
    exchange_id: int
    received: str
    state: str
    attempts: int = 0
    reason: str | None = None
    regrade: bool = False
    score: float | None = None
    max_score: float | None = None
    counted: bool | None = None
    feedback: str | None = None
    """What the student was given: ``sent`` (feedback uploaded), ``score`` (the score only), ``held`` (nothing
    until the due date), or None (not yet)."""
    finished: str | None = None


@dataclass(frozen=True)
class Outcome:
    """What grading one submission came to."""

    score: float
    max_score: float
    counted: bool
    feedback: str


COLUMNS = ("id, course, assignment, student, exchange_id, received, state, attempts, reason, regrade, score, "
           "max_score, counted, feedback, finished")


def _item(row: tuple) -> Item:
    values = list(row)
    values[9] = bool(values[9])
    values[12] = None if values[12] is None else bool(values[12])
    return Item(*values)


def _now() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M:%S.%f UTC")


class Queue:
    """The queue's database; one process takes and finishes rows (``d2lgrade serve``), others may read it and
    requeue (``d2lgrade queue``)."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._local = threading.local()
        self._opened: list[sqlite3.Connection] = []
        self._opening = threading.Lock()
        self.db.executescript(SCHEMA)
        with self.db:
            self.db.execute("BEGIN IMMEDIATE")
            if "changed" not in {row[1] for row in self.db.execute("PRAGMA table_info(queue)")}:  # a queue made before
                self.db.execute("ALTER TABLE queue ADD COLUMN changed INTEGER NOT NULL DEFAULT 0")
            for statement in CHANGES.split(";\n"):
                if statement.strip():
                    self.db.execute(statement)

    @property
    def db(self) -> sqlite3.Connection:
        """This thread's connection: the service grades in several threads (its lanes), and SQLite serializes their
        transactions across connections, never within one."""
        db = getattr(self._local, "db", None)
        if db is None:
            db = sqlite3.connect(self.path, isolation_level=None, timeout=30, check_same_thread=False)
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=FULL")
            self._local.db = db
            with self._opening:
                self._opened.append(db)
        return db

    def close(self) -> None:
        with self._opening:
            for db in self._opened:
                db.close()
            self._opened.clear()
        self._local = threading.local()

    def _write(self, sql: str, args: tuple = ()) -> sqlite3.Cursor:
        with self.db:
            self.db.execute("BEGIN IMMEDIATE")
            return self.db.execute(sql, args)

    def recover(self) -> int:
        """Rows a killed service left in ``grading``: back to ``waiting`` (or failed after ``MAX_ATTEMPTS``);
        how many went back. Call once, before taking rows, in the one process that grades."""
        with self.db:
            self.db.execute("BEGIN IMMEDIATE")
            self.db.execute("UPDATE queue SET state='failed', finished=?, reason=? WHERE state='grading' AND "
                            "attempts >= ?", (_now(), f"grading it stopped the service {MAX_ATTEMPTS} times (a "
                                              "crash, a kill); requeue it with `d2lgrade queue --regrade` after a fix",
                                              MAX_ATTEMPTS))
            return self.db.execute("UPDATE queue SET state='waiting' WHERE state='grading'").rowcount

    def receive(self, found: list[Received]) -> int:
        """Add the submissions not yet in the queue (a submission is received once, whatever polls repeat)."""
        with self.db:
            self.db.execute("BEGIN IMMEDIATE")
            return sum(self.db.execute(
                "INSERT OR IGNORE INTO queue (course, assignment, student, exchange_id, received, state) "
                "VALUES (?, ?, ?, ?, ?, 'waiting')", (r.course, r.assignment, r.student, r.exchange_id,
                                                      r.received)).rowcount for r in found)

    def last_seen(self, course: str) -> int:
        """The latest exchange id received from ``course`` (0: none): the next poll asks for those after it."""
        row = self.db.execute("SELECT max(exchange_id) FROM queue WHERE course=?", (course,)).fetchone()
        return int(row[0] or 0)

    def take(self, most: int = 1) -> list[Item]:
        """The oldest waiting row and up to ``most - 1`` more of the same course and assignment, one per student and
        none behind an earlier waiting row of its student (a student's submissions are graded in order): now
        ``grading``, one attempt more."""
        with self.db:
            self.db.execute("BEGIN IMMEDIATE")
            ready = (f"SELECT {COLUMNS} FROM queue q WHERE state='waiting' AND NOT EXISTS (SELECT 1 FROM queue e "
                     "WHERE e.state IN ('waiting', 'grading') AND e.course=q.course AND e.assignment=q.assignment "
                     "AND e.student=q.student AND e.id < q.id)")
            first = self.db.execute(ready + " ORDER BY id LIMIT 1").fetchone()
            if first is None:
                return []
            rows = self.db.execute(ready + " AND course=? AND assignment=? ORDER BY id LIMIT ?",
                                   (first[1], first[2], most)).fetchall()
            ids = [r[0] for r in rows]
            self.db.execute(f"UPDATE queue SET state='grading', attempts=attempts+1 WHERE id IN "
                            f"({','.join('?' * len(ids))})", ids)
        return [_item((*r[:6], "grading", r[7] + 1, *r[8:])) for r in rows]

    def finish(self, item: Item, outcome: Outcome) -> None:
        self._write("UPDATE queue SET state='done', reason=NULL, regrade=0, score=?, max_score=?, counted=?, "
                    "feedback=?, finished=? WHERE id=? AND state='grading'",
                    (outcome.score, outcome.max_score, int(outcome.counted), outcome.feedback, _now(), item.id))

    def put_back(self, item: Item) -> None:
        """A row taken but not graded (nothing could be, for now): waiting again, its attempt counted."""
        self._write("UPDATE queue SET state='waiting' WHERE id=? AND state='grading'", (item.id,))

    def fail(self, item: Item, reason: str) -> None:
        self._write("UPDATE queue SET state='failed', reason=?, finished=? WHERE id=? AND state='grading'",
                    (reason, _now(), item.id))

    def set_feedback(self, item: Item, feedback: str) -> None:
        """What the student now has of a done row's feedback (a held one released after the due date)."""
        self._write("UPDATE queue SET feedback=? WHERE id=?", (feedback, item.id))

    def requeue(self, item: Item) -> None:
        """One finished row back to ``waiting``, to grade afresh (what it gave the student cannot be given again)."""
        self._write("UPDATE queue SET state='waiting', attempts=0, regrade=1, reason=NULL WHERE id=? AND state IN "
                    "('done', 'failed')", (item.id,))

    def requeue_latest(self, course: str, assignment: str) -> int:
        """Every student's latest finished submission of the assignment back to ``waiting``, to grade afresh (a
        fixed bundle or grader); how many."""
        return self._write(
            "UPDATE queue SET state='waiting', attempts=0, regrade=1, reason=NULL WHERE state IN ('done', 'failed') "
            "AND id IN (SELECT max(id) FROM queue WHERE course=? AND assignment=? GROUP BY student)",
            (course, assignment)).rowcount

    def items(self, course: str | None = None, assignment: str | None = None, state: str | None = None,
              student: str | None = None) -> list[Item]:
        """Rows in arrival order, optionally of one course, assignment, state, student."""
        query, args = f"SELECT {COLUMNS} FROM queue WHERE 1=1", []
        for column, value in (("course", course), ("assignment", assignment), ("state", state), ("student", student)):
            if value is not None:
                query += f" AND {column}=?"
                args.append(value)
        return [_item(r) for r in self.db.execute(query + " ORDER BY id", args)]

    def held_assignments(self) -> set[tuple[str, str]]:
        """The (course, assignment) pairs with a done row whose student was given the score only, or nothing yet:
        what a due date passing releases. Found through an index: the service asks on every pass, and a term's queue
        holds tens of thousands of rows."""
        return set(self.db.execute("SELECT DISTINCT course, assignment FROM queue "
                                   "WHERE feedback IN ('held', 'score') AND state='done'"))

    def held(self, course: str, assignment: str) -> list[Item]:
        """The done rows of the assignment whose feedback is held or shown as a score only."""
        return [_item(r) for r in self.db.execute(
            f"SELECT {COLUMNS} FROM queue WHERE feedback IN ('held', 'score') AND state='done' AND course=? "
            "AND assignment=? ORDER BY id", (course, assignment))]

    def changed_since(self, mark: int) -> tuple[int, set[tuple[str, str]]]:
        """The queue's count of changes now, and the (course, assignment) pairs with a row changed after ``mark``."""
        now = self.db.execute("SELECT coalesce(max(changed), 0) FROM queue").fetchone()[0]
        if now <= mark:
            return now, set()
        return now, set(self.db.execute("SELECT DISTINCT course, assignment FROM queue INDEXED BY queue_by_change "
                                        "WHERE changed > ?", (mark,)))

    def counts(self, course: str | None = None) -> dict[str, int]:
        query, args = "SELECT state, count(*) FROM queue", ()
        if course is not None:
            query, args = query + " WHERE course=?", (course,)
        found = dict(self.db.execute(query + " GROUP BY state", args).fetchall())
        return {state: found.get(state, 0) for state in STATES}

