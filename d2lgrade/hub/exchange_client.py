"""nbgrader's exchange steps over the class server's exchange service (:mod:`d2lgrade.hub.exchange_service`).

Named in ``nbgrader_config.py`` by strings (``c.ExchangeFactory.submit = "d2lgrade.hub.exchange_client.HubSubmit"``,
…, ``c.HubExchange.url``) when ``D2LGRADE_EXCHANGE_URL`` is set. Every request carries the user's hub token
(``JUPYTERHUB_API_TOKEN``, which JupyterHub puts in each user's server); who submitted and when are the service's
answer, never a ``--student`` option, an environment variable or a ``timestamp.txt``. Without a token or a URL
each step stops with the remedy: it never falls back to a shared folder.

What each step leaves on disk is nbgrader's own (``exchange/default/*.py``): the fetched assignment in
``<assignment>/``, feedback in ``<assignment>/feedback/<timestamp>/``, collected submissions in
``submitted/<student>/<assignment>/`` with ``timestamp.txt``; the list's dicts have the same keys, so the
formgrader and JupyterLab's Assignment List work unchanged.
"""

from __future__ import annotations

import fnmatch
import glob
import hashlib
import json
import os
import re
import secrets
import shutil
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

from nbgrader.exchange import ExchangeError, abc
from nbgrader.utils import ignore_patterns, parse_utc
from traitlets import Bool, Float, Unicode

from d2lgrade.course.access import Access
from d2lgrade.hub.exchange_files import (
    NO_TOKEN,
    ExchangeFile,
    FilesRefused,
    Limits,
    check_path,
    checked_files,
    decode,
    encode,
)
from d2lgrade.hub.exchange_local import (
    LinkRefused,
    files_under,
    folder_path,
    open_folder,
    read_file,
    read_folder,
    subfolder,
    write_replacing,
)
from d2lgrade.hub.submission_policy import Policy, summary
from d2lgrade.hub.submission_result import ResultError, SubmissionResult, describe

INCOMING = Limits(file_bytes=2**62, files=2**31, total_bytes=2**62, depth=64, path_chars=4096)
"""What the client accepts from the service: paths checked, sizes as the service's own caps allowed."""
EXPLICIT_STUDENT = ("the exchange takes who you are from your JupyterHub login: {what} for another student is not "
                    "possible; leave out --student (CourseDirectory.student_id)")


class HubExchange(abc.Exchange):
    """What every step shares: the service's URL, the user's token, requests and their refusals as ExchangeError."""

    url = Unicode("", help="The exchange service, e.g. http://127.0.0.1:8000/services/exchange (the hub's proxy); "
                           "set from D2LGRADE_EXCHANGE_URL by the course's nbgrader_config.py.").tag(config=True)
    timeout = Float(120.0, help="Seconds to wait for the exchange service's answer.").tag(config=True)
    path_includes_course = Bool(False, help="Fetch into <course>/<assignment> instead of <assignment>, as "
                                            "nbgrader's own Exchange.path_includes_course.").tag(config=True)

    def init_src(self) -> None:
        """Nothing to prepare by default (each step overrides what it needs)."""

    def init_dest(self) -> None:
        """Nothing to prepare by default."""

    def copy_files(self) -> None:
        """Nothing to transfer by default."""

    def api(self, method: str, path: str, body: Any = None, **query: str) -> Any:
        """Ask the service; any refusal or failure becomes ExchangeError with the service's sentence."""
        token = os.environ.get("JUPYTERHUB_API_TOKEN", "")
        if not token:
            self.fail(NO_TOKEN + " (JUPYTERHUB_API_TOKEN is not set)")
        if not self.url:
            self.fail("no exchange service is configured: c.HubExchange.url is empty (the class server sets "
                      "D2LGRADE_EXCHANGE_URL in every user's server; ask the course's administrator)")
        address = self.url.rstrip("/") + "/" + path
        if query:
            address += "?" + urllib.parse.urlencode(query)
        request = urllib.request.Request(address, method=method, headers={
            "Authorization": f"token {token}", "Content-Type": "application/json"},
            data=None if body is None else json.dumps(body).encode())
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        try:
            with opener.open(request, timeout=self.timeout) as answer:
                return json.loads(answer.read() or b"null")
        except urllib.error.HTTPError as e:
            self.fail(f"{_error_sentence(e)} (the exchange answered {e.code} to {method} {path})")
        except (urllib.error.URLError, OSError) as e:
            reason = getattr(e, "reason", e)
            self.fail(f"cannot reach the exchange at {self.url} ({reason}): is the class server up? Try again in a "
                      "minute, then tell your instructor")

    def course(self) -> str:
        course = self.coursedir.course_id
        if not course:
            self.fail("No course id specified. Re-run with --course COURSE (your course's id, e.g. d2l-ch2-math).")
        return course

    def local_dir(self, course: str, assignment: str) -> Path:
        """Where a student's copy of ``assignment`` lives (nbgrader's ``<assignment_dir>/[<course>/]<assignment>``)."""
        root = Path(self.assignment_dir)
        return (root / course / assignment if self.path_includes_course else root / assignment).absolute()

    def whoami(self) -> dict[str, Any]:
        return self.api("GET", "whoami")

    def fetch_feedback(self, course: str, assignment: str, sub: dict[str, Any]) -> None:
        """One submission's feedback into ``<assignment>/feedback/<its timestamp>/``, where nbgrader puts it."""
        answer = self.api("GET", f"courses/{_quote(course)}/submissions/{sub['id']}/feedback")
        files = [f for f in decode(answer["contents"]) if "/" not in check_path(f.path, INCOMING)]
        self.write_feedback(self.local_dir(course, assignment) / "feedback", sub["timestamp"], files)

    def write_feedback(self, dest: Path, stamp: str, files: list[ExchangeFile]) -> None:
        dest.mkdir(parents=True, exist_ok=True)
        root = open_folder(dest)
        try:
            folder = subfolder(root, check_path(stamp, Limits(depth=1)), f"{dest}/{stamp}")
            try:
                for f in files:
                    write_replacing(folder, f.path, f.data, f"{dest}/{stamp}/{f.path}")
                    self.log.info("Fetched feedback: %s", dest / stamp / f.path)
            finally:
                os.close(folder)
        except OSError as e:
            self.fail(f"feedback not written to {dest}/{stamp}: {e}")
        finally:
            os.close(root)

    def refuse_other_student(self, what: str) -> None:
        """Submitting or fetching feedback as someone else is refused before anything is sent."""
        student = self.coursedir.student_id
        if student not in ("*", "") and student != self.whoami()["name"]:
            self.fail(EXPLICIT_STUDENT.format(what=what))

    def ignore(self) -> Callable[[str, list[str]], list[str]]:
        return ignore_patterns(exclude=self.coursedir.ignore, include=self.coursedir.include,
                               max_file_size=self.coursedir.max_file_size, log=self.log)

    def read_folder(self, root: Path, what: str) -> list[ExchangeFile]:
        """The files of ``root`` as the service will take them; ExchangeError with the cap before sending."""
        limits = Limits(**self.whoami()["limits"])
        try:
            return checked_files(read_folder(root, limits, self.ignore(), self.log).files, limits, what)
        except FilesRefused as e:
            self.fail(f"{what} from {root} not sent: {e}")


def _error_sentence(error: urllib.error.HTTPError) -> str:
    try:
        return str(json.loads(error.read())["error"])
    except (ValueError, KeyError, TypeError, OSError):
        return f"{error.code} {error.reason}"


def _quote(name: str) -> str:
    return urllib.parse.quote(name, safe="")


class HubReleaseAssignment(HubExchange, abc.ExchangeReleaseAssignment):
    """``nbgrader release_assignment``: the course's ``release/<a>/`` as a new release (instructors only);
    ``--force`` supersedes the current release and keeps every submission."""

    def init_src(self) -> None:
        self.src_path = Path(self.coursedir.format_path(self.coursedir.release_directory, ".",
                                                        self.coursedir.assignment_id))
        if not self.src_path.is_dir():
            source = Path(self.coursedir.format_path(self.coursedir.source_directory, ".", self.coursedir.assignment_id))
            hint = "run `nbgrader generate_assignment` first" if source.is_dir() else "check the assignment's name"
            self.fail(f"Assignment not found at {self.src_path}: {hint}.")

    def copy_files(self) -> None:
        course, assignment = self.course(), self.coursedir.assignment_id
        files = self.read_folder(self.src_path, "the release")
        self.api("POST", f"courses/{_quote(course)}/assignments/{_quote(assignment)}/release",
                 {"files": encode(files), "replace": self.force})
        self.log.info("Released as: %s %s (%d files)", course, assignment, len(files))


class HubFetchAssignment(HubExchange, abc.ExchangeFetchAssignment):
    """``nbgrader fetch_assignment``: the current release into ``<assignment>/``, never over the student's work
    (``--replace`` adds missing files only)."""

    def init_dest(self) -> None:
        self.dest_path = self.local_dir(self.course(), self.coursedir.assignment_id)
        if self.dest_path.is_dir() and not self.replace_missing_files:
            self.fail(f"You already have a copy of the assignment in this directory: {self.dest_path} (rename it, "
                      "or fetch with --replace to add only missing files)")

    def copy_files(self) -> None:
        course, assignment = self.course(), self.coursedir.assignment_id
        release = self.api("GET", f"courses/{_quote(course)}/assignments/{_quote(assignment)}")
        files = [f for f in checked_files(decode(release["contents"]), INCOMING, "the release")
                 if not any(fnmatch.fnmatch(part, g) for part in f.path.split("/") for g in self.coursedir.ignore)]
        self.dest_path.parent.mkdir(parents=True, exist_ok=True)
        root = open_folder(self.dest_path.parent)
        try:
            target = subfolder(root, self.dest_path.name, str(self.dest_path))
            try:
                written = files_under(target, files, str(self.dest_path), keep_existing=True)
            finally:
                os.close(target)
        except (LinkRefused, OSError) as e:
            self.fail(f"fetching {assignment} into {self.dest_path} stopped: {e}")
        finally:
            os.close(root)
        if self.replace_missing_files:
            for path in written:
                self.log.warning("Replacing missing file '%s'", path)
        self.log.info("Fetched as: %s %s", course, assignment)


class HubSubmit(HubExchange, abc.ExchangeSubmit):
    """``nbgrader submit``: the files of ``<assignment>/`` that the user can read, as a new submission recorded
    under their hub name at the service's time."""

    wait_for_grade = Float(15.0, help="When the course grades on submit: seconds to wait for the grade (and to fetch "
                                      "the feedback) after submitting; 0 to return at once.").tag(config=True)

    def init_src(self) -> None:
        self.refuse_other_student("submitting")
        self.src_path = self.local_dir(self.course(), self.coursedir.assignment_id)
        if not self.src_path.is_dir():
            self.fail(f"Assignment not found at {self.src_path}: fetch it first, or run this where its folder is.")

    def copy_files(self) -> None:
        course, assignment = self.course(), self.coursedir.assignment_id
        files = self.read_folder(self.src_path, "the submission")
        self.check_notebooks(course, assignment, {f.path for f in files if f.path.endswith(".ipynb")})
        made = self.api("POST", f"courses/{_quote(course)}/assignments/{_quote(assignment)}/submissions",
                        {"files": encode(files)})
        self.timestamp = made["timestamp"]
        self.log.info("Submitted as: %s %s %s (%s)", course, assignment, made["timestamp"], made.get("allowance", ""))
        if made.get("graded_on_submit") and self.wait_for_grade > 0:
            self.await_grade(course, assignment, made)

    def await_grade(self, course: str, assignment: str, made: dict[str, Any]) -> None:
        """With grading on submit: wait (a few seconds at most) for the grade, then fetch the feedback page, so the
        Assignment List shows both as soon as it refreshes after Submit."""
        deadline = time.monotonic() + self.wait_for_grade
        while True:
            sub = self.api("GET", f"courses/{_quote(course)}/submissions/{made['id']}", contents="0")
            if sub.get("result") is not None or time.monotonic() > deadline:
                break
            time.sleep(0.1)
        result = sub.get("result")
        self.log.info("%s: %s", assignment, describe(_result(result), waiting=True))
        if result is not None and sub["feedback"]:
            self.fetch_feedback(course, assignment, sub)

    def check_notebooks(self, course: str, assignment: str, submitted: set[str]) -> None:
        """nbgrader's ``strict``: refuse when a released notebook is missing; otherwise warn."""
        releases = self.api("GET", f"courses/{_quote(course)}/assignments")
        release = next((r for r in releases if r["assignment_id"] == assignment and not r["hidden"]), None)
        if release is None:
            self.fail(f"{assignment} is not released in course {course}: check the name (nbgrader list shows "
                      "what is released)")
        released = {p for p in release["files"] if p.endswith(".ipynb")}
        missing, extra = sorted(released - submitted), sorted(submitted - released)
        if missing or extra:
            message = f"missing notebooks: {', '.join(missing) or 'none'}; extra notebooks: {', '.join(extra) or 'none'}"
            if missing and self.strict:
                self.fail(f"Assignment {assignment} not submitted: {message}")
            self.log.warning("Possible missing notebooks and/or extra notebooks submitted for %s: %s", assignment,
                             message)


class HubList(HubExchange, abc.ExchangeList):
    """``nbgrader list``: released assignments (outbound), every submission (``--inbound``, staff) or one's own
    (``--cached``), in nbgrader's dict format; ``--remove`` hides a release (submissions stay)."""

    def courses(self) -> list[str]:
        return [self.coursedir.course_id] if self.coursedir.course_id else sorted(self.whoami()["courses"])

    def wanted(self, name: str) -> bool:
        return self.coursedir.assignment_id in ("", "*", name)

    def list_files(self) -> list[dict[str, Any]]:
        if self.inbound or self.cached:
            found = self.submissions()
            if self.cached:
                for group in found:
                    self.say_grades(group)
            for group in found:
                for info in group["submissions"]:
                    self.log.info("%s %s %s %s%s", info["course_id"], info["student_id"], info["assignment_id"],
                                  info["timestamp"], _feedback_note(info))
            return found
        released = self.released()
        for info in released:
            self.log.info("%s %s%s", info["course_id"], info["assignment_id"],
                          " (already downloaded)" if info["status"] == "fetched" else "")
        return released

    def remove_files(self) -> list[dict[str, Any]]:
        if self.inbound or self.cached:
            self.fail("submissions are never removed from the exchange (each one is kept as received)")
        released = self.released()
        for info in released:
            self.api("POST", f"courses/{_quote(info['course_id'])}/assignments/{_quote(info['assignment_id'])}/hide")
            info["status"] = "removed"
            self.log.info("Unreleased %s %s (students no longer see it; its submissions are kept)",
                          info["course_id"], info["assignment_id"])
        return released

    def released(self) -> list[dict[str, Any]]:
        found = []
        for course in self.courses():
            for release in self.api("GET", f"courses/{_quote(course)}/assignments"):
                if not release["hidden"] and self.wanted(release["assignment_id"]):
                    found.append(self.outbound_info(course, release))
        return found

    def outbound_info(self, course: str, release: dict[str, Any]) -> dict[str, Any]:
        assignment = release["assignment_id"]
        local = self.local_dir(course, assignment)
        if local.is_dir():
            notebooks = [{"notebook_id": p.stem, "path": str(p)} for p in sorted(local.glob("*.ipynb"))]
            return {"course_id": course, "assignment_id": assignment, "status": "fetched", "path": str(local),
                    "notebooks": notebooks}
        where = f"{self.url.rstrip('/')}/courses/{course}/assignments/{assignment}"
        notebooks = [{"notebook_id": Path(p).stem, "path": f"{where}/{p}"} for p in release["files"]
                     if "/" not in p and p.endswith(".ipynb")]
        return {"course_id": course, "assignment_id": assignment, "status": "released", "path": where,
                "notebooks": notebooks}

    def submissions(self) -> list[dict[str, Any]]:
        query = {} if self.coursedir.assignment_id in ("", "*") else {"assignment": self.coursedir.assignment_id}
        if self.cached:
            query["student"] = self.whoami()["name"]
        elif self.coursedir.student_id not in ("", "*"):
            query["student"] = self.coursedir.student_id
        groups: dict[tuple[str, str, str], list[dict[str, Any]]] = {}
        for course in self.courses():
            for sub in self.api("GET", f"courses/{_quote(course)}/submissions", **query):
                info = self.submission_info(sub)
                groups.setdefault((course, sub["student_id"], sub["assignment_id"]), []).append(info)
        return [{"course_id": c, "student_id": s, "assignment_id": a, "status": "submitted",
                 "submissions": sorted(subs, key=lambda x: x["timestamp"])} for (c, s, a), subs in sorted(groups.items())]

    def say_grades(self, group: dict[str, Any]) -> None:
        """The student's own list: each submission's line (JupyterLab's Assignment List shows one text per
        submission, its ``timestamp``) followed by what grading on submit found, the latest also by what is left
        and the assignment's policy. The line still begins with the time, so it sorts as before."""
        course, assignment = group["course_id"], group["assignment_id"]
        try:
            said = self.api("GET", f"courses/{_quote(course)}/assignments/{_quote(assignment)}/policy")
        except ExchangeError:
            said = {}  # unreleased since: the grades still show
        subs = group["submissions"]
        for info in subs:
            words = describe(_result(info.get("result")), waiting=bool(said.get("graded_on_submit")))
            info["timestamp"] += f" — {words}" if words else ""
        if said and subs:
            subs[-1]["timestamp"] += f" · {said['allowance']}; {summary(Policy.from_dict(assignment, said['policy']))}"

    def submission_info(self, sub: dict[str, Any]) -> dict[str, Any]:
        """One submission as nbgrader's list describes it, feedback state included (local against the exchange's)."""
        course, assignment, stamp = sub["course_id"], sub["assignment_id"], sub["timestamp"]
        feedback_dir = self.local_dir(course, assignment) / "feedback" / stamp
        notebooks = []
        for path in (p for p in sub["files"] if "/" not in p and p.endswith(".ipynb")):
            nb_id = Path(path).stem
            local = feedback_dir / f"{nb_id}.html"
            exchange_sha = sub["feedback"].get(f"{nb_id}.html")
            has_local = local.is_file()
            notebooks.append({
                "notebook_id": nb_id, "path": path, "has_local_feedback": has_local,
                "has_exchange_feedback": exchange_sha is not None,
                "local_feedback_path": str(local) if has_local else None,
                "feedback_updated": bool(has_local and exchange_sha
                                         and hashlib.sha256(local.read_bytes()).hexdigest() != exchange_sha)})
        has_local = bool(notebooks) and all(n["has_local_feedback"] for n in notebooks)
        return {"course_id": course, "student_id": sub["student_id"], "assignment_id": assignment,
                "timestamp": stamp, "status": "submitted", "path": f"{self.url.rstrip('/')}/courses/{course}/"
                f"submissions/{sub['id']}", "notebooks": notebooks, "has_local_feedback": has_local,
                "has_exchange_feedback": bool(notebooks) and all(n["has_exchange_feedback"] for n in notebooks),
                "feedback_updated": any(n["feedback_updated"] for n in notebooks),
                "local_feedback_path": str(feedback_dir) if has_local else None, "result": sub.get("result")}


def _feedback_note(info: dict[str, Any]) -> str:
    if info["has_local_feedback"] and not info["feedback_updated"]:
        return " (feedback already fetched)"
    return " (feedback ready to be fetched)" if info["has_exchange_feedback"] else " (no feedback available)"


class HubFetchFeedback(HubExchange, abc.ExchangeFetchFeedback):
    """``nbgrader fetch_feedback``: the user's own feedback, into ``<assignment>/feedback/<timestamp>/``."""

    def init_src(self) -> None:
        self.refuse_other_student("fetching feedback")

    def copy_files(self) -> None:
        course, assignment = self.course(), self.coursedir.assignment_id
        mine = self.api("GET", f"courses/{_quote(course)}/submissions", assignment=assignment,
                        student=self.whoami()["name"])
        with_feedback = [s for s in mine if s["feedback"]]
        if not with_feedback:
            self.log.warning("No feedback yet for %s/%s", course, assignment)
        for sub in with_feedback:
            self.fetch_feedback(course, assignment, sub)



class HubReleaseFeedback(HubExchange, abc.ExchangeReleaseFeedback):
    """``nbgrader release_feedback`` (TAs and instructors): ``feedback/<student>/<assignment>/*.html`` attached
    to the submission whose time is that folder's ``timestamp.txt``."""

    def copy_files(self) -> None:
        course, assignment = self.course(), self.coursedir.assignment_id
        student = self.coursedir.student_id or "*"
        pattern = self.coursedir.format_path(self.coursedir.feedback_directory, student, assignment)
        folders = sorted({Path(p).parent for p in glob.glob(os.path.join(pattern, "*.html"))})
        folders = [f for f in folders if not f.is_symlink() and not f.parent.is_symlink()]
        excluded = set(filter(None, self.coursedir.student_id_exclude.split(",")))
        subs = self.api("GET", f"courses/{_quote(course)}/submissions", assignment=assignment)
        failed = [problem for folder in folders if folder.parent.name not in excluded
                  for problem in [self.release_one(course, folder, subs)] if problem]
        if failed:
            self.fail("feedback not released for: " + "; ".join(failed))

    def release_one(self, course: str, folder: Path, subs: list[dict[str, Any]]) -> str | None:
        """Upload one student's feedback; a sentence saying why not, or None."""
        student = folder.parent.name
        fd = open_folder(folder)
        try:
            raw = read_file(fd, "timestamp.txt")
            contents = {p.name: read_file(fd, p.name, 2**31)
                        for p in sorted(folder.glob("*.html"))}
            files = [ExchangeFile(name, data) for name, data in contents.items() if data is not None]
        finally:
            os.close(fd)
        try:
            stamp = parse_utc(raw.decode().strip()) if raw else None
        except ValueError:
            stamp = None
        match = next((s for s in subs if s["student_id"] == student and stamp and parse_utc(s["timestamp"]) == stamp),
                     None)
        if match is None:
            return (f"{folder}: its timestamp.txt matches no submission of {student} in the exchange (collect, "
                    "autograde and generate_feedback it again)")
        self.api("POST", f"courses/{_quote(course)}/submissions/{match['id']}/feedback", {"files": encode(files)})
        self.log.info("Releasing feedback for student '%s' on assignment '%s/%s' (%s)", student, course,
                      match["assignment_id"], match["timestamp"])
        return None


class HubCollect(HubExchange, abc.ExchangeCollect):
    """``nbgrader collect`` (TAs and instructors): each student's latest submission (``--before-duedate``: the
    latest on time) into ``submitted/<student>/<assignment>/``, in the course's group and modes, without
    following any link there; ``timestamp.txt`` is the service's time of receipt. ``--update`` replaces an
    older collected submission, which moves to ``submitted-earlier/<student>/<assignment>/<its time>/``."""

    def copy_files(self) -> None:
        course, assignment = self.course(), self.coursedir.assignment_id
        query = {"assignment": assignment}
        if self.coursedir.student_id not in ("", "*"):
            query["student"] = self.coursedir.student_id
        chosen = self.choose(self.api("GET", f"courses/{_quote(course)}/submissions", **query))
        if not chosen:
            self.log.warning("No submissions of '%s' for course '%s' to collect", assignment, course)
            return
        self.log.info("Processing %d submissions of '%s' for course '%s'", len(chosen), assignment, course)
        root = Path(self.coursedir.root)
        self.access = Access.for_course(root, self.coursedir.groupshared)
        failed = []
        for sub in chosen:
            try:
                self.collect_one(root, sub)
            except (OSError, FilesRefused, ValueError) as e:
                failed.append(f"{sub['student_id']}: {e}")
        if failed:
            self.fail("not collected: " + "; ".join(failed))

    def choose(self, subs: list[dict[str, Any]]) -> list[dict[str, Any]]:
        by_student: dict[str, list[dict[str, Any]]] = {}
        for sub in subs:
            by_student.setdefault(sub["student_id"], []).append(sub)
        due = self.due_date() if self.before_duedate else None
        chosen = []
        for student_subs in by_student.values():
            newest_first = sorted(student_subs, key=lambda s: s["timestamp"], reverse=True)
            on_time = [s for s in newest_first if due is None or parse_utc(s["timestamp"]) <= due]
            chosen.append((on_time or newest_first)[0])
        return sorted(chosen, key=lambda s: s["student_id"])

    def due_date(self) -> Any:
        from nbgrader.api import Gradebook, MissingEntry

        with Gradebook(self.coursedir.db_url, self.coursedir.course_id) as gb:
            try:
                return gb.find_assignment(self.coursedir.assignment_id).duedate
            except MissingEntry:
                return None

    def collect_one(self, root: Path, sub: dict[str, Any]) -> None:
        student, assignment, stamp = sub["student_id"], sub["assignment_id"], sub["timestamp"]
        check_path(student, Limits(depth=1))
        dest = Path(self.coursedir.format_path(self.coursedir.submitted_directory, student, assignment))
        *parents, name = dest.relative_to(root.absolute()).parts
        start = open_folder(root)
        try:
            parent = folder_path(start, parents, str(root), self.new_folder, self.access.folder_mode)
        finally:
            os.close(start)
        try:
            existing = self.existing(parent, name, dest)
            if existing is not None and not self.replaces(existing, stamp):
                return
            files = decode(self.api("GET", f"courses/{_quote(sub['course_id'])}/submissions/{sub['id']}")["contents"])
            tmp = self.write_copy(parent, name, dest, checked_files(files, INCOMING), stamp)
            if existing is not None:
                self.keep_earlier(root, parent, name, student, assignment, existing)
                self.log.info("Updating submission: %s %s", student, assignment)
            else:
                self.log.info("Collecting submission: %s %s", student, assignment)
            os.rename(tmp, name, src_dir_fd=parent, dst_dir_fd=parent)
        finally:
            os.close(parent)

    def existing(self, parent: int, name: str, dest: Path) -> str | None:
        """The time of the submission already collected at ``dest`` ("" if unknown), None if there is none;
        LinkRefused if something other than a folder is there."""
        try:
            fd = os.open(name, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW, dir_fd=parent)
        except FileNotFoundError:
            return None
        except OSError:
            raise LinkRefused(f"{dest} is a symbolic link or a file: not followed; remove it and collect "
                                 "again") from None
        try:
            return (read_file(fd, "timestamp.txt") or b"").decode(errors="replace").strip()
        finally:
            os.close(fd)

    def replaces(self, existing: str, stamp: str) -> bool:
        try:
            older = not existing or parse_utc(existing) < parse_utc(stamp)
        except ValueError:
            older = True
        if (self.update and older) or (self.before_duedate and existing != stamp):
            return True
        self.log.info("%s: %s", "No newer submission to collect" if self.update else
                      "Submission already exists, use --update to update", existing)
        return False

    def write_copy(self, parent: int, name: str, dest: Path, files: list[ExchangeFile], stamp: str) -> str:
        """The submission written under a temporary name beside ``dest`` (course modes and group); that name."""
        tmp = f".{name}.collect-{secrets.token_hex(4)}"
        os.mkdir(tmp, 0o700, dir_fd=parent)
        try:
            fd = os.open(tmp, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW, dir_fd=parent)
            try:
                mode = self.access.file_mode
                files_under(fd, files, str(dest), self.new_folder, self.new_file, mode, self.access.folder_mode)
                write_replacing(fd, "timestamp.txt", stamp.encode(), f"{dest}/timestamp.txt", self.new_file, mode)
                self.new_folder(fd, str(dest))
            finally:
                os.close(fd)
        except BaseException:
            shutil.rmtree(tmp, dir_fd=parent, ignore_errors=True)
            raise
        return tmp

    def keep_earlier(self, root: Path, parent: int, name: str, student: str, assignment: str, existing: str) -> None:
        """Move the submission collected before to ``submitted-earlier/`` (as ``d2lgrade grade`` keeps them)."""
        safe = re.sub(r"[^0-9A-Za-z_.-]+", "_", existing) or "unknown-time"
        start = open_folder(root)
        try:
            earlier = folder_path(start, ["submitted-earlier", student, assignment], str(root), self.new_folder,
                                  self.access.folder_mode)
        finally:
            os.close(start)
        try:
            taken = set(os.listdir(earlier))
            while safe in taken:
                safe += "_"
            os.rename(name, safe, src_dir_fd=parent, dst_dir_fd=earlier)
        finally:
            os.close(earlier)

    def new_folder(self, fd: int, shown: str) -> None:
        self.group(fd, shown)
        os.fchmod(fd, self.access.folder_mode)  # after chown, which may clear the setgid bit

    def new_file(self, fd: int, shown: str) -> None:
        self.group(fd, shown)
        os.fchmod(fd, self.access.file_mode)

    def group(self, fd: int, shown: str) -> None:
        if os.fstat(fd).st_gid == self.access.gid:
            return
        try:
            os.fchown(fd, -1, self.access.gid)
        except PermissionError:
            self.log.warning("%s: cannot give it the course folder's group (gid %d): you are not in that group",
                             shown, self.access.gid)


def _result(data: Any) -> SubmissionResult | None:
    """The exchange's result for a submission (None: none yet, or one this client cannot read)."""
    try:
        return None if data is None else SubmissionResult.from_dict(data)
    except ResultError:
        return None
