"""The grading service: TAs and instructors autograde through it without root, in the sandbox, as ``d2lgrade grade``.

Only root starts the sandbox's kernels, so this service runs as root (``python -m d2lgrade.hub.grading_service
--config /etc/d2lgrade/hub.toml``; hub service ``grader``, behind the hub's proxy on 127.0.0.1:8011). A staff
member's ``nbgrader autograde`` sends one submission (:mod:`d2lgrade.grading.remote`) to ``POST
/services/grader/grade/<course>/<assignment>`` with ``{"student", "source", "notebook": base64}``; the answer is
the report a cluster worker writes (:mod:`d2lgrade.grading.cluster_report`), which the client checks against its
own bundle. Who asks comes from the hub token alone (:class:`~d2lgrade.hub.identity.HubIdentity`): 401 without a
token that may reach this service, 403 unless the caller is a TA or an instructor of the course. The course folder
is the one hub.toml names and the assignment is its built bundle: a request names neither a path nor a bundle.
Submissions are graded one at a time, in a thread of their own (the hub's requests are answered meanwhile), each
assignment kept warm per bundle hash. Every request leaves one audit line: who, which course, assignment, student,
and what came of it.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import binascii
import json
import logging
import os
import re
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tornado import web

from d2lgrade.course.layout import Course
from d2lgrade.grading.cluster_report import report_text
from d2lgrade.grading.ledger import digest
from d2lgrade.grading.remote import checking_assignment
from d2lgrade.grading.steps import MAX_NOTEBOOK_BYTES, Assignment, grade_bytes
from d2lgrade.grading.workers import Work, job_of, submit_work, worker_pool
from d2lgrade.hub.config import DEFAULT_PATH, ConfigError, HubConfig
from d2lgrade.hub.identity import COURSE_ID, HubIdentity, Identity, Role
from d2lgrade.judging.bundle import Bundle
from d2lgrade.sandbox.kernels import SandboxUnavailable

LOG = logging.getLogger("d2lgrade.hub.grader")
SERVICE_NAME = "grader"
MAX_BODY = (MAX_NOTEBOOK_BYTES + 2) // 3 * 4 + 64 * 1024
"""The largest notebook the grading steps take, in base64, and room for the rest of the request."""
NAME = re.compile(r"^[^\x00-\x1f\x7f/\\]{1,255}$")
"""Student ids and notebook names: they reach reports and log lines, never a path here, so only what would
break a line or name a folder is refused."""
BODY_KEYS = {"student", "source", "notebook"}
OPTIONAL_KEYS = {"bundle"}


class Refusal(Exception):
    """A request the service does not grade: its HTTP status and a sentence for the caller."""

    def __init__(self, status: int, sentence: str) -> None:
        super().__init__(sentence)
        self.status = status
        self.sentence = sentence


@dataclass(frozen=True)
class GradeRequest:
    """A request's body, checked: one submission of one student."""

    student: str
    source: str
    raw: bytes
    bundle: str | None = None
    """The hash of the client's bundle, when it sends one: a mismatch is refused (409) rather than graded."""


def parse_body(body: bytes) -> GradeRequest:
    """The request's JSON body as a :class:`GradeRequest`; :class:`Refusal` saying what is wrong with it."""
    try:
        data = json.loads(body)
    except (ValueError, RecursionError):
        raise Refusal(400, "the request body is not JSON: send {\"student\", \"source\", \"notebook\"}") from None
    if type(data) is not dict or not BODY_KEYS <= set(data) <= BODY_KEYS | OPTIONAL_KEYS or not all(
            type(v) is str for v in data.values()):
        raise Refusal(400, "the request body must be a JSON object of the strings \"student\", \"source\" and "
                           "\"notebook\" (base64), and optionally \"bundle\"")
    for key in ("student", "source"):
        if not NAME.match(data[key]):
            raise Refusal(400, f"the {key} {data[key][:80]!r} is not a name: 1 to 255 characters, no '/', '\\' "
                               "or control characters")
    try:
        raw = base64.b64decode(data["notebook"], validate=True)
    except (binascii.Error, ValueError):
        raise Refusal(400, "the notebook is not base64") from None
    if len(raw) > MAX_NOTEBOOK_BYTES:
        raise Refusal(413, f"the notebook is {len(raw) // 2**20} MiB, over the {MAX_NOTEBOOK_BYTES // 2**20} MiB "
                           "limit of the grading steps")
    return GradeRequest(data["student"], data["source"], raw, data.get("bundle"))


@dataclass
class CourseWorkers:
    """``jobs`` worker processes per course, every built assignment of it warm in each (as ``d2lgrade grade --jobs``
    keeps them), started at the course's first request and again when its bundles change. Each course's workers
    run kernels as sandbox users of their own. Only the grading thread calls :meth:`ready`."""

    jobs: int
    held: dict[Path, tuple[tuple[str, ...], dict[str, tuple[str, Assignment]], ExitStack, ProcessPoolExecutor]] = \
        field(default_factory=dict)
    blocks: dict[Path, int] = field(default_factory=dict)

    def ready(self, bundle_path: Path, expected: str | None) -> tuple[Assignment, ProcessPoolExecutor]:
        """The assignment (checking only: it starts no kernel here) and the warm workers of its course."""
        root = bundle_path.parents[2]  # <course>/build/<assignment>/bundle.json
        texts = [p.read_text(encoding="utf-8") for p in sorted((root / "build").glob("*/bundle.json"))]
        key = tuple(digest(t.encode()) for t in texts)
        held = self.held.get(root)
        if held is None or held[0] != key:
            if held is not None:
                held[2].close()  # after what its workers are grading
            bundles = [Bundle.from_json(t) for t in texts]
            assignments = {b.assignment: (digest(b.to_json().encode()), checking_assignment(b)) for b in bundles}
            stack = ExitStack()
            block = self.blocks.setdefault(root, len(self.blocks))
            pool = stack.enter_context(worker_pool([a for _, a in assignments.values()], self.jobs,
                                                   first_slot=block * self.jobs))
            held = self.held[root] = (key, assignments, stack, pool)
        name = Bundle.load(bundle_path).assignment
        canonical, assignment = held[1][name]
        same_bundle(expected, canonical, bundle_path)
        return assignment, held[3]


@dataclass
class Grader:
    """Grades one submission at a time in its own thread, each assignment loaded once per bundle hash (its probes,
    its sandbox's warm template), as a cluster worker keeps them; or, with ``workers``, on several warm worker
    processes per course (``--jobs``): grading on submit of a whole class goes through here."""

    pool: ThreadPoolExecutor = field(default_factory=lambda: ThreadPoolExecutor(1, thread_name_prefix="grading"))
    assignments: dict[tuple[Path, str], tuple[str, Assignment]] = field(default_factory=dict)
    """Bundle file -> (hash of its text, the assignment); only the grading thread touches it."""
    workers: CourseWorkers | None = None

    async def grade(self, bundle_path: Path, request: GradeRequest) -> str:
        """The report text of the graded submission (waits for the submissions ahead of it)."""
        loop = asyncio.get_running_loop()
        if self.workers is None:
            return await loop.run_in_executor(self.pool, self.grade_now, bundle_path, request)
        assignment, workers = await loop.run_in_executor(self.pool, self.workers.ready, bundle_path, request.bundle)
        work = Work(request.student, request.source, request.raw, assignment.bundle.assignment)
        future = submit_work(workers, work)
        await asyncio.wait([asyncio.wrap_future(future)])
        return report_text(job_of(future, assignment, work, "grading service worker"))

    def grade_now(self, bundle_path: Path, request: GradeRequest) -> str:
        assignment = self.assignment(bundle_path, request.bundle)
        return report_text(grade_bytes(assignment, request.raw, request.student, request.source))

    def assignment(self, bundle_path: Path, expected: str | None) -> Assignment:
        """The warm assignment of the bundle as it is now on disk (a rebuilt course is read again)."""
        text = bundle_path.read_text(encoding="utf-8")
        key = (bundle_path, digest(text.encode()))
        if key not in self.assignments:
            bundle = Bundle.from_json(text)
            canonical = digest(bundle.to_json().encode())
            same_bundle(expected, canonical, bundle_path)  # before the sandbox is set up for a bundle no one asked
            try:
                loaded = Assignment.from_bundle(bundle)
            except SandboxUnavailable as exc:
                raise Refusal(503, f"the sandbox cannot start on the grading service's machine: {exc}") from None
            self.assignments = {k: v for k, v in self.assignments.items() if k[0] != bundle_path}
            self.assignments[key] = (canonical, loaded)
        canonical, assignment = self.assignments[key]
        same_bundle(expected, canonical, bundle_path)
        return assignment


def same_bundle(expected: str | None, canonical: str, bundle_path: Path) -> None:
    """409 when the client checks reports against another bundle than this one (it would refuse the report)."""
    if expected is not None and expected != canonical:
        raise Refusal(409, f"{bundle_path} is not the bundle the client graded against: the course was rebuilt "
                           "since one of them read it")


@dataclass
class GradingService:
    """What the handlers share: the courses, the hub, and the grader."""

    config: HubConfig
    identity: HubIdentity
    grader: Grader

    async def caller(self, handler: web.RequestHandler) -> Identity:
        who = await self.identity.identify(self.identity.token_of(handler))
        if who is None:
            raise Refusal(401, "no hub token that may reach the grader service: send your server's "
                               "JUPYTERHUB_API_TOKEN as `Authorization: token …`")
        return who

    def bundle_path(self, course: str, assignment: str) -> Path:
        """The built bundle of ``assignment`` in the course folder hub.toml names; 404 when there is none."""
        entry = self.config.courses.get(course)
        if entry is None:
            raise Refusal(404, f"there is no course {course!r} on this hub (hub.toml lists "
                               f"{', '.join(sorted(self.config.courses))})")
        path = Course(entry.path).bundle_path(assignment)
        if not path.is_file():
            raise Refusal(404, f"course {course!r} has no built assignment {assignment!r} ({path} is missing): "
                               "run `d2lgrade build` in the course folder")
        return path


def check_ids(course: str, assignment: str) -> None:
    for what, value in (("course", course), ("assignment", assignment)):
        if not COURSE_ID.match(value):
            raise Refusal(400, f"the {what} id {value[:80]!r} is not an id: letters, digits, '_', '.' and '-' only")


def check_staff(who: Identity, course: str) -> None:
    """A TA or an instructor of the course; or grading on submit, which is the hub service ``grader`` (this service's
    own identity: only a service token can be it, a user named "grader" is a user)."""
    if who.kind == "service" and who.name == SERVICE_NAME:
        return
    if who.role_in(course) < Role.TA:
        raise Refusal(403, f"{who.name} is not a TA or an instructor of course {course!r} on the hub")


class GradeHandler(web.RequestHandler):
    """``POST …/grade/<course>/<assignment>``: the checks in the order that tells a caller nothing they may not
    know (a student learns nothing of which assignments are built), then the grading."""

    def initialize(self, service: GradingService) -> None:
        self.service = service
        self.audit: dict[str, str] = {"user": "-", "course": "-", "assignment": "-", "student": "-", "outcome": "-"}

    async def post(self, course: str, assignment: str) -> None:
        self.audit |= {"course": ascii(course), "assignment": ascii(assignment)}
        try:
            who = await self.service.caller(self)
            self.audit["user"] = ascii(who.name)
            check_ids(course, assignment)
            check_staff(who, course)
            bundle_path = self.service.bundle_path(course, assignment)
            request = parse_body(self.request.body)
            self.audit |= {"student": ascii(request.student), "outcome": "grading"}
            report = await self.service.grader.grade(bundle_path, request)
        except Refusal as refusal:
            self.audit["outcome"] = f"refused ({refusal.status})"
            self.set_status(refusal.status)
            self.finish({"error": refusal.sentence})
            return
        self.audit["outcome"] = "graded"
        self.set_header("Content-Type", "application/json")
        self.finish(report)

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        """Errors as a JSON sentence (never tornado's HTML page or a traceback)."""
        self.audit["outcome"] = f"failed ({status_code})"
        self.finish({"error": f"the grading service could not answer ({status_code} {self._reason}); its log has "
                              "the details"})

    def on_finish(self) -> None:
        LOG.info("audit: user=%s course=%s assignment=%s student=%s status=%d outcome=%s", self.audit["user"],
                 self.audit["course"], self.audit["assignment"], self.audit["student"], self.get_status(),
                 self.audit["outcome"])


def service_prefix() -> str:
    """Where the hub's proxy sends this service's requests (``/services/grader/``), as the hub says."""
    prefix = os.environ.get("JUPYTERHUB_SERVICE_PREFIX", f"/services/{SERVICE_NAME}/")
    return prefix if prefix.endswith("/") else prefix + "/"


def make_app(service: GradingService) -> web.Application:
    route = re.escape(service_prefix()) + r"grade/([^/]+)/([^/]+)"
    return web.Application([(route, GradeHandler, {"service": service})])


def hub_environment(config: HubConfig) -> None:
    """What the hub (or the systemd unit) did not set: this service's name, the hub's API on its port, and the
    service token from the secrets folder."""
    os.environ.setdefault("JUPYTERHUB_SERVICE_NAME", SERVICE_NAME)
    os.environ.setdefault("JUPYTERHUB_API_URL", f"http://127.0.0.1:{config.hub_port}/hub/api")
    token = config.secrets / "grader.token"
    if "JUPYTERHUB_API_TOKEN" not in os.environ and token.is_file():
        os.environ["JUPYTERHUB_API_TOKEN"] = token.read_text(encoding="utf-8").strip()


async def serve(service: GradingService, ip: str, port: int) -> None:
    make_app(service).listen(port, ip, max_body_size=MAX_BODY)
    LOG.info("grading service on http://%s:%d%s (courses: %s)", ip, port, service_prefix(),
             ", ".join(sorted(service.config.courses)))
    await asyncio.Event().wait()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m d2lgrade.hub.grading_service", description=__doc__.split("\n")[0])
    parser.add_argument("--config", type=Path, default=DEFAULT_PATH, help=f"the hub's settings (default {DEFAULT_PATH})")
    parser.add_argument("--ip", help="listen here instead of hub.toml's [services.grader] ip (127.0.0.1)")
    parser.add_argument("--port", type=int, help="listen here instead of hub.toml's [services.grader] port (8011)")
    parser.add_argument("--jobs", type=int, help="warm worker processes per course grading at once (default: "
                                                 "hub.toml's [services.grader] jobs, else 1: one at a time, here)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    try:
        config = HubConfig.load(args.config)
    except ConfigError as exc:
        parser.exit(2, f"grading service: {exc}\n")
    if os.geteuid() != 0:
        parser.exit(3, "grading service: it must run as root (the sandbox starts kernels as unprivileged users); "
                       "start it with `systemctl start d2lgrade-grader` or `make hub`\n")
    hub_environment(config)
    jobs = args.jobs or config.grader.jobs
    service = GradingService(config, HubIdentity(), Grader(workers=CourseWorkers(jobs) if jobs > 1 else None))
    asyncio.run(serve(service, args.ip or config.grader.ip, args.port or config.grader.port))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
