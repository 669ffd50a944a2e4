"""The Unix side of the class server, from hub.toml (run as root by ``make hub``, and by a teaching team after each
edit of hub.toml): secrets, the exchange's own user, state folders, demo users, and each course's group and folder.

Every step can run again: what exists is kept (a course folder is cloned and built once; a secret is written once),
while what hub.toml decides is made so again (who is in a course's staff group, the course folder's group and modes).
"""

from __future__ import annotations

import argparse
import grp
import os
import pwd
import secrets
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from d2lgrade.hub.config import DEFAULT_PATH, ConfigError, CourseEntry, HubConfig
from d2lgrade.hub.spawn import people

SECRETS = ("exchange.token", "grader.token", "jupyterhub_cookie_secret")
DEMO_PASSWORDS = "demo-passwords"
"""In the secrets folder (root, 0600): the demo users' passwords, ``name password`` a line."""


def run(*args: str, cwd: Path | None = None, stdin: str | None = None) -> None:
    """A set-up command whose failure stops the set-up, with its own words."""
    done = subprocess.run(args, cwd=cwd, input=stdin, capture_output=True, text=True)
    if done.returncode:
        raise SystemExit(f"d2lgrade provision: `{' '.join(args)}` failed: {(done.stderr or done.stdout).strip()[-800:]}")


def exists(user: str) -> bool:
    try:
        pwd.getpwnam(user)
    except KeyError:
        return False
    return True


def write_secrets(cfg: HubConfig) -> None:
    """The hub's cookie secret and the services' API tokens, made once, root's alone."""
    cfg.secrets.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.chmod(cfg.secrets, 0o700)
    for name in SECRETS:
        path = cfg.secrets / name
        if not path.exists():
            descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(descriptor, "w") as f:
                f.write(secrets.token_hex(32) + "\n")


def service_user(name: str) -> None:
    """A service's system user (the exchange's, grading on submit's): no home, no shell, no password."""
    if not exists(name):
        run("useradd", "--system", "--user-group", "--no-create-home", "--home-dir", "/nonexistent",
            "--shell", "/usr/sbin/nologin", name)


def state_folders(cfg: HubConfig, exchange_user: str, serve_user: str) -> None:
    """``<state>/hub`` (the hub's database: root 0700), ``<state>/exchange`` (the exchange user's, 0700) and
    ``<state>/serve`` (grading on submit's queue and kept pages: its user's, 0700)."""
    cfg.state.mkdir(mode=0o755, parents=True, exist_ok=True)
    for folder, owner in ((cfg.state / "hub", "root"), (cfg.state / "exchange", exchange_user),
                          (cfg.state / "serve", serve_user)):
        folder.mkdir(mode=0o700, exist_ok=True)
        entry = pwd.getpwnam(owner)
        os.chown(folder, entry.pw_uid, entry.pw_gid)
        os.chmod(folder, 0o700)


@dataclass(frozen=True)
class Login:
    name: str
    password: str


def demo_users(cfg: HubConfig) -> list[Login]:
    """Everyone hub.toml names, as local Unix users with random passwords (made once; kept in the secrets folder)."""
    stored = cfg.secrets / DEMO_PASSWORDS
    known = dict(line.split(" ", 1) for line in stored.read_text().splitlines() if " " in line) \
        if stored.exists() else {}
    for name in sorted(people(cfg)):
        if exists(name) and name in known:
            continue
        if not exists(name):
            run("useradd", "--create-home", "--user-group", "--shell", "/bin/bash", name)
        known[name] = secrets.token_urlsafe(12)
        run("chpasswd", stdin=f"{name}:{known[name]}\n")
        os.chmod(pwd.getpwnam(name).pw_dir, 0o700)
    descriptor = os.open(stored, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as f:
        f.writelines(f"{name} {password}\n" for name, password in sorted(known.items()))
    return [Login(name, known[name]) for name in sorted(people(cfg))]


def missing_users(cfg: HubConfig) -> list[str]:
    """People hub.toml names who have no Unix account (PAM cannot log them in)."""
    return sorted(name for name in people(cfg) if not exists(name))


def staff_group(course: CourseEntry) -> str:
    """The Unix group owning a course folder: its instructors and TAs (students are in no course group)."""
    return f"{course.id}-staff"


def sync_staff_group(course: CourseEntry, serve_user: str) -> None:
    """The group exists and holds exactly the course's instructors and TAs (a TA removed from hub.toml leaves it),
    and grading on submit's user when the course grades on submit."""
    name = staff_group(course)
    try:
        grp.getgrnam(name)
    except KeyError:
        run("groupadd", name)
    members = [person for person in (*course.instructors, *course.tas) if exists(person)]
    members += [serve_user] if course.grade_on_submit else []
    run("gpasswd", "-M", ",".join(members), name)


def clone_course(course: CourseEntry, source: Path, runtime: Path) -> None:
    """A new course folder: a clone of this checkout, its id in ``course_id``, built with the runtime's d2lgrade."""
    course.path.parent.mkdir(mode=0o755, parents=True, exist_ok=True)
    run("git", "clone", "--quiet", "--no-hardlinks", str(source), str(course.path))
    (course.path / "course_id").write_text(course.id + "\n", encoding="utf-8")
    run("git", "config", "core.sharedRepository", "group", cwd=course.path)
    run(str(runtime / "bin" / "d2lgrade"), "build", cwd=course.path)


def share_course(course: CourseEntry) -> None:
    """The course folder belongs to its first instructor (else root) and its staff group: 2770 folders, group
    read-write files, nothing for others, so students never enter it."""
    owner = next((p for p in course.instructors if exists(p)), "root")
    run("chown", "-R", "-h", f"{owner}:{staff_group(course)}", str(course.path))
    run("chmod", "-R", "u+rwX,g+rwX,o=", str(course.path))
    run("find", str(course.path), "-type", "d", "-exec", "chmod", "g+s", "{}", "+")


def set_up_course(cfg: HubConfig, course: CourseEntry, source: Path, serve_user: str) -> None:
    sync_staff_group(course, serve_user)
    if not (course.path / "nbgrader_config.py").exists():
        clone_course(course, source, cfg.runtime)
    share_course(course)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m d2lgrade.hub.provision", description=__doc__.split("\n")[0])
    parser.add_argument("--config", type=Path, default=DEFAULT_PATH, help=f"hub.toml (default {DEFAULT_PATH})")
    parser.add_argument("--source", type=Path, default=Path.cwd(), help="the checkout new course folders are cloned "
                                                                         "from (default: the working directory)")
    parser.add_argument("--exchange-user", default="d2lgrade-exchange", help="the exchange service's system user")
    parser.add_argument("--serve-user", default="d2lgrade-serve", help="grading on submit's system user")
    args = parser.parse_args(argv)
    if os.getuid() != 0:
        print("d2lgrade provision: run as root (it adds users, groups and course folders)", file=sys.stderr)
        return 1
    try:
        cfg = HubConfig.load(args.config)
    except ConfigError as e:
        print(f"d2lgrade provision: {e}", file=sys.stderr)
        return 1
    write_secrets(cfg)
    for user in (args.exchange_user, args.serve_user):
        service_user(user)
    state_folders(cfg, args.exchange_user, args.serve_user)
    logins = demo_users(cfg) if cfg.authenticator == "demo" else []
    for name in missing_users(cfg):
        print(f"d2lgrade provision: {name} (in {args.config}) has no Unix account: `adduser {name}`, then run this "
              "again (until then PAM cannot log them in, and they are in no course group)", file=sys.stderr)
    for course in cfg.courses.values():
        set_up_course(cfg, course, args.source.resolve(), args.serve_user)
        print(f"course {course.id}: {course.path} (group {staff_group(course)})")
    for login in logins:
        print(f"login {login.name:<12} password {login.password}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
