"""A stand-in for JupyterHub's REST API, for the services' tests: tokens, users and groups as the test says.

It answers the two calls a course service makes (``GET /hub/api/user`` with a token, ``GET
/hub/api/users/<name>`` with the service's own token) the way JupyterHub 6 does, on 127.0.0.1 in a thread.
The end-to-end tests (``make hub-test``) run against a real hub.
"""

from __future__ import annotations

import asyncio
import json
import secrets
import socket
import threading
from dataclasses import dataclass, field
from typing import Any

from tornado import httpserver, web

SERVICE_TOKEN = "service-" + secrets.token_hex(8)


@dataclass
class FakeHub:
    """Users and their groups; ``token(name)`` hands out a token the hub knows as theirs."""

    service: str
    groups: dict[str, set[str]] = field(default_factory=dict)
    tokens: dict[str, dict[str, Any]] = field(default_factory=dict)
    port: int = 0

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hub/api"

    def token(self, name: str, kind: str = "user", scopes: list[str] | None = None) -> str:
        value = secrets.token_hex(16)
        default = [f"access:services!service={self.service}", f"read:users:groups!user={name}"]
        self.tokens[value] = {"name": name, "kind": kind, "scopes": default if scopes is None else scopes}
        return value

    def env(self) -> dict[str, str]:
        """What the hub puts in a managed service's environment."""
        return {"JUPYTERHUB_API_URL": self.api_url, "JUPYTERHUB_API_TOKEN": SERVICE_TOKEN,
                "JUPYTERHUB_SERVICE_NAME": self.service}


class _Base(web.RequestHandler):
    def initialize(self, hub: FakeHub) -> None:
        self.hub = hub

    def caller(self) -> str:
        header = self.request.headers.get("Authorization", "")
        return header.split(None, 1)[1] if header.lower().startswith("token ") else ""


class _User(_Base):
    def get(self) -> None:
        model = self.hub.tokens.get(self.caller())
        if model is None:
            raise web.HTTPError(403)
        self.write(json.dumps(model))


class _Users(_Base):
    def get(self, name: str) -> None:
        if self.caller() != SERVICE_TOKEN:
            raise web.HTTPError(403)
        if name not in self.hub.groups:
            raise web.HTTPError(404)
        self.write(json.dumps({"name": name, "kind": "user", "groups": sorted(self.hub.groups[name])}))


def start(hub: FakeHub) -> FakeHub:
    """Serve ``hub`` on a free port in a daemon thread; returns it with its port set."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(16)
    sock.setblocking(False)
    hub.port = sock.getsockname()[1]
    ready = threading.Event()

    def serve() -> None:
        loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        app = web.Application([(r"/hub/api/user", _User, {"hub": hub}), (r"/hub/api/users/([^/]+)", _Users, {"hub": hub})])
        server = httpserver.HTTPServer(app)
        server.add_sockets([sock])
        loop.call_soon(ready.set)
        loop.run_forever()

    threading.Thread(target=serve, daemon=True, name="fake-hub").start()
    ready.wait(10)
    return hub
