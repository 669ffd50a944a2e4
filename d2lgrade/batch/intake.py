"""What a submissions folder holds: the files to grade, each with its student, and every other file with the reason.

One file (student = its stem), or a folder of ``<student>.ipynb``, ``<student>/*.ipynb`` or
nbgrader's ``<student>/<assignment>/*.ipynb``. Nothing is followed (links, fifos, devices are
refused), nothing is renamed (ids that clash are refused), and a submission's bytes are read once
through a no-follow descriptor. In nbgrader's layout, a student folder without the assignment is a
student who did not submit (not a failure), and the files beside the notebook (nbgrader's
``timestamp.txt`` and ``submission_secret.txt``, the assignment's data) are not submissions.
"""

from __future__ import annotations

import csv
import os
import re
import stat
from dataclasses import dataclass, field
from pathlib import Path

from d2lgrade.course.layout import SUBMISSION_SECRET, TIMESTAMP
from d2lgrade.grading.steps import MAX_NOTEBOOK_BYTES

_STUDENT_ID = re.compile(r"[^A-Za-z0-9_.\-]+")


@dataclass(frozen=True)
class Submission:
    """A file to grade and the student it belongs to."""

    student: str
    path: Path
    submitted_at: str | None = None
    """nbgrader's timestamp (``timestamp.txt`` of its ``submitted/`` layout), kept as the submission's time."""
    secret: str | None = None
    """nbgrader's ``submission_secret.txt`` beside it: the name its feedback gets in the exchange, kept with it."""


@dataclass(frozen=True)
class Refusal:
    """A file that is not graded, and why (the student id it would have had, when one is safe to use)."""

    name: str
    reason: str
    student: str | None = None
    path: Path | None = None
    """The refused entry, kept byte for byte under ``refused/`` when it is a regular file."""


@dataclass
class Intake:
    """What a submissions folder holds: files to grade, and every file not graded with its reason."""

    submissions: list[Submission] = field(default_factory=list)
    refused: list[Refusal] = field(default_factory=list)
    did_not_submit: list[str] = field(default_factory=list)
    """Students known to the folder (nbgrader's ``<student>/`` without this assignment) or to the roster who
    handed nothing in: reported as such, never as a failure, and given no results."""
    timestamps: dict[str, str] = field(default_factory=dict)
    """Student id -> nbgrader's submission time, where the folder had one."""
    secrets: dict[str, str] = field(default_factory=dict)
    """Student id -> nbgrader's submission secret, where the folder had one."""


def shown(name: str | Path) -> str:
    """A file name as printable ASCII whatever its bytes (non-UTF-8 names arrive as surrogates)."""
    return os.fsencode(str(name)).decode("ascii", "backslashreplace")


def student_id(name: str) -> str:
    """A gradebook-safe student id from a file or folder name."""
    cleaned = _STUDENT_ID.sub("-", name).strip("-.")
    return cleaned or "unnamed"


def read_roster(path: Path) -> set[str]:
    """Student ids from a CSV with a header: the ``id`` (or ``student_id``) column, else the first."""
    with path.open(newline="", encoding="utf-8-sig") as f:
        rows = list(csv.reader(f))
    if not rows:
        return set()
    header = [h.strip().lower() for h in rows[0]]
    col = next((header.index(h) for h in ("id", "student_id", "student") if h in header), 0)
    return {r[col].strip() for r in rows[1:] if len(r) > col and r[col].strip()}


def _kind(mode: int) -> str:
    for test, name in ((stat.S_ISLNK, "a symbolic link"), (stat.S_ISFIFO, "a named pipe (fifo)"),
                       (stat.S_ISSOCK, "a socket"), (stat.S_ISCHR, "a device"), (stat.S_ISBLK, "a device")):
        if test(mode):
            return name
    return "not a regular file"


def find_submissions(target: Path, roster: set[str] | None = None, assignment: str | None = None) -> Intake:
    """One file (student = its stem), or a folder of ``<student>.ipynb``, ``<student>/*.ipynb`` or, as
    nbgrader's ``collect`` and ``zip_collect`` leave them, ``<student>/<assignment>/*.ipynb`` (with the
    submission time from ``timestamp.txt``).

    Every entry of a folder is accounted for: graded, refused with a reason (links, fifos, dotfiles, id
    clashes, ids not on the roster), or a student who did not submit. Nothing is followed, nothing renamed.
    """
    intake = Intake()
    try:
        st = os.lstat(target)
    except FileNotFoundError:
        raise FileNotFoundError(f"{shown(target)}: no such file or folder") from None
    if not stat.S_ISDIR(st.st_mode):
        candidates = [(student_id(target.stem), student_id(target.stem), target, st)]
    else:
        candidates = []
        for entry in sorted(target.iterdir(), key=lambda p: os.fsencode(p.name)):
            candidates += _folder_entry(entry, assignment, intake)
    _assign_ids(candidates, intake, roster, target if stat.S_ISDIR(st.st_mode) else target.parent)
    _roster_absentees(intake, roster)
    return intake


def _folder_entry(entry: Path, assignment: str | None, intake: Intake) -> list[tuple[str, str, Path, os.stat_result]]:
    """One entry of a submissions folder, by its layout: nbgrader's ``<student>/<assignment>/``, a student
    folder of nbgrader's layout without this assignment (did not submit), or a file or ``<student>/`` folder."""
    if assignment and not entry.name.startswith(".") and _is_real_dir(entry):
        nested = entry / assignment
        if _is_real_dir(nested):
            return _nbgrader_entry(entry, nested, intake)
        if not nested.is_symlink() and all(_is_real_dir(p) for p in entry.iterdir()):
            intake.did_not_submit.append(student_id(entry.name))  # other assignments only, or nothing yet
            return []
    return _entry(entry, intake)


def _is_real_dir(path: Path) -> bool:
    """A folder, not a link to one."""
    try:
        return stat.S_ISDIR(os.lstat(path).st_mode)
    except OSError:
        return False


def _nbgrader_entry(entry: Path, nested: Path, intake: Intake) -> list[tuple[str, str, Path, os.stat_result]]:
    """``<student>/<assignment>/`` of nbgrader's layout: its notebook is the submission. nbgrader's own files
    (``timestamp.txt``, ``submission_secret.txt``) are read, and other files beside the notebook (hidden ones,
    the assignment's data) are not submissions: neither graded nor refused, as nbgrader's autograde treats them."""
    sid = student_id(entry.name)
    stamp, secret = _small_text(nested / TIMESTAMP, 64), _small_text(nested / SUBMISSION_SECRET, 1024)
    if stamp is not None:
        intake.timestamps[sid] = stamp.strip()
    if secret is not None:
        intake.secrets[sid] = secret  # exactly: nbgrader makes the feedback's name from it as it is
    notebooks = [p for p in sorted(nested.iterdir(), key=lambda p: os.fsencode(p.name))
                 if p.suffix == ".ipynb" and not p.name.startswith(".")]
    where = shown(Path(entry.name, nested.name))
    if not notebooks:
        intake.refused.append(Refusal(f"{where}/", "it holds no notebook (.ipynb); the student submitted nothing "
                                      "to grade", sid))
        return []
    for extra in notebooks[1:]:
        intake.refused.append(Refusal(shown(Path(entry.name, nested.name, extra.name)), "only one notebook per "
                                      f"submission is graded ({shown(notebooks[0].name)} was taken)", path=extra))
    return [(sid, entry.name, notebooks[0], os.lstat(notebooks[0]))]


def _small_text(path: Path, limit: int) -> str | None:
    """A short text file of nbgrader's (a timestamp, a secret): at most ``limit`` bytes, read without following
    a link or blocking on a fifo; None when it is absent or not a regular file."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | getattr(os, "O_NOCTTY", 0))
    except OSError:
        return None
    with os.fdopen(fd, "rb") as f:
        if not stat.S_ISREG(os.fstat(f.fileno()).st_mode):
            return None
        return f.read(limit).decode(errors="replace")


def _roster_absentees(intake: Intake, roster: set[str] | None) -> None:
    """With a roster, its students with nothing in the folder did not submit; without one, only the folder's."""
    if roster is None:
        return
    seen = {s.student for s in intake.submissions} | {r.student for r in intake.refused if r.student}
    intake.did_not_submit = sorted((set(intake.did_not_submit) & roster) | (roster - seen))


def _entry(entry: Path, intake: Intake) -> list[tuple[str, str, Path, os.stat_result]]:
    """A folder entry as (id, raw stem, path, lstat) candidates; refusals go straight to the intake."""
    st = os.lstat(entry)
    if entry.name.startswith("."):
        intake.refused.append(Refusal(shown(entry.name), "its name starts with a dot (a hidden file); "
                                      "rename it to <student>.ipynb to have it graded", path=entry))
        return []
    if stat.S_ISDIR(st.st_mode):
        files = []
        for p in sorted(entry.iterdir(), key=lambda p: os.fsencode(p.name)):
            if p.name.startswith("."):
                intake.refused.append(Refusal(shown(Path(entry.name, p.name)), "its name starts with a dot (a hidden file)",
                                              path=p))
            else:
                files.append(p)
        notebooks = [p for p in files if p.suffix == ".ipynb"] or files
        for extra in notebooks[1:] + [p for p in files if p not in notebooks]:
            intake.refused.append(Refusal(shown(Path(entry.name, extra.name)), f"only one file per student folder is graded "
                                          f"({shown(notebooks[0].name)} was taken)", path=extra))
        return [(student_id(entry.name), entry.name, notebooks[0], os.lstat(notebooks[0]))] if notebooks else []
    return [(student_id(entry.stem), entry.stem, entry, st)]


def _assign_ids(candidates: list[tuple[str, str, Path, os.stat_result]], intake: Intake,
                roster: set[str] | None, root: Path) -> None:
    """An id is kept only by a file whose name is already exactly that id and unique; clashes are refused."""
    by_id: dict[str, list[tuple[str, Path, os.stat_result]]] = {}
    for sid, stem, path, st in candidates:
        by_id.setdefault(sid, []).append((stem, path, st))
    for sid, group in by_id.items():
        exact = [g for g in group if g[0] == sid]
        owner = exact[0] if len(exact) == 1 else group[0] if len(group) == 1 else None
        for stem, path, st in group:
            name = shown(path.relative_to(root))
            if owner is None or (stem, path) != owner[:2]:
                others = ", ".join(shown(p.name) for _, p, _ in group if p != path)
                intake.refused.append(Refusal(name, f"its name cleans to student id {sid!r}, which clashes with "
                                              f"{others}; rename it to your exact student id", None, path))
            elif roster is not None and sid not in roster:
                intake.refused.append(Refusal(name, f"{sid!r} is not a student id on the roster", None, path))
            elif not stat.S_ISREG(st.st_mode):
                intake.refused.append(Refusal(name, f"it is {_kind(st.st_mode)}, not a regular file; "
                                              "submit the notebook file itself", sid))
            else:
                intake.submissions.append(Submission(sid, path, intake.timestamps.get(sid), intake.secrets.get(sid)))
    intake.submissions.sort(key=lambda s: s.student)
    intake.did_not_submit.sort()


def read_submission(path: Path) -> bytes:
    """The file's bytes, read once without following links or blocking on a fifo; ValueError says why not."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | getattr(os, "O_NOCTTY", 0))
    except OSError as exc:
        raise ValueError(f"{shown(path.name)} could not be opened ({exc.strerror}); "
                         "submit the notebook file itself, not a link") from exc
    with os.fdopen(fd, "rb") as f:
        mode = os.fstat(f.fileno()).st_mode
        if not stat.S_ISREG(mode):
            raise ValueError(f"{shown(path.name)} is {_kind(mode)}, not a regular file")
        return f.read(MAX_NOTEBOOK_BYTES + 1)  # one byte over is enough for check_size to refuse it
