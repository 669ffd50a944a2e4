"""Build the autograder images and test them the way Gradescope runs them (`make image`, `make image-test`).

One image per assignment (``d2lgrade-autograder:<assignment>``), as Gradescope builds one per autograder
zip: the image holds that assignment's references only, and a submission cannot choose what grades it.
All layers but the last (the assignment's ``otter_config.json``, a few kilobytes) are shared, so the
course's 17 images cost one environment.

No registry is reachable here: the base is a Debian bookworm root made by ``debootstrap`` and
``docker import``, built once and kept as ``d2lgrade-base:bookworm``.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

BASE = "d2lgrade-base:bookworm"
IMAGE = "d2lgrade-autograder"
MIRROR = "http://deb.debian.org/debian"
RUN_FLAGS = ("--network", "none", "--memory", "2g", "--pids-limit", "256")
"""How the image test runs each container: no network, 2 GiB, 256 processes (the issue's limits)."""
TEST_ASSIGNMENTS = ("s02_1", "s02_5", "s17_6")
HOST_CA = Path("/etc/ssl/certs/ca-certificates.crt")
METADATA = {"id": 1, "created_at": "2026-11-30T12:00:00.000000-08:00", "submission_method": "upload",
            "users": [{"email": "student@example.edu", "id": 1, "name": "A Student"}],
            "assignment": {"id": 1, "title": "image test", "due_date": "2026-12-01T23:59:00.000000-08:00"},
            "previous_submissions": []}
"""The ``/autograder/submission_metadata.json`` Gradescope writes beside the submission (its documented keys)."""


def log(message: str) -> None:
    print(message, flush=True)


def docker(*args: str, quiet: bool = False, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["docker", *args], check=check, text=True,
                          capture_output=quiet, env={"DOCKER_BUILDKIT": "0", "PATH": "/usr/sbin:/usr/bin:/bin"})


def ensure_daemon() -> None:
    """A running dockerd: started here (as root) if none answers."""
    if subprocess.run(["docker", "info"], capture_output=True).returncode == 0:
        return
    if shutil.which("dockerd") is None:
        sys.exit("make image: dockerd is not installed: run `make env` (it installs docker.io) or apt-get install docker.io")
    logfile = ROOT / "build" / "dockerd.log"
    logfile.parent.mkdir(exist_ok=True)
    with logfile.open("ab") as out:
        subprocess.Popen(["dockerd"], stdout=out, stderr=out, start_new_session=True)
    for _ in range(120):
        if subprocess.run(["docker", "info"], capture_output=True).returncode == 0:
            return
        time.sleep(0.5)
    sys.exit(f"make image: dockerd did not start; see {logfile}")


def ensure_base() -> None:
    """``d2lgrade-base:bookworm`` from debootstrap, unless it exists (about 30 s)."""
    if docker("image", "inspect", BASE, quiet=True, check=False).returncode == 0:
        return
    log(f"building {BASE} with debootstrap from {MIRROR}")
    with tempfile.TemporaryDirectory(prefix="d2lgrade-rootfs-") as tmp:
        rootfs = Path(tmp) / "root"
        subprocess.run(["debootstrap", "--variant=minbase", "bookworm", str(rootfs), MIRROR], check=True,
                       stdout=subprocess.DEVNULL)
        tar = subprocess.Popen(["tar", "-C", str(rootfs), "-c", "."], stdout=subprocess.PIPE)
        subprocess.run(["docker", "import", "-", BASE], stdin=tar.stdout, check=True, stdout=subprocess.DEVNULL)
        tar.wait()


def build_image(assignment: str) -> str:
    """The assignment's image from its zip (``build/autograder/<a>.zip``), as Gradescope would build it."""
    zip_path = ROOT / "build" / "autograder" / f"{assignment}.zip"
    if not zip_path.is_file():
        sys.exit(f"make image: {zip_path} is missing: run `d2lgrade build {assignment}` first")
    tag = f"{IMAGE}:{assignment}"
    with tempfile.TemporaryDirectory(prefix="d2lgrade-image-") as tmp:
        context = Path(tmp)
        with zipfile.ZipFile(zip_path) as zf:
            zf.extractall(context / "source")
        for name in ("setup.sh", "run_autograder"):
            (context / "source" / name).chmod(0o755)
        (context / "source" / "otter_config.json").rename(context / "otter_config.json")
        shutil.copy(ROOT / "autograder" / "image" / "Dockerfile", context / "Dockerfile")
        shutil.copy(HOST_CA, context / "build-ca.crt")
        started = time.monotonic()
        docker("build", "--quiet", "--build-arg", f"BASE={BASE}", "-t", tag, str(context), quiet=True)
    log(f"built {tag} in {time.monotonic() - started:.1f} s")
    return tag


@dataclass(frozen=True)
class Case:
    """One container run: a notebook for an assignment, and how to judge the results it writes."""

    name: str
    assignment: str
    notebook: bytes
    check: Callable[[dict], str | None] | None = None
    """Extra check on results.json: None if it holds, else what is wrong."""


def run_container(tag: str, notebook: bytes, name: str) -> tuple[dict, float, str, list[str]]:
    """Gradescope's run: the submission in /autograder/submission, results from /autograder/results."""
    with tempfile.TemporaryDirectory(prefix="d2lgrade-run-") as tmp:
        submission, results = Path(tmp) / "submission", Path(tmp) / "results"
        submission.mkdir(mode=0o700)
        results.mkdir(mode=0o700)
        (submission / f"{name}.ipynb").write_bytes(notebook)
        metadata = Path(tmp) / "submission_metadata.json"
        metadata.write_text(json.dumps(METADATA))
        started = time.monotonic()
        done = docker("run", "--rm", *RUN_FLAGS, "-v", f"{submission}:/autograder/submission",
                      "-v", f"{results}:/autograder/results",
                      "-v", f"{metadata}:/autograder/submission_metadata.json:ro", tag, quiet=True, check=False)
        wall = time.monotonic() - started
        path = results / "results.json"
        if not path.is_file():
            raise AssertionError(f"{name}: no results.json (exit {done.returncode})\n{done.stdout}\n{done.stderr}")
        return json.loads(path.read_text()), wall, done.stdout + done.stderr, sorted(p.name for p in results.iterdir())


def host_scores(assignment: str, notebook: bytes, name: str) -> tuple[dict[str, float], str]:
    """What ``d2lgrade grade`` gives the same notebook on this machine (namespaces sandbox), and its notes."""
    from d2lgrade.grading.steps import Assignment, grade_bytes
    from d2lgrade.judging.bundle import Bundle
    from d2lgrade.judging.results import entry_name

    bundle = Bundle.from_json((ROOT / "build" / assignment / "bundle.json").read_text())
    result = grade_bytes(Assignment.from_bundle(bundle), notebook, student=name, source=f"{name}.ipynb").result
    return {entry_name(q): round(q.score, 5) for q in result.autograded}, " ".join(
        [result.problem or "", *result.notes]).strip()


def has_written_answers(assignment: str) -> bool:
    bundle = json.loads((ROOT / "build" / assignment / "bundle.json").read_text())
    return any(q.get("kind") in ("FREE", "PLOT") for q in bundle["questions"])


def sample_cases() -> list[Case]:
    return [Case(f"{a}/{p.stem}", a, p.read_bytes()) for a in TEST_ASSIGNMENTS
            for p in sorted((ROOT / "tests" / "submissions" / a).glob("*.ipynb"))]


def hostile_cases() -> list[Case]:
    """Three attacks on what the container trusts, each from the 2.1 release with correct answers."""
    import nbformat

    from d2lgrade.authoring.samples import fill, parse_scenario
    from d2lgrade.course.layout import Course

    complete_py = ROOT / "tests" / "submissions" / "s02_1" / "complete.py"
    complete = parse_scenario(complete_py.read_text(), str(complete_py))
    release = nbformat.read(Course(ROOT).release_notebook("s02_1"), as_version=4)

    def notebook(**answers: str) -> bytes:
        cells = {**complete, **{f"{k}_answer": v for k, v in answers.items()}}
        return nbformat.writes(fill(release, cells, "image test")).encode()

    read_config = ("leaked = []\nfor p in ['/autograder/source/otter_config.json', '/autograder/source/setup.sh']:\n"
                   "    try:\n        leaked.append(open(p).read())\n    except OSError as e:\n"
                   "        leaked.append(type(e).__name__)\nlt = X < Y\nprint(leaked)")
    forge = ("import json, os\nfor p in ['/autograder/results/results.json', '/autograder/run_autograder']:\n"
             "    try:\n        open(p, 'w').write(json.dumps({'score': 1000, 'tests': []}))\n    except OSError:\n"
             "        pass\nimport urllib.request\ntry:\n    urllib.request.urlopen('http://1.1.1.1', timeout=2)\n"
             "except Exception:\n    pass\ngt = X > Y")
    bomb = ("import os, time\nc = a + b\nfor _ in range(1000):\n    try:\n        if os.fork() == 0:\n"
            "            time.sleep(600)\n            os._exit(0)\n    except OSError:\n        break")

    def no_leak(results: dict) -> str | None:
        text = json.dumps(results)
        return "the configuration leaked into the results" if "reference" in text and "bundle" in text else None

    def no_forgery(results: dict) -> str | None:
        return "a forged score reached results.json" if results.get("score", 0) >= 1000 else None

    return [Case("hostile/read-configuration", "s02_1", notebook(ex1_lt=read_config), no_leak),
            Case("hostile/forge-results-and-network", "s02_1", notebook(ex1_gt=forge), no_forgery),
            Case("hostile/fork-bomb", "s02_1", notebook(ex2_c=bomb))]


def validate_schema(results: dict) -> str | None:
    import jsonschema

    schema = json.loads((ROOT / "autograder" / "gradescope-results.schema.json").read_text())
    try:
        jsonschema.validate(results, schema)
    except jsonschema.ValidationError as exc:
        return f"not Gradescope's schema: {exc.message}"
    return None


def image_test() -> int:
    """Each case in its own container; results.json checked against the schema and against the host's scores."""
    ensure_daemon()
    ensure_base()
    tags = {a: build_image(a) for a in TEST_ASSIGNMENTS}
    failures = []
    log(f"{'submission':40} {'container':>9} {'score':>7}  verdict")
    for case in [*sample_cases(), *hostile_cases()]:
        slug = case.name.replace("/", "-")
        results, wall, output, files = run_container(tags[case.assignment], case.notebook, slug)
        expected, notes = host_scores(case.assignment, case.notebook, slug)
        got = {t["name"]: round(t["score"], 5) for t in results.get("tests", []) if "max_score" in t}
        problems = [p for p in (validate_schema(results), case.check(results) if case.check else None) if p]
        if case.name.endswith("/complete") and has_written_answers(case.assignment) and f"{slug}.pdf" not in files:
            problems.append(f"no PDF of the written answers beside results.json (found {files})")
        if got != expected:
            problems.append(f"scores differ from d2lgrade grade: container {got}, host {expected} ({notes})")
        failures += [f"{case.name}: {p}" for p in problems]
        score = results.get("score", sum(got.values()))  # Gradescope sums the tests when no score is given
        log(f"{case.name:40} {wall:8.1f}s {score:7g}  {'ok' if not problems else 'FAILED'}")
        if problems:
            log(output[-3000:])
    for failure in failures:
        log(f"FAILED {failure}")
    return 1 if failures else hostile_corpus(tags["s02_1"])


IN_IMAGE_PYTEST = """\
import sys
# The course last on the path: d2lgrade from the image's environment (where the sandbox user can read it),
# solutions/ and tests/ from the course.
sys.path.append("/srv/private/course")
import pytest
sys.exit(pytest.main(["-q", "-p", "no:cacheprovider", "--import-mode=importlib", *sys.argv[1:]]))
"""


def hostile_corpus(tag: str) -> int:
    """tests/test_hostile.py and tests/test_forged_reports.py inside the image, where the sandbox is in
    container mode (Docker withholds what bubblewrap needs). The repository is mounted read-only under a
    folder only root may enter, as the zip's configuration is."""
    log("the hostile test corpus in container mode (inside the image):")
    started = time.monotonic()
    done = docker("run", "--rm", "--network", "none", "--memory", "6g", "--pids-limit", "1024",
                  "-v", f"{ROOT}:/srv/private/course:ro", "-w", "/srv/private/course",
                  "-e", "PYTHONDONTWRITEBYTECODE=1", "-e", "PYTHONSAFEPATH=1", "-e", "D2LGRADE_EXPECT_CONFINEMENT=container",
                  tag, "/opt/d2lgrade/bin/python", "-c", IN_IMAGE_PYTEST, "tests/test_hostile.py",
                  "tests/test_forged_reports.py", check=False)
    log(f"hostile corpus in the container: exit {done.returncode} in {time.monotonic() - started:.0f} s")
    return done.returncode


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    build = sub.add_parser("build", help="build the images (all assignments by default)")
    build.add_argument("assignments", nargs="*")
    sub.add_parser("test", help="build three images and grade samples and hostile submissions in them")
    args = parser.parse_args(argv)
    if args.command == "test":
        return image_test()
    ensure_daemon()
    ensure_base()
    from d2lgrade.course.layout import Course

    for assignment in args.assignments or Course(ROOT).assignments():
        build_image(assignment)
    return 0


if __name__ == "__main__":
    sys.exit(main())
