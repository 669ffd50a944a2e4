"""The instructor's command line: a user's mistake is one line and exit status 2, never a traceback."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
D2LGRADE = str(Path(sys.executable).parent / "d2lgrade")


def _run(args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([D2LGRADE, *args], cwd=cwd, capture_output=True, text=True, timeout=300)


@pytest.mark.parametrize("args, where, says", [
    (["build"], "outside", "no course found"),
    (["grade", "s02_1", "nothing.ipynb"], "course", "nothing.ipynb: no such file or folder"),
    (["grade", "s02_1", "x.ipynb", "--roster", "missing.csv"], "course", "missing.csv: no such file or folder"),
    (["build", "s99_9"], "course", "no assignment 's99_9'"),
    (["grade", "s99_9", "."], "course", "no assignment 's99_9'"),
], ids=["outside-a-course", "missing-submission", "missing-roster", "unknown-assignment-build",
        "unknown-assignment-grade"])
def test_user_errors_are_one_line_and_exit_2(tmp_path, args, where, says):
    done = _run(args, tmp_path if where == "outside" else ROOT)
    assert done.returncode == 2, done.stderr
    assert says in done.stderr and "Traceback" not in done.stderr and len(done.stderr.strip().splitlines()) == 1


def test_course_option_finds_the_course_from_anywhere(tmp_path):
    done = _run(["--course", str(ROOT), "list", "--json"], tmp_path)
    assert done.returncode == 0 and '"s02_1"' in done.stdout


def test_the_command_line_loads_no_nbgrader_until_a_command_needs_it():
    """Every ``d2lgrade`` process (tests and graders start many) pays for what its parser imports: nbgrader's
    import costs about a second of CPU, so the parser of every subcommand must leave it out."""
    import subprocess
    import sys

    code = "import sys, d2lgrade.cli as c; c.parser(); print(sorted(m for m in sys.modules if m.startswith('nbgrader')))"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]", done.stdout
