"""Shared fixtures: the course in this repository, its bundles compiled once, its samples graded once.

Notebook-running tests take seconds each; every sample is graded once per session and the results
are shared by the tests that ask different questions of them (goldens, Otter agreement).

``make test`` runs the suite on several pytest-xdist workers. What every worker would otherwise make again
(the bundles, the Otter zips) is made once per run by whichever worker asks first (:func:`made_once`) and
read by the others; each worker keeps one warm sandbox template, as a grader process does.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from d2lgrade.authoring.samples import samples_dir
from d2lgrade.course.layout import Course
from d2lgrade.grading.steps import Assignment, Job, grade_bytes
from d2lgrade.judging.bundle import Bundle, compile_bundle
from d2lgrade.judging.rules import ModuleSources
from d2lgrade.sandbox.execute import trusted_kernel_factory

ROOT = Path(__file__).resolve().parents[1]
COURSE = Course(ROOT)
ASSIGNMENTS = COURSE.assignments()

os.environ["PATH"] = str(Path(sys.executable).parent) + os.pathsep + os.environ.get("PATH", "")


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Tests that take ``assignment`` run once per assignment of the course, in book order."""
    if "assignment" in metafunc.fixturenames:
        metafunc.parametrize("assignment", ASSIGNMENTS)
    if "sample" in metafunc.fixturenames:
        pairs = [(a, p.stem) for a in ASSIGNMENTS for p in sorted(samples_dir(COURSE, a).glob("*.ipynb"))]
        metafunc.parametrize("sample", pairs, ids=[f"{a}-{s}" for a, s in pairs])


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """For ``make test``'s workers (``--dist loadgroup``): the long end-to-end tests first, so that none of them
    starts last and keeps the run waiting; the tests that share an assignment's graded samples on one worker,
    so that each sample is graded once."""
    for item in items:
        callspec = getattr(item, "callspec", None)
        if callspec is not None and "graded" in getattr(item, "fixturenames", ()):
            assignment = callspec.params.get("assignment") or (callspec.params.get("sample") or (None,))[0]
            if assignment:
                item.add_marker(pytest.mark.xdist_group(f"graded-{assignment}"))
    items.sort(key=lambda item: item.get_closest_marker("long") is None)  # stable: book order otherwise kept


@pytest.fixture(scope="session")
def course() -> Course:
    return COURSE


@pytest.fixture(scope="session")
def run_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder the whole test run shares: the workers' common parent under xdist, the base folder otherwise."""
    base = tmp_path_factory.getbasetemp()
    return base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base


def made_once(run_dir: Path, name: str, make: Callable[[Path], None]) -> Path:
    """``run_dir/name``, made by ``make`` once per run: the first worker makes it under a lock, the others wait
    for it and read it. A folder without its ``.made`` mark (a worker killed while making it) is made again."""
    folder = run_dir / name
    with open(run_dir / f".{name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (folder / ".made").is_file():
            shutil.rmtree(folder, ignore_errors=True)
            folder.mkdir()
            make(folder)
            (folder / ".made").touch()
    return folder


@pytest.fixture(scope="session")
def bundles(run_dir: Path) -> dict[str, Bundle]:
    """Every assignment's references, computed once per run (imports MXNet and solutions/) and read as grading
    reads them: from the bundle's JSON."""
    def compile_all(folder: Path) -> None:
        for a in ASSIGNMENTS:
            (folder / f"{a}.json").write_text(compile_bundle(COURSE.spec(a)).to_json())

    folder = made_once(run_dir, "bundles", compile_all)
    return {a: Bundle.load(folder / f"{a}.json") for a in ASSIGNMENTS}


class Graded:
    """Grades each notebook at most once per session."""

    def __init__(self, bundles: dict[str, Bundle]) -> None:
        self.bundles = bundles
        self.jobs: dict[tuple[str, Path], Job] = {}

    def __call__(self, assignment: str, path: Path, trusted: bool = False) -> Job:
        """Sandboxed, as every submission; ``trusted`` only for source notebooks (they import solutions/)."""
        key = (assignment, path)
        if key not in self.jobs:
            factory = trusted_kernel_factory if trusted else None
            modules = ModuleSources(ROOT) if trusted else None  # as `d2lgrade validate` reads the references
            a = Assignment.from_bundle(self.bundles[assignment], kernel_factory=factory, modules=modules)
            self.jobs[key] = grade_bytes(a, path.read_bytes(), student=path.stem, source=path.name)
        return self.jobs[key]


@pytest.fixture(scope="session")
def graded(bundles: dict[str, Bundle]) -> Graded:
    return Graded(bundles)


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
        for assignment, bundle in bundles.items():
            write_autograder_zip(bundle, folder / f"{assignment}.zip", course.root)

    folder = made_once(run_dir, "otter-zips", write_all)
    return {assignment: folder / f"{assignment}.zip" for assignment in bundles}


RULE_UNCHECKABLE = "cannot be checked against this task's rule"


def score_apart_from_rules(result) -> float:
    """The score with the points back of questions zeroed only because dynamic code elsewhere in the notebook
    (ctypes, sys.modules, get_ipython(): what sandbox tests use to attack) makes their rule uncheckable
    (d2lgrade/judging/rules.py). Tests of the sandbox compare this; tests of the rules check the zero itself."""
    return result.score + sum(q.max_score for q in result.autograded if RULE_UNCHECKABLE in q.output)
