"""Grading on submit, the exchange's side and the policy: the grading service's hub token is course staff, a user
who calls themselves "grader" is not; the count and cooldown are refused at receipt with what is left; which
submission counts; what the student sees before the due date; the final grades' CSV layouts."""

from __future__ import annotations

import asyncio
import base64
import datetime as dt
import json
import threading
import urllib.error
import urllib.request

import pytest
from jupyterhub.services.auth import HubAuth

from d2lgrade.hub.exchange_service import Exchange, serve
from d2lgrade.hub.exchange_store import ExchangeStore
from d2lgrade.hub.identity import HubIdentity
from d2lgrade.hub.submission_policy import Policy, PolicyError, course_policies
from d2lgrade.hub.submission_result import ResultError, SubmissionResult, describe
from d2lgrade.serve.exchange_api import ExchangeAPI, ExchangeUnreachable
from d2lgrade.serve.export import FinalGrade, canvas_csv, moodle_csv
from d2lgrade.serve.feedback import counts_by_time, shown_now
from tests import fake_hub

PEOPLE = {"ivan": {"instructors-d2l"}, "alice": {"students-d2l"}, "bob": {"students-d2l"}, "grader": {"students-d2l"}}
NB = base64.b64encode(b'{"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}').decode()


@pytest.fixture(scope="module")
def exchange(tmp_path_factory):
    hub = fake_hub.start(fake_hub.FakeHub("exchange", groups=PEOPLE))
    auth = HubAuth(api_url=hub.api_url, api_token=fake_hub.SERVICE_TOKEN, cache_max_age=10, allow_token_in_url=False,
                   access_scopes={"access:services!service=exchange"})
    store = ExchangeStore(tmp_path_factory.mktemp("serve-exchange") / "x")
    ready, port = threading.Event(), []

    def run() -> None:
        loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        server = loop.run_until_complete(_listen(Exchange(HubIdentity(auth), store, frozenset({"d2l"}))))
        port.append(next(iter(server._sockets.values())).getsockname()[1])
        ready.set()
        loop.run_forever()

    threading.Thread(target=run, daemon=True).start()
    ready.wait(10)
    url = f"http://127.0.0.1:{port[0]}/services/exchange"
    tokens = {name: hub.token(name) for name in PEOPLE} | {"service": hub.token("grader", kind="service")}
    ExchangeAPI(url, tokens["ivan"]).call("POST", "courses/d2l/assignments/a1/release",
                                          {"files": [{"path": "a1.ipynb", "content": NB}]})
    return url, tokens


async def _listen(exchange: Exchange):
    return serve(exchange, "127.0.0.1", 0, "/services/exchange/")


def _submit(url: str, token: str, assignment: str = "a1") -> tuple[int, dict]:
    request = urllib.request.Request(f"{url}/courses/d2l/assignments/{assignment}/submissions", method="POST",
                                     data=json.dumps({"files": [{"path": "a1.ipynb", "content": NB}]}).encode(),
                                     headers={"Authorization": f"token {token}"})
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:
            return answer.status, json.loads(answer.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())


def test_the_grading_service_sees_new_submissions_and_a_student_named_grader_does_not(exchange):
    url, tokens = exchange
    status, made = _submit(url, tokens["alice"])
    assert status == 201
    service = ExchangeAPI(url, tokens["service"])
    assert made["id"] in [r.exchange_id for r in service.submissions("d2l", after=0)]
    assert service.submissions("d2l", after=made["id"]) == []
    with pytest.raises(ExchangeUnreachable, match="403"):
        ExchangeAPI(url, tokens["grader"]).call("GET", "courses/d2l/submissions", student="alice")
    with pytest.raises(ExchangeUnreachable, match="403"):
        ExchangeAPI(url, tokens["grader"]).set_policies("d2l", {"a1": {"max_submissions": 99}})


def test_a_result_reaches_its_student_only_from_staff_and_grading_on_submit_is_live_while_polled(exchange):
    url, tokens = exchange
    _, made = _submit(url, tokens["alice"])
    alice, service = ExchangeAPI(url, tokens["alice"]), ExchangeAPI(url, tokens["service"])
    graded = {"state": "graded", "shown": "messages", "score": 4.0, "max_score": 6.0, "by_hand": 1,
              "late_penalty": 0.0, "counted": True, "reason": ""}
    with pytest.raises(ExchangeUnreachable, match="403"):  # a student cannot grade themselves
        alice.add_result("d2l", made["id"], graded | {"score": 6.0})
    with pytest.raises(ExchangeUnreachable, match="carries no score"):  # held until the due date: no score sent
        service.add_result("d2l", made["id"], graded | {"shown": "held"})
    service.add_result("d2l", made["id"], graded)
    mine = alice.call("GET", "courses/d2l/submissions", assignment="a1")
    assert next(s for s in mine if s["id"] == made["id"])["result"] == graded
    with pytest.raises(ExchangeUnreachable, match="404"):  # nobody else's
        ExchangeAPI(url, tokens["bob"]).result("d2l", made["id"])
    service.submissions("d2l", after=0)  # the grading service polls: a submission now says it is graded on submit
    assert _submit(url, tokens["alice"])[1]["graded_on_submit"] is True


def test_count_and_cooldown_refused_at_receipt_with_what_is_left(exchange):
    url, tokens = exchange
    ExchangeAPI(url, tokens["ivan"]).call("POST", "courses/d2l/assignments/a2/release",
                                          {"files": [{"path": "a1.ipynb", "content": NB}]})
    ExchangeAPI(url, tokens["service"]).set_policies("d2l", {"a2": {"max_submissions": 2, "cooldown_minutes": 0}})
    first, second, third = (_submit(url, tokens["alice"], "a2") for _ in range(3))
    assert first[0] == second[0] == 201 and second[1]["allowance"] == "2 of 2 submissions used (0 left)"
    assert third[0] == 403 and "2 of 2 submissions used (0 left); no more submissions" in third[1]["error"]
    ExchangeAPI(url, tokens["ivan"]).set_policies("d2l", {"a2": {"max_submissions": 5, "cooldown_minutes": 30}})
    status, said = _submit(url, tokens["alice"], "a2")
    assert status == 403 and "2 of 5 submissions used (3 left); the next is allowed at" in said["error"]
    seen = ExchangeAPI(url, tokens["alice"]).call("GET", "courses/d2l/assignments/a2/policy")
    assert seen["allowance"] == "2 of 5 submissions used (3 left)" and seen["policy"]["cooldown_minutes"] == 30


def test_a_student_cannot_set_a_policy_and_a_broken_one_is_refused(exchange):
    url, tokens = exchange
    with pytest.raises(ExchangeUnreachable, match="403"):
        ExchangeAPI(url, tokens["alice"]).set_policies("d2l", {"a1": {"max_submissions": 99}})
    with pytest.raises(ExchangeUnreachable, match="counts must be one of"):
        ExchangeAPI(url, tokens["ivan"]).set_policies("d2l", {"a1": {"counts": "first"}})


def test_policies_from_the_config_with_due_dates_and_defaults():
    found = course_policies({"a1": {"max_submissions": 5}}, {"a1": "2026-12-07 23:59:00 UTC", "a2": "2026-12-08"})
    assert found["a1"].max_submissions == 5 and found["a1"].due == "2026-12-07T23:59:00+00:00"
    assert found["a2"] == Policy(due="2026-12-08T00:00:00+00:00")
    with pytest.raises(PolicyError, match="unknown keys"):
        course_policies({"a1": {"max_submisions": 5}}, {})


def test_which_counts_and_what_shows_before_and_after_the_due_date():
    policy = Policy(counts="last_before_due", feedback_before_due="nothing", due="2026-12-07T23:59:00+00:00")
    late = "2026-12-08 10:00:00.000000 UTC"
    assert counts_by_time(policy, late, on_time_before=True) is False
    assert counts_by_time(policy, late, on_time_before=False) is True
    assert counts_by_time(Policy(counts="last", due=policy.due), late, on_time_before=True) is True
    before, after = dt.datetime(2026, 12, 7, tzinfo=dt.UTC), dt.datetime(2026, 12, 9, tzinfo=dt.UTC)
    assert shown_now(policy, before) == "held" and shown_now(policy, after) == "messages"
    assert shown_now(Policy(feedback_before_due="score", due=policy.due), before) == "score"


def test_final_grades_in_canvas_and_moodle_layouts():
    grades = [FinalGrade("alice", "s02_1", 8, 2, 1, 12), FinalGrade("bob", "s02_1", 3, 0, 0, 12),
              FinalGrade("alice", "s02_2", 5, 0, 0, 6)]
    assert canvas_csv(grades).splitlines() == [
        "Student,ID,SIS User ID,SIS Login ID,Section,s02_1,s02_2,Total (d2lgrade)",
        "    Points Possible,,,,,12,6,18", "alice,,,alice,,9,5,14", "bob,,,bob,,3,,3"]
    assert moodle_csv(grades).splitlines() == ["Username,s02_1,s02_2,Total (d2lgrade)", "alice,9,5,14", "bob,3,,3"]


def test_what_the_students_line_says_of_a_result():
    graded = SubmissionResult("graded", score=7.0, max_score=7.0, by_hand=2, late_penalty=7.0)
    assert describe(graded, waiting=True) == ("graded: 7 / 7 points, 0 after the late penalty (−7) (2 written answers "
                                              "to be graded by hand)")
    assert describe(SubmissionResult("graded", "held"), waiting=True) == ("graded; the score and feedback come after "
                                                                          "the due date")
    assert describe(SubmissionResult("failed", reason="no notebook"), True) == "could not be graded: no notebook"
    assert describe(None, waiting=True) == "waiting to be graded" and describe(None, waiting=False) == ""
    with pytest.raises(ResultError, match="carries no score"):
        SubmissionResult.from_dict({"state": "graded", "shown": "held", "score": 1.0})
    with pytest.raises(ResultError, match="must be a number"):
        SubmissionResult.from_dict({"state": "graded", "score": float("nan")})
