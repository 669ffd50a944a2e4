"""What the hub's configuration (``deploy/jupyterhub_config.py``) is made of, as plain functions of hub.toml.

Hub groups come from hub.toml (:func:`hub_groups`); a user's server is started from the student runtime with the
JupyterLab set-up of their highest hub-wide role (:func:`server_plan`), in their home (students) or their first
course's folder (TAs, instructors); the two course services are external hub services whose roles let them read
users' groups (:func:`services`, :func:`roles`), and a server's token carries the scopes that reach them
(:data:`SERVER_TOKEN_SCOPES`). Nothing here imports JupyterHub: the config file applies these to ``c``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from d2lgrade.hub.config import HubConfig
from d2lgrade.hub.identity import GROUP_PREFIXES, Identity, Role, group_name, lab_role

SERVICE_NAMES = ("exchange", "grader")
SETUPS = Path("share/d2lgrade/jupyter")
"""Where ``make runtime`` copies the role set-ups (``jupyter/<role>/``), inside the runtime."""
SERVER_TOKEN_SCOPES = [
    "access:servers!server",  # the hub's own default (the "server" role) ...
    "users:activity!user",
    *(f"access:services!service={name}" for name in SERVICE_NAMES),  # ... and the course services
]
"""``JUPYTERHUB_API_TOKEN`` in a user's server: what nbgrader's exchange and autograde need to reach the services.
The hub grants each user only the part their roles hold (a student's token does not reach the grader)."""
KEPT_ENVIRONMENT = ["LANG", "LC_ALL"]
"""Of the hub's own environment, only the locale reaches a user's server (no PYTHONPATH, no PATH into a checkout)."""


@dataclass(frozen=True)
class ServerPlan:
    """One user's single-user server: its JupyterLab set-up, the folder it opens, its environment."""

    role: str  # "student", "ta" or "instructor": the folder jupyter/<role>/ of the runtime
    notebook_dir: str
    environment: dict[str, str]


def hub_groups(cfg: HubConfig) -> dict[str, dict[str, list[str]]]:
    """``c.JupyterHub.load_groups``: a course's people in ``<role>-<course>``, and each in the hub-wide ``<role>``
    (which only picks their JupyterLab set-up)."""
    groups: dict[str, set[str]] = {prefix: set() for prefix in GROUP_PREFIXES}
    for course in cfg.courses.values():
        for prefix, people in (("students", course.students), ("tas", course.tas),
                               ("instructors", course.instructors)):
            groups.setdefault(group_name(GROUP_PREFIXES[prefix], course.id), set()).update(people)
            groups[prefix].update(people)
    return {name: {"users": sorted(users)} for name, users in sorted(groups.items())}


def people(cfg: HubConfig) -> set[str]:
    """Everyone hub.toml names (``c.Authenticator.allowed_users``: no one else logs in)."""
    return {user for group in hub_groups(cfg).values() for user in group["users"]}


def setup_folder(cfg: HubConfig, role: str) -> Path:
    """The runtime's copy of ``jupyter/<role>/``: the user's ``JUPYTER_CONFIG_PATH``."""
    return cfg.runtime / SETUPS / role


def service_url(cfg: HubConfig, name: str) -> str:
    """A service as users' servers reach it: through the hub's proxy, which is where the hub checks tokens' scopes
    are routed (the service still checks each token itself)."""
    return f"http://127.0.0.1:{cfg.hub_port}/services/{name}"


def environment(cfg: HubConfig, role: str) -> dict[str, str]:
    """Variables of a user's server: the runtime first on PATH (kernels, terminals, ``nbgrader``, ``d2lgrade``),
    the role's set-up on the config path (never JUPYTER_CONFIG_DIR: ``~/.jupyter`` stays the user's own, so
    JupyterLab settings save), and where the course services are."""
    return {
        "PATH": f"{cfg.runtime / 'bin'}:/usr/local/bin:/usr/bin:/bin",
        "JUPYTER_CONFIG_PATH": str(setup_folder(cfg, role)),
        "D2LGRADE_EXCHANGE_URL": service_url(cfg, "exchange"),
        "D2LGRADE_GRADER_URL": service_url(cfg, "grader"),
    }


def staff_course(cfg: HubConfig, name: str, groups: set[str] | frozenset[str]) -> Path | None:
    """The folder of the first course (hub.toml's order) in which the user's groups make them TA or instructor."""
    roles = Identity(name, "user", frozenset(groups)).courses()
    return next((c.path for c in cfg.courses.values() if roles.get(c.id, Role.NONE) >= Role.TA), None)


def server_plan(cfg: HubConfig, name: str, groups: set[str] | frozenset[str], home: str) -> ServerPlan:
    """What ``name``'s server starts with, from their hub groups: students in their home, staff in their course."""
    role = lab_role(set(groups))
    course = staff_course(cfg, name, groups) if role != "student" else None
    return ServerPlan(role, str(course) if course else home, environment(cfg, role))


def services(cfg: HubConfig, tokens: dict[str, str]) -> list[dict[str, str]]:
    """``c.JupyterHub.services``: the exchange and the grader, started outside the hub (systemd or ``make hub``),
    each with the API token the set-up wrote into the secrets folder."""
    where = {"exchange": cfg.exchange, "grader": cfg.grader}
    return [{"name": name, "url": where[name].url, "api_token": tokens[name]} for name in SERVICE_NAMES]


def roles(cfg: HubConfig) -> list[dict[str, object]]:
    """``c.JupyterHub.load_roles``: course members reach the exchange, staff the grader too; both services read
    users' groups (the roles in a course) with their own token, and nothing else."""
    groups = hub_groups(cfg)
    staff = sorted(g for g in groups if g.startswith(("tas", "instructors")))
    return [
        {"name": "d2lgrade-course-member", "description": "reach the exchange service",
         "scopes": ["access:services!service=exchange"], "groups": sorted(groups)},
        {"name": "d2lgrade-course-staff", "description": "reach the grading service",
         "scopes": ["access:services!service=grader"], "groups": staff},
        {"name": "d2lgrade-course-service", "description": "read who is in which course",
         "scopes": ["read:users:name", "read:users:groups"], "services": list(SERVICE_NAMES)},
        {"name": "d2lgrade-grading-on-submit", "description": "d2lgrade serve polls the exchange with the grader's "
         "token (the exchange treats that service as staff) and has the grader grade each submission",
         "scopes": ["access:services!service=exchange", "access:services!service=grader"], "services": ["grader"]},
    ]
