"""Two JupyterLab set-ups (``jupyter/student``, ``jupyter/instructor``): each role's server serves its tools only.

Each server is started for real with the role's config folder (``JUPYTER_CONFIG_DIR``, as ``make
lab-student`` and ``make lab-instructor`` do) and asked over HTTP for nbgrader's endpoints: a
student's server has no formgrader and no course list; an instructor's has both. The lab
extensions' menus follow the same split (``labconfig/page_config.json``).
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
JUPYTER = str(Path(sys.executable).parent / "jupyter")
TOKEN = "d2lgrade-test-token"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _status(port: int, path: str) -> int:
    request = urllib.request.Request(f"http://127.0.0.1:{port}{path}", headers={"Authorization": f"token {TOKEN}"})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code
    except urllib.error.URLError:
        return 0  # not listening yet


@pytest.fixture(params=["student", "instructor"])
def server(request, tmp_path):
    port = _free_port()
    env = {**os.environ, "JUPYTER_CONFIG_DIR": str(ROOT / "jupyter" / request.param), "HOME": str(tmp_path)}
    proc = subprocess.Popen([JUPYTER, "server", "--no-browser", f"--port={port}", "--ip=127.0.0.1",
                             f"--IdentityProvider.token={TOKEN}", "--allow-root", f"--ServerApp.root_dir={tmp_path}"],
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=tmp_path)
    deadline = time.monotonic() + 60
    while _status(port, "/api/status") != 200:
        assert proc.poll() is None and time.monotonic() < deadline, "the Jupyter server did not start"
        time.sleep(0.3)
    yield request.param, port
    proc.terminate()
    proc.wait(timeout=30)


@pytest.mark.slow
def test_each_role_gets_its_own_nbgrader_tools(server):
    role, port = server
    # /formgraders is the Course List's endpoint; /courses belongs to the students' Assignment List
    formgrader, courses, assignments = (_status(port, p) for p in ("/formgrader", "/formgraders", "/assignments"))
    assert _status(port, "/static/jupyter_server_mathjax/MathJax.js") == 200, "MathJax is not served offline"
    if role == "student":
        assert formgrader == 404 and courses == 404, "a student's server serves the instructor's tools"
        assert assignments != 404, "a student's server has no Assignment List"
    else:
        assert formgrader != 404 and courses != 404, "an instructor's server lacks the Formgrader or Course List"


def test_each_role_s_lab_menus_match_its_server():
    disabled = {role: json.loads((ROOT / "jupyter" / role / "labconfig" / "page_config.json").read_text())
                ["disabledExtensions"] for role in ("student", "instructor")}
    assert {"@jupyter/nbgrader:formgrader", "@jupyter/nbgrader:create-assignment",
            "@jupyter/nbgrader:course-list"} <= set(disabled["student"])
    assert "@jupyter/nbgrader:formgrader" not in disabled["instructor"]
    assert "@jupyter/nbgrader:course-list" not in disabled["instructor"]
