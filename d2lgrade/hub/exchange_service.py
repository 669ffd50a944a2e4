"""The exchange as a JupyterHub service: who submitted is the hub login, when is this server's clock.

``python -m d2lgrade.hub.exchange_service --config /etc/d2lgrade/hub.toml`` (as the user ``d2lgrade-exchange``,
with the hub's ``JUPYTERHUB_API_URL`` and the service's ``JUPYTERHUB_API_TOKEN``). Every request carries a hub
token (``Authorization: token …``) that may reach this service; the hub says whose it is and which course groups
they are in (:class:`d2lgrade.hub.identity.HubIdentity`). Nothing in a request body names a person or a time.

| route (under ``/services/exchange/``) | who |
|---|---|
| ``GET whoami`` | anyone with a token: their name, roles in the hub's courses, the caps on uploads |
| ``GET courses/<c>/assignments`` | course members (students: released assignments only) |
| ``GET courses/<c>/assignments/<a>`` | course members: the files of the current release |
| ``POST courses/<c>/assignments/<a>/release`` | instructors: a new release (``replace`` to supersede one) |
| ``POST courses/<c>/assignments/<a>/hide`` | instructors: students no longer see it; submissions stay |
| ``POST courses/<c>/assignments/<a>/submissions`` | course members: a new submission by the caller |
| ``GET courses/<c>/assignments/<a>/policy`` | course members: the submission policy, and what the caller has left |
| ``POST courses/<c>/policies`` | instructors, and the grading service (``d2lgrade serve`` publishes the course's) |
| ``GET courses/<c>/submissions?assignment=&student=&after=`` | staff: all; a student: their own |
| ``GET courses/<c>/submissions/<id>[?contents=0]`` | staff, and the submission's student: its files (or state only) |
| ``POST courses/<c>/submissions/<id>/feedback`` | TAs and instructors |
| ``POST courses/<c>/submissions/<id>/result`` | TAs, instructors, the grading service: what grading on submit found |
| ``GET courses/<c>/submissions/<id>/feedback`` | the submission's student, and staff |
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import ipaddress
import json
import logging
import os
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tornado import httpserver, web

from d2lgrade.hub.config import ConfigError, HubConfig
from d2lgrade.hub.exchange_files import NO_TOKEN, ExchangeFile, FilesRefused, TooLarge, checked_files, decode, encode
from d2lgrade.hub.exchange_store import CapReached, ExchangeStore, Release, Submission
from d2lgrade.hub.identity import COURSE_ID, HubIdentity, Identity, Role
from d2lgrade.hub.submission_policy import Policy, PolicyError, allowance, refusal
from d2lgrade.hub.submission_result import ResultError, SubmissionResult

LOG = logging.getLogger("d2lgrade.exchange")


@dataclass
class Exchange:
    """What every handler shares: the hub's word on identities, the store, the hub's courses."""

    identity: HubIdentity
    store: ExchangeStore
    courses: frozenset[str]
    staff_services: frozenset[str] = frozenset({"grader"})
    """Hub services that act as a TA in every course: the grading service polls submissions and attaches feedback
    (grading on submit). Only a hub service token can be one: a user named "grader" is still a user."""
    polled: dict[str, float] = field(default_factory=dict)
    """When a staff service last polled each course's submissions (monotonic seconds): grading on submit is live."""

    def graded_on_submit(self, course: str) -> bool:
        """Whether a grading service polled the course in the last 10 s (it polls every fraction of a second)."""
        return time.monotonic() - self.polled.get(course, -1e9) < 10.0


class Refused(web.HTTPError):
    """A request refused with a sentence for the person who made it."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(status, message)
        self.message = message


class Handler(web.RequestHandler):
    """JSON in and out; the caller identified by the hub before anything else happens."""

    who: Identity

    def initialize(self, exchange: Exchange) -> None:
        self.exchange = exchange
        self.store = exchange.store

    def check_xsrf_cookie(self) -> None:
        """Only tokens in a header are read, never cookies: no cross-site request can carry one."""

    async def prepare(self) -> None:
        who = await self.exchange.identity.identify(self.exchange.identity.token_of(self))
        if who is None:
            raise Refused(401, NO_TOKEN + " (a token must allow access to the exchange service)")
        self.who = who

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        error = kwargs.get("exc_info", (None, None))[1]
        if isinstance(error, Refused):
            message = error.message
        elif status_code < 500:
            message = self._reason
        else:
            message = "the exchange failed on this request (an internal error, logged); tell your instructor"
        self.set_header("Content-Type", "application/json")
        self.finish(json.dumps({"error": message}))

    def reply(self, data: Any, status: int = 200) -> None:
        self.set_status(status)
        self.set_header("Content-Type", "application/json")
        self.finish(json.dumps(data))

    def role(self, course: str, needed: Role, doing: str) -> Role:
        """The caller's role in ``course``, if it is at least ``needed``; else a refusal saying who may."""
        if course not in self.exchange.courses:
            raise Refused(404, f"there is no course {course!r} on this hub (check --course or "
                               "CourseDirectory.course_id)")
        role = self.who.role_in(course)
        if self.who.kind == "service" and self.who.name in self.exchange.staff_services:
            role = Role.TA
        if role == Role.NONE:
            raise Refused(403, f"you ({self.who.name}) are not in course {course}: ask its instructor to add you")
        if role < needed:
            who = {Role.TA: "TAs and instructors", Role.INSTRUCTOR: "instructors"}[needed]
            shown = {Role.STUDENT: "a student", Role.TA: "a TA"}[role]
            raise Refused(403, f"only {who} of {course} may {doing}; you ({self.who.name}) are {shown} there")
        return role

    def body(self) -> dict[str, Any]:
        try:
            data = json.loads(self.request.body or b"{}")
        except (ValueError, UnicodeDecodeError):
            data = None
        if not isinstance(data, dict):
            raise Refused(400, "the request body is not a JSON object")
        return data

    def files(self, what: str) -> list[ExchangeFile]:
        try:
            return checked_files(decode(self.body().get("files")), self.store.limits, what)
        except FilesRefused as e:
            raise Refused(413 if isinstance(e, TooLarge) else 400, f"{what} refused: {e}") from None

    def visible_release(self, course: str, assignment: str, role: Role) -> Release:
        """The assignment's current release, if the caller may see it (students: released and not hidden)."""
        release = self.store.current_release(course, _checked_id(assignment))
        if release is None or (release.hidden and role < Role.TA):
            raise Refused(404, f"{assignment} is not released in course {course} (check the name, or ask your "
                               "instructor whether it is out yet)")
        return release

    def own_submission(self, course: str, sid: str) -> Submission:
        """Submission ``sid`` of ``course``, if the caller is staff or its student (404 otherwise: no hint)."""
        role = self.role(course, Role.STUDENT, "see submissions")
        found = self.store.submission(int(sid)) if sid.isdigit() else None
        if found is None or found.course != course or (role < Role.TA and found.student != self.who.name):
            raise Refused(404, f"no submission {sid} of yours in course {course}")
        return found


def _checked_id(name: str) -> str:
    if not COURSE_ID.match(name):
        raise Refused(400, f"{name[:80]!r} is not an assignment name (letters, digits, '_', '.', '-')")
    return name


def _release_json(r: Release) -> dict[str, Any]:
    return {"course_id": r.course, "assignment_id": r.assignment, "released_at": r.at, "hidden": r.hidden,
            "files": list(r.paths)}


def _submission_json(s: Submission) -> dict[str, Any]:
    return {"id": s.id, "course_id": s.course, "assignment_id": s.assignment, "student_id": s.student,
            "timestamp": s.at, "files": list(s.paths), "feedback": s.feedback, "result": s.result}


class WhoAmI(Handler):
    def get(self) -> None:
        roles = {c: self.who.role_in(c).name.lower() for c in sorted(self.exchange.courses)
                 if self.who.role_in(c) > Role.NONE}
        self.reply({"name": self.who.name, "courses": roles, "limits": dataclasses.asdict(self.store.limits)})


class Assignments(Handler):
    def get(self, course: str) -> None:
        role = self.role(course, Role.STUDENT, "list assignments")
        self.reply([_release_json(r) for r in self.store.current_releases(course) if role >= Role.TA or not r.hidden])


class Assignment(Handler):
    def get(self, course: str, assignment: str) -> None:
        release = self.visible_release(course, assignment, self.role(course, Role.STUDENT, "fetch assignments"))
        self.reply(_release_json(release) | {"contents": encode(self.store.files("release", release.id))})


class ReleaseAssignment(Handler):
    def post(self, course: str, assignment: str) -> None:
        self.role(course, Role.INSTRUCTOR, "release assignments")
        current = self.store.current_release(course, _checked_id(assignment))
        if current is not None and not current.hidden and not self.body().get("replace"):
            raise Refused(409, f"{assignment} is already released in {course}; release it again with --force to "
                               "replace it (submissions are kept)")
        release = self.store.release(course, assignment, self.who.name, self.files("the release"))
        LOG.info("%s released %s/%s at %s (%d files)", self.who.name, course, assignment, release.at, len(release.paths))
        self.reply(_release_json(release), 201)


class HideAssignment(Handler):
    def post(self, course: str, assignment: str) -> None:
        self.role(course, Role.INSTRUCTOR, "unrelease assignments")
        self.visible_release(course, assignment, Role.STUDENT)
        hidden = self.store.hide(course, assignment, self.who.name)
        LOG.info("%s hid %s/%s at %s", self.who.name, course, assignment, hidden.at)
        self.reply(_release_json(hidden))


def _policy(store: ExchangeStore, course: str, assignment: str) -> Policy:
    """The assignment's published policy; the defaults when none (or a broken one: logged, never a crash)."""
    try:
        return Policy.from_dict(assignment, store.policy(course, assignment) or {})
    except (PolicyError, TypeError):
        LOG.exception("the policy of %s/%s is broken; the defaults apply", course, assignment)
        return Policy()


class Submit(Handler):
    def post(self, course: str, assignment: str) -> None:
        role = self.role(course, Role.STUDENT, "submit")
        self.visible_release(course, assignment, min(role, Role.STUDENT))
        files = self.files("the submission")
        policy = _policy(self.store, course, assignment)
        try:
            made = self.store.submit(course, assignment, self.who.name, files,
                                     admit=lambda earlier, now: refusal(policy, assignment, earlier, now))
        except CapReached as e:
            raise Refused(403, str(e)) from None
        LOG.info("%s submitted %s/%s at %s (%d files, %d bytes)", made.student, course, assignment, made.at,
                 len(files), sum(len(f.data) for f in files))
        used = len(self.store.submissions(course, assignment, made.student))
        self.reply(_submission_json(made) | {"allowance": allowance(policy, used),
                                             "graded_on_submit": self.exchange.graded_on_submit(course)}, 201)


class AssignmentPolicy(Handler):
    def get(self, course: str, assignment: str) -> None:
        role = self.role(course, Role.STUDENT, "see policies")
        self.visible_release(course, assignment, role)
        policy = _policy(self.store, course, assignment)
        used = len(self.store.submissions(course, assignment, self.who.name)) if role == Role.STUDENT else 0
        self.reply({"policy": policy.as_dict(), "used": used, "allowance": allowance(policy, used),
                    "graded_on_submit": self.exchange.graded_on_submit(course)})


class Policies(Handler):
    def post(self, course: str) -> None:
        staff_service = self.who.kind == "service" and self.who.name in self.exchange.staff_services
        self.role(course, Role.TA if staff_service else Role.INSTRUCTOR, "set submission policies")
        given = self.body().get("policies")
        if not isinstance(given, dict):
            raise Refused(400, "send {\"policies\": {assignment: policy}}")
        try:
            checked = {_checked_id(a): Policy.from_dict(a, p).as_dict() for a, p in given.items()}
        except (PolicyError, TypeError) as e:
            raise Refused(400, f"policies of {course} refused: {e}") from None
        at = self.store.set_policies(course, self.who.name, checked)
        LOG.info("%s set the policies of %s at %s: %s", self.who.name, course, at, ", ".join(sorted(checked)))
        self.reply({"course": course, "at": at, "assignments": sorted(checked)}, 201)


class Submissions(Handler):
    def get(self, course: str) -> None:
        role = self.role(course, Role.STUDENT, "list submissions")
        assignment = self.get_argument("assignment", None)
        student = self.get_argument("student", None)
        if role < Role.TA:
            if student not in (None, self.who.name):
                raise Refused(403, f"you ({self.who.name}) may list only your own submissions")
            student = self.who.name
        if self.who.kind == "service" and self.who.name in self.exchange.staff_services:
            self.exchange.polled[course] = time.monotonic()
        after = self.get_argument("after", "0")
        if not after.isdigit():
            raise Refused(400, f"after={after[:40]!r} is not a submission id")
        self.reply([_submission_json(s) for s in self.store.submissions(course, assignment, student, int(after))])


class SubmissionFiles(Handler):
    def get(self, course: str, sid: str) -> None:
        found = self.own_submission(course, sid)
        if self.get_argument("contents", "1") == "0":  # its state only (feedback, result): no download
            self.reply(_submission_json(found))
            return
        self.reply(_submission_json(found) | {"contents": encode(self.store.files("submission", found.id))})


class Feedback(Handler):
    def get(self, course: str, sid: str) -> None:
        found = self.own_submission(course, sid)
        self.reply(_submission_json(found) | {"contents": encode(self.store.files("feedback", found.id))})

    def post(self, course: str, sid: str) -> None:
        self.role(course, Role.TA, "release feedback")
        found = self.own_submission(course, sid)
        files = self.files("the feedback")
        if any("/" in f.path or not f.path.endswith(".html") for f in files):
            raise Refused(400, "feedback is one <notebook>.html file per notebook, no folders")
        at = self.store.add_feedback(found.id, self.who.name, files)
        LOG.info("%s released feedback on %s's %s/%s (%s) at %s", self.who.name, found.student, course,
                 found.assignment, found.at, at)
        self.reply({"submission": found.id, "released_at": at}, 201)


class Result(Handler):
    def post(self, course: str, sid: str) -> None:
        self.role(course, Role.TA, "post grading results")
        found = self.own_submission(course, sid)
        try:
            result = SubmissionResult.from_dict(self.body().get("result"))
        except ResultError as e:
            raise Refused(400, f"the result for submission {found.id} was refused: {e}") from None
        at = self.store.add_result(found.id, self.who.name, result.as_dict())
        LOG.info("%s posted a %s result on %s's %s/%s (%s) at %s", self.who.name, result.state, found.student,
                 course, found.assignment, found.at, at)
        self.reply({"submission": found.id, "at": at}, 201)


class NotFound(Handler):
    def get(self, *args: str) -> None:
        raise Refused(404, f"the exchange has no {self.request.path} (is the nbgrader client the same version?)")

    post = get


def make_app(exchange: Exchange, prefix: str = "/services/exchange/") -> web.Application:
    p = "/" + prefix.strip("/") + "/"
    c = r"courses/([^/]+)"
    routes: list[tuple[str, type[Handler]]] = [
        ("whoami", WhoAmI), (f"{c}/assignments", Assignments), (f"{c}/assignments/([^/]+)", Assignment),
        (f"{c}/assignments/([^/]+)/release", ReleaseAssignment), (f"{c}/assignments/([^/]+)/hide", HideAssignment),
        (f"{c}/assignments/([^/]+)/submissions", Submit), (f"{c}/assignments/([^/]+)/policy", AssignmentPolicy),
        (f"{c}/policies", Policies), (f"{c}/submissions", Submissions),
        (f"{c}/submissions/([^/]+)", SubmissionFiles), (f"{c}/submissions/([^/]+)/feedback", Feedback),
        (f"{c}/submissions/([^/]+)/result", Result),
        (".*", NotFound)]
    return web.Application([(p + route, handler, {"exchange": exchange}) for route, handler in routes],
                           default_handler_class=NotFound, default_handler_args={"exchange": exchange})


def serve(exchange: Exchange, ip: str, port: int, prefix: str) -> httpserver.HTTPServer:
    """Listen (call inside a running event loop); bodies larger than an upload within the caps are cut off."""
    server = httpserver.HTTPServer(make_app(exchange, prefix), max_body_size=exchange.store.limits.body_bytes())
    server.listen(port, ip)
    return server


def is_loopback(ip: str) -> bool:
    try:
        return ipaddress.ip_address(ip).is_loopback
    except ValueError:
        return ip == "localhost"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m d2lgrade.hub.exchange_service", description=__doc__.split("\n")[0])
    parser.add_argument("--config", type=Path, default=Path("/etc/d2lgrade/hub.toml"), help="the hub's hub.toml")
    parser.add_argument("--data", type=Path, help="the store's folder (default: <hub state>/exchange)")
    parser.add_argument("--ip", help="address to listen on (default: [services.exchange] ip, 127.0.0.1)")
    parser.add_argument("--port", type=int, help="port (default: [services.exchange] port)")
    parser.add_argument("--allow-non-loopback", action="store_true",
                        help="listen on an address other users' programs can reach directly (never needed behind "
                             "the hub's proxy on the same machine)")
    args = parser.parse_args(argv)
    os.umask(0o077)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    try:
        config = HubConfig.load(args.config)
    except ConfigError as e:
        print(f"exchange: {e}", file=sys.stderr)
        return 2
    ip, port = args.ip or config.exchange.ip, args.port or config.exchange.port
    if not is_loopback(ip) and not args.allow_non_loopback:
        print(f"exchange: refusing to listen on {ip}: the service must be reached through the hub's proxy; use "
              "127.0.0.1 (or --allow-non-loopback if you really mean it)", file=sys.stderr)
        return 2
    if not os.environ.get("JUPYTERHUB_API_TOKEN") or not os.environ.get("JUPYTERHUB_API_URL"):
        print("exchange: JUPYTERHUB_API_URL and JUPYTERHUB_API_TOKEN must be set (the hub sets them for a managed "
              "service; the systemd unit reads the token from the secrets folder's exchange.token)", file=sys.stderr)
        return 2
    os.environ.setdefault("JUPYTERHUB_SERVICE_NAME", "exchange")  # the scope every caller's token must carry
    data = args.data or config.state / "exchange"
    data.parent.mkdir(parents=True, exist_ok=True)
    exchange = Exchange(HubIdentity(), ExchangeStore(data), frozenset(config.courses))
    prefix = os.environ.get("JUPYTERHUB_SERVICE_PREFIX", "/services/exchange/")
    asyncio.run(_run(exchange, ip, port, prefix))
    return 0


async def _run(exchange: Exchange, ip: str, port: int, prefix: str) -> None:
    serve(exchange, ip, port, prefix)
    LOG.info("exchange listening on http://%s:%d%s (courses: %s; store %s)", ip, port, prefix,
             ", ".join(sorted(exchange.courses)), exchange.store.folder)
    await asyncio.Event().wait()


if __name__ == "__main__":
    sys.exit(main())
