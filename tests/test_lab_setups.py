"""Two JupyterLab set-ups (``jupyter/student``, ``jupyter/instructor``): each role's server serves its tools only.

Each server is started for real with the role's config folder on ``JUPYTER_CONFIG_PATH`` (as ``make
lab-student`` and ``make lab-instructor`` do) and asked over HTTP for nbgrader's endpoints: a
student's server has no formgrader and no course list; an instructor's has both. The lab
extensions' menus follow the same split (``labconfig/page_config.json``). JupyterLab settings save into the
user's own ``~/.jupyter``, never into the course's role folder (which students cannot write).
"""

from __future__ import annotations

import json
import os
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.jupyter_servers import jupyter_server

ROOT = Path(__file__).resolve().parents[1]
TOKEN = "d2lgrade-test-token"


def _status(port: int, path: str, method: str = "GET", body: bytes | None = None) -> int:
    request = urllib.request.Request(f"http://127.0.0.1:{port}{path}", headers={"Authorization": f"token {TOKEN}"},
                                     method=method, data=body)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code
    except urllib.error.URLError:
        return 0  # not listening yet


@contextmanager
def _serve(role: str, folder: Path, **env: str) -> Iterator[int]:
    """A Jupyter server with the role's config folder, serving ``folder`` (also its home); its port."""
    log = folder.parent / f"{folder.name}-{role}-server.log"
    with jupyter_server("server", role, folder, folder, {**os.environ, **env}, log, TOKEN) as url:
        yield int(url.rsplit(":", 1)[1])


@pytest.fixture(params=["student", "instructor"])
def server(request, tmp_path):
    with _serve(request.param, tmp_path) as port:
        yield request.param, port, tmp_path


THEMES = "@jupyterlab/apputils-extension:themes"


@pytest.mark.slow
def test_each_role_gets_its_own_nbgrader_tools_and_saves_its_own_settings(server):
    role, port, home = server
    settings = Path("lab", "user-settings", THEMES.replace(":", "/")).with_suffix(".jupyterlab-settings")
    in_course = ROOT / "jupyter" / role / settings
    before = in_course.stat().st_mtime_ns if in_course.exists() else None
    saved = _status(port, f"/lab/api/settings/{THEMES}", "PUT", json.dumps({"raw": '{"theme": "JupyterLab Dark"}'}).encode())
    assert saved == 204, f"the {role} could not save a JupyterLab setting"
    assert (home / ".jupyter" / settings).is_file(), "settings must go to the user's own ~/.jupyter"
    assert (in_course.stat().st_mtime_ns if in_course.exists() else None) == before, \
        "settings were written into the course's role folder"
    # /formgraders is the Course List's endpoint; /courses belongs to the students' Assignment List
    formgrader, courses, assignments = (_status(port, p) for p in ("/formgrader", "/formgraders", "/assignments"))
    assert _status(port, "/static/jupyter_server_mathjax/MathJax.js") == 200, "MathJax is not served offline"
    if role == "student":
        assert formgrader == 404 and courses == 404, "a student's server serves the instructor's tools"
        assert assignments != 404, "a student's server has no Assignment List"
    else:
        assert formgrader != 404 and courses != 404, "an instructor's server lacks the Formgrader or Course List"


@pytest.mark.slow
def test_a_student_s_assignment_list_finds_the_exchange_outside_the_course(tmp_path):
    """``make lab-student`` names the exchange with D2LGRADE_EXCHANGE; the Assignment List reads nbgrader's config
    files, not the server's command line, so ``jupyter/student/nbgrader_config.py`` passes it on (without it, a
    student's folder other than the course's lists nbgrader's default exchange: "Unwritable directory")."""
    exchange, student = tmp_path / "exchange", tmp_path / "student"
    released = exchange / "d2l-ch2-math" / "outbound" / "s02_1"
    released.mkdir(parents=True)
    (released / "data_manipulation.ipynb").write_text("{}")
    student.mkdir()
    with _serve("student", student, D2LGRADE_EXCHANGE=str(exchange)) as port:
        request = urllib.request.Request(f"http://127.0.0.1:{port}/assignments?course_id=",
                                         headers={"Authorization": f"token {TOKEN}"})
        with urllib.request.urlopen(request, timeout=30) as response:
            listed = json.loads(response.read())
    assert listed["success"], listed["value"]
    assert [(a["course_id"], a["assignment_id"], a["status"]) for a in listed["value"]] == \
        [("d2l-ch2-math", "s02_1", "released")]


def test_each_role_s_lab_menus_match_its_server():
    disabled = {role: json.loads((ROOT / "jupyter" / role / "labconfig" / "page_config.json").read_text())
                ["disabledExtensions"] for role in ("student", "instructor")}
    assert {"@jupyter/nbgrader:formgrader", "@jupyter/nbgrader:create-assignment",
            "@jupyter/nbgrader:course-list"} <= set(disabled["student"])
    assert "@jupyter/nbgrader:formgrader" not in disabled["instructor"]
    assert "@jupyter/nbgrader:course-list" not in disabled["instructor"]
