"""Grading on submit: the queue and the loop lose nothing and record nothing twice (fake grader, no sandbox).

The durability test runs the real loop in a subprocess over a SQLite stand-in for the exchange and SIGKILLs it at
random moments while submissions keep arriving; restarted each time, every received submission ends done exactly
once, with exactly one feedback attached, in arrival order per student.
"""

from __future__ import annotations

import datetime as dt
import os
import random
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from d2lgrade.hub.submission_policy import Policy
from d2lgrade.serve.loop import GradeOnSubmit, Serve, TryLater
from d2lgrade.serve.queue import MAX_ATTEMPTS, Outcome, Queue, Received
from tests.serve_fakes import FakeExchange, fake_grade, loop

ROOT = Path(__file__).resolve().parents[1]


def _received(n: int, course: str = "c1", assignment: str = "a1") -> list[Received]:
    return [Received(course, assignment, f"s{i % 3}", i, f"2026-12-05 10:00:{i:02d}.000000 UTC") for i in range(1, n + 1)]


def test_a_submission_polled_twice_is_received_once(tmp_path):
    queue = Queue(tmp_path / "q.sqlite")
    assert queue.receive(_received(4)) == 4
    assert queue.receive(_received(6)) == 2
    assert queue.last_seen("c1") == 6 and queue.last_seen("c2") == 0
    assert [i.exchange_id for i in queue.items()] == [1, 2, 3, 4, 5, 6]


def test_taken_in_arrival_order_one_per_student_and_never_ahead_of_their_earlier(tmp_path):
    queue = Queue(tmp_path / "q.sqlite")
    queue.receive(_received(6))  # students s1 s2 s0 s1 s2 s0
    first = queue.take(5)
    assert [(i.exchange_id, i.student) for i in first] == [(1, "s1"), (2, "s2"), (3, "s0")]
    assert all(i.state == "grading" and i.attempts == 1 for i in first)
    assert queue.take(5) == []  # 4-6 wait while their students' earlier rows are being graded
    for item in first:
        queue.finish(item, Outcome(1, 2, True, "sent"))
    assert [i.exchange_id for i in queue.take(5)] == [4, 5, 6]


def test_a_killed_grading_goes_back_to_waiting_and_a_poison_one_fails_with_the_reason(tmp_path):
    queue = Queue(tmp_path / "q.sqlite")
    queue.receive(_received(1))
    queue.take(1)
    assert Queue(tmp_path / "q.sqlite").recover() == 1  # a restarted service
    assert queue.counts() == {"waiting": 1, "grading": 0, "done": 0, "failed": 0}
    for _ in range(MAX_ATTEMPTS - 2):
        queue.take(1)
        assert queue.recover() == 1
    queue.take(1)
    assert queue.recover() == 0
    (failed,) = queue.items(state="failed")
    assert failed.exchange_id == 1 and f"stopped the service {MAX_ATTEMPTS} times" in failed.reason


def test_regrade_requeues_each_students_latest_only(tmp_path):
    queue = Queue(tmp_path / "q.sqlite")
    queue.receive(_received(6))
    while items := queue.take(3):
        for item in items:
            queue.finish(item, Outcome(1, 2, True, "sent"))
    assert queue.requeue_latest("c1", "a1") == 3
    assert sorted(i.exchange_id for i in queue.items(state="waiting")) == [4, 5, 6]
    assert all(i.regrade for i in queue.items(state="waiting"))


def test_the_loop_grades_and_attaches_feedback_and_a_bad_submission_fails_with_its_reason(tmp_path):
    exchange = FakeExchange(tmp_path)
    exchange.submit("c1", "a1", "alice", b"7 notebook")
    exchange.submit("c2", "a1", "bob", b"not a notebook")
    serve = loop(tmp_path)
    assert serve.poll() == 2
    while serve.step():
        pass
    done, failed = serve.queue.items(state="done"), serve.queue.items(state="failed")
    assert [(i.student, i.score, i.feedback) for i in done] == [("alice", 7.0, "sent")]
    assert [(i.student, i.reason) for i in failed] == [("bob", "a1.ipynb is not a notebook")]
    assert exchange.feedback(done[0].course, done[0].exchange_id)
    page = (tmp_path / "pages" / "c1" / f"{done[0].exchange_id}.html").read_text()
    assert "7 / 9" in page and "q2: to be graded by hand" in page
    told = exchange.results()  # what each student's Assignment List says
    assert told[done[0].exchange_id] == (1, {"state": "graded", "shown": "messages", "score": 7.0, "max_score": 9.0,
                                             "by_hand": 1, "late_penalty": 0.0, "counted": True, "reason": ""})
    assert told[failed[0].exchange_id][1]["state"] == "failed"
    assert "a1.ipynb is not a notebook" in told[failed[0].exchange_id][1]["reason"]


def test_killed_at_random_moments_every_submission_ends_done_exactly_once(tmp_path):
    exchange = FakeExchange(tmp_path)
    total, rng = 40, random.Random(23)
    arriving = threading.Thread(target=_arrive, args=(tmp_path, total, rng.random), daemon=True)
    arriving.start()
    for _ in range(8):
        service = _start(tmp_path)
        time.sleep(0.15 + rng.random() * 0.3)
        os.kill(service.pid, signal.SIGKILL)
        service.wait()
    arriving.join()
    service = _start(tmp_path)
    try:
        _until(lambda: Queue(tmp_path / "queue.sqlite").counts()["done"] == total)
    finally:
        os.kill(service.pid, signal.SIGKILL)
        service.wait()
    queue = Queue(tmp_path / "queue.sqlite")
    assert queue.counts() == {"waiting": 0, "grading": 0, "done": total, "failed": 0}
    assert sorted(i.exchange_id for i in queue.items()) == list(range(1, total + 1))
    assert sorted(exchange.feedback_rows()) == [(sid, 1) for sid in range(1, total + 1)]
    assert sorted((sid, n) for sid, (n, _) in exchange.results().items()) == [(sid, 1) for sid in range(1, total + 1)]
    assert exchange.gradings() >= total  # some were graded again after a kill; each recorded once


def _arrive(folder: Path, total: int, random_fraction) -> None:
    exchange = FakeExchange(folder)
    for i in range(total):
        exchange.submit(["c1", "c2"][i % 2], "a1", f"s{i % 5}", f"{i % 10} notebook".encode())
        time.sleep(random_fraction() * 0.06)


def _start(folder: Path) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "tests.serve_fakes", str(folder), "0.01"], cwd=ROOT,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def _until(done, seconds: float = 60.0) -> None:
    end = time.monotonic() + seconds
    while not done():
        assert time.monotonic() < end, "the service did not finish the queue"
        time.sleep(0.05)


def test_killed_after_the_feedback_went_out_but_before_done_the_regrade_attaches_nothing_new(tmp_path):
    exchange = FakeExchange(tmp_path)
    exchange.submit("c1", "a1", "alice", b"5 notebook")
    serve = loop(tmp_path)
    serve.poll()
    (item,) = serve.queue.take()
    serve.handle([item])  # graded, recorded, feedback attached ... and the service killed before `finish`
    assert Queue(tmp_path / "queue.sqlite").recover() == 1
    assert serve.step() == 1
    assert exchange.feedback_rows() == [(1, 1)] and exchange.gradings() == 2
    assert serve.queue.counts()["done"] == 1


def _graded_while_held(tmp_path: Path):
    """alice's submission graded under a policy that shows nothing before the due date (the clock: ``now[0]``)."""
    exchange = FakeExchange(tmp_path)
    exchange.submit("c1", "a1", "alice", b"6 notebook")
    now = [dt.datetime(2026, 12, 1, tzinfo=dt.UTC)]
    policy = {"a1": Policy(feedback_before_due="nothing", due="2026-12-07T23:59:00+00:00")}
    queue = Queue(tmp_path / "queue.sqlite")
    handler = GradeOnSubmit(exchange, queue, fake_grade(exchange), tmp_path / "pages", lambda course: policy,
                            clock=lambda: now[0])
    serve = Serve(queue, exchange, ["c1"], handler, handler.tell_failed, every_pass=handler.release_held)
    serve.poll()
    serve.step()
    return exchange, queue, handler, serve, now


def test_feedback_held_until_the_due_date_then_given_whole(tmp_path):
    exchange, queue, handler, _, now = _graded_while_held(tmp_path)
    (item,) = queue.items()
    assert item.feedback == "held" and exchange.feedback("c1", item.exchange_id) == {}
    assert exchange.result("c1", item.exchange_id) == {"state": "graded", "shown": "held", "score": None,
                                                          "max_score": None, "by_hand": 1, "late_penalty": 0.0,
                                                          "counted": True, "reason": ""}
    assert handler.release_held() == 0
    now[0] = dt.datetime(2026, 12, 8, tzinfo=dt.UTC)
    assert handler.release_held() == 1
    assert exchange.feedback("c1", item.exchange_id) and queue.items()[0].feedback == "sent"
    assert exchange.result("c1", item.exchange_id)["score"] == 6.0


def test_a_submission_that_runs_long_holds_up_its_own_batch_not_the_other_students(tmp_path):
    """An infinite loop runs to its time limit (a minute of CPU a cell): with batches graded one after another, every
    student who submitted meanwhile would wait for it. In two lanes the others are graded while it runs."""
    exchange = FakeExchange(tmp_path)
    release = threading.Event()
    quick = fake_grade(exchange)

    def grade(course, assignment, subs, regrade):
        if any(s.item.student == "looper" for s in subs):
            assert release.wait(30), "the test never let the long submission end"
        return quick(course, assignment, subs, regrade)

    queue = Queue(tmp_path / "queue.sqlite")
    handler = GradeOnSubmit(exchange, queue, grade, tmp_path / "pages", lambda course: {})
    serve = Serve(queue, exchange, ["c1"], handler, handler.tell_failed, batch=2, lanes=2, poll_seconds=0.01)
    exchange.submit("c1", "a1", "looper", b"1 notebook")
    for n in range(6):
        exchange.submit("c1", "a1", f"s{n}", b"7 notebook")
    stop = threading.Event()
    running = threading.Thread(target=serve.run, args=(stop,), daemon=True)
    running.start()
    try:  # the looper's batch is it and s0; the other lane grades s1 to s5 meanwhile
        _until(lambda: Queue(tmp_path / "queue.sqlite").counts()["done"] == 5, 30)
        assert [i.student for i in Queue(tmp_path / "queue.sqlite").items(state="grading")] == ["looper", "s0"]
        release.set()
        _until(lambda: Queue(tmp_path / "queue.sqlite").counts()["done"] == 7, 30)
    finally:
        release.set()
        stop.set()
        running.join(30)
    assert not running.is_alive()
    assert sorted((sid, n) for sid, (n, _) in exchange.results().items()) == [(sid, 1) for sid in range(1, 8)]


def test_stopped_while_batches_grade_the_service_finishes_them_first(tmp_path):
    exchange = FakeExchange(tmp_path)
    for n in range(4):
        exchange.submit("c1", "a1", f"s{n}", b"5 notebook")
    serve = loop(tmp_path, seconds=0.3, batch=1, lanes=2)
    stop = threading.Event()
    running = threading.Thread(target=serve.run, args=(stop,), daemon=True)
    running.start()
    _until(lambda: Queue(tmp_path / "queue.sqlite").counts()["grading"] == 2, 30)
    stop.set()
    running.join(30)
    counts = Queue(tmp_path / "queue.sqlite").counts()
    assert counts["grading"] == 0 and counts["done"] >= 2 and counts["done"] + counts["waiting"] == 4


def test_what_every_pass_asks_of_a_terms_queue_is_found_through_an_index(tmp_path, monkeypatch):
    """The service asks for held feedback and changed rows 20 times a second: with a term's tens of thousands of done
    rows, reading them all (as the first version did) took a core. Every statement of a pass searches an index."""
    queue = Queue(tmp_path / "queue.sqlite")
    queue.receive([Received("c1", "a1", f"s{n}", n, "2026-12-05 10:00:00.000000 UTC") for n in range(1, 500)])
    statements: list[str] = []
    queue.db.set_trace_callback(statements.append)
    queue.held_assignments()
    queue.changed_since(10)
    queue.take(4)
    queue.db.set_trace_callback(None)
    assert len(statements) >= 3
    for sql in statements:
        if sql.lstrip().upper().startswith(("BEGIN", "COMMIT")):
            continue
        plan = [row[3] for row in queue.db.execute("EXPLAIN QUERY PLAN " + sql)]
        assert not [step for step in plan if step.startswith("SCAN queue")], (sql, plan)


def test_a_held_page_lost_from_the_state_folder_is_graded_again_and_given_after_the_due_date(tmp_path):
    exchange, queue, handler, serve, now = _graded_while_held(tmp_path)
    for kept in (tmp_path / "pages" / "c1").iterdir():
        kept.unlink()  # an administrator's clean-up of the state folder
    now[0] = dt.datetime(2026, 12, 8, tzinfo=dt.UTC)
    assert handler.release_held() == 0 and queue.items()[0].state == "waiting"
    assert handler.release_held() == 0  # asked once, not on every pass
    assert serve.step() == 1
    (item,) = queue.items()
    assert item.state == "done" and item.feedback == "sent" and exchange.feedback("c1", item.exchange_id)
    assert exchange.result("c1", item.exchange_id)["score"] == 6.0 and exchange.gradings() == 2


def test_the_exchange_down_at_the_due_date_delays_the_release_and_costs_no_regrade(tmp_path, monkeypatch):
    exchange, queue, handler, _, now = _graded_while_held(tmp_path)
    now[0] = dt.datetime(2026, 12, 8, tzinfo=dt.UTC)
    posting = exchange.add_feedback

    def down(*args):
        raise ConnectionRefusedError("the exchange is restarting")

    monkeypatch.setattr(exchange, "add_feedback", down)
    with pytest.raises(OSError):
        handler.release_held()  # the service's pass logs it and tries again at the next
    (item,) = queue.items()
    assert (item.state, item.feedback) == ("done", "held") and exchange.gradings() == 1
    monkeypatch.setattr(exchange, "add_feedback", posting)
    assert handler.release_held() == 1 and queue.items()[0].feedback == "sent" and exchange.gradings() == 1


def test_while_the_grading_service_is_down_submissions_wait_and_are_graded_when_it_is_back(tmp_path):
    exchange = FakeExchange(tmp_path)
    exchange.submit("c1", "a1", "alice", b"8 notebook")
    down = [True]
    grade = fake_grade(exchange)

    def through_service(course, assignment, subs, regrade):
        if down[0]:
            raise TryLater("the grading service at http://127.0.0.1:1/services/grader did not answer")
        return grade(course, assignment, subs, regrade)

    queue = Queue(tmp_path / "queue.sqlite")
    handler = GradeOnSubmit(exchange, queue, through_service, tmp_path / "pages", lambda course: {})
    serve = Serve(queue, exchange, ["c1"], handler, handler.tell_failed, rest_seconds=0.0)
    serve.poll()
    assert serve.step() == 0 and queue.counts()["waiting"] == 1 and exchange.results() == {}
    down[0] = False
    assert serve.step() == 1
    (item,) = queue.items()
    assert (item.state, item.score, item.attempts) == ("done", 8.0, 2)


def test_the_batch_grader_grades_where_it_is_told_here_through_the_service_or_on_the_cluster(tmp_path, monkeypatch):
    from d2lgrade.grading.cluster import Cluster
    from d2lgrade.serve import grader as serve_grader
    from d2lgrade.serve.loop import ToGrade

    root = tmp_path / "course"
    (root / "build" / "a1").mkdir(parents=True)
    (root / "build" / "a1" / "bundle.json").write_text("{}")
    (root / "nbgrader_config.py").write_text("c = get_config()\nc.CourseDirectory.course_id = 'c1'\n")
    monkeypatch.setattr(serve_grader.Bundle, "load", lambda path: type("B", (), {"questions": ()})())
    asked = []
    monkeypatch.setattr(serve_grader, "run_batch", lambda *a, **kw: asked.append(kw))
    item = Queue(tmp_path / "q.sqlite")
    item.receive([Received("c1", "a1", "alice", 1, "2026-12-05 10:00:00.000000 UTC")])
    (taken,) = item.take()
    sub = ToGrade(taken, "a1.ipynb", b"{}", True)
    cluster = Cluster("tls://scheduler:8786", None)
    serve_grader.BatchGrader({"c1": root}, jobs=1, cluster=cluster)("c1", "a1", [sub], False)
    assert asked[-1]["cluster"] is cluster and asked[-1]["service"] is None and asked[-1]["pool"] is None
    monkeypatch.setenv("D2LGRADE_GRADER_URL", "http://127.0.0.1:1/services/grader")
    monkeypatch.setenv("JUPYTERHUB_API_TOKEN", "t")
    serve_grader.BatchGrader({"c1": root}, jobs=2, remote=True)("c1", "a1", [sub], False)
    assert asked[-1]["service"].url == "http://127.0.0.1:1/services/grader" and asked[-1]["cluster"] is None
    assert asked[-1]["jobs"] == 2


def test_lanes_share_a_courses_warm_workers_and_a_rebuild_replaces_them_once_unused(tmp_path, monkeypatch):
    from contextlib import contextmanager

    from d2lgrade.course.layout import Course
    from d2lgrade.serve import grader as serve_grader

    root = tmp_path / "course"
    (root / "build" / "a1").mkdir(parents=True)
    (root / "build" / "a1" / "bundle.json").write_text("{}")
    (root / "nbgrader_config.py").write_text("c = get_config()\nc.CourseDirectory.course_id = 'c1'\n")
    started, closed = [], []

    @contextmanager
    def fake_pool(assignments, jobs):
        started.append(len(started) + 1)
        yield started[-1]
        closed.append(started[-1])

    monkeypatch.setattr(serve_grader, "worker_pool", fake_pool)
    monkeypatch.setattr(serve_grader.Assignment, "load", staticmethod(lambda path: None))
    grader, course = serve_grader.BatchGrader({"c1": root}, jobs=2), Course(root)
    got = []
    with grader._using(course) as first:
        with grader._using(course) as second:  # a second lane, same bundles: the same workers
            assert first == second == 1
        (root / "build" / "a1" / "bundle.json").write_text('{"rebuilt": true}')
        lane = threading.Thread(target=lambda: got.append(grader._using(course).__enter__()))
        lane.start()
        lane.join(0.3)
        assert lane.is_alive() and closed == []  # the rebuilt course waits: a batch still grades on the old workers
    lane.join(5)
    assert got == [2] and closed == [1]
    grader.close()
    assert closed == [1, 2]
