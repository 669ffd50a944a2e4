"""``d2lgrade queue`` (what the grading service is doing, and regrading an assignment for everyone) and
``d2lgrade export`` (final grades as CSV): the instructor's side of grading on submit."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from d2lgrade.course.layout import Course
from d2lgrade.hub.config import HubConfig
from d2lgrade.serve.course_policies import read_policies
from d2lgrade.serve.queue import Item, Queue


def add_parsers(sub: argparse._SubParsersAction) -> None:
    """``serve``, ``queue`` and ``export`` under ``d2lgrade``."""
    s = sub.add_parser("serve", help="grade each submission as it reaches the class server's exchange (root)")
    s.add_argument("--config", default="/etc/d2lgrade/hub.toml", help="the hub's hub.toml")
    s.add_argument("--jobs", default="2", help="warm grading workers per course (default 2)")
    s.set_defaults(run=lambda a: _serve_main(["--config", a.config, "--jobs", a.jobs]))
    q = sub.add_parser("queue", help="grading on submit: waiting, grading, done, failed (with the reason)")
    q.add_argument("--config", type=Path, default=Path("/etc/d2lgrade/hub.toml"), help="the hub's hub.toml")
    q.add_argument("--course-id", dest="course_id", help="one course's rows only (default: the course folder you are "
                   "in, if on the hub)")
    q.add_argument("--regrade", metavar="ASSIGNMENT", help="grade every student's latest submission again")
    q.set_defaults(run=queue_command)
    e = sub.add_parser("export", help="final grades per the policy as CSV for Canvas or Moodle")
    e.add_argument("--config", type=Path, default=Path("/etc/d2lgrade/hub.toml"), help="the hub's hub.toml (the "
                   "queue's scores, for counts = \"best\"); without one, the gradebook alone")
    e.add_argument("--layout", choices=("canvas", "moodle"), default="canvas")
    e.add_argument("--output", type=Path, help="the CSV file (default: the standard output)")
    e.set_defaults(run=export_command)


def _course_id(config: HubConfig, given: str | None) -> str | None:
    if given:
        return given
    here = Path.cwd().resolve()
    return next((c.id for c in config.courses.values() if here.is_relative_to(c.path.resolve())), None)


def queue_lines(items: list[Item], counts: dict[str, int]) -> list[str]:
    lines = [", ".join(f"{n} {state}" for state, n in counts.items())]
    for item in items:
        if item.state == "done":
            what = f"{item.score:g}/{item.max_score:g}, feedback {item.feedback}" + ("" if item.counted else
                                                                                      ", not counted")
        else:
            what = item.reason or f"attempt {item.attempts}" if item.state != "waiting" else "waiting"
        lines.append(f"#{item.exchange_id} {item.received} {item.course}/{item.assignment} {item.student}: "
                     f"{item.state} ({what})")
    return lines


def queue_command(args: argparse.Namespace) -> int:
    """Root reads and requeues in the queue itself; the course staff (not root) through their course folder."""
    config = HubConfig.load(args.config)
    from d2lgrade.serve.__main__ import queue_path

    course = _course_id(config, args.course_id)
    if os.access(queue_path(config), os.R_OK | os.W_OK):
        return _in_queue(Queue(queue_path(config)), course, args.regrade)
    if course is None or course not in config.courses:
        print("queue: which course? run it in your course folder on the hub, or give --course-id")
        return 2
    return _in_course_folder(config.courses[course].path, course, args.regrade)


def _in_queue(queue: Queue, course: str | None, regrade: str | None) -> int:
    if regrade:
        if course is None:
            print("queue: which course? run it in the course folder or give --course-id")
            return 2
        n = queue.requeue_latest(course, regrade)
        print(f"{course}/{regrade}: {n} students' latest submissions queued to grade again; their feedback is "
              "replaced as each is graded")
        return 0
    for line in queue_lines(queue.items(course), queue.counts(course)):
        print(line)
    return 0


def _in_course_folder(root: Path, course: str, regrade: str | None) -> int:
    from d2lgrade.serve.course_files import FOLDER, STATUS, read_status, request_regrade

    if regrade:
        try:
            request_regrade(root, regrade)
        except (OSError, ValueError) as e:
            print(f"queue: the regrade of {regrade} could not be asked for: {e}")
            return 2
        print(f"{course}/{regrade}: regrade asked for; the grading service queues every student's latest submission "
              "within a second, and replaces their feedback as each is graded (`d2lgrade queue` shows it)")
        return 0
    try:
        counts, items = read_status(root)
    except FileNotFoundError:
        print(f"queue: {root / FOLDER / STATUS}/ is not there yet: grading on submit has not served course {course} "
              "(is grade_on_submit = true in hub.toml, and d2lgrade-serve running?)")
        return 1
    for line in queue_lines(items, counts):
        print(line)
    return 0


def export_command(args: argparse.Namespace) -> int:
    from d2lgrade.serve.export import canvas_csv, final_grades, moodle_csv  # nbgrader's gradebook: only when asked

    course = Course.find()
    done: list[Item] = []
    if args.config.is_file():
        done = _done_items(HubConfig.load(args.config), course.root)
    grades = final_grades(course, read_policies(course.root), done)
    text = (canvas_csv if args.layout == "canvas" else moodle_csv)(grades)
    if args.output:
        args.output.write_text(text, encoding="utf-8")
        print(f"{len(grades)} grades written to {args.output} ({args.layout} layout)")
    else:
        print(text, end="")
    return 0


def _done_items(config: HubConfig, root: Path) -> list[Item]:
    """The queue's graded rows of the course at ``root``: from the queue (root), else from the course folder's copy."""
    from d2lgrade.serve.__main__ import queue_path
    from d2lgrade.serve.course_files import read_status

    course_id = next((c.id for c in config.courses.values() if root.resolve() == c.path.resolve()), None)
    if course_id is None:
        return []
    if os.access(queue_path(config), os.R_OK):
        return Queue(queue_path(config)).items(course_id, state="done")
    try:
        return [i for i in read_status(root)[1] if i.state == "done"]
    except FileNotFoundError:
        return []


def _serve_main(argv: list[str]) -> int:
    from d2lgrade.serve.__main__ import main

    return main(argv)
