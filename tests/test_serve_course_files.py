"""Grading on submit as the course staff see it without root: the queue written into their course folder, a
regrade asked for by a file there; root follows no link the staff planted there."""

from __future__ import annotations

import os
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
    assert oct((root / "serve" / "queue.json").stat().st_mode & 0o777) == oct(0o640)

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
