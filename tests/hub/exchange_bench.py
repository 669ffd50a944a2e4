"""How fast the exchange answers: ``python -m tests.hub.exchange_bench`` (from the repository, as root or not).

The service runs as in production, in a process of its own (``python -m d2lgrade.hub.exchange_service``), against
the fake hub (after the first request of a token the service answers from its caches, as it does with a real hub
for 10 s per token and 30 s per user's groups). Prints: list requests per second (one client, and 20 at once),
the time of ``nbgrader list`` through the client class, and of a 5 MB submission (the client class, and the
``nbgrader submit`` command).
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from nbgrader.coursedir import CourseDirectory

from d2lgrade.hub.exchange_client import HubList, HubReleaseAssignment, HubSubmit
from tests import fake_hub

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOK = json.dumps({"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5})


def _get(url: str, token: str) -> None:
    request = urllib.request.Request(url, headers={"Authorization": f"token {token}"})
    with urllib.request.urlopen(request, timeout=60) as answer:
        answer.read()


def _rate(count: int, workers: int, url: str, token: str) -> float:
    start = time.perf_counter()
    with ThreadPoolExecutor(workers) as pool:
        list(pool.map(lambda _: _get(url, token), range(count)))
    return count / (time.perf_counter() - start)


def main() -> None:
    hub = fake_hub.start(fake_hub.FakeHub("exchange", groups={"ivan": {"instructors-d2l"}, "bob": {"students-d2l"}}))
    top = Path(tempfile.mkdtemp(prefix="d2l-exchange-bench-"))
    (top / "hub.toml").write_text('[courses.d2l]\npath = "/srv/d2lgrade/d2l"\n')
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    service = subprocess.Popen([sys.executable, "-m", "d2lgrade.hub.exchange_service", "--config", str(top / "hub.toml"),
                                "--data", str(top / "exchange"), "--port", str(port)], env=os.environ | hub.env(),
                               stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}/services/exchange"
    try:
        for _ in range(200):
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", port)) == 0:
                    break
            time.sleep(0.05)
        _measure(hub, url, top)
    finally:
        service.terminate()
        service.wait(30)
        shutil.rmtree(top, ignore_errors=True)


def _measure(hub: fake_hub.FakeHub, url: str, top: Path) -> None:
    ivan, bob = hub.token("ivan"), hub.token("bob")
    for i in range(10):
        (top / "course" / "release" / f"a{i}").mkdir(parents=True)
        (top / "course" / "release" / f"a{i}" / "answers.ipynb").write_text(NOTEBOOK)
        os.environ["JUPYTERHUB_API_TOKEN"] = ivan
        HubReleaseAssignment(coursedir=CourseDirectory(root=str(top / "course"), course_id="d2l", assignment_id=f"a{i}"),
                             url=url).start()
    listing = f"{url}/courses/d2l/assignments"
    _get(listing, bob)
    print(f"GET courses/d2l/assignments (10 released), one client: {_rate(500, 1, listing, bob):.0f} requests/s")
    print(f"GET courses/d2l/assignments, 20 clients at once: {_rate(1000, 20, listing, bob):.0f} requests/s")
    os.environ["JUPYTERHUB_API_TOKEN"] = bob
    home = top / "bob"
    (home / "a0").mkdir(parents=True)
    lister = CourseDirectory(root=str(home), course_id="d2l", assignment_id="")
    times = []
    for _ in range(50):
        start = time.perf_counter()
        HubList(coursedir=lister, url=url, assignment_dir=str(home)).start()
        times.append(time.perf_counter() - start)
    print(f"HubList().start() (nbgrader list, the Assignment List's call): {statistics.median(times) * 1000:.1f} ms")
    (home / "a0" / "answers.ipynb").write_text(json.dumps({"data": secrets.token_hex(2_500_000)}))  # 5 MB
    times = []
    for _ in range(3):
        start = time.perf_counter()
        HubSubmit(coursedir=CourseDirectory(root=str(home), course_id="d2l", assignment_id="a0"), url=url,
                  assignment_dir=str(home)).start()
        times.append(time.perf_counter() - start)
    print(f"5 MB submission, HubSubmit().start(): {statistics.median(times):.2f} s (median of 3)")
    env = os.environ | {"JUPYTER_CONFIG_PATH": str(ROOT / "jupyter" / "student"), "D2LGRADE_EXCHANGE_URL": url}
    start = time.perf_counter()
    subprocess.run([str(Path(sys.executable).parent / "nbgrader"), "submit", "a0", "--course", "d2l"], cwd=home,
                   env=env, check=True, capture_output=True)
    print(f"5 MB submission, `nbgrader submit` command: {time.perf_counter() - start:.2f} s")


if __name__ == "__main__":
    main()
