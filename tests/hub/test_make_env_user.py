"""`make env` as an instructor who is not root, on Debian 12: the system packages are found (asked of dpkg, not of a
PATH without /usr/sbin, where dockerd lives), and uv is installed into a private venv, never with pip into Debian's
externally-managed Python.

A real Unix user (``d2lt…``, removed at the end) runs the Makefile in a checkout of their own (the files `make env`
reads). Fast: the lock is never installed; the real recipe is stopped right after its system check by naming a
missing interpreter, and uv's bootstrap (`make uv`, one wheel from the package index) runs for real.
"""

from __future__ import annotations

import os
import pwd
import re
import secrets
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import ROOT

pytestmark = [pytest.mark.hub,
              pytest.mark.skipif(os.geteuid() != 0 or not shutil.which("useradd"), reason="needs root and useradd")]

USER_PATH = "/usr/local/bin:/usr/bin:/bin"
"""A login's PATH on Debian for a user who is not root: no /usr/sbin."""
FILES = ("Makefile", "deploy/hub.mk", "tools/system_packages.sh", "pyproject.toml", "requirements/lock.txt")


@pytest.fixture(scope="module")
def instructor() -> Iterator[str]:
    name = f"d2lt{secrets.token_hex(3)}in"
    subprocess.run(["useradd", "--create-home", "--shell", "/bin/sh", name], check=True)
    try:
        yield name
    finally:
        subprocess.run(["userdel", "--remove", name], capture_output=True)


@pytest.fixture(scope="module")
def checkout(instructor) -> Iterator[Path]:
    """The files `make env` reads, in a folder the instructor owns."""
    top = Path(tempfile.mkdtemp(prefix="d2lt-env-", dir="/tmp"))
    try:
        top.chmod(0o755)
        for name in FILES:
            (top / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, top / name)
        shutil.chown(top, instructor, instructor)
        for path in top.rglob("*"):
            shutil.chown(path, instructor, instructor)
        yield top
    finally:
        shutil.rmtree(top)


def _as(user: str, args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    """``args`` as ``user`` with a login's environment (no /usr/sbin on PATH, no root's pip settings)."""
    entry = pwd.getpwnam(user)
    env = {"PATH": USER_PATH, "HOME": entry.pw_dir, "USER": user, "LANG": "C.UTF-8"}
    return subprocess.run(args, cwd=cwd, user=entry.pw_uid, group=entry.pw_gid, extra_groups=[], env=env,
                          capture_output=True, text=True, timeout=300)


def test_the_system_check_finds_installed_packages_for_a_user_without_sbin_on_path(instructor, checkout):
    packages = re.search(r"^SYSTEM_PACKAGES := (.+)$", (checkout / "Makefile").read_text(), re.M).group(1).split()
    assert "docker.io" in packages and not shutil.which("dockerd", path=USER_PATH), "the case this test is about"
    assert _as(instructor, ["tools/system_packages.sh", *packages], checkout).stdout == ""
    # the real recipe, stopped by a missing interpreter right after its system check (nothing is downloaded)
    done = _as(instructor, ["make", "env", "BASE_PYTHON=/nonexistent/python3.11"], checkout)
    said = done.stdout + done.stderr
    assert "install the system packages" not in said, said
    assert "/nonexistent/python3.11 is missing" in said and done.returncode != 0, said


def test_uv_is_installed_into_a_private_venv_not_into_debian_s_python(instructor, checkout):
    plan = "".join(_as(instructor, ["make", "-n", target], checkout).stdout for target in ("env", "uv"))
    installs = [line for line in plan.splitlines() if "-m pip install" in line]
    assert installs and all(line.startswith(f"{checkout}/.venv/.uv/bin/python -m pip") for line in installs), plan
    done = _as(instructor, ["make", "uv"], checkout)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    assert "externally-managed" not in done.stderr
    version = re.search(r"^UV_VERSION := (\S+)$", (checkout / "Makefile").read_text(), re.M).group(1)
    uv = _as(instructor, [f"{checkout}/.venv/.uv/bin/uv", "--version"], checkout).stdout.split()
    assert uv[:2] == ["uv", version]
    assert (checkout / ".venv" / ".uv").stat().st_uid == pwd.getpwnam(instructor).pw_uid
