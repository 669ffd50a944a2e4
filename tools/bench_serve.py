"""``make bench-serve``: how long a student waits from Submit to feedback with grading on submit, against ``otter run``.

Everything runs as on the class server, in one temporary folder: a fake JupyterHub (users, groups, the service
``grader``), the real exchange service and ``d2lgrade serve --jobs 2`` as processes of their own, and a course that is
a clone of this checkout with the assignment's build copied in. Hub users submit the assignment's sample notebooks
through the exchange, one at a time (idle) and as a burst; a submission's latency is from just before its POST to
when the exchange lists feedback on it (polled every 20 ms). One ``otter run`` of the same notebook, with the
project's autograder zip, is what a Gradescope student waits for, minus its queue; ``d2lgrade grade --jobs 2`` of as
many notebooks as the burst is the throughput the burst should drain at.
Runs as root (the sandbox starts kernels as another user; so serve grades on its own warm workers, not through the
grading service). Usage: ``python tools/bench_serve.py [--assignment A] [--burst N] [--idle N] [--otter N]
[--no-batch]``. The figures also go to ``test-artifacts/serve/bench-serve.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from d2lgrade.hub.exchange_files import ExchangeFile, encode  # noqa: E402 - after ROOT is importable
from d2lgrade.serve.exchange_api import ExchangeAPI  # noqa: E402
from tests import fake_hub  # noqa: E402
from tests.hub.hub_harness import wait_for_port  # noqa: E402

COURSE = "bench"
STUDENTS = tuple(f"student{n}" for n in range(1, 9))
INSTRUCTOR = "ivan"
POLL = 0.02
"""Seconds between two looks at the exchange's list: the latencies' resolution."""
JOBS = 2
CAP = 50
"""Submissions the exchange takes per student and assignment (its Limits.submissions)."""
IDLE_PAUSE = (0.1, 0.6)
"""Seconds between one idle submission's feedback and the next submission, at random: a student arrives at any
moment of the service's poll (every 0.05 s), not just as its pass ends, as one submitting at once would."""
OUTCOME = re.compile(r" \S+ \S+/\S+ #\d+: (?P<outcome>.*)$")
SCORE = re.compile(r"[\d.e+-]+/[\d.e+-]+")
ARTIFACT = ROOT / "test-artifacts" / "serve" / "bench-serve.json"
ENV = {"PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}", "PYTHONDONTWRITEBYTECODE": "1"}
"""The services' environment as ``make`` gives it: the venv's commands first (nbgrader runs ``alembic``)."""


@dataclass
class Hub:
    """The fake hub, the exchange's address and everyone's tokens."""

    hub: fake_hub.FakeHub
    url: str
    tokens: dict[str, str]

    def api(self, who: str) -> ExchangeAPI:
        return ExchangeAPI(self.url, self.tokens[who], timeout=120)


@dataclass
class Poller:
    """One thread listing the course's submissions after ``after`` (as the instructor): when each got feedback."""

    api: ExchangeAPI
    assignment: str
    after: int
    seen: dict[int, float] = field(default_factory=dict)
    stop: threading.Event = field(default_factory=threading.Event)

    def run(self) -> None:
        while not self.stop.is_set():
            rows = self.api.call("GET", f"courses/{COURSE}/submissions", assignment=self.assignment,
                                 after=str(self.after))
            now = time.perf_counter()
            for row in rows:
                if row["feedback"] and row["id"] not in self.seen:
                    self.seen[row["id"]] = now
            while self.after + 1 in self.seen:  # ask only for what is still waiting
                self.after += 1
            self.stop.wait(POLL)

    def wait(self, sids: list[int], timeout: float, log: Path) -> None:
        """Until every one of ``sids`` has feedback; stops with the service's log when one failed (it never will
        have feedback) or after ``timeout`` seconds."""
        end, checked = time.monotonic() + timeout, time.monotonic()
        while not all(s in self.seen for s in sids):
            if time.monotonic() > end:
                raise SystemExit(f"bench-serve: no feedback on {len(set(sids) - set(self.seen))} submissions "
                                 f"after {timeout:.0f} s; the service's log ends:\n{_tail(log)}")
            if time.monotonic() - checked > 1:
                checked = time.monotonic()
                if failed := _failed(log):
                    raise SystemExit(f"bench-serve: the service failed a submission ({failed}); its log ends:\n"
                                     f"{_tail(log)}")
            time.sleep(POLL / 2)


def _failed(log: Path) -> str:
    """The first outcome line of ``d2lgrade serve`` (``student course/assignment #id: outcome``) that is no score."""
    for line in log.read_text(errors="replace").splitlines():
        found = OUTCOME.search(line)
        if found and not SCORE.fullmatch(found["outcome"]):
            return found[0].strip()
    return ""


def _tail(path: Path, lines: int = 30) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError as e:
        return str(e)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def course(top: Path, assignment: str) -> Path:
    """A clone of the checkout with course id ``bench`` and the assignment's build (bundle) copied in: what
    ``d2lgrade serve`` grades with; the clone's gradebook is made by the warm-up submission."""
    built = ROOT / "build" / assignment / "bundle.json"
    if not built.is_file():
        raise SystemExit(f"bench-serve: {built} is missing: run `make build` first")
    folder = top / "course"
    subprocess.run(["git", "clone", "-q", str(ROOT), str(folder)], check=True)
    (folder / "course_id").write_text(COURSE + "\n")
    shutil.copytree(ROOT / "build" / assignment, folder / "build" / assignment)
    return folder


def hub_toml(top: Path, folder: Path, port: int) -> Path:
    path = top / "hub.toml"
    path.write_text(f'[hub]\nstate = "{top / "state"}"\nsecrets = "{top / "secrets"}"\nruntime = "{top / "runtime"}"\n'
                    f'[services.exchange]\nport = {port}\n'
                    f'[courses.{COURSE}]\npath = "{folder}"\ngrade_on_submit = true\n')
    return path


def start(command: list[str], env: dict[str, str], log: Path, cwd: Path) -> subprocess.Popen:
    with log.open("wb") as out:
        return subprocess.Popen([sys.executable, *command], env=os.environ | env | ENV, stdout=out,
                                stderr=subprocess.STDOUT, cwd=cwd)


def fake(top: Path, port: int) -> Hub:
    groups = {s: {f"students-{COURSE}"} for s in STUDENTS} | {INSTRUCTOR: {f"instructors-{COURSE}"}}
    hub = fake_hub.start(fake_hub.FakeHub("exchange", groups=groups))
    tokens = {name: hub.token(name) for name in groups} | {"grader": hub.token("grader", kind="service")}
    return Hub(hub, f"http://127.0.0.1:{port}/services/exchange", tokens)


def release(hub: Hub, folder: Path, assignment: str) -> str:
    """The student version released by the instructor; the notebook's file name."""
    (notebook,) = (folder / "release" / assignment).glob("*.ipynb")
    hub.api(INSTRUCTOR).call("POST", f"courses/{COURSE}/assignments/{assignment}/release",
                             {"files": encode([ExchangeFile(notebook.name, notebook.read_bytes())])})
    return notebook.name


class Notebooks:
    """The assignment's sample submissions, each made unique (a note in the metadata): the same bytes from the same
    student again would be kept from the ledger, not graded."""

    def __init__(self, assignment: str, name: str) -> None:
        folder = ROOT / "tests" / "submissions" / assignment
        samples = [folder / f"{k}.ipynb" for k in ("complete", "partial") if (folder / f"{k}.ipynb").is_file()]
        if not samples:
            raise SystemExit(f"bench-serve: no complete or partial sample in {folder}")
        self.samples = [json.loads(p.read_text()) for p in samples]
        self.name, self.count = name, 0
        self.lock = threading.Lock()

    def raw(self) -> bytes:
        with self.lock:
            self.count += 1
            n = self.count
        nb = json.loads(json.dumps(self.samples[n % len(self.samples)]))
        nb.setdefault("metadata", {})["bench_serve"] = n
        return json.dumps(nb).encode()

    def next(self) -> list[dict[str, str]]:
        """The files of the next submission, as the exchange takes them."""
        return encode([ExchangeFile(self.name, self.raw())])


def submit(hub: Hub, student: str, assignment: str, files: list[dict[str, str]]) -> tuple[int, float]:
    """One submission as ``student``: its exchange id and the moment just before the POST."""
    start = time.perf_counter()
    made = hub.api(student).call("POST", f"courses/{COURSE}/assignments/{assignment}/submissions", {"files": files})
    return int(made["id"]), start


@dataclass
class Phase:
    """Each submission's seconds from just before its POST to its feedback seen; the phase's wall seconds."""

    latencies: list[float]
    drain: float


def idle(hub: Hub, poller: Poller, notebooks: Notebooks, assignment: str, count: int, log: Path,
         pause: Callable[[], float] = lambda: 0.0) -> Phase:
    """``count`` submissions, each ``pause()`` seconds after the previous one's feedback is visible, by the students
    in turn."""
    latencies, begin = [], time.perf_counter()
    for n in range(count):
        time.sleep(pause())
        sid, start = submit(hub, STUDENTS[n % len(STUDENTS)], assignment, notebooks.next())
        poller.wait([sid], 300, log)
        latencies.append(poller.seen[sid] - start)
    return Phase(latencies, time.perf_counter() - begin)


def burst(hub: Hub, poller: Poller, notebooks: Notebooks, assignment: str, count: int, log: Path) -> Phase:
    """``count`` submissions posted as fast as the exchange takes them, one thread per student; then every feedback."""
    share = [count // len(STUDENTS) + (i < count % len(STUDENTS)) for i in range(len(STUDENTS))]
    bodies = {s: [notebooks.next() for _ in range(k)] for s, k in zip(STUDENTS, share, strict=True)}
    begin = time.perf_counter()
    with ThreadPoolExecutor(len(STUDENTS)) as pool:
        posted = pool.map(lambda s: [submit(hub, s, assignment, b) for b in bodies[s]], STUDENTS)
        made = [m for per in posted for m in per]
    poller.wait([sid for sid, _ in made], 60 + 10 * count, log)
    latencies = [poller.seen[sid] - start for sid, start in made]
    return Phase(latencies, max(poller.seen[sid] for sid, _ in made) - begin)


def otter(assignment: str, notebook: Path, top: Path, runs: int) -> list[float]:
    """Wall seconds of ``otter run`` with the project's zip, as tools/bench.py runs it (timed here without its memory
    sampling, which rounds each run up to its 0.25 s sampling step)."""
    zipped = ROOT / "build" / "autograder" / f"{assignment}.zip"
    times = []
    for n in range(runs):
        out = top / "otter" / str(n)
        out.mkdir(parents=True)
        start = time.perf_counter()
        subprocess.run([str(Path(sys.executable).parent / "otter"), "run", "-a", str(zipped), "-o", str(out),
                        str(notebook)], cwd=top, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        times.append(time.perf_counter() - start)
    return times


def batch(assignment: str, folder: Path, notebooks: Notebooks, count: int, top: Path) -> float:
    """Wall seconds of ``d2lgrade grade --jobs 2`` on ``count`` such notebooks in the same course, into its gradebook
    (what serve does per submission), start-up included: the throughput a burst should drain at."""
    inbox = top / "inbox"
    inbox.mkdir()
    for n in range(count):
        (inbox / f"batch{n:04d}.ipynb").write_bytes(notebooks.raw())
    start = time.perf_counter()
    subprocess.run([str(Path(sys.executable).parent / "d2lgrade"), "grade", assignment, str(inbox), "--jobs", str(JOBS),
                    "--output", str(top / "batch-results")], cwd=folder, env=os.environ | ENV, check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - start


def p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


def stats(values: list[float]) -> dict[str, float]:
    return {"n": len(values), "median_s": statistics.median(values), "p95_s": p95(values)}


def report(args: argparse.Namespace, warm: float, phases: dict[str, Phase], otter_times: list[float],
           batch_s: float | None) -> dict[str, Any]:
    rows = {name: stats(p.latencies) for name, p in phases.items()} | {"otter run": stats(otter_times)}
    drain = phases["burst on-submit"].drain
    return {"assignment": args.assignment, "jobs": JOBS, "cores": len(os.sched_getaffinity(0)),
            "machine": os.uname().machine, "warm_up_s": warm, "idle_pause_s": list(IDLE_PAUSE), "rows": rows,
            "burst_drain_s": drain, "burst_throughput_per_s": args.burst / drain, "batch_s": batch_s,
            "batch_throughput_per_s": args.burst / batch_s if batch_s else None,
            "speedup_idle_median_vs_otter": rows["otter run"]["median_s"] / rows["idle on-submit"]["median_s"]}


def show(figures: dict[str, Any]) -> None:
    print(f"{figures['assignment']}, {figures['machine']}, {figures['cores']} cores, d2lgrade serve --jobs "
          f"{figures['jobs']}; one warm-up submission first ({figures['warm_up_s']:.1f} s: gradebook, warm workers), "
          "not counted")
    print(f"idle: one submission at a time, {IDLE_PAUSE[0]}-{IDLE_PAUSE[1]} s (at random) after the previous "
          f"feedback; burst: all posted at once by {len(STUDENTS)} students")
    print(f"{'submit -> feedback visible':<28}{'n':>6}{'median s':>11}{'p95 s':>9}")
    for name, row in figures["rows"].items():
        print(f"{name:<28}{row['n']:>6}{row['median_s']:>11.2f}{row['p95_s']:>9.2f}")
    burst_n = figures["rows"]["burst on-submit"]["n"]
    line = (f"burst of {burst_n} drained in {figures['burst_drain_s']:.1f} s: "
            f"{figures['burst_throughput_per_s']:.2f} submissions/s")
    if figures["batch_s"]:
        line += (f"; d2lgrade grade --jobs {figures['jobs']} of {burst_n} such notebooks: {figures['batch_s']:.1f} s, "
                 f"{figures['batch_throughput_per_s']:.2f} submissions/s (start-up included)")
    print(line)
    print(f"submit-to-feedback median vs otter run: {figures['speedup_idle_median_vs_otter']:.0f}x faster")


def run(args: argparse.Namespace, top: Path, stack: list[subprocess.Popen]) -> dict[str, Any]:
    folder, port = course(top, args.assignment), free_port()
    hub, config = fake(top, port), hub_toml(top, folder, port)
    log = top / "exchange.log"
    stack.append(start(["-m", "d2lgrade.hub.exchange_service", "--config", str(config), "--port", str(port)],
                       hub.hub.env(), log, top))
    wait_for_port(port, stack[-1], log, "the exchange")
    notebooks = Notebooks(args.assignment, release(hub, folder, args.assignment))
    log = top / "serve.log"
    stack.append(start(["-m", "d2lgrade.serve", "--config", str(config), "--jobs", str(JOBS), "--exchange-url", hub.url],
                       {"JUPYTERHUB_API_TOKEN": hub.tokens["grader"]}, log, top))
    warm, phases = measure(args, hub, notebooks, log)
    stop(stack)  # the references below have the machine to themselves
    otter_times = otter(args.assignment, ROOT / "tests" / "submissions" / args.assignment / "complete.ipynb", top,
                        args.otter)
    batch_s = batch(args.assignment, folder, notebooks, args.burst, top) if args.batch else None
    return report(args, warm, phases, otter_times, batch_s)


def measure(args: argparse.Namespace, hub: Hub, notebooks: Notebooks, log: Path) -> tuple[float, dict[str, Phase]]:
    """The warm-up's seconds, then the idle and burst phases, watched by one poller."""
    poller = Poller(hub.api(INSTRUCTOR), args.assignment, 0)
    threading.Thread(target=_guarded(poller.run), daemon=True, name="poller").start()
    arrivals = random.Random(23)
    try:
        warm = idle(hub, poller, notebooks, args.assignment, 1, log).drain
        return warm, {"idle on-submit": idle(hub, poller, notebooks, args.assignment, args.idle, log,
                                             lambda: arrivals.uniform(*IDLE_PAUSE)),
                      "burst on-submit": burst(hub, poller, notebooks, args.assignment, args.burst, log)}
    finally:
        poller.stop.set()


def _guarded(body: Callable[[], None]) -> Callable[[], None]:
    """A thread's body whose failure is printed where the bench's user sees it (the wait then times out)."""
    def guarded() -> None:
        try:
            body()
        except Exception as e:  # noqa: BLE001 - said, and the waiting side stops with the service's log
            print(f"bench-serve: the poller stopped: {e}", file=sys.stderr)
    return guarded


def stop(processes: list[subprocess.Popen]) -> None:
    for process in reversed(processes):
        process.terminate()
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python tools/bench_serve.py", description=__doc__.split("\n")[0])
    parser.add_argument("--assignment", default="s02_1", help="the assignment (default s02_1: fast)")
    parser.add_argument("--burst", type=int, default=200, help="submissions in the burst (default 200)")
    parser.add_argument("--idle", type=int, default=20, help="submissions one after another (default 20)")
    parser.add_argument("--no-batch", dest="batch", action="store_false",
                        help="skip the reference batch (d2lgrade grade --jobs 2 of as many notebooks as the burst)")
    parser.add_argument("--otter", type=int, default=3, help="otter runs of the same notebook (default 3: median)")
    args = parser.parse_args(argv)
    if os.geteuid() != 0:
        print("bench-serve: run as root: d2lgrade serve's sandbox starts kernels as another user", file=sys.stderr)
        return 2
    each = -(-args.burst // len(STUDENTS)) - (-(args.idle + 1) // len(STUDENTS))
    if each > CAP:
        parser.error(f"{each} submissions per student: the exchange takes {CAP} per student per assignment")
    top, processes = Path(tempfile.mkdtemp(prefix="d2lgrade-bench-serve-")), []
    try:
        figures = run(args, top, processes)
    finally:
        stop(processes)
        shutil.rmtree(top, ignore_errors=True)
    ARTIFACT.parent.mkdir(parents=True, exist_ok=True)
    ARTIFACT.write_text(json.dumps(figures, indent=2) + "\n")
    show(figures)
    return 0


if __name__ == "__main__":
    sys.exit(main())
