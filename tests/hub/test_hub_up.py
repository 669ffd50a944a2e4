"""The class server as `make hub` brings it up: people log in through the hub and each gets their role's server.

Real Unix users (``d2lt…``) log in with their passwords through the hub's REST API (PAM), start their servers
through the hub, and are asked over the hub's proxy what a browser would see: a student's server has the Assignment
List and no formgrader, runs from the student runtime and cannot enter the course folder; a TA's and an
instructor's open in the course folder with the formgrader; each server's own token reaches the course services
(the exchange for everyone in a course, the grader for staff) and nothing reaches them without it.
"""

from __future__ import annotations

import grp
import json
import shutil
import stat

import pytest

from d2lgrade.hub.config import HubConfig
from d2lgrade.hub.membership import prune_groups
from d2lgrade.hub.spawn import hub_groups
from tests.hub.hub_harness import COURSE, INSTRUCTOR, OTHER_STUDENT, STUDENTS, TA, Hub, Session, request

pytestmark = pytest.mark.hub
STUDENT, OTHER = STUDENTS
TIMES: dict[str, float] = {}


@pytest.fixture(scope="module")
def servers(class_server: Hub) -> dict[str, Session]:
    """A running server for the instructor, the TA and two students, each through their own login."""
    sessions = {name: class_server.login(name) for name in (INSTRUCTOR, TA, STUDENT, OTHER)}
    for name, session in sessions.items():
        TIMES[name] = session.start_server()
    print(f"\nmake hub: {class_server.start_seconds:.1f} s ({class_server.started}); servers ready in "
          + ", ".join(f"{n} {t:.1f} s" for n, t in TIMES.items()))
    return sessions


def _in_kernel(session: Session, code: str) -> dict:
    out = session.run_in_kernel(code)
    assert out.strip().startswith("{"), f"{session.name}'s kernel said:\n{out}"
    return json.loads(out.strip().splitlines()[-1])


def test_a_wrong_password_or_a_stranger_gets_no_token(class_server):
    wrong, _ = request(f"{class_server.url}/hub/api/users/{STUDENT}/tokens", "POST",
                       {"auth": {"username": STUDENT, "password": class_server.passwords[OTHER]}})
    stranger, _ = request(f"{class_server.url}/hub/api/users/root/tokens", "POST",
                          {"auth": {"username": "root", "password": class_server.passwords[STUDENT]}})
    assert wrong == 403 and stranger == 403
    assert class_server.login(STUDENT).token, "the honest login failed"


def test_a_student_s_server_has_the_assignment_list_and_no_formgrader(servers):
    student = servers[STUDENT]
    assert student.server("/formgrader")[0] == 404, "a student's server serves the formgrader"
    assert student.server("/formgraders")[0] == 404, "a student's server serves the course list"
    status, listed = student.server("/assignments?course_id=")
    assert status == 200 and listed["success"], f"the Assignment List does not reach the exchange: {status} {listed}"


@pytest.mark.parametrize("name", [TA, INSTRUCTOR])
def test_staff_servers_open_in_the_course_folder_with_the_formgrader(servers, class_server, name):
    staff = servers[name]
    status, root = staff.server("/api/contents/")
    assert status == 200, root
    names = {item["name"] for item in root["content"]}
    assert {"nbgrader_config.py", "source", "course_id"} <= names, f"{name}'s server does not open in the course"
    assert staff.server("/formgrader")[0] != 404, f"{name}'s server has no formgrader"
    status, course_id = staff.server("/api/contents/course_id?content=1&type=file&format=text")
    assert status == 200 and course_id["content"].strip() == COURSE


def test_a_student_s_kernel_runs_the_runtime_and_cannot_enter_the_course(servers, class_server):
    seen = _in_kernel(servers[STUDENT], f"""
import errno, json, os, sys
try:
    os.listdir({str(class_server.course_path())!r}); course = "readable"
except OSError as e:
    course = errno.errorcode[e.errno]
import d2lgrade.student, mxnet
print(json.dumps({{"course": course, "prefix": sys.prefix, "check": d2lgrade.student.__file__,
                  "mxnet": mxnet.__file__, "config_dir": os.environ.get("JUPYTER_CONFIG_DIR"),
                  "config_path": os.environ.get("JUPYTER_CONFIG_PATH")}}))
""")
    runtime = str(class_server.runtime)
    assert seen["course"] == "EACCES", f"a student reads the course folder: {seen['course']}"
    assert seen["prefix"] == runtime and seen["check"].startswith(runtime) and seen["mxnet"].startswith(runtime)
    assert seen["config_dir"] is None and seen["config_path"].endswith("/jupyter/student")


def test_a_student_s_jupyterlab_settings_are_saved_in_their_home(servers):
    student = servers[STUDENT]
    theme = "/lab/api/settings/@jupyterlab/apputils-extension:themes"
    status, _ = student.server(theme, "PUT", {"raw": json.dumps({"theme": "JupyterLab Dark"})})
    assert status == 204, f"JupyterLab could not save a student's settings: {status}"
    assert "JupyterLab Dark" in json.dumps(student.server(theme)[1])


def test_another_student_s_token_does_not_open_a_student_s_server(servers):
    status, _ = request(f"{servers[STUDENT].hub.url}/user/{STUDENT}/api/contents/", token=servers[OTHER].token)
    assert status in (403, 404), f"{OTHER}'s token opened {STUDENT}'s server ({status})"
    assert servers[STUDENT].server("/api/contents/")[0] == 200, "the student's own token did not open it"


SERVICES = """
import json, os, urllib.request, urllib.error
def call(url, method="GET", token=None):
    headers = {{"Authorization": "token " + token}} if token else {{}}
    req = urllib.request.Request(url, method=method, headers=headers, data=b"{{}}" if method == "POST" else None)
    try:
        with urllib.request.urlopen(req, timeout=60) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()
token = os.environ["JUPYTERHUB_API_TOKEN"]
exchange, grader = os.environ["D2LGRADE_EXCHANGE_URL"], os.environ["D2LGRADE_GRADER_URL"]
grade = grader + "/grade/{course}/no-such-assignment"
print(json.dumps({{"whoami": call(exchange + "/whoami", token=token), "whoami_anonymous": call(exchange + "/whoami"),
                  "grade": call(grade, "POST", token), "grade_anonymous": call(grade, "POST")}}))
"""


def test_a_student_s_server_token_reaches_the_exchange_not_the_grader(servers):
    seen = _in_kernel(servers[STUDENT], SERVICES.format(course=COURSE))
    status, body = seen["whoami"]
    assert status == 200 and json.loads(body)["name"] == STUDENT, seen["whoami"]
    assert json.loads(body)["courses"] == {COURSE: "student"}
    assert seen["whoami_anonymous"][0] in (401, 403), "the exchange answered without a token"
    assert seen["grade"][0] in (401, 403), f"a student's token reached the grader: {seen['grade']}"
    assert seen["grade_anonymous"][0] in (401, 403)


def test_a_ta_s_server_token_reaches_the_grader(servers):
    seen = _in_kernel(servers[TA], SERVICES.format(course=COURSE))
    assert seen["whoami"][0] == 200 and json.loads(seen["whoami"][1])["courses"] == {COURSE: "ta"}
    # past the hub's and the service's checks of who may grade: the service then finds no such assignment
    assert seen["grade"][0] == 404, f"the TA's token did not reach the grader: {seen['grade']}"
    assert seen["grade_anonymous"][0] in (401, 403), "the grader answered without a token"


def test_a_student_of_the_other_course_sees_only_their_course(class_server):
    carol = class_server.login(OTHER_STUDENT)
    status, whoami = request(f"{class_server.url}/services/exchange/whoami", token=carol.token)
    assert status == 200 and whoami["courses"] == {"d2lt-appx": "student"}, whoami


def test_the_course_folder_is_its_staff_s_alone(class_server):
    folder = class_server.course_path()
    mode = folder.stat().st_mode
    assert grp.getgrgid(folder.stat().st_gid).gr_name == f"{COURSE}-staff"
    assert stat.S_IMODE(mode) == 0o2770, oct(stat.S_IMODE(mode))
    assert set(grp.getgrnam(f"{COURSE}-staff").gr_mem) == {INSTRUCTOR, TA}, "students are in the course's group"
    readable = [p for p in folder.rglob("*") if not p.is_symlink() and p.stat().st_mode & 0o007]
    assert not readable, f"others may use {readable[:3]}"


def test_a_ta_taken_out_of_hub_toml_leaves_the_hub_s_course_groups(class_server, tmp_path):
    """On a copy of the running hub's own database (its real schema): the pruning the hub config does at start."""
    db = tmp_path / "jupyterhub.sqlite"
    shutil.copy(HubConfig.load(class_server.config).state / "hub" / "jupyterhub.sqlite", db)
    groups = hub_groups(HubConfig.load(class_server.config))
    without_ta = {name: {"users": [u for u in g["users"] if u != TA]} for name, g in groups.items()}
    assert prune_groups(db, groups) == [], "the hub's groups differ from hub.toml's"
    assert sorted(prune_groups(db, without_ta)) == [("tas", TA), (f"tas-{COURSE}", TA)]
