"""Start one course service the way its systemd unit and ``make hub`` both do (``deploy/bin/d2lgrade-exchange``,
``deploy/bin/d2lgrade-grader``): the hub's environment for an external service, its API token, its user.

JupyterHub gives a managed service its token and URLs; an external one (ours: they outlive hub restarts, and the
exchange runs as its own user) gets them here. The token is read as root from the secrets folder, or from systemd's
``$CREDENTIALS_DIRECTORY`` when the unit starts the service as its user; a root start of the exchange then drops to
that user before the service reads a request.
"""

from __future__ import annotations

import argparse
import os
import pwd
import sys
from pathlib import Path

from d2lgrade.hub.config import DEFAULT_PATH, ConfigError, HubConfig

MODULES = {"exchange": "d2lgrade.hub.exchange_service", "grader": "d2lgrade.hub.grading_service",
           "serve": "d2lgrade.serve"}
USERS = {"exchange": "d2lgrade-exchange", "grader": "root", "serve": "d2lgrade-serve"}
"""Who each service runs as: the exchange never needs root; the grader makes sandboxes (namespaces, cgroups); grading
on submit writes course folders and runs their nbgrader_config.py, so it runs as a member of those courses' staff
groups and has the grader make the sandboxes."""
TOKENS = {"exchange": "exchange", "grader": "grader", "serve": "grader"}
"""Whose hub token each uses: grading on submit is the hub service ``grader`` to the exchange and the grader."""


class LaunchError(RuntimeError):
    """A service cannot start: what is missing, and which set-up step makes it."""


def token_file(cfg: HubConfig, name: str, credentials: str | None) -> Path:
    """The service's API token: systemd's copy (LoadCredential) when there is one, else the secrets folder."""
    return Path(credentials) / f"{name}.token" if credentials else cfg.secrets / f"{name}.token"


def read_token(path: Path) -> str:
    try:
        token = path.read_text(encoding="utf-8").strip()
    except OSError as e:
        raise LaunchError(f"{path}: {e.strerror}: run `python -m d2lgrade.hub.provision` as root (make hub does) to "
                          "write the services' tokens") from e
    if not token:
        raise LaunchError(f"{path} is empty: delete it and run `python -m d2lgrade.hub.provision` again")
    return token


def service_environment(cfg: HubConfig, name: str, token: str) -> dict[str, str]:
    """What JupyterHub would give a managed service of this name (the hub's API through its proxy)."""
    if name == "serve":  # the grader's identity, and where the grader grades (its own port, its prefix)
        return service_environment(cfg, "grader", token) | {"D2LGRADE_GRADER_URL": f"{cfg.grader.url}/services/grader"}
    where = {"exchange": cfg.exchange, "grader": cfg.grader}[name]
    return {
        "JUPYTERHUB_API_URL": f"http://127.0.0.1:{cfg.hub_port}/hub/api",
        "JUPYTERHUB_API_TOKEN": token,
        "JUPYTERHUB_SERVICE_NAME": name,
        "JUPYTERHUB_SERVICE_PREFIX": f"/services/{name}/",
        "JUPYTERHUB_SERVICE_URL": where.url,
    }


def become(user: str) -> None:
    """Drop from root to ``user`` (its group and the groups it is a member of, nothing of root's) for good."""
    entry = pwd.getpwnam(user)
    os.initgroups(user, entry.pw_gid)
    os.setgid(entry.pw_gid)
    os.setuid(entry.pw_uid)
    os.environ.update(HOME=entry.pw_dir, USER=user, LOGNAME=user)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m d2lgrade.hub.launch", description=__doc__.split("\n")[0])
    parser.add_argument("service", choices=sorted(MODULES))
    parser.add_argument("--config", type=Path, default=DEFAULT_PATH, help=f"hub.toml (default {DEFAULT_PATH})")
    parser.add_argument("--user", help="run as this user when started as root (default: d2lgrade-exchange for the "
                                       "exchange, root for the grader, d2lgrade-serve for grading on submit)")
    args = parser.parse_args(argv)
    try:
        cfg = HubConfig.load(args.config)
        token = read_token(token_file(cfg, TOKENS[args.service], os.environ.get("CREDENTIALS_DIRECTORY")))
    except (ConfigError, LaunchError) as e:
        print(f"d2lgrade {args.service}: {e}", file=sys.stderr)
        return 1
    os.environ.update(service_environment(cfg, args.service, token))
    user = args.user or USERS[args.service]
    if os.getuid() == 0 and user != "root":
        become(user)
    os.umask(0o007 if args.service == "serve" else 0o077)  # serve writes course folders, the staff's to read
    command = [sys.executable, "-m", MODULES[args.service], "--config", str(args.config.resolve())]
    os.execv(command[0], command)
    return 0  # not reached


if __name__ == "__main__":
    sys.exit(main())
