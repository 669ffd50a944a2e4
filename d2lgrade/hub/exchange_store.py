"""The exchange's storage: what was released, submitted and fed back, by whom and when; nothing is ever changed.

One folder, the service user's only (0700; files 0600): ``exchange.sqlite`` (WAL) holds the rows, ``blobs/``
the files under their sha256. The tables are append-only: SQLite triggers abort any UPDATE or DELETE, so a
submission, once received, stays exactly as it was; a resubmission is a new row; a release is replaced by a
newer release row or hidden by a hiding row (which never touches submissions); feedback is a new row whose
files replace the earlier feedback of that submission for its student. Times are the server's clock at receipt,
UTC with microseconds, in nbgrader's timestamp format, strictly increasing (so a time names one submission).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import sqlite3
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from d2lgrade.hub.exchange_files import ExchangeFile, FilesRefused, Limits, checked_files

TIMESTAMP_FORMAT = "%Y-%m-%d %H:%M:%S.%f %Z"
"""nbgrader's own (``Exchange.timestamp_format``): ``2026-12-05 14:03:07.123456 UTC``."""

SCHEMA = """
CREATE TABLE IF NOT EXISTS releases (
    id INTEGER PRIMARY KEY, course TEXT NOT NULL, assignment TEXT NOT NULL, author TEXT NOT NULL,
    at TEXT NOT NULL, hidden INTEGER NOT NULL CHECK (hidden IN (0, 1)));
CREATE TABLE IF NOT EXISTS submissions (
    id INTEGER PRIMARY KEY, course TEXT NOT NULL, assignment TEXT NOT NULL, student TEXT NOT NULL,
    at TEXT NOT NULL UNIQUE);
CREATE TABLE IF NOT EXISTS feedback (
    id INTEGER PRIMARY KEY, submission INTEGER NOT NULL REFERENCES submissions (id), author TEXT NOT NULL,
    at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS files (
    kind TEXT NOT NULL CHECK (kind IN ('release', 'submission', 'feedback')), owner INTEGER NOT NULL,
    path TEXT NOT NULL, sha256 TEXT NOT NULL, size INTEGER NOT NULL, PRIMARY KEY (kind, owner, path));
CREATE TABLE IF NOT EXISTS policies (
    id INTEGER PRIMARY KEY, course TEXT NOT NULL, assignment TEXT NOT NULL, policy TEXT NOT NULL,
    author TEXT NOT NULL, at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS results (
    id INTEGER PRIMARY KEY, submission INTEGER NOT NULL REFERENCES submissions (id), result TEXT NOT NULL,
    author TEXT NOT NULL, at TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS releases_by_assignment ON releases (course, assignment);
CREATE INDEX IF NOT EXISTS submissions_by_student ON submissions (course, assignment, student);
CREATE INDEX IF NOT EXISTS feedback_by_submission ON feedback (submission);
CREATE INDEX IF NOT EXISTS results_by_submission ON results (submission);
"""
APPEND_ONLY = """
CREATE TRIGGER IF NOT EXISTS {table}_no_{verb} BEFORE {verb} ON {table}
BEGIN SELECT RAISE(ABORT, 'the exchange is append-only: {table} rows are never changed or deleted'); END;
"""


class CapReached(FilesRefused):
    """A student has made as many submissions to an assignment as the exchange accepts."""


@dataclass(frozen=True)
class Release:
    id: int
    course: str
    assignment: str
    author: str
    at: str
    hidden: bool
    paths: tuple[str, ...] = ()


@dataclass(frozen=True)
class Submission:
    id: int
    course: str
    assignment: str
    student: str
    at: str
    paths: tuple[str, ...] = ()
    feedback: dict[str, str] = field(default_factory=dict)
    """The latest feedback's files: path -> sha256 (empty while there is none)."""
    result: dict[str, Any] | None = None
    """The latest grading result posted by grading on submit (plain data the student may see), or None."""


class ExchangeStore:
    """Rows in SQLite, file contents as blobs named by their sha256; used by one service process."""

    def __init__(self, folder: Path, limits: Limits | None = None) -> None:
        self.folder = folder
        self.limits = limits or Limits()
        self.blobs = folder / "blobs"
        for path in (folder, self.blobs):
            path.mkdir(mode=0o700, exist_ok=True)
            os.chmod(path, 0o700)
        db = folder / "exchange.sqlite"
        db.touch(mode=0o600, exist_ok=True)
        os.chmod(db, 0o600)
        self.db = sqlite3.connect(db, isolation_level=None, check_same_thread=False)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA foreign_keys=ON")
        self.db.executescript(SCHEMA + "".join(APPEND_ONLY.format(table=t, verb=v)
                                               for t in ("releases", "submissions", "feedback", "files", "policies",
                                                         "results")
                                               for v in ("UPDATE", "DELETE")))
        self._lock = threading.Lock()
        last = self.db.execute("SELECT max(at) FROM (SELECT at FROM submissions UNION ALL "
                               "SELECT at FROM releases UNION ALL SELECT at FROM feedback)").fetchone()[0]
        self._last = _parse(last) if last else dt.datetime.min.replace(tzinfo=dt.UTC)

    def _now(self) -> str:
        """The server's clock, UTC, strictly later than any time handed out before (a time names one row)."""
        now = dt.datetime.now(dt.UTC)
        self._last = max(now, self._last + dt.timedelta(microseconds=1))
        return self._last.strftime(TIMESTAMP_FORMAT)

    # -- writing -----------------------------------------------------------------------------------------------

    def release(self, course: str, assignment: str, author: str, files: list[ExchangeFile]) -> Release:
        """A new release of the assignment; the one before stays in the store, submissions are untouched."""
        checked_files(files, self.limits, "a release")
        shas = [self._put_blob(f.data) for f in files]
        with self._lock, self.db:
            self.db.execute("BEGIN IMMEDIATE")
            at = self._now()
            rid = self.db.execute("INSERT INTO releases (course, assignment, author, at, hidden) VALUES (?, ?, ?, ?, 0)",
                                  (course, assignment, author, at)).lastrowid
            self._insert_files("release", rid, files, shas)
        return Release(rid, course, assignment, author, at, False, tuple(f.path for f in files))

    def hide(self, course: str, assignment: str, author: str) -> Release:
        """Students no longer see or fetch the assignment (nbgrader's "unrelease"); submissions stay."""
        with self._lock, self.db:
            self.db.execute("BEGIN IMMEDIATE")
            at = self._now()
            rid = self.db.execute("INSERT INTO releases (course, assignment, author, at, hidden) VALUES (?, ?, ?, ?, 1)",
                                  (course, assignment, author, at)).lastrowid
        return Release(rid, course, assignment, author, at, True)

    def submit(self, course: str, assignment: str, student: str, files: list[ExchangeFile],
               admit: Callable[[list[str], dt.datetime], str | None] | None = None) -> Submission:
        """A new submission of ``student`` (the hub's name for the caller), timed now. ``admit``: the assignment's
        policy (given the times of the student's earlier submissions and now, why not, or None), checked in the same
        transaction as the insert, so two submissions at once cannot both slip past a count."""
        checked_files(files, self.limits)
        shas = [self._put_blob(f.data) for f in files]
        with self._lock, self.db:
            self.db.execute("BEGIN IMMEDIATE")
            earlier = [r[0] for r in self.db.execute("SELECT at FROM submissions WHERE course=? AND assignment=? AND "
                                                     "student=? ORDER BY id", (course, assignment, student))]
            count = len(earlier)
            if count >= self.limits.submissions:
                raise CapReached(f"you have submitted {assignment} {count} times, the most the exchange accepts "
                                 f"({self.limits.submissions}); your submissions are kept: ask your instructor")
            refused = admit(earlier, dt.datetime.now(dt.UTC)) if admit else None
            if refused:
                raise CapReached(refused)
            at = self._now()
            sid = self.db.execute("INSERT INTO submissions (course, assignment, student, at) VALUES (?, ?, ?, ?)",
                                  (course, assignment, student, at)).lastrowid
            self._insert_files("submission", sid, files, shas)
        return Submission(sid, course, assignment, student, at, tuple(f.path for f in files))

    def add_feedback(self, submission: int, author: str, files: list[ExchangeFile]) -> str:
        """Feedback on one submission (a new row: it replaces earlier feedback for the student); its time."""
        checked_files(files, self.limits, "the feedback")
        shas = [self._put_blob(f.data) for f in files]
        with self._lock, self.db:
            self.db.execute("BEGIN IMMEDIATE")
            at = self._now()
            fid = self.db.execute("INSERT INTO feedback (submission, author, at) VALUES (?, ?, ?)",
                                  (submission, author, at)).lastrowid
            self._insert_files("feedback", fid, files, shas)
        return at

    def add_result(self, submission: int, author: str, result: dict[str, Any]) -> str:
        """What grading on submit found for one submission (a new row: the latest is the student's); its time."""
        with self._lock, self.db:
            self.db.execute("BEGIN IMMEDIATE")
            at = self._now()
            self.db.execute("INSERT INTO results (submission, result, author, at) VALUES (?, ?, ?, ?)",
                            (submission, json.dumps(result, sort_keys=True), author, at))
        return at

    def set_policies(self, course: str, author: str, policies: dict[str, dict[str, Any]]) -> str:
        """The course's submission policies as its config now says (a new row per assignment; the latest wins)."""
        with self._lock, self.db:
            self.db.execute("BEGIN IMMEDIATE")
            at = self._now()
            self.db.executemany("INSERT INTO policies (course, assignment, policy, author, at) VALUES (?, ?, ?, ?, ?)",
                                [(course, a, json.dumps(p, sort_keys=True), author, at) for a, p in policies.items()])
        return at

    def policy(self, course: str, assignment: str) -> dict[str, Any] | None:
        """The latest policy published for the assignment (None: none, the defaults apply)."""
        row = self.db.execute("SELECT policy FROM policies WHERE id=(SELECT max(id) FROM policies WHERE course=? AND "
                              "assignment=?)", (course, assignment)).fetchone()
        return None if row is None else json.loads(row[0])

    def _insert_files(self, kind: str, owner: int, files: list[ExchangeFile], shas: list[str]) -> None:
        self.db.executemany("INSERT INTO files (kind, owner, path, sha256, size) VALUES (?, ?, ?, ?, ?)",
                            [(kind, owner, f.path, sha, len(f.data)) for f, sha in zip(files, shas, strict=True)])

    def _put_blob(self, data: bytes) -> str:
        """Store ``data`` under its sha256 (written whole, then renamed: a blob present is complete)."""
        sha = hashlib.sha256(data).hexdigest()
        target = self.blobs / sha[:2] / sha
        if target.is_file():
            return sha
        target.parent.mkdir(mode=0o700, exist_ok=True)
        tmp = target.with_name(f".{sha}.{threading.get_ident()}.{os.getpid()}")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o600)
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(data)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, target)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        return sha

    # -- reading -----------------------------------------------------------------------------------------------

    def current_releases(self, course: str) -> list[Release]:
        """The latest release row of each assignment of the course (hidden or not), with its files."""
        rows = self.db.execute(
            "SELECT id, course, assignment, author, at, hidden FROM releases WHERE id IN "
            "(SELECT max(id) FROM releases WHERE course=? GROUP BY assignment) ORDER BY assignment", (course,)).fetchall()
        paths = self._paths("release", [r[0] for r in rows])
        return [Release(*r[:5], bool(r[5]), paths.get(r[0], ())) for r in rows]

    def current_release(self, course: str, assignment: str) -> Release | None:
        return next((r for r in self.current_releases(course) if r.assignment == assignment), None)

    def submissions(self, course: str, assignment: str | None = None, student: str | None = None,
                    after: int = 0) -> list[Submission]:
        """Submissions of the course, oldest first, optionally of one assignment and one student; ``after``: only
        those received after submission ``after`` (what a poller has not seen yet)."""
        query = "SELECT id, course, assignment, student, at FROM submissions WHERE course=? AND id>?"
        args: list[Any] = [course, after]
        for column, value in (("assignment", assignment), ("student", student)):
            if value is not None:
                query += f" AND {column}=?"
                args.append(value)
        rows = self.db.execute(query + " ORDER BY id", args).fetchall()
        ids = [r[0] for r in rows]
        paths = self._paths("submission", ids)
        feedback, results = self._latest_feedback(ids), self._latest_results(ids)
        return [Submission(*r, paths.get(r[0], ()), feedback.get(r[0], {}), results.get(r[0])) for r in rows]

    def submission(self, sid: int) -> Submission | None:
        row = self.db.execute("SELECT id, course, assignment, student, at FROM submissions WHERE id=?", (sid,)).fetchone()
        if row is None:
            return None
        return Submission(*row, self._paths("submission", [sid]).get(sid, ()), self._latest_feedback([sid]).get(sid, {}),
                          self._latest_results([sid]).get(sid))

    def files(self, kind: str, owner: int) -> list[ExchangeFile]:
        """The files of one release or submission, or of a submission's latest feedback (``owner`` = its id)."""
        if kind == "feedback":
            row = self.db.execute("SELECT max(id) FROM feedback WHERE submission=?", (owner,)).fetchone()
            if row[0] is None:
                return []
            owner = row[0]
        rows = self.db.execute("SELECT path, sha256 FROM files WHERE kind=? AND owner=? ORDER BY path",
                               (kind, owner)).fetchall()
        return [ExchangeFile(path, (self.blobs / sha[:2] / sha).read_bytes()) for path, sha in rows]

    def _paths(self, kind: str, ids: list[int]) -> dict[int, tuple[str, ...]]:
        found: dict[int, list[str]] = {}
        for chunk in _chunks(ids):
            marks = ",".join("?" * len(chunk))
            for owner, path in self.db.execute(f"SELECT owner, path FROM files WHERE kind=? AND owner IN ({marks}) "
                                               "ORDER BY path", [kind, *chunk]):
                found.setdefault(owner, []).append(path)
        return {k: tuple(v) for k, v in found.items()}

    def _latest_feedback(self, ids: list[int]) -> dict[int, dict[str, str]]:
        found: dict[int, dict[str, str]] = {}
        for chunk in _chunks(ids):
            marks = ",".join("?" * len(chunk))
            rows = self.db.execute(
                "SELECT fb.submission, f.path, f.sha256 FROM files f JOIN feedback fb ON f.kind='feedback' "
                f"AND f.owner=fb.id WHERE fb.id IN (SELECT max(id) FROM feedback WHERE submission IN ({marks}) "
                "GROUP BY submission)", chunk)
            for sid, path, sha in rows:
                found.setdefault(sid, {})[path] = sha
        return found

    def _latest_results(self, ids: list[int]) -> dict[int, dict[str, Any]]:
        found: dict[int, dict[str, Any]] = {}
        for chunk in _chunks(ids):
            marks = ",".join("?" * len(chunk))
            for sid, text in self.db.execute(f"SELECT submission, result FROM results WHERE id IN (SELECT max(id) "
                                             f"FROM results WHERE submission IN ({marks}) GROUP BY submission)", chunk):
                found[sid] = json.loads(text)
        return found


def _chunks(ids: list[int], size: int = 500) -> list[list[int]]:
    return [ids[i:i + size] for i in range(0, len(ids), size)]


def _parse(stamp: str) -> dt.datetime:
    return dt.datetime.strptime(stamp.removesuffix(" UTC"), "%Y-%m-%d %H:%M:%S.%f").replace(tzinfo=dt.UTC)
