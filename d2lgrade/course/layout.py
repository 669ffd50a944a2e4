"""The course on disk: where assignments, builds and nbgrader's folders are, in book order.

Assignments are discovered, not listed: each folder ``source/<assignment>/`` holds one notebook,
whose metadata gives its book section and title. Nothing else needs editing to add one.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from traitlets.config import Config
from traitlets.config.loader import PyFileConfigLoader

from d2lgrade.course.access import Access
from d2lgrade.judging.spec import NotebookSpec, SpecError, read_spec

CONFIG_FILE = "nbgrader_config.py"
RECORD_FOLDERS = ("submitted_directory", "autograded_directory", "feedback_directory")
"""nbgrader's folders that grading writes: under :attr:`Course.records` when it is set."""
TIMESTAMP, SUBMISSION_SECRET = "timestamp.txt", "submission_secret.txt"
"""nbgrader's own files beside a submitted notebook (``submitted/<student>/<assignment>/``): its time, and the
secret that names its feedback in the exchange. Not submissions; carried to ``autograded/`` with it."""


class CourseIdError(ValueError):
    """The course id nbgrader_config.py computed is unusable; the message names where it came from and the fix."""


def section_key(section: str) -> tuple[int, ...]:
    """Book order: "2.10" after "2.9", "17.1" after "2.7"."""
    return tuple(int(part) for part in section.split("."))


@dataclass(frozen=True)
class Course:
    """Paths and settings of a course rooted at ``root`` (the folder with nbgrader_config.py)."""

    root: Path
    records: Path | None = None
    """Where grading keeps nbgrader's records instead of the course's own (``submitted/``, ``autograded/``,
    ``refused/``, and a SQLite gradebook there): the demo of the bundled samples, which must never reach
    the real gradebook. None: the course folder, and the gradebook nbgrader_config.py names."""

    def demo(self, records: Path) -> Course:
        """This course with its records in ``records`` (see :attr:`records`)."""
        return Course(self.root, records)

    @property
    def records_root(self) -> Path:
        return self.records or self.root

    @cached_property
    def access(self) -> Access:
        """Modes and group of what the grader writes here (see :mod:`d2lgrade.course.access`)."""
        return Access.for_course(self.root, bool(self.config.CourseDirectory.get("groupshared", False)))

    @classmethod
    def find(cls, start: Path | None = None) -> Course:
        """The course containing ``start`` (default: the working directory)."""
        here = (start or Path.cwd()).resolve()
        for folder in (here, *here.parents):
            if (folder / CONFIG_FILE).is_file() and (folder / "source").is_dir():
                return cls(folder)
        raise FileNotFoundError(f"no course found at or above {here}: run d2lgrade in the folder with {CONFIG_FILE}")

    @cached_property
    def config(self) -> Config:
        return PyFileConfigLoader(CONFIG_FILE, path=str(self.root)).load_config()

    @property
    def course_id(self) -> str:
        """nbgrader's ``CourseDirectory.course_id`` as ``nbgrader_config.py`` reads it (its file ``course_id``, else
        ``D2LGRADE_COURSE_ID``, else the default), so d2lgrade and nbgrader never disagree on it."""
        problem = str(self.config.get("D2LGrade", {}).get("course_id_problem", ""))
        value = str(self.config.CourseDirectory.get("course_id", ""))
        if problem or not value:
            raise CourseIdError(problem or f"{self.root / CONFIG_FILE} sets no course id: write one (letters, digits, "
                                           f"_ . -) into {self.root / 'course_id'}")
        return value

    @property
    def db_url(self) -> str:
        """nbgrader's ``CourseDirectory.db_url``; ``D2LGRADE_DB_URL`` overrides it (e.g. a scratch database);
        with :attr:`records`, ``records/gradebook.db`` whatever those say."""
        if self.records is not None:
            return f"sqlite:///{self.records / 'gradebook.db'}"
        url = os.environ.get("D2LGRADE_DB_URL") or str(self.config.CourseDirectory.get("db_url", "sqlite:///gradebook.db"))
        prefix = "sqlite:///"
        if url.startswith(prefix) and not os.path.isabs(url[len(prefix):]):
            url = prefix + str(self.root / url[len(prefix):])  # relative to the course, not the caller
        return url

    @property
    def db_path(self) -> Path | None:
        """The gradebook's file, when it is a SQLite one."""
        prefix = "sqlite:///"
        return Path(self.db_url[len(prefix):]) if self.db_url.startswith(prefix) else None

    def folder(self, trait: str, default: str) -> Path:
        base = self.records_root if trait in RECORD_FOLDERS else self.root
        return base / str(self.config.CourseDirectory.get(trait, default))

    @property
    def source_dir(self) -> Path:
        return self.folder("source_directory", "source")

    @property
    def release_dir(self) -> Path:
        return self.folder("release_directory", "release")

    @property
    def build_dir(self) -> Path:
        return self.root / "build"

    def source_notebook(self, assignment: str) -> Path:
        notebooks = sorted((self.source_dir / assignment).glob("*.ipynb"))
        if len(notebooks) != 1:
            raise SpecError(f"{self.source_dir / assignment}: expected exactly one notebook, found {len(notebooks)}")
        return notebooks[0]

    def assignments(self) -> list[str]:
        """Assignment ids in book order."""
        specs = [self.spec(p.name) for p in self.source_dir.iterdir() if p.is_dir() and any(p.glob("*.ipynb"))]
        return [s.assignment for s in sorted(specs, key=lambda s: section_key(s.section))]

    def spec(self, assignment: str) -> NotebookSpec:
        return read_spec(self.source_notebook(assignment))

    def release_notebook(self, assignment: str) -> Path:
        return self.release_dir / assignment / self.source_notebook(assignment).name

    def bundle_path(self, assignment: str) -> Path:
        return self.build_dir / assignment / "bundle.json"

    def private_paths(self, results: Path) -> list[Path]:
        """What only the course's group may read (README "Who can read what"), where it exists: the results JSON and
        class reports, nbgrader's submitted, autograded and feedback folders, what intake refused, the build (its
        bundles and zips hold the references) and a SQLite gradebook with its journal files."""
        folders = [results, self.root / "reports", self.folder("submitted_directory", "submitted"),
                   self.records_root / "submitted-earlier", self.records_root / "refused",
                   self.folder("autograded_directory", "autograded"), self.folder("feedback_directory", "feedback"),
                   self.build_dir]
        db = [Path(f"{self.db_path}{suffix}") for suffix in ("", "-journal", "-wal", "-shm")] if self.db_path else []
        return [p for p in dict.fromkeys([*folders, *db]) if os.path.lexists(p)]

    def otter_zip(self, assignment: str) -> Path:
        return self.build_dir / "autograder" / f"{assignment}.zip"
