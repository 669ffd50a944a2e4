"""What the browser tests share: Chromium's paths, the commands they run, and a Jupyter server started with a
role's set-up (``jupyter/<role>/``) and stopped whatever happens to the test."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
CHROMIUM, CHROMEDRIVER = Path("/usr/bin/chromium"), Path("/usr/bin/chromedriver")
WAIT = float(os.environ.get("D2LGRADE_TEST_WAIT", 180))
"""Seconds: a backstop for a loaded machine, never a pause (every wait ends on what the page or server shows)."""


def require_chromium() -> None:
    """Fail (not skip) with the remedy when Debian's Chromium or its driver is missing."""
    missing = [str(p) for p in (CHROMIUM, CHROMEDRIVER) if not os.access(p, os.X_OK)]
    if missing:
        pytest.fail(f"{', '.join(missing)} missing: run `make env` (it installs Debian's chromium and "
                    "chromium-driver), then run the tests again")


def run_ok(args: list[str], cwd: Path, env: dict[str, str]) -> str:
    """Run a command the test depends on; its output, or a failure that shows the end of it."""
    done = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True)
    assert done.returncode == 0, f"{' '.join(args)}:\n{done.stdout[-1500:]}\n{done.stderr[-1500:]}"
    return done.stdout + done.stderr


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def listening(port: int, token: str) -> bool:
    """Does the server on ``port`` answer its status API with this token?"""
    request = urllib.request.Request(f"http://127.0.0.1:{port}/api/status", headers={"Authorization": f"token {token}"})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status == 200
    except (urllib.error.URLError, OSError):
        return False


@contextmanager
def jupyter_server(app: str, role: str, root: Path, home: Path, env: dict[str, str], log: Path, token: str,
                   *options: str) -> Iterator[str]:
    """``jupyter <app>`` (``server`` or ``lab``) with ``jupyter/<role>/``'s set-up, serving ``root``, as the
    user whose home is ``home``; its URL once it answers. Its output goes to ``log``."""
    port = free_port()
    with log.open("w") as out:
        proc = subprocess.Popen(
            [str(BIN / "jupyter"), app, "--no-browser", f"--port={port}", "--ip=127.0.0.1", "--allow-root",
             f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={root}", *options],
            env={**{k: v for k, v in env.items() if k != "JUPYTER_CONFIG_DIR"}, "HOME": str(home),
                 "JUPYTER_CONFIG_PATH": str(ROOT / "jupyter" / role)},  # as make lab-<role>: ~/.jupyter stays the user's
            cwd=root, stdout=out, stderr=subprocess.STDOUT)
        try:
            deadline = time.monotonic() + WAIT
            while not listening(port, token):
                assert proc.poll() is None, f"the {role}'s Jupyter server exited: see {log}"
                assert time.monotonic() < deadline, f"the {role}'s Jupyter server did not start: see {log}"
                time.sleep(0.3)
            yield f"http://127.0.0.1:{port}"
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
