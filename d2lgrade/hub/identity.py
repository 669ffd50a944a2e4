"""Who is asking, and what they may do in a course: from JupyterHub, never from the request or the filesystem.

A request to a course service (the exchange, the grading service) carries a hub token. The hub says whose it
is (:meth:`HubIdentity.identify`, through ``jupyterhub.services.auth.HubAuth``, which also checks the token may
reach this service); the user's groups are then read with the service's own token, so a token that hides its
groups grants nothing. A course's roles are hub groups named ``<role>-<course>`` (``students-d2l``,
``tas-d2l``, ``instructors-d2l``); the hub-wide groups ``students``, ``tas`` and ``instructors`` only choose
which JupyterLab tools a user's server shows (:func:`lab_role`).
"""

from __future__ import annotations

import enum
import re
import time
from dataclasses import dataclass
from typing import Any

COURSE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
"""Course and assignment ids as the services accept them: a path component that cannot climb or hide."""
GROUPS_TTL = 30.0
"""Seconds a user's groups are reused: a removed TA loses the course within this time."""


class Role(enum.IntEnum):
    """A user's role in one course; each role may do what the ones below it may."""

    NONE = 0
    STUDENT = 1
    TA = 2
    INSTRUCTOR = 3


GROUP_PREFIXES = {"students": Role.STUDENT, "tas": Role.TA, "instructors": Role.INSTRUCTOR}


def group_name(role: Role, course: str) -> str:
    """The hub group that gives ``role`` in ``course``."""
    prefix = next(p for p, r in GROUP_PREFIXES.items() if r == role)
    return f"{prefix}-{course}"


@dataclass(frozen=True)
class Identity:
    """The owner of a token, as the hub knows them."""

    name: str
    kind: str  # "user" or "service"
    groups: frozenset[str] = frozenset()

    def role_in(self, course: str) -> Role:
        """The highest role the user's groups give in ``course`` (services have none: they act for no one)."""
        if self.kind != "user":
            return Role.NONE
        return max((r for p, r in GROUP_PREFIXES.items() if f"{p}-{course}" in self.groups), default=Role.NONE)

    def courses(self) -> dict[str, Role]:
        """Every course the user has a role in, with that role."""
        found: dict[str, Role] = {}
        for group in self.groups:
            prefix, _, course = group.partition("-")
            if prefix in GROUP_PREFIXES and COURSE_ID.match(course):
                found[course] = max(found.get(course, Role.NONE), GROUP_PREFIXES[prefix])
        return found


def lab_role(groups: set[str] | frozenset[str]) -> str:
    """Which JupyterLab set-up (``jupyter/<role>/``) a user's server starts with: the highest hub-wide group."""
    for role in ("instructors", "tas"):
        if role in groups or any(g.startswith(role + "-") for g in groups):
            return role[:-1]
    return "student"


class HubIdentity:
    """Identities of tokens, asked of the hub by a service (``JUPYTERHUB_API_TOKEN`` and ``_URL`` in its
    environment, as the hub or its systemd unit sets them)."""

    def __init__(self, hub_auth: Any | None = None) -> None:
        if hub_auth is None:
            from jupyterhub.services.auth import HubAuth

            hub_auth = HubAuth(cache_max_age=10, allow_token_in_url=False)
        self.hub_auth = hub_auth
        self._groups: dict[str, tuple[float, frozenset[str]]] = {}

    def token_of(self, handler: Any) -> str:
        """The token of a request, from its ``Authorization: token …`` header only (never a URL or cookie)."""
        return self.hub_auth.get_token(handler, in_cookie=False) or ""

    async def identify(self, token: str) -> Identity | None:
        """The token's owner, or None when the hub does not know the token or it may not reach this service."""
        if not token:
            return None
        model = await self.hub_auth.user_for_token(token, sync=False)
        if not model or not self.hub_auth.check_scopes(self.hub_auth.access_scopes, model):
            return None
        kind = model.get("kind", "user")
        groups = await self._groups_of(model["name"]) if kind == "user" else frozenset()
        return Identity(model["name"], kind, groups)

    async def _groups_of(self, name: str) -> frozenset[str]:
        cached = self._groups.get(name)
        if cached and time.monotonic() - cached[0] < GROUPS_TTL:
            return cached[1]
        from jupyterhub.utils import url_path_join

        model = await self.hub_auth._api_request("GET", url_path_join(self.hub_auth.api_url, "users", name))
        groups = frozenset((model or {}).get("groups") or ())
        self._groups[name] = (time.monotonic(), groups)
        return groups
