"""``d2lgrade build``: from ``source/`` to the release, the grading bundles and the Otter zips.

``BUILD_STEPS`` runs per assignment, in order: the release first (nbgrader's own
``generate_assignment``, which also registers the assignment in the gradebook), then the bundle
(references computed once, on MXNet), then the Otter zip that carries the bundle.

Only what changed is rebuilt: ``build/<assignment>/stamp.json`` keeps the hashes of the inputs
(:func:`build_inputs`) and the gradebook the release was registered in; an assignment whose inputs
and outputs are as stamped is skipped, one registered elsewhere only has its release step run again.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from d2lgrade.course.layout import Course
from d2lgrade.course.records import write_atomic
from d2lgrade.judging.bundle import Bundle, compile_bundle
from d2lgrade.nbgrader.release import Target, generate_release, make_exchange
from d2lgrade.otter.autograder_zip import write_autograder_zip


def write_bundle(t: Target) -> None:
    """The references: a secret, written with the course's group and mode (see :mod:`d2lgrade.course.access`)."""
    bundle = compile_bundle(t.course.spec(t.assignment))
    write_atomic(t.course.bundle_path(t.assignment), bundle.to_json().encode(), t.course.access)


def write_otter_zip(t: Target) -> None:
    """The Otter zip carries the references too: the same group and mode as the bundle."""
    bundle = Bundle.load(t.course.bundle_path(t.assignment))
    path = t.course.access.folder(t.course.otter_zip(t.assignment).parent) / t.course.otter_zip(t.assignment).name
    write_autograder_zip(bundle, path, t.course.root)
    t.course.access.file(path)


BUILD_STEPS: tuple[Callable[[Target], None], ...] = (generate_release, write_bundle, write_otter_zip)


@cache
def _code_version() -> str:
    """d2lgrade's own code (and templates), by hash: a new grading code rebuilds every bundle and zip."""
    package = Path(__file__).resolve().parents[1]
    return _tree_hash(package, [p for p in package.rglob("*") if p.is_file() and "__pycache__" not in p.parts])


def _tree_hash(root: Path, files: list[Path]) -> str:
    h = hashlib.sha256()
    for path in sorted(files):
        h.update(f"{path.relative_to(root)}\0{path.stat().st_size}\0".encode())
        h.update(path.read_bytes())
    return h.hexdigest()


def build_inputs(course: Course, assignment: str, assignments: list[str]) -> dict[str, str]:
    """What an assignment's build is made from, each by hash: its source folder, its solutions module with
    the shared ones (not another assignment's), d2lgrade's code, the lock, and nbgrader_config.py."""
    solutions = course.root / "solutions"
    shared = [p for p in solutions.glob("*.py") if p.stem == assignment or p.stem not in assignments]
    single = {"lock": course.root / "requirements" / "lock.txt", "config": course.root / "nbgrader_config.py"}
    return {
        "source": _tree_hash(course.source_dir, [p for p in (course.source_dir / assignment).rglob("*") if p.is_file()]),
        "solutions": _tree_hash(course.root, shared),
        "d2lgrade": _code_version(),
        **{name: _tree_hash(course.root, [path] if path.is_file() else []) for name, path in single.items()},
    }


@dataclass(frozen=True)
class Stamp:
    """``build/<assignment>/stamp.json``: the inputs of the last build, and the gradebooks its release is
    registered in (the course's, a demo's), so that neither registration undoes the other."""

    inputs: dict[str, str]
    gradebooks: tuple[str, ...] = ()

    @classmethod
    def read(cls, path: Path) -> Stamp | None:
        try:
            said = json.loads(path.read_text())
            return cls(dict(said["inputs"]), tuple(said.get("gradebooks", ())))
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            return None

    def write(self, path: Path, course: Course) -> None:
        write_atomic(path, json.dumps({"inputs": self.inputs, "gradebooks": list(self.gradebooks)}).encode(),
                     course.access)


def stamp_path(course: Course, assignment: str) -> Path:
    return course.build_dir / assignment / "stamp.json"


def _outputs(course: Course, assignment: str) -> list[Path]:
    return [course.release_notebook(assignment), course.bundle_path(assignment), course.otter_zip(assignment)]


def stale(course: Course, assignment: str, inputs: dict[str, str], stamp: Stamp | None) -> list[str]:
    """Why ``assignment`` must be built again (changed inputs, missing outputs); empty when it is up to date."""
    if stamp is None:
        return ["not built yet"]
    why = [f"{name} changed" for name in inputs if stamp.inputs.get(name) != inputs[name]]
    return why + [f"{os.path.relpath(p, course.root)} missing" for p in _outputs(course, assignment) if not p.is_file()]


def registered(course: Course, stamp: Stamp) -> bool:
    """Is the current release registered in the course's gradebook (its file still there, for SQLite)?"""
    return course.db_url in stamp.gradebooks and (course.db_path is None or course.db_path.is_file())


def build(course: Course, assignments: list[str] | None = None, log: Callable[[str], None] = print,
          force: bool = False) -> list[str]:
    """Build each assignment (all, in book order, by default) whose inputs changed since its stamp, or all with
    ``force``; return those built. The release step registers the assignment in ``course.db_url`` (nbgrader's
    generate_assignment); an assignment up to date but not registered there has only that step run."""
    make_exchange(course)
    every = course.assignments()
    built, current = [], []
    for assignment in assignments or every:
        inputs = build_inputs(course, assignment, every)
        stamp = Stamp.read(stamp_path(course, assignment))
        why = ["--force"] if force else stale(course, assignment, inputs, stamp)
        target = Target(course, assignment, course.release_dir, course.db_url)
        if why:
            for step in BUILD_STEPS:
                step(target)
            stamp = Stamp(inputs)
            built.append(assignment)
            log(f"built {assignment} ({', '.join(why)}): release/{assignment}, "
                f"{os.path.relpath(course.bundle_path(assignment), course.root)}, "
                f"{os.path.relpath(course.otter_zip(assignment), course.root)}")
        elif stamp is not None and not registered(course, stamp):
            generate_release(target)
            log(f"{assignment}: up to date, registered in the gradebook {course.db_url}")
        else:
            current.append(assignment)
            continue
        others = tuple(g for g in (stamp.gradebooks if stamp else ()) if g != course.db_url)
        Stamp(inputs, (*others, course.db_url)).write(stamp_path(course, assignment), course)
    if current:
        log(f"up to date: {', '.join(current)} (`d2lgrade build --force` rebuilds them)")
    return built
