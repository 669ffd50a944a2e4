"""A made-up class to try the class report and similarity on: ``size`` varied submissions of one assignment.

Each is the release with answers filled in (d2lgrade.authoring.samples.fill), question by question: the
complete sample's answer written in the student's own style (see :class:`Habits`: with or without its
prints, a named result, a lambda, a few exploratory lines of their own; written answers in their own
words around some of the sample's sentences), the partial sample's, each misconception the bundle
declares (its ``code``), a random value of the right form, a value of the wrong form, or nothing;
students differ in how often they are right. A few are hostile (markup in their answers, a file that
is not a notebook). Some students copy (:func:`copy_rings`): each ring's first member works alone, the
others hand in that work disguised (:func:`copied_answers`). Seeded: the same seed and size write the
same files. Grade them the normal way::

    python -m d2lgrade.reports.class_generator s02_3 class/ [--size 200] [--seed 0] [--truth rings.json]
    d2lgrade grade s02_3 class/ --jobs 2 && d2lgrade report s02_3 && d2lgrade similarity s02_3 class/
"""

from __future__ import annotations

import argparse
import ast
import json
import random
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import nbformat

from d2lgrade.authoring.samples import fill, parse_scenario, samples_dir
from d2lgrade.course.layout import Course
from d2lgrade.reports.similarity_tokens import depends, reads_writes

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


# --- honest work, in several styles ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Habits:
    """How one student tends to write: the chance, per answer, of each style. Students with like habits write
    alike on some questions without copying; on every question, rarely."""

    bare: float
    """Drops the sample's prints and comments (rewritten by ``ast.unparse``: spacing of its own)."""
    temporaries: float
    """Names a result before assigning or returning it."""
    lambdas: float
    """Writes a one-line function as a lambda."""
    explores: float
    """A few exploratory lines of their own before the answer."""


def habits(rng: random.Random) -> Habits:
    return Habits(*(rng.choice(levels) for levels in ((0.2, 0.5, 0.8), (0.1, 0.4, 0.7), (0.0, 0.3, 0.6), (0.0, 0.2, 0.5))))


TEMPORARY_NAMES = ("result", "out", "res", "answer", "value", "tmp", "r", "ans")
EXPLORATIONS = (
    "{v} = [i * {a} for i in range({b})]\nprint({v})",
    "{v} = sum(range({b})) - {a}\nprint('check', {v})",
    "for {v} in range({a}):\n    print({v}, {v} ** {c})",
    "{v} = ({a}, {b}, {c})\nprint(len({v}), max({v}))",
    "{v} = {{'n': {a}, 'm': {b}}}\nprint({v}['n'] * {v}['m'])",
    "{v} = [{a}, {b}] * {c}\nprint(sorted({v})[-1])",
)
"""Pure-Python lines a student tries before answering: idiosyncratic, so whoever copies them shows it."""


def exploration(rng: random.Random) -> str:
    template = rng.choice(EXPLORATIONS)
    return template.format(v=rng.choice(("t", "tmp", "test", "z", "check", "trial", "w")),
                           a=rng.randint(2, 40), b=rng.randint(2, 60), c=rng.randint(2, 9))


def without_prints(tree: ast.Module) -> ast.Module:
    """The sample without its top-level ``print(...)`` lines (never anything the answer needs)."""
    def is_print(stmt: ast.stmt) -> bool:
        return (isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Call)
                and isinstance(stmt.value.func, ast.Name) and stmt.value.func.id == "print")
    tree.body = [s for s in tree.body if not is_print(s)] or [ast.Pass()]
    return tree


def with_temporary(tree: ast.Module, name: str, temporary: str) -> ast.Module:
    """``name = expr`` becomes ``temporary = expr; name = temporary``; ``return expr`` (in ``def name``) likewise."""
    for i, stmt in enumerate(tree.body):
        if isinstance(stmt, ast.Assign) and [ast.unparse(t) for t in stmt.targets] == [name]:
            tree.body[i:i + 1] = [ast.Assign([ast.Name(temporary, ast.Store())], stmt.value, lineno=0),
                                  ast.Assign([ast.Name(name, ast.Store())], ast.Name(temporary, ast.Load()), lineno=0)]
            return tree
        if isinstance(stmt, ast.FunctionDef) and stmt.name == name and isinstance(stmt.body[-1], ast.Return):
            value = stmt.body[-1].value or ast.Constant(None)
            stmt.body[-1:] = [ast.Assign([ast.Name(temporary, ast.Store())], value, lineno=0),
                              ast.Return(ast.Name(temporary, ast.Load()))]
            return tree
    return tree


def as_lambda(tree: ast.Module, name: str) -> ast.Module:
    """``def name(p): return expr`` (one statement) becomes ``name = lambda p: expr``."""
    for i, stmt in enumerate(tree.body):
        if (isinstance(stmt, ast.FunctionDef) and stmt.name == name and len(stmt.body) == 1
                and isinstance(stmt.body[0], ast.Return) and stmt.body[0].value is not None):
            tree.body[i] = ast.Assign([ast.Name(name, ast.Store())], ast.Lambda(stmt.args, stmt.body[0].value), lineno=0)
    return tree


def honest_code(sample: str, task: Task, h: Habits, rng: random.Random) -> str:
    """The sample's right answer as this student would write it (the same value: each style keeps the meaning)."""
    try:
        tree = ast.parse(sample)
    except SyntaxError:
        return sample
    name = str(task.contract.get("name"))
    bare, temporaries, lambdas = (rng.random() < p for p in (h.bare, h.temporaries, h.lambdas))
    if bare:
        tree = without_prints(tree)
    if temporaries:
        tree = with_temporary(tree, name, rng.choice(TEMPORARY_NAMES))
    if lambdas:
        tree = as_lambda(tree, name)
    code = ast.unparse(ast.fix_missing_locations(tree)) if bare or temporaries or lambdas else sample
    if rng.random() < h.explores:
        code = exploration(rng) + "\n" + code
    return code


OWN_SENTENCES = (
    "{I} {checked} this on a {n} by {m} example{held}.",
    "{InWords}, {nothing} as long as the shapes agree.",
    "{This} follows {directly} from the definitions{above}.",
    "{A} {test} with {n} {rows} {shows} the same thing.",
)
WORDS = {
    "I": ("I", "We"), "checked": ("checked", "tried", "verified", "tested"),
    "held": ("", " and it held", " in the notebook", " with random entries"),
    "InWords": ("In words", "Intuitively", "Put simply", "In short"),
    "nothing": ("nothing depends on the order", "the indices just swap", "each entry moves once", "no entry is lost"),
    "This": ("This", "That", "It all"), "directly": ("directly", "straight", "immediately"),
    "above": ("", " above", " of the operations", " in the section"),
    "A": ("A quick", "A small", "One"), "test": ("test", "sanity check", "experiment"),
    "rows": ("rows", "columns", "entries"), "shows": ("shows", "confirms", "gives"),
}


def own_sentence(rng: random.Random) -> str:
    words = {k: rng.choice(v) for k, v in WORDS.items()}
    return rng.choice(OWN_SENTENCES).format(n=rng.randint(2, 9), m=rng.randint(2, 9), **words)


def sentences(text: str) -> list[str]:
    return [p for p in re.split(r"(?<=[.!?])\s+", text.strip()) if p]


def honest_text(sample: str, rng: random.Random) -> str:
    """A written answer in the student's words: some of the sample's sentences and one or two of their own."""
    kept = [p for p in sentences(sample) if rng.random() < 0.6] or sentences(sample)[:1]
    for _ in range(rng.randint(1, 2)):
        kept.insert(rng.randint(0, len(kept)), own_sentence(rng))
    return " ".join(kept)


def student_answers(m: Material, rng: random.Random, skill: float) -> dict[str, str]:
    """Answer cells of one student: right with probability ``skill`` (in their own style), else one kind of
    wrong (or nothing)."""
    h = habits(rng)
    answers: dict[str, str] = {}
    for task in m.tasks:
        if rng.random() < skill and task.cell in m.complete:
            answers[task.cell] = honest_code(m.complete[task.cell], task, h, rng)
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
            answers[grade_id] = honest_text(m.complete[grade_id], rng)
    return answers


# --- copy rings -----------------------------------------------------------------------------------------------

RING_SHARE = 0.15
"""About this share of a class is in a copy ring."""
RING_SIZES = (2, 2, 2, 3, 3, 4)


def copy_rings(size: int, seed: int) -> tuple[tuple[int, ...], ...]:
    """Rings of students (indices) who hand in one piece of work: the first member's, the others disguised.
    Never a hostile student; deterministic in (size, seed)."""
    rng = random.Random(f"{seed}:rings")
    free = [i for i in range(size) if i % HOSTILE_EVERY != 7]
    rng.shuffle(free)
    rings, budget = [], int(RING_SHARE * size)
    while budget >= 2 and len(free) >= 2:
        n = min(rng.choice(RING_SIZES), budget, len(free))
        rings.append(tuple(free[:n]))
        free, budget = free[n:], budget - n
    return tuple(rings)


def student_name(index: int) -> str:
    return f"student-{index:03d}"


def hostile_students(size: int) -> set[str]:
    """The students who hand in something hostile (they share the same markup: a planted likeness of its own)."""
    return {student_name(i) for i in range(size) if i % HOSTILE_EVERY == 7}


def planted_pairs(size: int, seed: int) -> set[frozenset[str]]:
    """Every pair of students in one ring (a ring of three is three pairs): the truth similarity should find."""
    return {frozenset((student_name(a), student_name(b))) for ring in copy_rings(size, seed)
            for i, a in enumerate(ring) for b in ring[i + 1:]}


SYNONYMS = {"so": "hence", "because": "since", "same": "identical", "equal": "identical", "entries": "elements",
            "entry": "element", "then": "and then", "both": "the two", "gives": "yields", "shape": "size",
            "checked": "confirmed", "example": "instance", "directly": "right away", "each": "every",
            "definitions": "definition", "thing": "result", "again": "once more", "by": "via", "is": "is just"}


def paraphrased(text: str, rng: random.Random) -> str:
    """A light paraphrase: some words swapped for synonyms, two sentences swapped."""
    words = [SYNONYMS[w] if w in SYNONYMS and rng.random() < 0.5 else w for w in text.split(" ")]
    parts = sentences(" ".join(words))
    if len(parts) > 2 and rng.random() < 0.5:
        i = rng.randrange(len(parts) - 1)
        parts[i], parts[i + 1] = parts[i + 1], parts[i]
    return " ".join(parts)


NEW_NAMES = ("val", "thing", "mat", "arr", "data", "q1", "my_var", "temp2", "foo", "xx", "step", "part")
COMMENTS = ("# my answer", "# compute it", "# see the lecture", "# TODO: double-check", "# done", "# works")


def renamed(tree: ast.Module, keep: str, rng: random.Random) -> ast.Module:
    """The student's own variables (not the answer's name, not a function's parameters) renamed."""
    params = {a.arg for node in ast.walk(tree) if isinstance(node, ast.arguments) for a in node.args}
    own = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)} - {keep} - params
    new = {name: f"{rng.choice(NEW_NAMES)}_{i}" for i, name in enumerate(sorted(own))}
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and node.id in new:
            node.id = new[node.id]
    return tree


def reordered(tree: ast.Module, rng: random.Random) -> ast.Module:
    """Two adjacent top-level statements that do not depend on each other (the normaliser's own test), swapped."""
    effects = [reads_writes(s) for s in tree.body]
    swappable = [i for i in range(len(tree.body) - 1) if not depends(effects[i], effects[i + 1])]
    if swappable:
        i = rng.choice(swappable)
        tree.body[i], tree.body[i + 1] = tree.body[i + 1], tree.body[i]
    return tree


def disguised_code(code: str, task: Task, rng: random.Random) -> str:
    """Someone else's answer, disguised: variables renamed, independent statements swapped, comments and
    spacing changed (``ast.unparse`` rewrites both), a comment and a blank line of one's own."""
    try:
        tree = ast.parse(code)
    except SyntaxError:
        return code + "\n" + rng.choice(COMMENTS)
    tree = reordered(renamed(tree, str(task.contract.get("name")), rng), rng)
    lines = ast.unparse(tree).splitlines()
    at = rng.randint(0, len(lines))
    indent = lines[at][:len(lines[at]) - len(lines[at].lstrip())] if at < len(lines) else ""
    lines.insert(at, indent + rng.choice(COMMENTS))
    if len(lines) > 2:
        lines.insert(rng.randint(1, len(lines) - 1), "")
    return "\n".join(lines)


def copied_answers(m: Material, original: dict[str, str], rng: random.Random) -> dict[str, str]:
    """A ring member's answers: the original's disguised, one code answer rewritten in their own style (or
    left out when they have none), written answers lightly paraphrased."""
    tasks = {t.cell: t for t in m.tasks}
    answers = {cell: disguised_code(code, tasks[cell], rng) if cell in tasks else paraphrased(code, rng)
               for cell, code in original.items()}
    own = [cell for cell in answers if cell in tasks]
    if own:
        cell = rng.choice(own)
        answers[cell] = (honest_code(m.complete[cell], tasks[cell], habits(rng), rng) if cell in m.complete
                         else random_answer(tasks[cell], rng))
    return answers


HOSTILE_CELL = ('print("<script>alert(1)</script>")\n'
                "from IPython.display import HTML, display\n"
                "display(HTML('<img src=x onerror=\"alert(2)\">'))\n")


def hostile(m: Material, index: int, seed: int) -> bytes:
    """Bytes of a hostile submission: markup printed and displayed around the student's own answers, or not a
    notebook."""
    if (index // HOSTILE_EVERY) % 2 == 0:
        return b"<html><script>alert('not a notebook')</script></html>"
    answers = honest_answers(m, index, seed)
    first = m.tasks[0].cell
    answers[first] = HOSTILE_CELL + answers.get(first, m.complete.get(first, random_answer(m.tasks[0], random.Random(index))))
    return nbformat.writes(fill(m.release, answers, "hostile student")).encode()


def honest_answers(m: Material, index: int, seed: int) -> dict[str, str]:
    """Student ``index``'s own work: deterministic in (seed, index)."""
    rng = random.Random(f"{seed}:{index}")
    skill = rng.betavariate(2.5, 1.5)  # most students get most right; a tail does not
    return student_answers(m, rng, skill)


def submission(m: Material, index: int, seed: int, rings: tuple[tuple[int, ...], ...] = ()) -> bytes:
    """Student ``index``'s file: deterministic in (seed, index) and, for a ring member, the ring's first member."""
    if index % HOSTILE_EVERY == 7:
        return hostile(m, index, seed)
    ring = next((r for r in rings if index in r[1:]), None)
    if ring is None:
        answers = honest_answers(m, index, seed)
    else:
        answers = copied_answers(m, honest_answers(m, ring[0], seed), random.Random(f"{seed}:{index}:copy"))
    return nbformat.writes(fill(m.release, answers, f"student {index}")).encode()


def write_class(course: Course, assignment: str, folder: Path, size: int = 200, seed: int = 0,
                rings: bool = True) -> list[Path]:
    """``folder/student-NNN.ipynb`` for ``size`` students, with :func:`copy_rings` unless ``rings`` is False."""
    m = material(course, assignment)
    planted = copy_rings(size, seed) if rings else ()
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i in range(size):
        path = folder / f"{student_name(i)}.ipynb"
        path.write_bytes(submission(m, i, seed, planted))
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
    p.add_argument("--no-rings", action="store_true", help="everyone works alone (no copy rings)")
    p.add_argument("--truth", type=Path, default=None,
                   help="write the copy rings here as JSON (outside the folder: `grade` would refuse the file)")
    args = p.parse_args(argv)
    course = Course.find(args.course)
    paths = write_class(course, args.assignment, args.folder, args.size, args.seed, rings=not args.no_rings)
    if args.truth and not args.no_rings:
        rings = [[student_name(i) for i in ring] for ring in copy_rings(args.size, args.seed)]
        args.truth.write_text(json.dumps({"rings": rings}, indent=1), encoding="utf-8")
    print(f"wrote {len(paths)} submissions of {args.assignment} in {args.folder}; grade them with "
          f"`d2lgrade grade {args.assignment} {args.folder} --jobs 2`")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
