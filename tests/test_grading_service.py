"""The grading service grades for the course's TAs and instructors only, as local grading does; its client trusts
no report blindly.

The service runs in a thread of this process against the fake hub (tests/fake_hub.py); one real submission is
graded through it (the honest round trip), every refusal is checked without grading anything. A forged service
(a server answering with a report no honest service writes) stands beside the honest one.
"""

from __future__ import annotations

import asyncio
import base64
import json
import socket
import threading
from collections.abc import Callable
from pathlib import Path

import pytest
from jupyterhub.services.auth import HubAuth
from tornado import httpserver, web

from d2lgrade.authoring.samples import samples_dir
from d2lgrade.grading.cluster_report import checked_job, report_text
from d2lgrade.grading.remote import GradingServiceError, checking_assignment, grade_by_service
from d2lgrade.grading.steps import INTERNAL_ERROR, Job
from d2lgrade.grading.workers import Work
from d2lgrade.hub import grading_service
from d2lgrade.hub.config import HubConfig
from d2lgrade.hub.grading_service import MAX_BODY, Grader, GradingService, Refusal, make_app, parse_body
from d2lgrade.hub.identity import HubIdentity
from tests import fake_hub
from tests.conftest import copy_course
from tests.test_cluster_report import honest  # noqa: F401 - a fixture: a hand-made graded job, no kernel

ASSIGNMENT = "s02_1"
COURSE_ID = "d2l"
PREFIX = "/services/grader"


def serve_in_thread(app: web.Application) -> int:
    """``app`` on a free loopback port, in a daemon thread with its own event loop; returns the port."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(16)
    sock.setblocking(False)
    ready = threading.Event()

    def serve() -> None:
        loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        httpserver.HTTPServer(app, max_body_size=MAX_BODY).add_sockets([sock])
        loop.call_soon(ready.set)
        loop.run_forever()

    threading.Thread(target=serve, daemon=True, name="grading-service").start()
    ready.wait(10)
    return sock.getsockname()[1]


class CountingGrader(Grader):
    """The real grader, counting the submissions it was asked to grade."""

    asked = 0

    def grade_now(self, bundle_path, request):
        CountingGrader.asked += 1
        return super().grade_now(bundle_path, request)


@pytest.fixture(scope="module")
def hub():
    return fake_hub.start(fake_hub.FakeHub("grader", groups={
        "tina": {"tas-d2l", "tas-gone"}, "ivan": {"instructors-d2l"}, "alice": {"students-d2l"},
        "otto": {"tas-other"}, "grader": {"students-d2l"},
    }))


@pytest.fixture(scope="module")
def service_url(hub, bundles, tmp_path_factory) -> str:
    root = tmp_path_factory.mktemp("course")
    copy_course(bundles, ASSIGNMENT, root)
    config = HubConfig.from_dict({"courses": {COURSE_ID: {"path": str(root)}, "other": {"path": str(root)}}})
    auth = HubAuth(api_url=hub.api_url, api_token=fake_hub.SERVICE_TOKEN, cache_max_age=10, allow_token_in_url=False,
                   access_scopes={"access:services!service=grader"})
    port = serve_in_thread(make_app(GradingService(config, HubIdentity(auth), CountingGrader())))
    return f"http://127.0.0.1:{port}{PREFIX}"


@pytest.fixture(scope="module")
def partial(course) -> Path:
    return samples_dir(course, ASSIGNMENT) / "partial.ipynb"


def _grade(url: str, token: str, bundles, partial: Path, course: str = COURSE_ID) -> Job:
    return grade_by_service(url, token, checking_assignment(bundles[ASSIGNMENT]), partial.read_bytes(), partial.stem,
                            partial.name, course=course)


def _post(url: str, token: str | None, body: bytes, path: str = f"grade/{COURSE_ID}/{ASSIGNMENT}") -> tuple[int, dict]:
    import urllib.error
    import urllib.request

    headers = {"Authorization": f"token {token}"} if token else {}
    try:
        with urllib.request.urlopen(urllib.request.Request(f"{url}/{path}", body, headers, method="POST")) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def _body(raw: bytes = b"{}", **fields: str) -> bytes:
    return json.dumps({"student": "ada", "source": "ada.ipynb", "notebook": base64.b64encode(raw).decode()}
                      | fields).encode()


@pytest.mark.slow
def test_a_ta_gets_through_the_service_the_verdicts_local_grading_gives(service_url, hub, bundles, partial, graded):
    before = CountingGrader.asked
    job = _grade(service_url, hub.token("tina"), bundles, partial)
    local = graded(ASSIGNMENT, partial).result
    assert job.failed_step is None and job.result is not None
    assert job.result.questions == local.questions and job.result.problem == local.problem
    assert 0 < job.result.score < job.result.max_score, "the partial is partly right: a meaningful comparison"
    assert job.execution is not None, "the run's outputs came back for the autograded notebook"
    assert CountingGrader.asked == before + 1


def test_grading_on_submit_the_hub_service_grader_is_served_and_a_user_named_grader_is_not(service_url, hub, bundles,
                                                                                         partial):
    job = _grade(service_url, hub.token("grader", kind="service"), bundles, partial)
    assert job.failed_step is None and job.result is not None and job.result.score > 0
    with pytest.raises(GradingServiceError, match="grader is not a TA or an instructor"):
        _grade(service_url, hub.token("grader"), bundles, partial)


@pytest.mark.parametrize("who", ["alice", "otto"], ids=["a-student-of-the-course", "a-ta-of-another-course"])
def test_anyone_but_the_course_s_staff_is_refused_and_nothing_is_graded(service_url, hub, bundles, partial, who):
    before = CountingGrader.asked
    with pytest.raises(GradingServiceError) as refused:
        _grade(service_url, hub.token(who), bundles, partial)
    assert "HTTP 403" in str(refused.value) and service_url in str(refused.value)
    assert f"{who} is not a TA or an instructor of course 'd2l'" in str(refused.value)
    assert "ask an instructor to add you" in str(refused.value), "the remedy"
    assert CountingGrader.asked == before


def test_without_a_token_that_may_reach_the_service_the_caller_is_nobody(service_url, hub):
    exchange_only = hub.token("tina", scopes=["access:services!service=exchange"])
    for token in (None, "not-a-token", exchange_only):
        status, answer = _post(service_url, token, _body())
        assert status == 401 and "JUPYTERHUB_API_TOKEN" in answer["error"]


def test_an_unknown_course_or_assignment_is_404_with_a_sentence(service_url, hub, bundles, partial):
    ivan, tina = hub.token("ivan"), hub.token("tina")
    status, answer = _post(service_url, ivan, _body(), f"grade/{COURSE_ID}/s09_9")
    assert status == 404 and "no built assignment 's09_9'" in answer["error"] and "d2lgrade build" in answer["error"]
    status, answer = _post(service_url, tina, _body(), "grade/gone/s02_1")
    assert status == 404 and "no course 'gone' on this hub" in answer["error"]
    with pytest.raises(GradingServiceError, match=r"HTTP 404.*no course 'gone'.*Check the course id"):
        _grade(service_url, tina, bundles, partial, course="gone")


def test_a_student_learns_nothing_of_which_assignments_exist(service_url, hub):
    status, _ = _post(service_url, hub.token("alice"), _body(), f"grade/{COURSE_ID}/s09_9")
    assert status == 403


@pytest.mark.parametrize(("path", "body", "status", "says"), [
    ("grade/d2l/..", _body(), 400, "not an id"),
    (f"grade/d2l/{ASSIGNMENT}", b"not json", 400, "not JSON"),
    (f"grade/d2l/{ASSIGNMENT}", json.dumps({"student": "ada"}).encode(), 400, "must be a JSON object"),
    (f"grade/d2l/{ASSIGNMENT}", _body(student="../bob"), 400, "is not a name"),
    (f"grade/d2l/{ASSIGNMENT}", _body(notebook="%%%"), 400, "not base64"),
    (f"grade/d2l/{ASSIGNMENT}", _body(bundle="another build"), 409, "rebuilt"),
], ids=["dot-dot-assignment", "not-json", "missing-keys", "student-with-slash", "not-base64", "another-bundle"])
def test_a_malformed_request_is_refused_with_a_sentence(service_url, hub, path, body, status, says):
    before = CountingGrader.asked
    answer = _post(service_url, hub.token("ivan"), body, path)
    assert answer[0] == status and says in answer[1]["error"]
    assert CountingGrader.asked == before + (status == 409)  # a 409 is found once grading starts, before any kernel


def test_a_notebook_over_the_size_limit_is_refused_before_it_is_read(monkeypatch):
    monkeypatch.setattr(grading_service, "MAX_NOTEBOOK_BYTES", 10)
    with pytest.raises(Refusal) as refused:
        parse_body(_body(b"x" * 11))
    assert refused.value.status == 413 and "over the" in refused.value.sentence
    assert parse_body(_body(b"x" * 10)).raw == b"x" * 10


class Forger(web.RequestHandler):
    """A service that answers every request with the text it is given."""

    def initialize(self, answer: Callable[[], str]) -> None:
        self.answer = answer

    def post(self, course: str, assignment: str) -> None:
        self.finish(self.answer())


def _forged(job: Job, change: Callable[[dict], None]) -> str:
    data = json.loads(report_text(job))
    change(data)
    return json.dumps(data)


def _over_max(data: dict) -> None:
    data["questions"][1]["score"] = data["questions"][1]["max_score"] + 10


def _unknown_question(data: dict) -> None:
    data["questions"][1]["id"] = "q-bonus"


@pytest.fixture(scope="module")
def forger() -> tuple[str, list[str]]:
    """A service's URL, and the list whose last text it answers every request with."""
    answers: list[str] = []
    port = serve_in_thread(web.Application([(r"/grade/([^/]+)/([^/]+)", Forger, {"answer": lambda: answers[-1]})]))
    return f"http://127.0.0.1:{port}", answers


@pytest.mark.parametrize("change", [None, _over_max, _unknown_question], ids=["honest", "score-above-max",
                                                                                 "unknown-question"])
def test_a_forged_service_s_report_is_a_zero_saying_grading_failed_never_its_score(honest, forger, change):  # noqa: F811
    job, raw = honest
    url, answers = forger
    answers.append(report_text(job) if change is None else _forged(job, change))
    got = grade_by_service(url, "any", job.assignment, raw, job.student, job.source, course=COURSE_ID)
    assert got.result is not None
    if change is None:
        assert got.result.questions == job.result.questions and got.failed_step is None
        return
    assert got.result.score == 0 and got.failed_step == "grading service result"
    assert all(INTERNAL_ERROR in q.output for q in got.result.questions)


def test_a_service_that_cannot_be_reached_is_named_with_the_remedy(honest):  # noqa: F811
    job, raw = honest
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{closed.getsockname()[1]}{PREFIX}"
    with pytest.raises(GradingServiceError) as failed:
        grade_by_service(url, "any", job.assignment, raw, job.student, job.source, course=COURSE_ID)
    assert url in str(failed.value) and "cannot be reached" in str(failed.value)
    assert "systemctl start d2lgrade-grader" in str(failed.value)


def test_only_a_process_that_cannot_run_the_sandbox_grades_through_the_service(monkeypatch):
    from d2lgrade.grading.remote import TOKEN_VARIABLE, URL_VARIABLE, GradingService
    from d2lgrade.nbgrader import autograde

    monkeypatch.setenv(URL_VARIABLE, "http://127.0.0.1:8000/services/grader/")
    monkeypatch.setenv(TOKEN_VARIABLE, "token")
    monkeypatch.setattr(autograde, "runs_sandbox", lambda: True)
    assert autograde.grading_service(COURSE_ID) is None, "root grades here, as d2lgrade grade does"
    monkeypatch.setattr(autograde, "runs_sandbox", lambda: False)
    assert autograde.grading_service(COURSE_ID) == GradingService("http://127.0.0.1:8000/services/grader", "token",
                                                                  COURSE_ID)
    monkeypatch.delenv(TOKEN_VARIABLE)
    assert autograde.grading_service(COURSE_ID) is None, "without a token: here, where the sandbox then says why not"


@pytest.mark.slow
def test_with_jobs_two_submissions_are_graded_at_once_on_the_course_s_warm_workers(bundles, partial, graded,
                                                                                     tmp_path):
    """``--jobs 2``: the workers of the course grade two requests at once; the verdicts are local grading's."""
    root = tmp_path / "course"
    root.mkdir()
    copy_course(bundles, ASSIGNMENT, root)
    grader = Grader(workers=grading_service.CourseWorkers(2))
    request = parse_body(json.dumps({"student": "ada", "source": partial.name,
                                     "notebook": base64.b64encode(partial.read_bytes()).decode()}).encode())
    bundle_path = root / "build" / ASSIGNMENT / "bundle.json"

    async def both() -> list[str]:
        return await asyncio.gather(grader.grade(bundle_path, request), grader.grade(bundle_path, request))

    try:
        reports = asyncio.run(both())
    finally:
        for _, _, stack, _ in grader.workers.held.values():
            stack.close()
    local = graded(ASSIGNMENT, partial).result
    for text in reports:
        job = checked_job(text, checking_assignment(bundles[ASSIGNMENT]), Work("ada", partial.name, partial.read_bytes()),
                          "grading service")
        assert job.failed_step is None and job.result.questions == local.questions
    assert list(grader.workers.blocks.values()) == [0], "the course's workers took the first block of sandbox users"


def test_a_batch_through_the_service_keeps_jobs_requests_in_flight_and_every_submission_comes_back():
    from d2lgrade.batch.run import grade_by

    class Service:
        now = most = 0
        lock = threading.Lock()

        def grade(self, assignment, raw, student, source):
            with self.lock:
                Service.now += 1
                Service.most = max(Service.most, Service.now)
            threading.Event().wait(0.1)
            with self.lock:
                Service.now -= 1
            return f"job of {student}"

    works = [(i, Work(f"s{i}", "n.ipynb", b"{}")) for i in range(5)]
    got = dict(grade_by(Service(), None, works, jobs=2))
    assert got == {i: f"job of s{i}" for i in range(5)} and Service.most == 2
