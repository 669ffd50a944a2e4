"""The real class server for tests/hub: ``make hub`` under a temporary prefix, with its own ports and users.

Everything the hub needs is put under ``/tmp/d2lhub-XXXX`` (0755, so the runtime and course folders are reached by
the users as on a server, whatever /root is): the runtime (``make runtime``), hub.toml, secrets, state, two course
clones built. The people are real Unix users named ``d2lt…`` (made by the set-up's demo mode, with passwords), and
are removed at the end with the staff groups and the exchange's user, even when a test or the start fails.
Users log in through the hub's REST API (a token for username and password, checked by PAM) and talk to their
servers through the hub's proxy, as a browser would.
"""

from __future__ import annotations

import asyncio
import grp
import json
import os
import pwd
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
INSTRUCTOR, TA, STUDENTS, OTHER_STUDENT = "d2ltivan", "d2lttina", ("d2ltalice", "d2ltbob"), "d2ltcarol"
ON_SUBMIT_STUDENT = "d2ltdave"
"""A second student of the other course, which grades on submit (``grade_on_submit = true``)."""
EXCHANGE_USER, SERVE_USER = "d2ltexchange", "d2ltserve"
COURSE, OTHER_COURSE = "d2lt-ch2", "d2lt-appx"
USERS = (INSTRUCTOR, TA, *STUDENTS, OTHER_STUDENT, ON_SUBMIT_STUDENT, EXCHANGE_USER, SERVE_USER)
GROUPS = (f"{COURSE}-staff", f"{OTHER_COURSE}-staff")
WAIT = float(os.environ.get("D2LGRADE_TEST_WAIT", 180))
"""Seconds: a backstop for a loaded machine, never a pause (each wait ends on what the hub answers)."""
KEEP = os.environ.get("D2LGRADE_HUB_TEST_PREFIX")
"""A prefix to reuse and keep (its runtime is then only brought up to date): for working on these tests."""


def free_ports(count: int) -> int:
    """The first of ``count`` consecutive free ports on 127.0.0.1 (the hub uses its port and the next two, the
    services two more), below the kernel's ephemeral range: a port other tests or connections get from the kernel
    is never one of them between this check and the hub's start a minute later."""
    low = int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    for _ in range(200):
        first = random.randrange(max(1024, low - 12000), low - count)
        if all(_free(first + i) for i in range(count)):
            return first
    raise RuntimeError(f"no {count} consecutive free ports on 127.0.0.1 below {low}")


def _free(port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def wait_for_port(port: int, process: subprocess.Popen[bytes], log: Path, what: str) -> None:
    """Until ``process`` (a service started by a test, logging to ``log``) listens on ``port``; its log if it dies."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert process.poll() is None, log.read_text()
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise AssertionError(f"{what} did not listen on {port}: {log.read_text()}")


def hub_toml(prefix: Path, port: int) -> str:
    """The test hub's settings: everything under ``prefix``, two courses (the other one grades on submit), the d2lt
    people."""
    def course(cid: str, instructors: list[str], tas: list[str], students: list[str], on_submit: bool = False) -> str:
        return (f'[courses.{cid}]\npath = "{prefix}/srv/d2lgrade/{cid}"\ninstructors = {json.dumps(instructors)}\n'
                f"tas = {json.dumps(tas)}\nstudents = {json.dumps(students)}\n"
                f"grade_on_submit = {json.dumps(on_submit)}\n\n")

    return (f'[hub]\nhub_port = {port}\nauthenticator = "demo"\nruntime = "{prefix}/opt/d2lgrade/runtime"\n'
            f'state = "{prefix}/var/lib/d2lgrade"\nsecrets = "{prefix}/etc/d2lgrade/secrets"\n\n'
            f"[services.exchange]\nport = {port + 3}\n\n[services.grader]\nport = {port + 4}\njobs = 2\n\n"
            + course(COURSE, [INSTRUCTOR], [TA], list(STUDENTS))
            + course(OTHER_COURSE, [INSTRUCTOR], [], [OTHER_STUDENT, ON_SUBMIT_STUDENT], on_submit=True))


def request(url: str, method: str = "GET", body: Any = None, token: str = "") -> tuple[int, Any]:
    """An HTTP call with JSON in and out: (status, decoded body or text)."""
    data = None if body is None else json.dumps(body).encode()
    headers = {"Content-Type": "application/json"} | ({"Authorization": f"token {token}"} if token else {})
    req = urllib.request.Request(url, data=data, method=method, headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=60) as response:
            status, raw = response.status, response.read()
    except urllib.error.HTTPError as e:
        status, raw = e.code, e.read()
    try:
        return status, json.loads(raw or b"null")
    except ValueError:
        return status, raw.decode(errors="replace")


@dataclass
class Session:
    """One person logged in to the hub: their token, their server through the proxy."""

    hub: Hub
    name: str
    token: str

    def api(self, path: str, method: str = "GET", body: Any = None) -> tuple[int, Any]:
        return request(f"{self.hub.url}/hub/api{path}", method, body, self.token)

    def server(self, path: str, method: str = "GET", body: Any = None) -> tuple[int, Any]:
        return request(f"{self.hub.url}/user/{self.name}{path}", method, body, self.token)

    def run(self, *args: str, cwd: Path | str | None = None, **env: str) -> subprocess.CompletedProcess[str]:
        """``args`` as this person's Unix user (``runuser``: their own groups), with their server's environment and
        token, in their server's folder unless told; as a terminal in their JupyterLab would run it."""
        environment, folder = self.hub.people_env(self.name, self.token)
        command = ["runuser", "-u", self.name, "--", "env", "-i",
                   *(f"{k}={v}" for k, v in (environment | env).items()), *args]
        return subprocess.run(command, cwd=cwd or folder, capture_output=True, text=True, timeout=WAIT * 3,
                              umask=0o007)  # the umask the hub gives servers (deploy/jupyterhub_config.py)

    def start_server(self) -> float:
        """Ask the hub for this user's server and wait until it is ready; seconds it took."""
        started = time.monotonic()
        status, answer = self.api(f"/users/{self.name}/server", "POST")
        assert status in (201, 202, 400), f"{self.name}: the hub did not start a server: {status} {answer}"
        while time.monotonic() - started < WAIT:
            status, model = self.api(f"/users/{self.name}")
            server = (model or {}).get("servers", {}).get("") if status == 200 else None
            if server and server.get("ready"):
                return time.monotonic() - started
            assert server is not None, f"{self.name}'s server stopped while starting:\n{self.hub.log_tail('hub')}"
            time.sleep(0.2)
        raise AssertionError(f"{self.name}'s server not ready in {WAIT} s:\n{self.hub.log_tail('hub')}")

    def run_in_kernel(self, code: str) -> str:
        """``code`` in a new kernel of this user's server (as they would in a notebook); what it printed."""
        status, kernel = self.server("/api/kernels", "POST", {"name": "python3"})
        assert status == 201, f"{self.name}: no kernel: {status} {kernel}"
        try:
            return asyncio.run(_execute(self.hub.url.replace("http", "ws", 1) +
                                        f"/user/{self.name}/api/kernels/{kernel['id']}/channels", self.token, code))
        finally:
            self.server(f"/api/kernels/{kernel['id']}", "DELETE")


async def _execute(url: str, token: str, code: str) -> str:
    """One execute_request over the kernel's websocket (Jupyter messaging 5.3); the stream output, or the error."""
    from tornado.httpclient import HTTPRequest
    from tornado.websocket import websocket_connect

    connection = await websocket_connect(HTTPRequest(url, headers={"Authorization": f"token {token}"}))
    msg_id, out = uuid.uuid4().hex, []
    connection.write_message(json.dumps({
        "header": {"msg_id": msg_id, "msg_type": "execute_request", "session": uuid.uuid4().hex, "username": "test",
                   "version": "5.3", "date": ""},
        "parent_header": {}, "metadata": {}, "channel": "shell",
        "content": {"code": code, "silent": False, "store_history": False, "user_expressions": {},
                    "allow_stdin": False, "stop_on_error": True}}))
    deadline = time.monotonic() + WAIT
    while time.monotonic() < deadline:
        raw = await asyncio.wait_for(connection.read_message(), timeout=WAIT)
        assert raw is not None, "the kernel's websocket closed"
        message = json.loads(raw)
        if message.get("parent_header", {}).get("msg_id") != msg_id:
            continue
        kind, content = message["header"]["msg_type"], message["content"]
        if kind == "stream":
            out.append(content["text"])
        elif kind == "error":
            out.append(f"{content['ename']}: {content['evalue']}")
        elif kind == "execute_reply":
            connection.close()
            return "".join(out)
    raise AssertionError(f"no reply from the kernel in {WAIT} s")


@dataclass
class Hub:
    """The running hub: its prefix, settings, URL, the demo passwords; ``login(name)`` gives a session."""

    prefix: Path
    port: int
    passwords: dict[str, str] = field(default_factory=dict)
    start_seconds: float = 0.0
    started: str = ""
    """What ``make hub`` printed last (the URL, how long the three processes took to answer)."""

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def config(self) -> Path:
        return self.prefix / "etc/d2lgrade/hub.toml"

    @property
    def runtime(self) -> Path:
        return self.prefix / "opt/d2lgrade/runtime"

    @property
    def rundir(self) -> Path:
        return self.prefix / "var/log/d2lgrade"

    def course_path(self, course: str = COURSE) -> Path:
        return self.prefix / "srv/d2lgrade" / course

    def make(self, target: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["make", "--no-print-directory", target, f"RUNTIME={self.runtime}", f"HUB_CONFIG={self.config}",
             f"UV_HOME={self.prefix}/opt/d2lgrade/uv",
             f"HUB_RUN={self.rundir}", f"PROVISION_OPTIONS=--exchange-user {EXCHANGE_USER} --serve-user {SERVE_USER}",
             f"EXCHANGE_OPTIONS=--user {EXCHANGE_USER}", f"SERVE_OPTIONS=--user {SERVE_USER}"],
            cwd=ROOT, capture_output=True, text=True, env=_host_env())

    def log_tail(self, name: str) -> str:
        try:
            return "\n".join((self.rundir / f"{name}.log").read_text(errors="replace").splitlines()[-30:])
        except OSError as e:
            return str(e)

    def people_env(self, name: str, token: str) -> tuple[dict[str, str], str]:
        """The environment ``name``'s hub server gives their kernels and terminals (the runtime first on PATH, their
        role's set-up, the services' URLs, their token), and the folder it opens in."""
        from d2lgrade.hub import spawn
        from d2lgrade.hub.config import HubConfig

        cfg = HubConfig.load(self.config)
        groups = {g for g, members in spawn.hub_groups(cfg).items() if name in members["users"]}
        home = pwd.getpwnam(name).pw_dir
        plan = spawn.server_plan(cfg, name, groups, home)
        login = {"HOME": home, "USER": name, "LOGNAME": name, "LANG": "C.UTF-8", "JUPYTERHUB_USER": name}
        return login | plan.environment | {"JUPYTERHUB_API_TOKEN": token}, plan.notebook_dir

    def login(self, name: str) -> Session:
        """A token for ``name`` from the hub's REST API, by username and password (PAM checks them)."""
        status, answer = request(f"{self.url}/hub/api/users/{name}/tokens", "POST",
                                 {"auth": {"username": name, "password": self.passwords[name]}, "note": "hub-test"})
        assert status in (200, 201), f"{name} could not log in: {status} {answer}"
        return Session(self, name, answer["token"])


def _host_env() -> dict[str, str]:
    """The environment of a root shell: make finds the host's Python (and uv in it), not this test's venv."""
    venv_bin = str(Path(sys.executable).parent)
    path = [p for p in os.environ.get("PATH", "").split(os.pathsep) if p and p != venv_bin]
    return {k: v for k, v in os.environ.items() if k != "VIRTUAL_ENV"} | {"PATH": os.pathsep.join(path)}


def remove_people() -> None:
    """The test's users (their processes first, by id), homes and groups: none of them outlives the tests."""
    for name in USERS:
        try:
            uid = pwd.getpwnam(name).pw_uid
        except KeyError:
            continue
        for pid in _pids_of(uid):
            with suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        subprocess.run(["userdel", "--remove", name], capture_output=True)
    for group in (*GROUPS, *USERS):
        try:
            grp.getgrnam(group)
        except KeyError:
            continue
        subprocess.run(["groupdel", group], capture_output=True)


def _pids_of(uid: int) -> list[int]:
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if entry.stat().st_uid == uid:
                    pids.append(int(entry.name))
            except OSError:
                pass
    return pids


@contextmanager
def running_hub() -> Iterator[Hub]:
    """``make hub`` for the d2lt people under a new prefix; stopped and removed (users, groups, files) at the end."""
    assert os.getuid() == 0, "the class server's tests make Unix users and run the hub: run them as root"
    prefix = Path(KEEP) if KEEP else Path(tempfile.mkdtemp(prefix="d2lhub-", dir="/tmp"))
    prefix.mkdir(parents=True, exist_ok=True)
    prefix.chmod(0o755)
    hub = Hub(prefix, free_ports(5))
    remove_people()  # what a killed earlier run may have left
    if hub.course_path().parent.exists():
        shutil.rmtree(hub.course_path().parent)
    try:
        hub.config.parent.mkdir(parents=True, exist_ok=True)
        hub.config.write_text(hub_toml(prefix, hub.port), encoding="utf-8")
        started = time.monotonic()
        done = hub.make("hub")
        hub.start_seconds = time.monotonic() - started
        hub.started = next((line for line in done.stdout.splitlines() if line.startswith("hub: ")), "")
        assert done.returncode == 0, f"make hub failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
        secrets = prefix / "etc/d2lgrade/secrets/demo-passwords"
        hub.passwords = dict(line.split(" ", 1) for line in secrets.read_text().splitlines())
        yield hub
    finally:
        hub.make("hub-stop")
        remove_people()
        shutil.rmtree(prefix / "srv", ignore_errors=True)
        shutil.rmtree(prefix / "var", ignore_errors=True)
        shutil.rmtree(prefix / "etc", ignore_errors=True)
        if not KEEP:
            shutil.rmtree(prefix, ignore_errors=True)
