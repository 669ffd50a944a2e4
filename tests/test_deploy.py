"""The class server's deployment files, checked without running them (``make hub-test`` runs them for real).

hub.toml's example parses; ``deploy/jupyterhub_config.py`` loads as JupyterHub loads it and gives each role its
set-up, folder, environment and scopes; the systemd units run scripts that exist, as the users the design says;
configurable-http-proxy is pinned by npm's lock; a service's launcher finds its token where systemd puts it.
"""

from __future__ import annotations

import configparser
import json
import os
import pwd
import sqlite3
import subprocess
import tomllib
from pathlib import Path
from types import SimpleNamespace

import pytest
from traitlets.config import PyFileConfigLoader

from d2lgrade.hub import launch, membership, spawn
from d2lgrade.hub.config import HubConfig

ROOT = Path(__file__).resolve().parents[1]
DEPLOY = ROOT / "deploy"
INSTALLED_BIN = "/opt/d2lgrade/runtime/share/d2lgrade/deploy/bin/"
"""Where ``make runtime`` puts deploy/bin/ (the units name the installed copy, not a checkout)."""

TWO_COURSES = """
[hub]
hub_port = 9000
runtime = "{prefix}/runtime"
state = "{prefix}/state"
secrets = "{prefix}/secrets"

[courses.algebra]
path = "{prefix}/srv/algebra"
instructors = ["ivan"]
tas = ["tina"]
students = ["alice", "bob"]

[courses.calculus]
path = "{prefix}/srv/calculus"
instructors = ["ivan"]
tas = ["bob"]
students = ["carol"]
"""
"""bob is a student of one course and the TA of the other; ivan teaches both."""


@pytest.fixture
def two_courses(tmp_path) -> tuple[Path, HubConfig]:
    path = tmp_path / "hub.toml"
    path.write_text(TWO_COURSES.format(prefix=tmp_path))
    (tmp_path / "secrets").mkdir()
    for name in ("exchange", "grader"):
        (tmp_path / "secrets" / f"{name}.token").write_text(f"{name}-token\n")
    return path, HubConfig.load(path)


@pytest.fixture
def hub_config(two_courses, monkeypatch):
    """deploy/jupyterhub_config.py loaded the way JupyterHub loads it, with the two-course hub.toml."""
    monkeypatch.setenv("D2LGRADE_HUB_CONFIG", str(two_courses[0]))
    monkeypatch.setattr(pwd, "getpwnam", lambda name: SimpleNamespace(pw_dir=f"/home/{name}"))
    return PyFileConfigLoader("jupyterhub_config.py", path=str(DEPLOY)).load_config()


def _spawn(config, name: str, groups: set[str], environment: dict[str, str] | None = None) -> SimpleNamespace:
    """What the config's pre-spawn hook makes of a spawner for ``name`` in ``groups`` (whose environment starts as
    ``environment``: the hub's configured one)."""
    spawner = SimpleNamespace(user=SimpleNamespace(name=name, groups=[SimpleNamespace(name=g) for g in groups]),
                              notebook_dir="", environment={} if environment is None else environment)
    config.Spawner.pre_spawn_hook(spawner)
    return spawner


@pytest.mark.parametrize("example", ["hub.toml.example", "hub.demo.toml"])
def test_the_shipped_hub_settings_parse_with_two_courses(example):
    cfg = HubConfig.load(DEPLOY / example)
    assert set(cfg.courses) == {"d2l-ch2-math", "d2l-appendix"}
    assert cfg.exchange.ip == cfg.grader.ip == "127.0.0.1", "a course service listens beyond loopback"
    assert cfg.authenticator == ("demo" if example == "hub.demo.toml" else "pam")


def test_the_example_sets_every_key_the_hub_reads():
    data = tomllib.loads((DEPLOY / "hub.toml.example").read_text())
    assert set(data["hub"]) == {"hub_port", "authenticator", "runtime", "state", "secrets"}
    assert set(data["services"]) == {"exchange", "grader"}


def test_groups_give_each_person_their_course_role_and_a_hub_wide_one(two_courses):
    groups = {name: set(g["users"]) for name, g in spawn.hub_groups(two_courses[1]).items()}
    assert groups["students-algebra"] == {"alice", "bob"} and groups["tas-calculus"] == {"bob"}
    assert groups["instructors-algebra"] == groups["instructors-calculus"] == {"ivan"}
    assert groups["students"] == {"alice", "bob", "carol"} and groups["tas"] == {"tina", "bob"}
    assert spawn.people(two_courses[1]) == {"ivan", "tina", "alice", "bob", "carol"}


def test_the_hub_listens_on_loopback_and_lets_in_only_hub_toml_s_people(hub_config, two_courses):
    assert hub_config.JupyterHub.bind_url == "http://127.0.0.1:9000"
    assert hub_config.JupyterHub.hub_bind_url.startswith("http://127.0.0.1:")
    assert hub_config.JupyterHub.authenticator_class == "pam"
    assert hub_config.Authenticator.allowed_users == {"ivan", "tina", "alice", "bob", "carol"}
    assert hub_config.Authenticator.allow_existing_users is False, "people taken out of hub.toml still log in"
    assert hub_config.JupyterHub.load_groups == spawn.hub_groups(two_courses[1])
    assert hub_config.JupyterHub.db_url.startswith(f"sqlite:///{two_courses[1].state / 'hub'}")


def test_servers_run_the_runtime_s_singleuser_with_only_the_locale_of_the_hub(hub_config, two_courses):
    assert hub_config.Spawner.cmd == [str(two_courses[1].runtime / "bin" / "jupyterhub-singleuser")]
    assert hub_config.Spawner.env_keep == ["LANG", "LC_ALL"], "the hub's PATH or PYTHONPATH reaches users' servers"


def test_a_student_s_server_opens_in_their_home_with_the_student_set_up(hub_config, two_courses):
    cfg = two_courses[1]
    alice = _spawn(hub_config, "alice", {"students", "students-algebra"})
    assert alice.notebook_dir == "/home/alice"
    assert alice.environment["JUPYTER_CONFIG_PATH"] == str(cfg.runtime / "share/d2lgrade/jupyter/student")
    assert "JUPYTER_CONFIG_DIR" not in alice.environment, "a student's ~/.jupyter is replaced (settings not saved)"
    assert alice.environment["PATH"].startswith(f"{cfg.runtime}/bin:")
    assert alice.environment["D2LGRADE_EXCHANGE_URL"] == "http://127.0.0.1:9000/services/exchange"
    assert alice.environment["D2LGRADE_GRADER_URL"] == "http://127.0.0.1:9000/services/grader"


def test_staff_servers_open_in_their_first_course_with_their_role_s_set_up(hub_config, two_courses):
    cfg = two_courses[1]
    tina = _spawn(hub_config, "tina", {"tas", "tas-algebra"})
    ivan = _spawn(hub_config, "ivan", {"instructors", "instructors-algebra", "instructors-calculus"})
    bob = _spawn(hub_config, "bob", {"students", "tas", "students-algebra", "tas-calculus"})
    assert (tina.notebook_dir, ivan.notebook_dir, bob.notebook_dir) == (
        str(cfg.courses["algebra"].path), str(cfg.courses["algebra"].path), str(cfg.courses["calculus"].path))
    assert tina.environment["JUPYTER_CONFIG_PATH"].endswith("/jupyter/ta")
    assert ivan.environment["JUPYTER_CONFIG_PATH"].endswith("/jupyter/instructor")
    assert bob.environment["JUPYTER_CONFIG_PATH"].endswith("/jupyter/ta"), "a student-TA gets the student's tools"


def test_a_spawn_does_not_leak_one_user_s_environment_into_the_next(hub_config):
    configured = {"LANG": "C.UTF-8"}  # one dict, as if every spawner shared the hub's configured environment
    tina = _spawn(hub_config, "tina", {"tas", "tas-algebra"}, configured)
    alice = _spawn(hub_config, "alice", {"students", "students-algebra"}, configured)
    assert configured == {"LANG": "C.UTF-8"}, "a user's environment was written into the hub's"
    assert tina.environment["JUPYTER_CONFIG_PATH"].endswith("/jupyter/ta") and tina.environment["LANG"] == "C.UTF-8"
    assert alice.environment["JUPYTER_CONFIG_PATH"].endswith("/jupyter/student")


def test_a_group_naming_a_course_the_hub_does_not_have_opens_no_course_folder(hub_config):
    mallory = _spawn(hub_config, "mallory", {"tas-nosuchcourse"})
    assert mallory.notebook_dir == "/home/mallory"


def test_the_course_services_are_external_with_their_tokens_and_loopback_urls(hub_config):
    services = {s["name"]: s for s in hub_config.JupyterHub.services}
    assert services["exchange"] == {"name": "exchange", "url": "http://127.0.0.1:8010", "api_token": "exchange-token"}
    assert services["grader"] == {"name": "grader", "url": "http://127.0.0.1:8011", "api_token": "grader-token"}
    assert all("command" not in s for s in services.values()), "the hub would start a service as root itself"


def test_members_reach_the_exchange_staff_the_grader_and_services_read_groups(hub_config):
    roles = {r["name"]: r for r in hub_config.JupyterHub.load_roles}
    member, staff, service = (roles[f"d2lgrade-course-{k}"] for k in ("member", "staff", "service"))
    assert member["scopes"] == ["access:services!service=exchange"] and "students-algebra" in member["groups"]
    assert staff["scopes"] == ["access:services!service=grader"]
    assert not any(g.startswith("students") for g in staff["groups"]), "students reach the grading service"
    assert {"tas-calculus", "instructors-algebra"} <= set(staff["groups"])
    assert "read:users:groups" in service["scopes"] and set(service["services"]) == {"exchange", "grader"}
    assert not any(s.startswith(("admin", "users", "servers", "tokens")) for s in service["scopes"])


def test_a_server_s_token_asks_for_both_services(hub_config):
    scopes = hub_config.Spawner.server_token_scopes
    assert {"access:services!service=exchange", "access:services!service=grader", "users:activity!user",
            "access:servers!server"} == set(scopes)


def test_the_proxy_is_configurable_http_proxy_from_npm_beside_the_config(hub_config):
    assert hub_config.ConfigurableHTTPProxy.command == [str(DEPLOY / "node_modules/.bin/configurable-http-proxy")]
    assert hub_config.ConfigurableHTTPProxy.api_url == "http://127.0.0.1:9001"


def test_npm_s_lock_pins_configurable_http_proxy():
    wanted = json.loads((DEPLOY / "package.json").read_text())["dependencies"]["configurable-http-proxy"]
    lock = json.loads((DEPLOY / "package-lock.json").read_text())
    pinned = lock["packages"]["node_modules/configurable-http-proxy"]
    assert wanted[0].isdigit(), f"package.json allows a range ({wanted}): pin one version"
    assert pinned["version"] == wanted and pinned["integrity"].startswith("sha512-")
    assert lock["lockfileVersion"] >= 2 and lock["packages"][""]["dependencies"] == {"configurable-http-proxy": wanted}


def _unit(name: str) -> configparser.SectionProxy:
    parser = configparser.ConfigParser(interpolation=None, strict=True)
    parser.optionxform = str  # systemd's keys are case-sensitive
    parser.read(DEPLOY / "systemd" / f"d2lgrade-{name}.service")
    return parser["Service"]


@pytest.mark.parametrize("name", ["hub", "exchange", "grader", "serve"])
def test_each_unit_runs_the_installed_copy_of_a_script_in_deploy_bin(name):
    command = _unit(name)["ExecStart"].split()[0]
    assert command == INSTALLED_BIN + f"d2lgrade-{name}"
    script = DEPLOY / "bin" / f"d2lgrade-{name}"
    assert os.access(script, os.X_OK), f"{script} is not executable"
    assert subprocess.run(["bash", "-n", str(script)]).returncode == 0, f"{script}: bash syntax error"
    assert 'RUNTIME ?= /opt/d2lgrade/runtime' in (DEPLOY / "hub.mk").read_text()


def test_the_exchange_runs_as_its_own_user_confined_to_its_store():
    unit = _unit("exchange")
    assert unit["User"] == launch.USERS["exchange"] == "d2lgrade-exchange"
    assert unit["ProtectSystem"] == "strict" and unit["NoNewPrivileges"] == "true"
    store = HubConfig.load(DEPLOY / "hub.toml.example").state / "exchange"
    assert unit["ReadWritePaths"].split() == [str(store)]
    credential, source = unit["LoadCredential"].split(":", 1)
    assert credential == "exchange.token" and source == "/etc/d2lgrade/secrets/exchange.token"


def test_grading_on_submit_runs_as_its_own_user_with_the_graders_token_never_root(two_courses):
    unit = _unit("serve")
    assert unit["User"] == launch.USERS["serve"] == "d2lgrade-serve" and unit["NoNewPrivileges"] == "true"
    credential, source = unit["LoadCredential"].split(":", 1)
    assert credential == "grader.token" and source == "/etc/d2lgrade/secrets/grader.token"
    cfg = two_courses[1]
    env = launch.service_environment(cfg, "serve", "grader-token")
    assert env["JUPYTERHUB_SERVICE_NAME"] == "grader" and env["JUPYTERHUB_API_TOKEN"] == "grader-token"
    assert env["D2LGRADE_GRADER_URL"] == f"{cfg.grader.url}/services/grader"


def test_the_hub_and_the_grader_run_as_root_without_no_new_privileges():
    for name in ("hub", "grader"):
        unit = _unit(name)
        assert unit["User"] == "root" and "NoNewPrivileges" not in unit, name


def test_a_service_takes_its_token_from_systemd_s_credentials_when_there_are(two_courses, tmp_path):
    cfg = two_courses[1]
    assert launch.token_file(cfg, "exchange", None) == cfg.secrets / "exchange.token"
    assert launch.token_file(cfg, "exchange", str(tmp_path)) == tmp_path / "exchange.token"
    env = launch.service_environment(cfg, "exchange", launch.read_token(cfg.secrets / "exchange.token"))
    assert env["JUPYTERHUB_API_TOKEN"] == "exchange-token" and env["JUPYTERHUB_SERVICE_PREFIX"] == "/services/exchange/"
    assert env["JUPYTERHUB_API_URL"] == "http://127.0.0.1:9000/hub/api"


def test_a_missing_token_names_the_set_up_step_that_writes_it(two_courses):
    token = two_courses[1].secrets / "grader.token"
    token.unlink()
    with pytest.raises(launch.LaunchError, match=r"grader.token.*d2lgrade.hub.provision"):
        launch.read_token(token)
    token.write_text("\n")
    with pytest.raises(launch.LaunchError, match=r"grader.token is empty"):
        launch.read_token(token)


HUB_TABLES = """
CREATE TABLE users (id INTEGER PRIMARY KEY, name VARCHAR(255) UNIQUE);
CREATE TABLE groups (id INTEGER PRIMARY KEY, name VARCHAR(255) UNIQUE);
CREATE TABLE user_group_map (user_id INTEGER NOT NULL, group_id INTEGER NOT NULL, PRIMARY KEY (user_id, group_id));
"""
"""The three tables of JupyterHub's database that hold group members (as JupyterHub 6 creates them; make hub-test
prunes a copy of a real hub's database)."""


@pytest.fixture
def hub_db_after_last_term(tmp_path) -> Path:
    """A hub database from before hub.toml changed: tina was a TA of algebra, a course since dropped (geometry)
    still has its TA, and an admin made a group of their own."""
    db = tmp_path / "jupyterhub.sqlite"
    members = {"tas-algebra": ["tina"], "tas": ["tina", "bob"], "students-algebra": ["alice", "bob"],
               "tas-geometry": ["gina"], "hub-admins": ["ivan"], "students": ["alice", "bob", "carol"]}
    with sqlite3.connect(db) as connection:
        connection.executescript(HUB_TABLES)
        for user in sorted({u for users in members.values() for u in users}):
            connection.execute("INSERT INTO users (name) VALUES (?)", (user,))
        for group, users in members.items():
            connection.execute("INSERT INTO groups (name) VALUES (?)", (group,))
            connection.executemany("INSERT INTO user_group_map SELECT u.id, g.id FROM users u, groups g "
                                   "WHERE u.name = ? AND g.name = ?", [(u, group) for u in users])
    connection.close()
    return db


def _members(db: Path) -> dict[str, set[str]]:
    connection = sqlite3.connect(db)
    rows = connection.execute("SELECT g.name, u.name FROM user_group_map m JOIN groups g ON g.id = m.group_id "
                              "JOIN users u ON u.id = m.user_id").fetchall()
    connection.close()
    found: dict[str, set[str]] = {}
    for group, user in rows:
        found.setdefault(group, set()).add(user)
    return found


def test_a_ta_taken_out_of_hub_toml_leaves_the_course_s_groups_at_the_next_start(hub_db_after_last_term):
    without_tina = {"tas-algebra": {"users": []}, "tas": {"users": ["bob"]},
                    "students-algebra": {"users": ["alice", "bob"]},
                    "students": {"users": ["alice", "bob", "carol"]}}
    removed = membership.prune_groups(hub_db_after_last_term, without_tina)
    assert sorted(removed) == [("tas", "tina"), ("tas-algebra", "tina"), ("tas-geometry", "gina")]
    after = _members(hub_db_after_last_term)
    assert "tina" not in after.get("tas-algebra", set()) and "tas-geometry" not in after
    assert after["students-algebra"] == {"alice", "bob"} and after["tas"] == {"bob"}, "a listed member was removed"
    assert after["hub-admins"] == {"ivan"}, "a group hub.toml does not manage was changed"
    assert membership.prune_groups(hub_db_after_last_term, without_tina) == []


def test_a_hub_that_never_ran_has_no_groups_to_prune(tmp_path):
    assert membership.prune_groups(tmp_path / "jupyterhub.sqlite", {}) == []
    assert not (tmp_path / "jupyterhub.sqlite").exists(), "pruning created the hub's database"


def test_a_service_started_without_hub_toml_says_where_to_copy_it(tmp_path, capsys):
    assert launch.main(["exchange", "--config", str(tmp_path / "hub.toml")]) == 1
    assert "deploy/hub.toml.example" in capsys.readouterr().err


def _hub_exchange_block(path: Path) -> str:
    text = path.read_text(encoding="utf-8")
    start = text.index('if os.environ.get("D2LGRADE_EXCHANGE_URL"):')
    return text[start:text.index('c.HubExchange.url = os.environ["D2LGRADE_EXCHANGE_URL"]', start)]


def test_students_and_staff_name_the_same_hub_exchange_classes():
    """The block is written twice on purpose: the course's config (staff) and the student set-up in the runtime
    (students, who never read the course folder); a config file that imported a shared one could fail and make
    nbgrader drop it, falling back to a folder exchange. So the two copies are held equal here."""
    root = Path(__file__).resolve().parents[1]
    assert _hub_exchange_block(root / "nbgrader_config.py") == _hub_exchange_block(
        root / "jupyter" / "student" / "nbgrader_config.py")
