"""Shared fixtures: the course in this repository, its bundles compiled once, its samples graded once.

Notebook-running tests take seconds each; every sample is graded once per session and the results
are shared by the tests that ask different questions of them (goldens, Otter agreement).

``make test`` runs the suite on several pytest-xdist workers. What every worker would otherwise make again
(the bundles, the Otter zips, the graded samples) is made once per run by whichever worker asks first
(:func:`made_once`) and read by the others; each worker keeps one warm sandbox template, as a grader
process does.
"""

from __future__ import annotations

import contextlib
import fcntl
import functools
import hashlib
import os
import pickle
import shutil
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import nbgrader.api
import pytest

from d2lgrade.authoring.samples import samples_dir
from d2lgrade.course.layout import Course
from d2lgrade.grading.steps import Assignment, grade_bytes
from d2lgrade.judging.bundle import Bundle, compile_bundle
from d2lgrade.judging.results import SubmissionResult
from d2lgrade.judging.rules import ModuleSources
from d2lgrade.sandbox.execute import trusted_kernel_factory

ROOT = Path(__file__).resolve().parents[1]
COURSE = Course(ROOT)
ASSIGNMENTS = COURSE.assignments()

os.environ["PATH"] = str(Path(sys.executable).parent) + os.pathsep + os.environ.get("PATH", "")

# nbgrader asks the `alembic` command for its schema's head (a new Python process, ~2 s of CPU) each time it
# creates a gradebook, and the tests create one per course they copy or release they regenerate: the answer is
# the installed nbgrader's, the same every time, so each test worker asks once.
nbgrader.api.get_alembic_version = functools.cache(nbgrader.api.get_alembic_version)


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Tests that take ``assignment`` run once per assignment of the course, in book order."""
    if "assignment" in metafunc.fixturenames:
        metafunc.parametrize("assignment", ASSIGNMENTS)
    if "sample" in metafunc.fixturenames:
        pairs = [(a, p.stem) for a in ASSIGNMENTS for p in sorted(samples_dir(COURSE, a).glob("*.ipynb"))]
        metafunc.parametrize("sample", pairs, ids=[f"{a}-{s}" for a, s in pairs])


def pytest_xdist_auto_num_workers(config: pytest.Config) -> int:
    """``-n auto`` (``make test``): two workers per core, since much of a test is waiting on kernels, browsers,
    servers and sleeping submissions; verdicts count CPU time, so the extra load changes none of them."""
    return 2 * (os.cpu_count() or 1)


SHARED_SETUP = ("tests/test_active_content.py", "tests/test_gradebook.py")
"""Modules whose tests share a graded course made by one module-scoped fixture: each runs whole on one worker
(a worker that ran one of its tests would otherwise build the course again)."""


def pytest_xdist_make_scheduler(config: pytest.Config, log: object) -> object | None:
    """For xdist's default ``--dist load``: per-scope scheduling, each test its own scope (handed out one at a time)
    but for the modules of :data:`SHARED_SETUP`. Another ``--dist`` asked for on the command line is xdist's own."""
    if config.getvalue("dist") != "load":
        return None
    from xdist.scheduler import LoadScopeScheduling

    class OneTestOrOneModule(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            module = nodeid.split("::", 1)[0]
            return module if module in SHARED_SETUP else nodeid

    return OneTestOrOneModule(config, log)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """For ``make test``'s workers: the long end-to-end tests first, so that none of them starts last and keeps
    the whole run waiting (the scheduler above hands tests out in this order, one or two per worker at a time)."""
    items.sort(key=lambda item: item.get_closest_marker("long") is None)  # stable: book order otherwise kept


@pytest.fixture(scope="session")
def course() -> Course:
    return COURSE


@pytest.fixture(scope="session")
def run_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder the whole test run shares: the workers' common parent under xdist, the base folder otherwise."""
    base = tmp_path_factory.getbasetemp()
    return base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base


@contextlib.contextmanager
def one_worker_at_a_time(run_dir: Path, name: str) -> Iterator[None]:
    """Hold the run-wide lock ``name``: what two test workers must not do at once (one Unix user's processes)."""
    with open(run_dir / f".{name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def made_once(path: Path, make: Callable[[Path], None]) -> Path:
    """``path`` (a file or a folder), made once per run by ``make(where)``: the first worker to ask makes it under
    a lock, the others wait and read it. It appears by a rename, whole: a worker killed while making it leaves
    only a partial copy, which the next one to ask discards."""
    with one_worker_at_a_time(path.parent, path.name):
        if not path.exists():
            partial = path.with_name(f".{path.name}.partial")
            if partial.is_dir():
                shutil.rmtree(partial)
            partial.unlink(missing_ok=True)
            make(partial)
            partial.rename(path)
    return path


@pytest.fixture(scope="session")
def bundles(run_dir: Path) -> dict[str, Bundle]:
    """Every assignment's references, computed once per run (imports MXNet and solutions/) and read as grading
    reads them: from the bundle's JSON."""
    def compile_all(folder: Path) -> None:
        folder.mkdir()
        for a in ASSIGNMENTS:
            (folder / f"{a}.json").write_text(compile_bundle(COURSE.spec(a)).to_json())

    folder = made_once(run_dir / "bundles", compile_all)
    return {a: Bundle.load(folder / f"{a}.json") for a in ASSIGNMENTS}


@dataclass(frozen=True)
class GradedNotebook:
    """What the tests ask of a graded notebook: its result (the same typed result grading returns)."""

    result: SubmissionResult


class Graded:
    """Grades each notebook at most once per run, whichever worker asks first; the others read its result."""

    def __init__(self, bundles: dict[str, Bundle], folder: Path) -> None:
        self.bundles = bundles
        self.folder = folder
        self.seen: dict[tuple[str, Path, bool], GradedNotebook] = {}

    def __call__(self, assignment: str, path: Path, trusted: bool = False) -> GradedNotebook:
        """Sandboxed, as every submission; ``trusted`` only for source notebooks (they import solutions/)."""
        key = (assignment, path, trusted)
        if key not in self.seen:
            def grade(target: Path) -> None:
                factory = trusted_kernel_factory if trusted else None
                modules = ModuleSources(ROOT) if trusted else None  # as `d2lgrade validate` reads the references
                a = Assignment.from_bundle(self.bundles[assignment], kernel_factory=factory, modules=modules)
                job = grade_bytes(a, path.read_bytes(), student=path.stem, source=path.name)
                target.write_bytes(pickle.dumps(job.result))

            name = hashlib.sha256(f"{assignment}\0{path}\0{trusted}".encode()).hexdigest()[:24]
            done = made_once(self.folder / f"{assignment}-{path.stem}-{name}.pickle", grade)
            self.seen[key] = GradedNotebook(pickle.loads(done.read_bytes()))  # written by this run's own tests
        return self.seen[key]


@pytest.fixture(scope="session")
def graded(bundles: dict[str, Bundle], run_dir: Path) -> Graded:
    folder = run_dir / "graded"
    folder.mkdir(exist_ok=True)
    return Graded(bundles, folder)


def copy_course(bundles: dict[str, Bundle], assignment: str, root: Path) -> Course:
    """A course at ``root`` with one assignment built: its config, source, release and bundle (no kernels run)."""
    shutil.copy(COURSE.root / "nbgrader_config.py", root)
    for folder in ("source", "release"):
        shutil.copytree(COURSE.root / folder / assignment, root / folder / assignment)
    copy = Course(root)
    copy.bundle_path(assignment).parent.mkdir(parents=True)
    copy.bundle_path(assignment).write_text(bundles[assignment].to_json())
    return copy


@pytest.fixture(scope="session")
def otter_zips(course, bundles, run_dir):
    """Every assignment's Otter autograder zip, built once per run (a clean clone has no build/)."""
    from d2lgrade.otter.autograder_zip import write_autograder_zip

    def write_all(folder: Path) -> None:
        folder.mkdir()
        for assignment, bundle in bundles.items():
            write_autograder_zip(bundle, folder / f"{assignment}.zip", course.root)

    folder = made_once(run_dir / "otter-zips", write_all)
    return {assignment: folder / f"{assignment}.zip" for assignment in bundles}


RULE_UNCHECKABLE = "cannot be checked against this task's rule"


def score_apart_from_rules(result) -> float:
    """The score with the points back of questions zeroed only because dynamic code elsewhere in the notebook
    (ctypes, sys.modules, get_ipython(): what sandbox tests use to attack) makes their rule uncheckable
    (d2lgrade/judging/rules.py). Tests of the sandbox compare this; tests of the rules check the zero itself."""
    return result.score + sum(q.max_score for q in result.autograded if RULE_UNCHECKABLE in q.output)
