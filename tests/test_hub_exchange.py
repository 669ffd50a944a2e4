"""The class server's exchange: identity from the hub token, time from the service, nothing changed after receipt.

One exchange service and a fake hub run in this process (threads); nbgrader's steps are the client classes called
directly, each as a hub user (their token in ``JUPYTERHUB_API_TOKEN``), the way nbgrader's apps and the Lab's
Assignment List call them. Each attack of issue 21 that belongs to the exchange sits beside the honest round trip.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import sqlite3
import stat
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from jupyterhub.services.auth import HubAuth
from nbgrader.coursedir import CourseDirectory
from nbgrader.exchange import ExchangeError

from d2lgrade.hub.exchange_client import (
    HubCollect,
    HubFetchAssignment,
    HubFetchFeedback,
    HubList,
    HubReleaseAssignment,
    HubReleaseFeedback,
    HubSubmit,
)
from d2lgrade.hub.exchange_files import ExchangeFile, Limits, encode
from d2lgrade.hub.exchange_service import Exchange, serve
from d2lgrade.hub.exchange_store import ExchangeStore
from d2lgrade.hub.identity import HubIdentity
from d2lgrade.serve.exchange_api import ExchangeAPI
from tests import fake_hub

ROOT = Path(__file__).resolve().parents[1]
LIMITS = Limits(file_bytes=40_000, files=6, total_bytes=60_000, depth=3, submissions=4)
PEOPLE = {"ivan": {"instructors-d2l"}, "tina": {"tas-d2l"}, "alice": {"students-d2l"}, "bob": {"students-d2l"},
          "carol": {"students-other"}}
NOTEBOOK = json.dumps({"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5})


@pytest.fixture(scope="module")
def hub():
    return fake_hub.start(fake_hub.FakeHub("exchange", groups=PEOPLE))


@pytest.fixture(scope="module")
def service(hub, tmp_path_factory):
    """The exchange service on 127.0.0.1 in a thread, its store in a fresh folder; yields its URL."""
    folder = tmp_path_factory.mktemp("exchange-state") / "exchange"
    auth = HubAuth(api_url=hub.api_url, api_token=fake_hub.SERVICE_TOKEN, cache_max_age=10, allow_token_in_url=False,
                   access_scopes={"access:services!service=exchange"})
    exchange = Exchange(HubIdentity(auth), ExchangeStore(folder, LIMITS), frozenset({"d2l", "other"}))
    started: dict[str, Any] = {}
    ready = threading.Event()

    def run() -> None:
        loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        sock_server = loop.run_until_complete(_listen(exchange))
        started["port"] = next(iter(sock_server._sockets.values())).getsockname()[1]
        started["exchange"] = exchange
        ready.set()
        loop.run_forever()

    threading.Thread(target=run, daemon=True, name="exchange").start()
    ready.wait(10)
    return Service(f"http://127.0.0.1:{started['port']}/services/exchange", hub, exchange)


async def _listen(exchange: Exchange):
    return serve(exchange, "127.0.0.1", 0, "/services/exchange/")


class Service:
    """The running service, and the hub's users with a token each."""

    def __init__(self, url: str, hub: fake_hub.FakeHub, exchange: Exchange) -> None:
        self.url, self.hub, self.exchange = url, hub, exchange
        self.tokens = {name: hub.token(name) for name in PEOPLE}

    def call(self, method: str, path: str, user: str | None, body: Any = None, token: str | None = None) -> tuple[int, Any]:
        """A raw request, as a hostile client would make it: (status, JSON answer)."""
        headers = {"Content-Type": "application/json"}
        if token or user:
            headers["Authorization"] = f"token {token or self.tokens[user]}"
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(f"{self.url}/{path}", data=data, method=method, headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=30) as answer:
                return answer.status, json.loads(answer.read())
        except urllib.error.HTTPError as e:
            return e.code, json.loads(e.read())


@pytest.fixture()
def run(service, monkeypatch):
    """Run an nbgrader step as a hub user (their token in the environment, as in their JupyterHub server)."""

    def step(cls: type, user: str | None, root: Path, assignment: str, course: str = "d2l", **traits: Any) -> Any:
        if user is None:
            monkeypatch.delenv("JUPYTERHUB_API_TOKEN", raising=False)
        else:
            monkeypatch.setenv("JUPYTERHUB_API_TOKEN", service.tokens[user])
        coursedir = CourseDirectory(root=str(root), course_id=course, assignment_id=assignment,
                                    **traits.pop("coursedir", {}))
        return cls(coursedir=coursedir, authenticator=None, url=service.url, assignment_dir=str(root), **traits).start()

    return step


@pytest.fixture()
def course_folder(tmp_path):
    """The instructor's course folder with ``release/<a>/`` made by generate_assignment."""
    root = tmp_path / "course"
    root.mkdir()
    return root


def released(run, course_folder: Path, assignment: str) -> None:
    release = course_folder / "release" / assignment
    (release / "data").mkdir(parents=True)
    (release / "answers.ipynb").write_text(NOTEBOOK)
    (release / "data" / "table.csv").write_text("x,y\n1,2\n")
    run(HubReleaseAssignment, "ivan", course_folder, assignment)


def fetched(run, home: Path, user: str, assignment: str) -> Path:
    home.mkdir(exist_ok=True)
    run(HubFetchAssignment, user, home, assignment)
    return home / assignment


def submissions(service: Service, assignment: str, user: str = "tina") -> list[dict[str, Any]]:
    status, found = service.call("GET", f"courses/d2l/submissions?assignment={assignment}", user)
    assert status == 200, found
    return found


def _content(answer: dict[str, Any], path: str) -> bytes:
    return base64.b64decode(next(f["content"] for f in answer["contents"] if f["path"] == path))


def test_the_honest_round_trip_release_fetch_submit_collect_feedback_list(run, service, course_folder, tmp_path):
    released(run, course_folder, "a1")
    work = fetched(run, tmp_path / "alice", "alice", "a1")
    assert (work / "data" / "table.csv").read_text() == "x,y\n1,2\n"
    (work / "answers.ipynb").write_text(NOTEBOOK.replace("[]", '[{"cell_type": "markdown", "source": "42", '
                                                                 '"metadata": {}}]'))
    run(HubSubmit, "alice", tmp_path / "alice", "a1")

    run(HubCollect, "tina", course_folder, "a1")
    collected = course_folder / "submitted" / "alice" / "a1"
    [sub] = submissions(service, "a1")
    assert sub["student_id"] == "alice"
    assert (collected / "timestamp.txt").read_text() == sub["timestamp"]
    assert (collected / "answers.ipynb").read_text() == (work / "answers.ipynb").read_text()
    assert stat.S_IMODE((collected / "answers.ipynb").stat().st_mode) == 0o640
    assert stat.S_IMODE(collected.stat().st_mode) == 0o750
    assert collected.stat().st_gid == course_folder.stat().st_gid

    feedback = course_folder / "feedback" / "alice" / "a1"
    feedback.mkdir(parents=True)
    (feedback / "answers.html").write_text("<p>well done</p>")
    (feedback / "timestamp.txt").write_text(sub["timestamp"])
    run(HubReleaseFeedback, "tina", course_folder, "a1")

    [mine] = run(HubList, "alice", tmp_path / "alice", "a1", cached=True)
    assert mine["student_id"] == "alice" and mine["submissions"][0]["has_exchange_feedback"]
    assert not mine["submissions"][0]["has_local_feedback"]
    run(HubFetchFeedback, "alice", tmp_path / "alice", "a1")
    assert (work / "feedback" / sub["timestamp"] / "answers.html").read_text() == "<p>well done</p>"
    [mine] = run(HubList, "alice", tmp_path / "alice", "a1", cached=True)
    info = mine["submissions"][0]
    assert info["has_local_feedback"] and not info["feedback_updated"]
    assert info["notebooks"][0]["notebook_id"] == "answers"
    [outbound] = run(HubList, "alice", tmp_path / "alice", "a1")
    assert outbound["status"] == "fetched" and outbound["notebooks"][0]["notebook_id"] == "answers"
    [elsewhere] = run(HubList, "bob", tmp_path, "a1")
    assert elsewhere["status"] == "released"


def test_submitting_as_another_student_is_refused_or_recorded_as_the_token_owner(run, service, course_folder,
                                                                                 tmp_path, monkeypatch):
    released(run, course_folder, "a2")
    fetched(run, tmp_path / "bob", "bob", "a2")
    with pytest.raises(ExchangeError, match="from your JupyterHub login"):
        run(HubSubmit, "bob", tmp_path / "bob", "a2", coursedir={"student_id": "carol"})
    monkeypatch.setenv("USER", "alice")
    monkeypatch.setenv("JUPYTERHUB_USER", "alice")
    run(HubSubmit, "bob", tmp_path / "bob", "a2")
    forged = {"files": encode([ExchangeFile("answers.ipynb", b"{}")]), "student_id": "alice", "user": "alice",
              "student": "alice", "timestamp": "2000-01-01 00:00:00.000000 UTC"}
    status, made = service.call("POST", "courses/d2l/assignments/a2/submissions", "bob", forged)
    assert status == 201 and made["student_id"] == "bob" and not made["timestamp"].startswith("2000")
    assert [s["student_id"] for s in submissions(service, "a2")] == ["bob", "bob"]


def test_there_is_no_way_to_write_a_submission_or_feedback_under_another_name(run, service, course_folder, tmp_path):
    released(run, course_folder, "a3")
    fetched(run, tmp_path / "alice", "alice", "a3")
    run(HubSubmit, "alice", tmp_path / "alice", "a3")
    [theirs] = submissions(service, "a3")
    body = {"files": encode([ExchangeFile("answers.html", b"<p>forged</p>")])}
    for path in ("courses/d2l/assignments/a3/submissions/alice", f"courses/d2l/submissions/{theirs['id']}",
                 "courses/d2l/submissions"):
        assert service.call("POST", path, "bob", body)[0] in (404, 405)
    status, refused = service.call("POST", f"courses/d2l/submissions/{theirs['id']}/feedback", "bob", body)
    assert status == 403 and "only TAs and instructors" in refused["error"]
    assert service.call("POST", f"courses/d2l/submissions/{theirs['id']}/feedback", "tina", body)[0] == 201


def test_a_students_own_timestamp_txt_is_ignored_and_collect_writes_the_time_of_receipt(run, service, course_folder,
                                                                                      tmp_path):
    released(run, course_folder, "a4")
    work = fetched(run, tmp_path / "bob", "bob", "a4")
    (work / "timestamp.txt").write_text("1999-01-01 00:00:00.000000 UTC")
    run(HubSubmit, "bob", tmp_path / "bob", "a4")
    [sub] = submissions(service, "a4")
    assert "timestamp.txt" not in sub["files"] and sub["timestamp"] > "2026"
    forged = {"files": encode([ExchangeFile("timestamp.txt", b"1999-01-01 00:00:00.000000 UTC")])}
    assert service.call("POST", "courses/d2l/assignments/a4/submissions", "bob", forged)[0] == 400
    run(HubCollect, "tina", course_folder, "a4")
    assert (course_folder / "submitted" / "bob" / "a4" / "timestamp.txt").read_text() == sub["timestamp"]


def test_a_submission_never_changes_after_receipt_and_a_resubmission_is_kept_beside_it(run, service, course_folder,
                                                                                       tmp_path):
    released(run, course_folder, "a5")
    work = fetched(run, tmp_path / "bob", "bob", "a5")
    (work / "answers.ipynb").write_text(NOTEBOOK + "\n")
    run(HubSubmit, "bob", tmp_path / "bob", "a5")
    run(HubCollect, "tina", course_folder, "a5")
    (work / "answers.ipynb").write_text(NOTEBOOK + "\n\n")
    run(HubSubmit, "bob", tmp_path / "bob", "a5")
    first, second = submissions(service, "a5")
    assert first["timestamp"] < second["timestamp"]
    status, kept = service.call("GET", f"courses/d2l/submissions/{first['id']}", "tina")
    assert status == 200 and _content(kept, "answers.ipynb") == (NOTEBOOK + "\n").encode()
    db = sqlite3.connect(service.exchange.store.folder / "exchange.sqlite", isolation_level=None)
    try:
        for statement in ("UPDATE submissions SET student='alice'", "DELETE FROM submissions",
                          "UPDATE files SET sha256='0'", "DELETE FROM releases", "DELETE FROM feedback"):
            with pytest.raises(sqlite3.IntegrityError, match="append-only"):
                db.execute(statement)
    finally:
        db.close()
    run(HubCollect, "tina", course_folder, "a5", update=True)
    collected = course_folder / "submitted" / "bob" / "a5"
    assert (collected / "timestamp.txt").read_text() == second["timestamp"]
    [earlier] = (course_folder / "submitted-earlier" / "bob" / "a5").iterdir()
    assert (earlier / "answers.ipynb").read_text() == NOTEBOOK + "\n"


def test_submit_sends_no_file_a_link_points_to_outside_the_assignment_folder(run, service, course_folder, tmp_path):
    released(run, course_folder, "a6")
    work = fetched(run, tmp_path / "bob", "bob", "a6")
    secret = tmp_path / "alice-home" / "answers.ipynb"
    secret.parent.mkdir()
    secret.write_text("alice's answers")
    (work / "answers.ipynb").unlink()
    (work / "answers.ipynb").symlink_to(secret)
    (work / "copy.csv").symlink_to(work / "data" / "table.csv")  # inside the folder: sent as that file
    (work / "escape").symlink_to(secret.parent, target_is_directory=True)
    run(HubSubmit, "bob", tmp_path / "bob", "a6")
    [sub] = submissions(service, "a6")
    assert sub["files"] == ["copy.csv", "data/table.csv"]
    _, kept = service.call("GET", f"courses/d2l/submissions/{sub['id']}", "tina")
    assert b"alice" not in b"".join(base64.b64decode(f["content"]) for f in kept["contents"])


def test_collect_never_follows_a_link_planted_in_submitted(run, service, course_folder, tmp_path):
    released(run, course_folder, "a7")
    for student in ("alice", "bob", "carol"):
        if student != "carol":
            fetched(run, tmp_path / student, student, "a7")
            run(HubSubmit, student, tmp_path / student, "a7")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (course_folder / "submitted" / "bob").mkdir(parents=True)
    (course_folder / "submitted" / "alice").symlink_to(elsewhere, target_is_directory=True)
    (course_folder / "submitted" / "bob" / "a7").symlink_to(elsewhere, target_is_directory=True)
    with pytest.raises(ExchangeError) as refused:
        run(HubCollect, "tina", course_folder, "a7")
    assert "submitted/alice is a symbolic link: not followed" in str(refused.value)
    assert "submitted/bob/a7 is a symbolic link or a file: not followed" in str(refused.value)
    assert list(elsewhere.iterdir()) == []


def test_a_student_sees_only_their_own_submissions_and_feedback(run, service, course_folder, tmp_path):
    released(run, course_folder, "a8")
    for student in ("alice", "bob"):
        fetched(run, tmp_path / student, student, "a8")
        run(HubSubmit, student, tmp_path / student, "a8")
    alices = next(s for s in submissions(service, "a8") if s["student_id"] == "alice")
    feedback = {"files": encode([ExchangeFile("answers.html", b"<p>alice: 7/7</p>")])}
    assert service.call("POST", f"courses/d2l/submissions/{alices['id']}/feedback", "tina", feedback)[0] == 201

    assert service.call("GET", "courses/d2l/submissions?assignment=a8&student=alice", "bob")[0] == 403
    status, own = service.call("GET", "courses/d2l/submissions?assignment=a8", "bob")
    assert status == 200 and [s["student_id"] for s in own] == ["bob"]
    for path in (f"courses/d2l/submissions/{alices['id']}", f"courses/d2l/submissions/{alices['id']}/feedback"):
        assert service.call("GET", path, "bob")[0] == 404
        assert service.call("GET", path, "alice")[0] == 200
    assert service.call("GET", "courses/d2l/submissions?assignment=a8", "carol")[0] == 403
    [listed] = run(HubList, "bob", tmp_path / "bob", "a8", inbound=True)
    assert listed["student_id"] == "bob"
    with pytest.raises(ExchangeError, match="from your JupyterHub login"):
        run(HubFetchFeedback, "bob", tmp_path / "bob", "a8", coursedir={"student_id": "alice"})
    run(HubFetchFeedback, "bob", tmp_path / "bob", "a8")
    assert not (tmp_path / "bob" / "a8" / "feedback").exists()


def test_only_instructors_release_and_unrelease_and_unreleasing_keeps_every_submission(run, service, course_folder,
                                                                                       tmp_path):
    (course_folder / "release" / "a9").mkdir(parents=True)
    (course_folder / "release" / "a9" / "answers.ipynb").write_text(NOTEBOOK)
    for user, role in (("tina", "TA"), ("bob", "student")):
        with pytest.raises(ExchangeError, match=rf"only instructors of d2l may release assignments.*a {role}"):
            run(HubReleaseAssignment, user, course_folder, "a9")
    run(HubReleaseAssignment, "ivan", course_folder, "a9")
    with pytest.raises(ExchangeError, match=r"already released.*--force"):
        run(HubReleaseAssignment, "ivan", course_folder, "a9")
    fetched(run, tmp_path / "bob", "bob", "a9")
    run(HubSubmit, "bob", tmp_path / "bob", "a9")
    run(HubReleaseAssignment, "ivan", course_folder, "a9", force=True)
    assert len(submissions(service, "a9")) == 1
    for user in ("tina", "bob"):
        with pytest.raises(ExchangeError, match="only instructors of d2l may unrelease"):
            run(HubList, user, course_folder, "a9", remove=True)
    [removed] = run(HubList, "ivan", course_folder, "a9", remove=True)
    assert removed["status"] == "removed"
    assert len(submissions(service, "a9")) == 1
    assert run(HubList, "bob", tmp_path, "a9") == []
    with pytest.raises(ExchangeError, match="a9 is not released in course d2l"):
        run(HubFetchAssignment, "alice", tmp_path / "alice-new", "a9")
    with pytest.raises(ExchangeError, match="a9 is not released in course d2l"):
        run(HubSubmit, "bob", tmp_path / "bob", "a9")
    with pytest.raises(ExchangeError, match="never removed"):
        run(HubList, "ivan", course_folder, "a9", remove=True, inbound=True)


def test_uploads_over_a_cap_are_refused_with_the_cap_before_and_at_the_service(run, service, course_folder, tmp_path):
    released(run, course_folder, "a10")
    work = fetched(run, tmp_path / "bob", "bob", "a10")
    (work / "big.bin").write_bytes(b"x" * 50_000)
    with pytest.raises(ExchangeError, match=r"not sent: big\.bin is 48\.8 KiB: a file may be at most 39\.1 KiB"):
        run(HubSubmit, "bob", tmp_path / "bob", "a10")
    for files, cap in (([ExchangeFile("big.bin", b"x" * 50_000)], "a file may be at most"),
                       ([ExchangeFile(f"f{i}", b"") for i in range(7)], "at most 6 are accepted"),
                       ([ExchangeFile(f"f{i}", b"x" * 30_000) for i in range(3)], "in all are accepted")):
        status, refused = service.call("POST", "courses/d2l/assignments/a10/submissions", "bob",
                                       {"files": encode(files)})
        assert status == 413 and cap in refused["error"], refused
    (work / "big.bin").unlink()
    for _ in range(LIMITS.submissions):
        run(HubSubmit, "bob", tmp_path / "bob", "a10")
    with pytest.raises(ExchangeError, match="you have submitted a10 4 times, the most the exchange accepts"):
        run(HubSubmit, "bob", tmp_path / "bob", "a10")
    assert len(submissions(service, "a10")) == LIMITS.submissions


@pytest.fixture(scope="module")
def paths_checked_on(service) -> str:
    """An assignment released for these tests alone (whichever test of the module runs first), so that a refusal is
    about the path, not about an assignment nobody released."""
    body = {"files": encode([ExchangeFile("answers.ipynb", NOTEBOOK.encode())])}
    status, said = service.call("POST", "courses/d2l/assignments/a-paths/release", "ivan", body)
    assert status == 201, said
    return "a-paths"


@pytest.mark.parametrize("path", ["../x", "/etc/passwd", "a/../../x", "a\\..\\b", "a\x00b", "./x", "a//b",
                                  "a/b/c/d", ""])
def test_a_path_that_could_leave_or_hide_in_the_folder_is_refused(service, paths_checked_on, path):
    body = {"files": encode([ExchangeFile(path, b"{}")])}
    status, refused = service.call("POST", f"courses/d2l/assignments/{paths_checked_on}/submissions", "alice", body)
    assert status == 400 and refused["error"].startswith("the submission refused"), refused


def test_duplicate_paths_and_a_file_that_is_also_a_folder_are_refused(service, paths_checked_on):
    for paths in (["x.ipynb", "x.ipynb"], ["data", "data/x.csv"]):
        body = {"files": encode([ExchangeFile(p, b"{}") for p in paths])}
        assert service.call("POST", f"courses/d2l/assignments/{paths_checked_on}/submissions", "alice", body)[0] == 400


def test_without_a_token_with_access_to_the_exchange_nothing_is_answered_and_the_client_says_what_to_do(
        run, service, course_folder):
    status, refused = service.call("GET", "whoami", None)
    assert status == 401 and "set JUPYTERHUB_API_TOKEN to a token from the hub's Token page" in refused["error"]
    narrow = service.hub.token("alice", scopes=["read:users:name!user=alice"])
    assert service.call("GET", "whoami", None, token=narrow)[0] == 401
    assert service.call("GET", "whoami", None, token="token-the-hub-never-gave")[0] == 401
    status, alice = service.call("GET", "whoami", "alice")
    assert status == 200 and (alice["name"], alice["courses"]) == ("alice", {"d2l": "student"})
    status, refused = service.call("GET", "courses/not-on-this-hub/assignments", "alice")
    assert status == 404 and "there is no course 'not-on-this-hub' on this hub" in refused["error"]
    with pytest.raises(ExchangeError, match="run this inside your JupyterHub server, or set JUPYTERHUB_API_TOKEN"):
        run(HubList, None, course_folder, "a1")


def test_the_service_listens_on_loopback_only_unless_told_otherwise(tmp_path, capsys):
    from d2lgrade.hub.exchange_service import is_loopback, main

    config = tmp_path / "hub.toml"
    config.write_text('[courses.d2l]\npath = "/srv/d2lgrade/d2l"\n')
    assert main(["--config", str(config), "--ip", "0.0.0.0", "--data", str(tmp_path / "x")]) == 2
    assert "refusing to listen on 0.0.0.0" in capsys.readouterr().err
    assert not (tmp_path / "x").exists()
    assert is_loopback("127.0.0.1") and is_loopback("::1") and not is_loopback("10.0.0.1")


def test_the_store_is_the_service_users_only(service):
    store = service.exchange.store
    assert stat.S_IMODE(store.folder.stat().st_mode) == 0o700
    blobs = [p for p in store.blobs.rglob("*")]
    assert blobs and all(stat.S_IMODE(p.stat().st_mode) == (0o700 if p.is_dir() else 0o600) for p in blobs)
    for name in ("exchange.sqlite", "exchange.sqlite-wal"):
        assert stat.S_IMODE((store.folder / name).stat().st_mode) == 0o600


def test_nbgrader_with_the_hub_exchange_configured_stops_without_a_token_and_never_uses_a_folder_exchange(
        service, tmp_path):
    trap = tmp_path / "folder-exchange" / "d2l" / "outbound" / "trap-assignment"
    trap.mkdir(parents=True)
    (trap / "answers.ipynb").write_text(NOTEBOOK)
    home = tmp_path / "bob"
    home.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("JUPYTERHUB_", "JUPYTER_CONFIG"))}
    env |= {"JUPYTER_CONFIG_PATH": str(ROOT / "jupyter" / "student"), "D2LGRADE_EXCHANGE_URL": service.url,
            "D2LGRADE_EXCHANGE": str(tmp_path / "folder-exchange"), "HOME": str(home)}
    nbgrader = str(Path(sys.executable).parent / "nbgrader")
    done = subprocess.run([nbgrader, "list", "--course", "d2l"], cwd=home, env=env, capture_output=True, text=True)
    assert done.returncode != 0 and "trap-assignment" not in done.stdout + done.stderr
    assert "set JUPYTERHUB_API_TOKEN to a token from the hub's Token page" in done.stderr
    env["JUPYTERHUB_API_TOKEN"] = service.tokens["bob"]
    done = subprocess.run([nbgrader, "submit", "a1", "--course", "d2l", "--student=alice"], cwd=home, env=env,
                          capture_output=True, text=True)
    assert done.returncode != 0 and "the exchange takes who you are from your JupyterHub login" in done.stderr


def _lab(manager: type, user: str, service: Service, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    """The Lab's Assignment List manager as ``user``'s hub server runs it: the student set-up, their token, their
    home as the working folder."""
    home = tmp_path / user
    home.mkdir()
    for key, value in {"JUPYTER_CONFIG_PATH": str(ROOT / "jupyter" / "student"), "D2LGRADE_EXCHANGE_URL": service.url,
                       "JUPYTERHUB_API_TOKEN": service.tokens[user], "JUPYTER_CONFIG_DIR": str(home / ".jupyter")
                       }.items():
        monkeypatch.setenv(key, value)
    monkeypatch.chdir(home)
    lab = manager()
    lab.root_dir = str(home)
    return lab


def test_the_lab_assignment_list_fetches_submits_and_fetches_feedback_unchanged(run, service, course_folder,
                                                                                tmp_path, monkeypatch):
    from nbgrader.server_extensions.assignment_list.handlers import AssignmentList

    released(run, course_folder, "lab1")
    lab = _lab(AssignmentList, "alice", service, tmp_path, monkeypatch)
    assert lab.list_courses() == {"success": True, "value": ["d2l"]}
    assert lab.fetch_assignment("d2l", "lab1") == {"success": True}
    assert lab.submit_assignment("d2l", "lab1") == {"success": True}
    [sub] = submissions(service, "lab1")
    feedback = {"files": encode([ExchangeFile("answers.html", b"<p>ok</p>")])}
    assert service.call("POST", f"courses/d2l/submissions/{sub['id']}/feedback", "tina", feedback)[0] == 201
    assert lab.fetch_feedback("d2l", "lab1") == {"success": True}
    listed = lab.list_assignments("d2l")
    assert listed["success"], listed
    fetched_info = next(a for a in listed["value"] if a["assignment_id"] == "lab1" and a["status"] == "fetched")
    assert fetched_info["path"] == "lab1" and fetched_info["notebooks"][0]["path"] == "lab1/answers.ipynb"
    [submitted] = [a for a in listed["value"] if a["status"] == "submitted" and a["assignment_id"] == "lab1"]
    [info] = submitted["submissions"]
    assert info["timestamp"].startswith(sub["timestamp"]) and info["has_local_feedback"]
    assert not info["feedback_updated"] and "1 submission used (no limit)" in info["timestamp"]
    assert info["local_feedback_path"] == f"lab1/feedback/{sub['timestamp']}"


def _grading_on_submit(service: Service, stop: threading.Event) -> None:
    """What ``d2lgrade serve`` does to the exchange: poll as the hub service "grader", attach a page and a result."""
    grader = ExchangeAPI(service.url, service.hub.token("grader", kind="service"))
    seen = 0
    while True:
        for sub in grader.submissions("d2l", after=seen):
            seen = sub.exchange_id
            grader.add_feedback("d2l", sub.exchange_id, [ExchangeFile("answers.html", b"<p>q1: 4 / 6</p>")])
            grader.add_result("d2l", sub.exchange_id, {"state": "graded", "shown": "messages", "score": 4.0,
                                                       "max_score": 6.0, "by_hand": 1})
        if stop.wait(0.05):
            return


def test_with_grading_on_submit_the_lab_shows_score_feedback_and_what_is_left_and_a_refusal_says_why(
        run, service, course_folder, tmp_path, monkeypatch):
    from d2lgrade.hub.lab_extension import SubmitSaysWhy

    released(run, course_folder, "lab2")
    ExchangeAPI(service.url, service.tokens["ivan"]).set_policies("d2l", {"lab2": {"max_submissions": 2}})
    lab = _lab(SubmitSaysWhy, "bob", service, tmp_path, monkeypatch)
    home = tmp_path / "bob"
    stop = threading.Event()
    grader = threading.Thread(target=_grading_on_submit, args=(service, stop), daemon=True)
    grader.start()
    try:
        while not service.exchange.graded_on_submit("d2l"):  # the grading service's first poll
            time.sleep(0.01)
        assert lab.fetch_assignment("d2l", "lab2") == {"success": True}
        assert lab.submit_assignment("d2l", "lab2") == {"success": True}  # returns once graded: the page is here
        [submitted] = [a for a in lab.list_assignments("d2l")["value"]
                       if a["status"] == "submitted" and a["assignment_id"] == "lab2"]
        [line] = submitted["submissions"]
        assert line["has_local_feedback"] and not line["feedback_updated"], line
        assert line["timestamp"].endswith(" — graded: 4 / 6 points (1 written answer to be graded by hand) · 1 of 2 "
                                          "submissions used (1 left); your last submission before the due date counts")
        assert (home / line["local_feedback_path"] / "answers.html").read_bytes() == b"<p>q1: 4 / 6</p>"
        assert lab.submit_assignment("d2l", "lab2") == {"success": True}
        refused = lab.submit_assignment("d2l", "lab2")
    finally:
        stop.set()
        grader.join()
    assert refused["success"] is False and "Traceback" not in refused["value"]
    assert refused["value"].startswith("lab2: 2 of 2 submissions used (0 left); no more submissions are accepted")
