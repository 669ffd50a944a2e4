"""JupyterHub for a class (README "Running a term", docs/running-a-term.md): PAM users, one local process per user.

Everything here comes from hub.toml (``$D2LGRADE_HUB_CONFIG``, default ``/etc/d2lgrade/hub.toml``) through the plain
functions of ``d2lgrade.hub.spawn``: who is in which group, which JupyterLab set-up and folder a user's server gets,
the two course services and what may reach them. Started as root by ``deploy/bin/d2lgrade-hub`` (systemd's
``d2lgrade-hub.service``, or ``make hub``). Ports: the hub's public one (``[hub] hub_port``, 127.0.0.1: put TLS in
front), the proxy's API on the next one, the hub's own API on the one after.
"""

import os
import pwd
import sys
from pathlib import Path

from d2lgrade.hub import spawn
from d2lgrade.hub.config import HubConfig
from d2lgrade.hub.membership import prune_groups

c = get_config()  # noqa: F821 - provided by traitlets when JupyterHub loads this file
cfg = HubConfig.load(Path(os.environ.get("D2LGRADE_HUB_CONFIG", "/etc/d2lgrade/hub.toml")))
HERE = Path(__file__).resolve().parent
STATE = cfg.state / "hub"


def _secret(name: str) -> str:
    return (cfg.secrets / name).read_text(encoding="utf-8").strip()


# Where it listens and keeps its state (root's alone).
c.JupyterHub.bind_url = f"http://127.0.0.1:{cfg.hub_port}"
c.ConfigurableHTTPProxy.api_url = f"http://127.0.0.1:{cfg.hub_port + 1}"
c.JupyterHub.hub_bind_url = f"http://127.0.0.1:{cfg.hub_port + 2}"
c.ConfigurableHTTPProxy.command = [str(HERE / "node_modules" / ".bin" / "configurable-http-proxy")]
c.ConfigurableHTTPProxy.pid_file = str(STATE / "proxy.pid")
c.JupyterHub.db_url = f"sqlite:///{STATE / 'jupyterhub.sqlite'}"
c.JupyterHub.cookie_secret_file = str(cfg.secrets / "jupyterhub_cookie_secret")
c.JupyterHub.pid_file = str(STATE / "jupyterhub.pid")

# Who logs in: the Unix users hub.toml names, by their Unix password (PAM; `make hub`'s demo users too).
c.JupyterHub.authenticator_class = "pam"
c.Authenticator.allowed_users = spawn.people(cfg)
c.Authenticator.allow_existing_users = False  # someone taken out of hub.toml no longer logs in
c.JupyterHub.load_groups = spawn.hub_groups(cfg)
# load_groups only adds: whoever hub.toml no longer lists leaves the course's groups before the hub starts.
for _group, _user in prune_groups(STATE / "jupyterhub.sqlite", c.JupyterHub.load_groups):
    print(f"d2lgrade: {_user} is no longer in hub group {_group} (not in {cfg.source})", file=sys.stderr)

# The course services run outside the hub (their own units): the hub routes /services/<name>/ to them and knows
# their tokens; members reach the exchange, staff the grader, and a server's token carries those scopes.
c.JupyterHub.services = spawn.services(cfg, {name: _secret(f"{name}.token") for name in spawn.SERVICE_NAMES})
c.JupyterHub.load_roles = spawn.roles(cfg)
c.Spawner.server_token_scopes = spawn.SERVER_TOKEN_SCOPES

# Each user's server: their own Unix process, from the student runtime (never a course folder).
c.JupyterHub.spawner_class = "localprocess"
c.Spawner.cmd = [str(cfg.runtime / "bin" / "jupyterhub-singleuser")]
c.Spawner.default_url = "/lab"
c.Spawner.env_keep = spawn.KEPT_ENVIRONMENT
c.Spawner.start_timeout = 120  # a server with nbgrader's extensions starts in seconds; a loaded machine is slower
c.Spawner.http_timeout = 90


def _plan_server(spawner) -> None:
    """Set the user's JupyterLab set-up, folder and environment from their hub groups (d2lgrade.hub.spawn)."""
    groups = {group.name for group in spawner.user.groups}
    plan = spawn.server_plan(cfg, spawner.user.name, groups, pwd.getpwnam(spawner.user.name).pw_dir)
    spawner.notebook_dir = plan.notebook_dir
    # ... and started in it: nbgrader (the formgrader's course root, the course's nbgrader_config.py) goes by the
    # working directory, which the spawner would otherwise make the home folder.
    spawner.cmd = ["/usr/bin/env", f"--chdir={plan.notebook_dir}", str(cfg.runtime / "bin" / "jupyterhub-singleuser")]
    # Files a server (and its terminals, kernels, nbgrader) makes are its user's and their group's only: staff's in
    # the course folder stay the course group's (the hub's own umask, 022, would let others read them).
    spawner.popen_kwargs = {"umask": 0o007}
    spawner.environment = {**spawner.environment, **plan.environment}


c.Spawner.pre_spawn_hook = _plan_server
