"""Grading on submit as the course staff see it without root: the queue written into their course folder, a
regrade asked for by a file there; root follows no link the staff planted there."""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

from d2lgrade.serve.course_files import StaffView, read_status, request_regrade, take_regrade_requests
from d2lgrade.serve.queue import Outcome, Queue, Received


def _course(tmp_path: Path) -> Path:
    root = tmp_path / "course"
    root.mkdir()
    (root / "nbgrader_config.py").write_text("c = get_config()\n")
    return root


def _done_queue(tmp_path: Path) -> Queue:
    queue = Queue(tmp_path / "state" / "queue.sqlite")
    queue.receive([Received("c1", "s02_1", "alice", 1, "2026-12-05 10:00:00.000000 UTC"),
                   Received("c1", "s02_1", "bob", 2, "2026-12-05 10:00:01.000000 UTC")])
    (first,) = queue.take()
    queue.finish(first, Outcome(4.0, 6.0, True, "sent"))
    return queue


def test_the_staff_read_the_queue_in_their_folder_and_a_regrade_they_ask_for_is_queued(tmp_path):
    root = _course(tmp_path)
    queue = _done_queue(tmp_path)
    view = StaffView(queue, {"c1": root})
    view()
    counts, items = read_status(root)
    assert counts == {"waiting": 1, "grading": 0, "done": 1, "failed": 0}
    assert [(i.student, i.state, i.score) for i in items] == [("alice", "done", 4.0), ("bob", "waiting", None)]
    assert oct((root / "serve" / "queue" / "s02_1.json").stat().st_mode & 0o777) == oct(0o640)

    request_regrade(root, "s02_1")
    view()
    assert [(i.student, i.state, i.regrade) for i in queue.items("c1")] == [("alice", "waiting", True),
                                                                           ("bob", "waiting", False)]
    assert read_status(root)[0]["waiting"] == 2 and not any((root / "serve" / "regrade").iterdir())


def test_root_follows_no_link_planted_in_the_course_folder(tmp_path):
    root = _course(tmp_path)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "s02_1").write_text("precious")
    (root / "serve").symlink_to(elsewhere)  # a TA's link: root must neither write nor delete there
    StaffView(_done_queue(tmp_path), {"c1": root})()
    assert take_regrade_requests(root) == []
    assert sorted(p.name for p in elsewhere.iterdir()) == ["s02_1"] and (elsewhere / "s02_1").read_text() == "precious"


def test_a_request_that_is_not_an_assignment_id_is_removed_and_ignored(tmp_path):
    root = _course(tmp_path)
    request_regrade(root, "s02_1")
    folder = root / "serve" / "regrade"
    (folder / "bad name;rm").touch()
    os.symlink("/etc/passwd", folder / "s02_2")
    assert take_regrade_requests(root) == ["s02_1", "s02_2"]  # the link's name is an id; only the link is removed
    assert Path("/etc/passwd").is_file() and not any(folder.iterdir())


def test_a_pass_rewrites_only_the_assignments_whose_rows_changed(tmp_path):
    """A term's queue is tens of thousands of rows: a submission rewrites its assignment's file, and a pass where
    nothing changed writes nothing (whoever changed the queue: a regrade asked as root writes to it directly)."""
    root = _course(tmp_path)
    queue = _done_queue(tmp_path)
    queue.receive([Received("c1", "s02_2", "alice", 3, "2026-12-05 10:00:02.000000 UTC")])
    view = StaffView(queue, {"c1": root})
    view()
    files = {p.name: p.stat().st_ino for p in (root / "serve" / "queue").iterdir()}
    assert sorted(files) == ["s02_1.json", "s02_2.json"]

    view()  # nothing changed: nothing written
    assert {p.name: p.stat().st_ino for p in (root / "serve" / "queue").iterdir()} == files

    queue.receive([Received("c1", "s02_2", "bob", 4, "2026-12-05 10:00:03.000000 UTC")])
    Queue(tmp_path / "state" / "queue.sqlite").requeue_latest("c1", "s02_2")  # another connection: nothing done yet
    view()
    now = {p.name: p.stat().st_ino for p in (root / "serve" / "queue").iterdir()}
    assert now["s02_1.json"] == files["s02_1.json"] and now["s02_2.json"] != files["s02_2.json"]
    counts, items = read_status(root)
    assert counts == {"waiting": 3, "grading": 0, "done": 1, "failed": 0}
    assert [i.exchange_id for i in items] == [1, 2, 3, 4]


def test_a_queue_made_before_rows_kept_their_change_count_is_brought_up_to_date(tmp_path):
    path = tmp_path / "queue.sqlite"
    db = sqlite3.connect(path)
    db.executescript("""CREATE TABLE queue (
        id INTEGER PRIMARY KEY, course TEXT NOT NULL, assignment TEXT NOT NULL, student TEXT NOT NULL,
        exchange_id INTEGER NOT NULL, received TEXT NOT NULL, state TEXT NOT NULL, attempts INTEGER NOT NULL DEFAULT 0,
        reason TEXT, regrade INTEGER NOT NULL DEFAULT 0, score REAL, max_score REAL, counted INTEGER, feedback TEXT,
        finished TEXT, UNIQUE (course, exchange_id));
        INSERT INTO queue (course, assignment, student, exchange_id, received, state)
        VALUES ('c1', 's02_1', 'alice', 1, '2026-12-05 10:00:00.000000 UTC', 'waiting');""")
    db.commit()
    db.close()
    queue = Queue(path)
    assert queue.changed_since(-1) == (0, {("c1", "s02_1")})
    (item,) = queue.take()
    assert queue.changed_since(0) == (1, {("c1", "s02_1")}) and queue.changed_since(1) == (1, set())
    assert [i.state for i in queue.items()] == ["grading"] and item.exchange_id == 1


def test_a_link_planted_where_the_queue_files_go_is_not_followed(tmp_path):
    root = _course(tmp_path)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (root / "serve").mkdir()
    (root / "serve" / "queue").symlink_to(elsewhere)
    StaffView(_done_queue(tmp_path), {"c1": root})()  # logged, retried at the next pass; nothing written through it
    assert not any(elsewhere.iterdir())
