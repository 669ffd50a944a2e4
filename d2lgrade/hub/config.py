"""The class server's one settings file (``/etc/d2lgrade/hub.toml``): courses, who is who in them, ports, folders.

The hub (``deploy/jupyterhub_config.py``), the exchange and the grading service all read it, so a course, its
folder and its people are written down once. ``deploy/hub.toml.example`` shows every key.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from d2lgrade.hub.identity import COURSE_ID

DEFAULT_PATH = Path("/etc/d2lgrade/hub.toml")


class ConfigError(ValueError):
    """The settings file is wrong: which key, and what it should be."""


@dataclass(frozen=True)
class CourseEntry:
    """One course on the hub: its folder (a clone of this repository) and its people by role."""

    id: str
    path: Path
    instructors: tuple[str, ...] = ()
    tas: tuple[str, ...] = ()
    students: tuple[str, ...] = ()
    grade_on_submit: bool = False
    """Whether ``d2lgrade serve`` grades each submission as it arrives (else the staff collect and grade)."""


@dataclass(frozen=True)
class Service:
    """Where a course service listens (always a loopback address: the hub's proxy is the way in)."""

    port: int
    ip: str = "127.0.0.1"
    jobs: int = 1
    """The grader's warm worker processes per course (submissions graded at once); the exchange ignores it."""

    @property
    def url(self) -> str:
        return f"http://{self.ip}:{self.port}"


@dataclass(frozen=True)
class HubConfig:
    courses: dict[str, CourseEntry]
    hub_port: int = 8000
    authenticator: str = "pam"  # "pam", or "demo": users made by `make hub` with known passwords
    runtime: Path = Path("/opt/d2lgrade/runtime")
    state: Path = Path("/var/lib/d2lgrade")
    secrets: Path = Path("/etc/d2lgrade/secrets")
    exchange: Service = field(default_factory=lambda: Service(8010))
    grader: Service = field(default_factory=lambda: Service(8011))
    source: Path | None = None

    @classmethod
    def load(cls, path: Path = DEFAULT_PATH) -> HubConfig:
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except (OSError, tomllib.TOMLDecodeError) as e:
            raise ConfigError(f"{path}: {e} (copy deploy/hub.toml.example there and edit it)") from e
        return cls.from_dict(data, path)

    @classmethod
    def from_dict(cls, data: dict[str, Any], source: Path | None = None) -> HubConfig:
        hub = data.get("hub", {})
        services = data.get("services", {})
        courses = {cid: _course(cid, entry, source) for cid, entry in data.get("courses", {}).items()}
        if not courses:
            raise ConfigError(f"{source}: no [courses.<id>] table: name at least one course and its folder")
        kwargs: dict[str, Any] = {k: hub[k] for k in ("hub_port", "authenticator") if k in hub}
        kwargs |= {k: Path(hub[k]) for k in ("runtime", "state", "secrets") if k in hub}
        kwargs |= {name: Service(int(s["port"]), s.get("ip", "127.0.0.1"), int(s.get("jobs", 1))) for name, s in services.items()
                   if name in ("exchange", "grader")}
        if kwargs.get("authenticator", "pam") not in ("pam", "demo"):
            raise ConfigError(f"{source}: [hub] authenticator must be \"pam\" or \"demo\"")
        return cls(courses, source=source, **kwargs)


def _course(cid: str, entry: dict[str, Any], source: Path | None) -> CourseEntry:
    if not COURSE_ID.match(cid):
        raise ConfigError(f"{source}: course id {cid!r}: letters, digits, '_', '.', '-' only (it names folders "
                          "and hub groups)")
    if "path" not in entry:
        raise ConfigError(f"{source}: [courses.{cid}] has no path: the folder of the course's clone")
    people = {role: tuple(entry.get(role, ())) for role in ("instructors", "tas", "students")}
    on_submit = entry.get("grade_on_submit", False)
    if not isinstance(on_submit, bool):
        raise ConfigError(f"{source}: [courses.{cid}] grade_on_submit must be true or false")
    return CourseEntry(cid, Path(entry["path"]), **people, grade_on_submit=on_submit)
