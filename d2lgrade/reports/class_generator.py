"""A made-up class to try the class report on: ``size`` varied submissions of one assignment.

Each is the release with answers filled in (d2lgrade.authoring.samples.fill), question by question: the
complete sample's answer, the partial sample's, each misconception the bundle declares (its ``code``),
a random value of the right form, a value of the wrong form, or nothing; students differ in how often
they are right. A few are hostile (markup in their answers, a file that is not a notebook). Seeded:
the same seed and size write the same files. Grade them the normal way::

    python -m d2lgrade.reports.class_generator s02_3 class/ [--size 200] [--seed 0]
    d2lgrade grade s02_3 class/ --jobs 2 && d2lgrade report s02_3
"""

from __future__ import annotations

import argparse
import json
import random
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import nbformat

from d2lgrade.authoring.samples import fill, parse_scenario, samples_dir
from d2lgrade.course.layout import Course

HOSTILE_EVERY = 25
"""One student in this many hands in something hostile (the 8th, the 33rd, ...: a class of 40 has both kinds)."""


@dataclass(frozen=True)
class Task:
    """An autograded question as the generator needs it: where its answer goes and what form it asks."""

    question: str
    cell: str
    contract: dict[str, Any]
    misconceptions: tuple[str, ...]
    """The declared misconceptions' code (answer cell sources), if the bundle has any."""


@dataclass(frozen=True)
class Material:
    """What submissions are made of, for one assignment."""

    release: nbformat.NotebookNode
    complete: dict[str, str]
    partial: dict[str, str]
    tasks: tuple[Task, ...]
    written: tuple[str, ...]
    """Grade ids of written answers (markdown cells)."""


def material(course: Course, assignment: str) -> Material:
    """The release, the complete and partial samples, and each autograded question's answer cell and contract."""
    release = nbformat.read(course.release_notebook(assignment), as_version=4)
    scenarios = {name: _scenario(samples_dir(course, assignment) / f"{name}.py") for name in ("complete", "partial")}
    bundle_path = course.bundle_path(assignment)
    if not bundle_path.is_file():
        raise FileNotFoundError(f"{bundle_path}: not built; run `d2lgrade build {assignment}` first")
    bundle = json.loads(bundle_path.read_text(encoding="utf-8"))
    codes = {c["question"]["id"]: _codes(c) + _codes(c["question"]) for c in bundle["compiled"]}
    cells = {c.metadata.get("nbgrader", {}).get("grade_id") for c in release.cells}
    tasks = tuple(Task(q["id"], f"{q['id']}_answer", q["contract"], codes.get(q["id"], ()) + _codes(q))
                  for q in bundle["questions"] if q.get("contract") and f"{q['id']}_answer" in cells)
    written = tuple(q["id"] for q in bundle["questions"] if not q.get("contract") and q["id"] in cells)
    return Material(release, scenarios["complete"], scenarios["partial"], tasks, written)


def _scenario(path: Path) -> dict[str, str]:
    return parse_scenario(path.read_text(encoding="utf-8"), str(path)) if path.is_file() else {}


def _codes(entry: dict[str, Any]) -> tuple[str, ...]:
    return tuple(str(m["code"]) for m in entry.get("misconceptions") or [] if isinstance(m, dict) and m.get("code"))


# --- wrong answers of a contract's form, or not ------------------------------------------------------------------


def random_value(contract: dict[str, Any], rng: random.Random) -> str:
    """Python source of a value of the contract's kind (right form, most likely wrong value)."""
    kind, shape, options = contract.get("kind"), contract.get("shape"), contract.get("options") or []
    makers: dict[str, Callable[[], str]] = {
        "int": lambda: str(rng.randint(0, 30)),
        "number": lambda: repr(round(rng.uniform(-3, 3), 1)),
        "bool": lambda: rng.choice(["True", "False"]),
        "str": lambda: repr(rng.choice(["mean", "sum", "max"])),
        "choice": lambda: repr(rng.choice(options)) if options else "'?'",
        "choices": lambda: repr(set(rng.sample(options, rng.randint(1, len(options))))) if options else "set()",
        "shape": lambda: repr(tuple(rng.randint(1, 4) for _ in range(rng.randint(1, 3)))),
        "shapes": lambda: repr([tuple(rng.randint(1, 4) for _ in range(2)) for _ in range(3)]),
        "array": lambda: f"np.ones({tuple(shape) if shape else (rng.randint(2, 3),)}) * {rng.randint(0, 2)}",
    }
    return makers.get(str(kind), lambda: "None")()


def random_answer(task: Task, rng: random.Random) -> str:
    """An answer cell with a random value of the contract's form (a constant function for function questions)."""
    c = task.contract
    if c.get("type") == "FunctionContract":
        return f"def {c['name']}({', '.join(c['params'])}):\n    return {random_value(c['returns'], rng)}"
    return f"{c['name']} = {random_value(c, rng)}"


def wrong_form(task: Task) -> str:
    """An answer the public check refuses: a string where a value is due, a value where a function is."""
    c = task.contract
    return f"{c['name']} = 'not sure'" if c.get("kind") != "str" else f"{c['name']} = 42"


# --- students ------------------------------------------------------------------------------------------------


def student_answers(m: Material, rng: random.Random, skill: float) -> dict[str, str]:
    """Answer cells of one student: right with probability ``skill``, else one kind of wrong (or nothing)."""
    answers: dict[str, str] = {}
    for task in m.tasks:
        if rng.random() < skill and task.cell in m.complete:
            answers[task.cell] = m.complete[task.cell]
            continue
        choices = [random_answer(task, rng), wrong_form(task), None]
        choices += list(task.misconceptions) * 3  # a declared misconception is what wrong students typically give
        if task.cell in m.partial and m.partial[task.cell] != m.complete.get(task.cell):
            choices += [m.partial[task.cell]] * 2
        picked = rng.choice(choices)
        if picked is not None:
            answers[task.cell] = picked
    for grade_id in m.written:
        if rng.random() < skill and grade_id in m.complete:
            answers[grade_id] = m.complete[grade_id]
    return answers


HOSTILE_CELL = ('print("<script>alert(1)</script>")\n'
                "from IPython.display import HTML, display\n"
                "display(HTML('<img src=x onerror=\"alert(2)\">'))\n")


def hostile(m: Material, k: int, rng: random.Random) -> bytes:
    """Bytes of a hostile submission: markup printed and displayed around right answers, or not a notebook."""
    if k % 2 == 0:
        return b"<html><script>alert('not a notebook')</script></html>"
    answers = {t.cell: m.complete.get(t.cell, random_answer(t, rng)) for t in m.tasks}
    first = m.tasks[0].cell
    answers[first] = HOSTILE_CELL + answers[first]
    return nbformat.writes(fill(m.release, answers, "hostile student")).encode()


def submission(m: Material, index: int, seed: int) -> bytes:
    """Student ``index``'s file: deterministic in (seed, index)."""
    rng = random.Random(f"{seed}:{index}")
    if index % HOSTILE_EVERY == 7:
        return hostile(m, index // HOSTILE_EVERY, rng)
    skill = rng.betavariate(2.5, 1.5)  # most students get most right; a tail does not
    return nbformat.writes(fill(m.release, student_answers(m, rng, skill), f"student {index}")).encode()


def write_class(course: Course, assignment: str, folder: Path, size: int = 200, seed: int = 0) -> list[Path]:
    """``folder/student-NNN.ipynb`` for ``size`` students."""
    m = material(course, assignment)
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i in range(size):
        path = folder / f"student-{i:03d}.ipynb"
        path.write_bytes(submission(m, i, seed))
        paths.append(path)
    return paths


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m d2lgrade.reports.class_generator", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("assignment")
    p.add_argument("folder", type=Path)
    p.add_argument("--size", type=int, default=200)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--course", type=Path, default=None, help="the course folder (default: the one at or above here)")
    args = p.parse_args(argv)
    course = Course.find(args.course)
    paths = write_class(course, args.assignment, args.folder, args.size, args.seed)
    print(f"wrote {len(paths)} submissions of {args.assignment} in {args.folder}; grade them with "
          f"`d2lgrade grade {args.assignment} {args.folder} --jobs 2`")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
