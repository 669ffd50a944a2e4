"""A batch no submission can stop, and intake that cannot be spoofed.

An exception injected into any grading or batch step stays in its submission's job: that student gets
a zero with a reason (never a traceback), the instructor's log has the traceback, everyone else is
graded exactly as without the injection. Intake never follows a link, never renames on a clash, and
lists every file it does not grade with its reason.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import threading
from pathlib import Path

import pytest

from d2lgrade.batch import run as batch
from d2lgrade.batch.intake import find_submissions, read_roster, read_submission
from d2lgrade.batch.run import run_batch
from d2lgrade.course.layout import Course
from d2lgrade.grading import steps as grade
from d2lgrade.grading.steps import INTERNAL_ERROR, Assignment, grade_bytes
from tests.test_faults import ASSIGNMENT, D2LGRADE, make_course

NOT_A_NOTEBOOK = b'{"nbformat": 4}'


def _raiser(name: str):
    def step(*_args, **_kwargs):
        raise RuntimeError(f"injected fault in {name}")
    step.__name__ = name
    return step


# --- grading core: every step of GRADE_STEPS -----------------------------------------------------------------


@pytest.fixture(scope="module")
def s02_1(bundles):
    return Assignment.from_bundle(bundles[ASSIGNMENT])


@pytest.mark.parametrize("index", range(len(grade.GRADE_STEPS)))
def test_fault_in_any_grading_step_is_a_zero_with_a_reason_and_a_logged_traceback(s02_1, course, monkeypatch,
                                                                                  caplog, index):
    steps = list(grade.GRADE_STEPS)
    name = steps[index].__name__
    steps[index] = _raiser(name)
    monkeypatch.setattr(grade, "GRADE_STEPS", tuple(steps))
    raw = course.release_notebook(ASSIGNMENT).read_bytes()
    with caplog.at_level(logging.ERROR, logger="d2lgrade.grading"):
        job = grade_bytes(s02_1, raw, "victim", "victim.ipynb")
    assert job.result.score == 0 and job.result.problem == INTERNAL_ERROR
    assert job.failed_step == name
    assert all("Traceback" not in q.output and "injected" not in q.output for q in job.result.autograded)
    logged = "\n".join(r.getMessage() + (r.exc_text or "") for r in caplog.records)
    assert "injected fault in " + name in caplog.text and name in logged


def test_hundred_thousand_deep_nesting_is_refused_with_a_reason(s02_1):
    nb = {"nbformat": 4, "nbformat_minor": 5, "cells": [], "metadata": {"x": None}}
    raw = json.dumps(nb).replace("null", "[" * 100_000 + "]" * 100_000).encode()
    result = grade_bytes(s02_1, raw, "deep", "deep.ipynb").result
    assert result.score == 0 and "levels deep" in result.problem and "deep.ipynb" in result.problem


def test_too_many_cells_is_refused_with_a_reason(s02_1):
    cell = {"cell_type": "markdown", "id": "a", "metadata": {}, "source": ""}
    raw = json.dumps({"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": [cell] * 2001}).encode()
    result = grade_bytes(s02_1, raw, "many", "many.ipynb").result
    assert result.score == 0 and "2000-cell limit" in result.problem


# --- batch steps: archive, write results, record --------------------------------------------------------------


@pytest.fixture
def tiny_course(course, bundles, tmp_path, monkeypatch):
    """A course whose inbox holds only files refused before any kernel runs (cheap), one of them the victim."""
    monkeypatch.delenv("D2LGRADE_DB_URL", raising=False)
    inbox = make_course(course, bundles[ASSIGNMENT].to_json(), tmp_path)
    for p in inbox.iterdir():
        p.unlink()
    for name in ("alice", "victim", "zoe"):
        (inbox / f"{name}.ipynb").write_bytes(NOT_A_NOTEBOOK)
    return Course.find(tmp_path), inbox


def _results(output: Path) -> dict[str, dict]:
    return {p.stem: json.loads(p.read_text()) for p in (output / ASSIGNMENT).glob("*.json")}


@pytest.mark.parametrize("where", ["archive", "write_atomic", "record"])
def test_fault_in_any_batch_step_stays_in_its_submission(tiny_course, tmp_path, monkeypatch, where):
    course, inbox = tiny_course
    clean = run_batch(course, ASSIGNMENT, find_submissions(inbox), tmp_path / "clean", log=lambda _: None)
    assert not clean.internal_errors
    real, fired = getattr(batch, where), []

    def faulty(*args, **kwargs):  # fails once, for the victim: its zero with a reason can still be written
        if not fired and any("victim" in str(a) or getattr(a, "student", None) == "victim" for a in args):
            fired.append(where)
            raise RuntimeError(f"injected fault in {where}")
        return real(*args, **kwargs)
    monkeypatch.setattr(batch, where, faulty)
    out = tmp_path / "faulty"
    report = run_batch(course, ASSIGNMENT, find_submissions(inbox), out, log=lambda _: None)
    assert [e.split()[0] for e in report.internal_errors] == ["victim"]
    got, want = _results(out), _results(tmp_path / "clean")
    assert {k: v for k, v in got.items() if k != "victim"} == {k: v for k, v in want.items() if k != "victim"}
    assert got["victim"]["score"] == 0 and INTERNAL_ERROR in json.dumps(got["victim"])
    log = (out / ASSIGNMENT / "grading.log").read_text()
    assert "Traceback" in log and f"injected fault in {where}" in log and "victim" in log


# --- intake --------------------------------------------------------------------------------------------------


def test_intake_refuses_links_fifos_dotfiles_and_clashes_and_renames_nothing(tmp_path):
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    for name in ("alice.ipynb", "bob.ipynb", "bob!.ipynb", ".hidden.ipynb", "carol smith.ipynb"):
        (inbox / name).write_bytes(NOT_A_NOTEBOOK)
    secret = tmp_path / "secret"
    secret.write_bytes(b"root only")
    secret.chmod(0o600)
    (inbox / "mallory.ipynb").symlink_to(inbox / "alice.ipynb")
    (inbox / "eve.ipynb").symlink_to(secret)
    (inbox / "dan").symlink_to(tmp_path)
    os.mkfifo(inbox / "pipe.ipynb")
    intake = find_submissions(inbox)
    assert {s.student: s.path.name for s in intake.submissions} == {
        "alice": "alice.ipynb", "bob": "bob.ipynb", "carol-smith": "carol smith.ipynb"}
    reasons = {Path(r.name).name: r.reason for r in intake.refused}
    assert set(reasons) == {"bob!.ipynb", ".hidden.ipynb", "mallory.ipynb", "eve.ipynb", "dan", "pipe.ipynb"}
    assert "clashes with bob.ipynb" in reasons["bob!.ipynb"]
    assert "dot" in reasons[".hidden.ipynb"]
    for link in ("mallory.ipynb", "eve.ipynb", "dan"):
        assert "symbolic link" in reasons[link]
    assert "fifo" in reasons["pipe.ipynb"]


def test_roster_ids_only_are_graded(tmp_path):
    for name in ("alice.ipynb", "bob.ipynb"):
        (tmp_path / name).write_bytes(NOT_A_NOTEBOOK)
    roster = tmp_path.parent / f"{tmp_path.name}-roster.csv"
    roster.write_text("id,name\nalice,Alice A\n")
    intake = find_submissions(tmp_path, read_roster(roster))
    assert [s.student for s in intake.submissions] == ["alice"]
    assert [(r.name.endswith("bob.ipynb"), "roster" in r.reason) for r in intake.refused] == [(True, True)]


def test_reading_never_follows_a_link_nor_blocks_on_a_fifo(tmp_path):
    (tmp_path / "real").write_bytes(b"x")
    (tmp_path / "link").symlink_to(tmp_path / "real")
    os.mkfifo(tmp_path / "fifo")
    outcome = {}

    def read_all():
        for name in ("link", "fifo"):
            try:
                read_submission(tmp_path / name)
            except ValueError as exc:
                outcome[name] = str(exc)
    t = threading.Thread(target=read_all, daemon=True)
    t.start()
    t.join(60)  # a generous backstop: a blocking open would never return
    assert set(outcome) == {"link", "fifo"}
    assert "link" in outcome["link"] and "fifo" in outcome["fifo"]


# --- the whole command, on a hostile folder, with a strict ASCII stdout ----------------------------------------


@pytest.mark.slow
def test_grade_command_on_a_hostile_folder_grades_everyone_and_lists_every_refusal(course, bundles, tmp_path):
    inbox = make_course(course, bundles[ASSIGNMENT].to_json(), tmp_path)
    for p in inbox.iterdir():
        p.unlink()
    complete = (course.root / "tests" / "submissions" / ASSIGNMENT / "complete.ipynb").read_bytes()
    (inbox / "alice.ipynb").write_bytes(complete)
    (inbox / "bob.ipynb").write_bytes(complete)
    (inbox / "bob!.ipynb").write_bytes(NOT_A_NOTEBOOK)
    (inbox / ".dotfile.ipynb").write_bytes(complete)
    (inbox / os.fsdecode(b"caf\xe9.ipynb")).write_bytes(NOT_A_NOTEBOOK)
    nb = {"nbformat": 4, "nbformat_minor": 5, "cells": [], "metadata": {"x": None}}
    (inbox / "deep.ipynb").write_text(json.dumps(nb).replace("null", "[" * 100_000 + "]" * 100_000))
    secret = tmp_path / "secret.ipynb"
    secret.write_bytes(b'{"root only": true}')
    secret.chmod(0o600)
    (inbox / "mallory.ipynb").symlink_to(inbox / "alice.ipynb")
    (inbox / "eve.ipynb").symlink_to(secret)
    os.mkfifo(inbox / "pipe.ipynb")
    env = {k: v for k, v in os.environ.items() if k != "D2LGRADE_DB_URL"} | {"PYTHONIOENCODING": "ascii:strict"}
    proc = subprocess.run([D2LGRADE, "grade", ASSIGNMENT, str(inbox)], cwd=tmp_path, env=env, capture_output=True,
                          timeout=900)
    out = proc.stdout.decode("ascii")
    assert proc.returncode == 5, out + proc.stderr.decode(errors="replace")  # everyone graded but some: they are named
    results = _results(tmp_path / "results")
    assert results["alice"]["score"] == results["bob"]["score"] == 7.0
    assert results["caf"]["score"] == 0 and results["deep"]["score"] == 0
    assert "levels deep" in json.dumps(results["deep"])
    for name, reason in (("bob!.ipynb", "clashes with bob.ipynb"), (".dotfile.ipynb", "dot"),
                         ("mallory.ipynb", "symbolic link"), ("eve.ipynb", "symbolic link"), ("pipe.ipynb", "fifo")):
        assert f"refused: {name}: " in out and reason in out, name
    for refused in ("mallory", "eve", "pipe"):
        assert results[refused]["score"] == 0
    submitted = tmp_path / "submitted"
    assert sorted(p.name for p in submitted.iterdir()) == ["alice", "bob", "caf", "deep"]
    assert not any(b"root only" in p.read_bytes() for p in submitted.rglob("*") if p.is_file())
    assert "2 graded, 2 not gradable (0 internal errors), 5 refused, 0 did not submit" in out
    refused = tmp_path / "refused" / ASSIGNMENT
    assert (refused / "bob!.ipynb").read_bytes() == NOT_A_NOTEBOOK and (refused / ".dotfile.ipynb").read_bytes() == complete
    assert sorted(p.name for p in refused.iterdir()) == [".dotfile.ipynb", "bob!.ipynb"]  # links and fifos: nothing kept


def test_a_sandbox_that_fails_to_start_is_an_internal_error_not_the_students(s02_1, course, monkeypatch, caplog):
    """The grader's machinery failing (here the holder of a kernel's namespaces) must not read as a notebook
    that could not run: the student's zero says grading failed on our side, and a rerun grades it."""
    from d2lgrade.sandbox import kernels as sandbox
    def broken(*_args, **_kwargs):
        raise sandbox.SandboxUnavailable("bubblewrap failed to build the sandbox: injected")
    monkeypatch.setattr(sandbox, "Holder", broken)
    raw = course.release_notebook(ASSIGNMENT).read_bytes()
    with caplog.at_level(logging.ERROR, logger="d2lgrade.grading"):
        job = grade_bytes(s02_1, raw, "victim", "victim.ipynb")
    assert job.result.problem == INTERNAL_ERROR and job.failed_step == "run_notebook"
    assert "injected" in caplog.text
