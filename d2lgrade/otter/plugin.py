"""Otter-Grader integration: the same grading core inside an Otter autograder zip.

The zip's ``otter_config.json`` carries the assignment's bundle as this plugin's configuration, so
the references stay in the grader's configuration folder, which the sandbox never binds. Otter
itself trusts the submission folder: it loads a ``.OTTER_LOG`` there with dill and starts its kernel
there (so a ``ipykernel_launcher.py`` beside the notebook would run as the grader). So the plugin's
earliest hook, ``before_grading``, reads the one notebook's bytes, empties the folder and grades
the bytes with :data:`d2lgrade.grading.steps.GRADE_STEPS` in the sandbox; Otter then runs an empty notebook
in an empty folder, and ``after_grading`` replaces Otter's results with the verdicts.

After grading, ``before_grading`` also writes the written answers' PDF (:mod:`d2lgrade.otter.written_pdf`) beside
the results, and the plugin keeps Otter's output to what an instructor needs (:data:`QUIET_CONFIG`, its
report, no kernel warning); see autograder/README.md.

What Otter does before any plugin loads (glob, ``nbformat.read``) can still fail on a hostile
submission, so the zip's ``run_otter.py`` calls :func:`run_autograder` instead: it reduces the
submission folder to the one notebook first and writes a zero with a reason whenever grading
cannot finish.
"""

from __future__ import annotations

import atexit
import contextlib
import dataclasses
import json
import os
import shutil
import sys
import tempfile
import traceback
from pathlib import Path
from typing import Any

import nbformat
from otter.plugins import AbstractOtterPlugin
from otter.test_files.abstract_test import TestCase, TestCaseResult, TestFile

from d2lgrade.grading.steps import Assignment, Job, grade_bytes, rejected_result
from d2lgrade.judging.bundle import Bundle
from d2lgrade.judging.results import PASSED, QuestionResult, SubmissionResult, entry_name, gradescope_json
from d2lgrade.otter.written_pdf import WrittenPdf, pdf_name, write_written_pdf

PLUGIN = "d2lgrade.otter.plugin.D2LGradePlugin"

SAFE_CONFIG = {"zips": False, "pdf": False, "token": None, "grade_from_log": False, "debug": False}
"""Otter settings that would unpack, export or deserialise submission content: all off."""

QUIET_CONFIG = {"print_summary": False, "show_hidden": True, "force_public_test_summary": False,
                "show_all_public": True}
"""Set at run time, so zips built before them behave the same: no summary that prints a NaN row for the
score-less "Public Tests" entry and "No log found" for the log d2lgrade never uses (the plugin's report
says the same, cleanly); no "Public Tests" entry; every question ``visible``, as in d2lgrade's own JSON."""
OTTER_KERNEL_CONFIG = """\
# Written by d2lgrade for the kernel Otter starts on an empty notebook (no submission code runs in it):
# it silences ipykernel's one warning about TCP without encryption, nothing else.
import logging


class _NoTcpWarning(logging.Filter):
    def filter(self, record):
        return "running over TCP without encryption" not in record.getMessage()


logging.getLogger("IPKernelApp").addFilter(_NoTcpWarning())
"""


class SubmissionUnusable(Exception):
    """The submission folder does not hold exactly one plain notebook; the message says what to do."""


def take_notebook(folder: Path) -> tuple[str, bytes]:
    """The one top-level ``.ipynb`` in ``folder`` (name, bytes); the folder is emptied either way.

    Everything else (logs, modules, folders, links, the support files Otter copied) is deleted
    before Otter can load or import it.
    """
    try:
        notebooks = sorted(p for p in folder.iterdir() if p.name.endswith(".ipynb"))
        found = [(p.name, p.read_bytes()) for p in notebooks if p.is_file() and not p.is_symlink()]
    finally:
        empty_folder(folder)
    if len(notebooks) != 1 or len(found) != 1:
        what = "no notebook" if not notebooks else (
            f"{len(notebooks)} notebooks ({', '.join(p.name for p in notebooks[:5])})" if len(notebooks) > 1
            else f"{notebooks[0].name}, which is not a plain file")
        raise SubmissionUnusable(f"The submission has {what}. Submit exactly one .ipynb file: your saved notebook "
                                 "(or a zip holding only it).")
    return found[0]


def empty_folder(folder: Path) -> None:
    """Delete everything inside ``folder``, never following a link."""
    for entry in folder.iterdir():
        if entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry)
        else:
            entry.unlink()


def zero_result(bundle: Bundle, source: str, reason: str) -> SubmissionResult:
    """Zero on every question with ``reason``, as :func:`d2lgrade.grading.steps.rejected_result` gives it."""
    assignment = Assignment(bundle, (), kernel_factory=lambda: None)
    return rejected_result(Job(assignment, Path(source).stem, source, b"", Path(".")), reason)


def grade_safely(bundle: Bundle, raw: bytes, source: str) -> SubmissionResult:
    """The sandboxed core; any failure in it is a zero with a reason, its traceback on stdout."""
    try:
        return grade_bytes(Assignment.from_bundle(bundle), raw, student=Path(source).stem, source=source).result
    except Exception as exc:  # noqa: BLE001 -- a hostile submission ends in a result, never a crash
        print(f"d2lgrade: grading {source} failed:\n{traceback.format_exc()}", flush=True)
        return zero_result(bundle, source, f"{source} could not be graded ({type(exc).__name__}). "
                                           "Open it in JupyterLab, run all cells, save it and submit it again; "
                                           "if this persists, tell your instructor.")


def write_results(path: Path, result: SubmissionResult) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(gradescope_json(result), indent=2), encoding="utf-8")


def config_bundle(config: dict[str, Any]) -> Bundle:
    """The bundle this plugin is configured with in ``otter_config.json``."""
    (plugin,) = [p[PLUGIN] for p in config["plugins"] if isinstance(p, dict) and PLUGIN in p]
    return Bundle.from_json(json.dumps(plugin["bundle"]))


class Verdict(TestFile):
    """One question's verdict, in the shape Otter's results model expects."""

    def __init__(self, q: QuestionResult) -> None:
        case = TestCase(name=q.id, body="", hidden=False, points=q.max_score, success_message=None,
                        failure_message=None)
        super().__init__(entry_name(q), "", [case], all_or_nothing=True)
        self.test_case_results = [TestCaseResult(case, q.output, q.status == PASSED)]
        self.update_score(q.score)

    @classmethod
    def from_file(cls, path: str) -> TestFile:
        raise NotImplementedError("verdicts are made by d2lgrade, not read from test files")

    @classmethod
    def from_metadata(cls, s: Any, path: str) -> TestFile:
        raise NotImplementedError("verdicts are made by d2lgrade, not read from notebook metadata")

    def run(self, global_environment: dict[str, Any]) -> None:
        """Nothing runs in the student's kernel: the verdict was reached outside it."""


class D2LGradePlugin(AbstractOtterPlugin):
    """Grades with d2lgrade during Otter's run; configured with ``{"bundle": <bundle JSON>}``."""

    result: SubmissionResult | None = None
    pdf: WrittenPdf | None = None
    _ipython_dir: tempfile.TemporaryDirectory | None = None
    _saved_ipython_dir: str | None = None
    verdicts: list[SubmissionResult] = []  # noqa: RUF012 -- shared on purpose: read by run_autograder if Otter fails
    """Every verdict reached in this process, so a failure in Otter after grading keeps the grade."""

    def before_grading(self, ag_config: Any) -> None:
        """Otter's earliest hook, before it loads a log, exports a PDF or starts a kernel."""
        for key, value in {**SAFE_CONFIG, **QUIET_CONFIG}.items():
            setattr(ag_config, key, value)
        bundle = Bundle.from_json(json.dumps(self.plugin_config["bundle"]))
        path = Path(self.submission_path)
        raw = None
        try:
            name, raw = take_notebook(path.parent)
            self.result = grade_safely(bundle, raw, name)
        except SubmissionUnusable as exc:
            self.result = zero_result(bundle, path.name, str(exc))
        finally:  # what Otter goes on to run: nothing, in an empty folder
            (path.parent / "tests").mkdir(exist_ok=True)
            path.write_text("" if path.suffix == ".py" else nbformat.writes(nbformat.v4.new_notebook()),
                            encoding="utf-8")
        if raw is not None and self.result.problem is None and self.plugin_config.get("written_pdf", True):
            try:
                self.result = self._written_pdf(bundle, raw, name, path.parent.parent / "results")
            except Exception:  # noqa: BLE001 -- the PDF is an extra: the verdict stands without it
                print(f"d2lgrade: the written answers' PDF failed:\n{traceback.format_exc()}", flush=True)
        self.verdicts.append(self.result)

    def _written_pdf(self, bundle: Bundle, raw: bytes, name: str, results: Path) -> SubmissionResult:
        """The written answers' PDF beside the results (Otter's ``pdf`` names it after the notebook), copied
        beside ``otter run``'s results.json, uploaded when the instructor configured a token; if it cannot be
        made, the result says so (grading stands)."""
        assert self.result is not None
        self.pdf = write_written_pdf(bundle, raw, name, results / pdf_name(name))
        if self.pdf.path is not None:
            try:
                copied = copy_beside_otter_run_results(self.pdf.path)
            except OSError as exc:
                copied = None
                print(f"d2lgrade: could not copy {self.pdf.path.name} beside the results: {exc}", flush=True)
            if copied is not None:
                self.pdf = dataclasses.replace(self.pdf, path=copied)
            upload = self.plugin_config.get("pdf_upload")
            if upload:
                try:
                    upload_pdf(self.pdf.path, upload, self.submission_metadata)
                except Exception as exc:  # noqa: BLE001 -- an upload failure must not cost the grade
                    print(f"d2lgrade: uploading {self.pdf.path.name} to Gradescope failed: {exc}", flush=True)
            return self.result
        if self.pdf.problem is None:
            return self.result
        note = ("The PDF of your written answers could not be made here; your instructor has the details and "
                "grades them from your notebook.")
        return dataclasses.replace(self.result, notes=(*self.result.notes, note))

    def before_execution(self, submission: Any) -> Any:
        """Otter's kernel is about to start on an empty notebook: give it a profile that drops ipykernel's
        TCP warning (its only output here); :meth:`after_grading` takes it away."""
        self._ipython_dir = tempfile.TemporaryDirectory(prefix="d2lgrade-otter-kernel-")
        profile = Path(self._ipython_dir.name) / "profile_default"
        profile.mkdir()
        (profile / "ipython_kernel_config.py").write_text(OTTER_KERNEL_CONFIG, encoding="utf-8")
        self._saved_ipython_dir = os.environ.get("IPYTHONDIR")
        os.environ["IPYTHONDIR"] = self._ipython_dir.name
        return nbformat.v4.new_notebook()

    def after_grading(self, results: Any) -> None:
        if self._ipython_dir is not None:
            if self._saved_ipython_dir is None:
                os.environ.pop("IPYTHONDIR", None)
            else:
                os.environ["IPYTHONDIR"] = self._saved_ipython_dir
            self._ipython_dir.cleanup()
            self._ipython_dir = None
        if self.result is None:
            return
        results.clear_results()
        for q in self.result.autograded:
            results.results[entry_name(q)] = Verdict(q)
        results.set_output(gradescope_json(self.result)["output"])

    def generate_report(self) -> str:
        """What Otter prints for the instructor (its own summary is off): the verdicts and the PDF."""
        if self.result is None:
            return ""
        r = self.result
        lines = [f"{r.assignment}, {r.source}: {r.totals}"]
        if r.problem:
            lines.append(f"Not graded: {r.problem}")
        width = max((len(entry_name(q)) for q in r.autograded), default=0)
        lines += [f"  {entry_name(q):<{width}}  {q.score:g} / {q.max_score:g}  {q.status}" for q in r.autograded]
        if self.pdf is not None and self.pdf.path is not None:
            lines.append(f"Written answers ({self.pdf.questions}): {self.pdf.path} ({self.pdf.seconds:.1f} s)")
        elif self.pdf is not None and self.pdf.problem:
            lines.append(f"Written answers: no PDF ({self.pdf.problem})")
        return "\n".join(lines)


def otter_run_output_dir() -> str | None:
    """The ``-o`` folder of the ``otter run`` in progress (where it copies results.json), as given, if this
    is one; ``None`` on Gradescope. Otter hands it to no plugin, so it is read from the caller's frame
    (``otter.run.main``'s ``output_dir`` argument)."""
    try:
        from otter.run import main as otter_run_main
    except ImportError:
        return None
    frame = sys._getframe(1)
    while frame is not None:
        if frame.f_code is otter_run_main.__code__:
            folder = frame.f_locals.get("output_dir")
            return str(folder) if folder else None
        frame = frame.f_back
    return None


def copy_beside_otter_run_results(pdf: Path) -> Path | None:
    """Under ``otter run`` (which deletes its grading folder and keeps only results.json), the PDF is copied
    into the same ``-o`` folder. A relative folder means the directory ``otter run`` started in, which is
    only the working directory again once Otter has left its grading folder: then the copy is made at exit,
    from a staged copy. Returns where the PDF will be (``None`` if not under ``otter run``)."""
    folder = otter_run_output_dir()
    if folder is None:
        return None
    if os.path.isabs(folder):
        return Path(shutil.copy(pdf, folder))
    staged = Path(tempfile.mkdtemp(prefix="d2lgrade-pdf-")) / pdf.name
    shutil.copy(pdf, staged)

    def deliver() -> None:
        with contextlib.suppress(OSError):
            shutil.copy(staged, folder)
        shutil.rmtree(staged.parent, ignore_errors=True)

    atexit.register(deliver)
    return Path(folder) / pdf.name


def upload_pdf(pdf: Path, upload: dict[str, Any], submission_metadata: dict[str, Any]) -> None:
    """Otter's token upload (``submit_pdf``), for d2lgrade's PDF: to the Gradescope assignment the instructor
    named in the plugin's ``pdf_upload`` (``token``, ``course_id``, ``assignment_id``), once per student."""
    from otter.generate.token import APIClient

    client = APIClient(token=upload["token"])
    for user in submission_metadata.get("users", []):
        res = client.upload_pdf_submission(str(upload["course_id"]), str(upload["assignment_id"]), user["email"],
                                           str(pdf))
        if res.status_code != 200:
            raise RuntimeError(f"status {res.status_code} for {user['email']}")


def run_autograder(autograder_dir: Path) -> None:
    """The zip's entry point (``run_otter.py``): Otter's run, made safe for any submission.

    The submission folder is reduced to its one notebook before Otter reads anything, a notebook
    Otter's own reader would crash on is graded (to its reason) without Otter, and any failure of
    Otter still leaves ``results/results.json``: the verdict if one was reached, else a zero.
    """
    results = autograder_dir / "results" / "results.json"
    bundle = config_bundle(json.loads((autograder_dir / "source" / "otter_config.json").read_text(encoding="utf-8")))
    folder = autograder_dir / "submission"
    try:
        name, raw = take_notebook(folder)
    except SubmissionUnusable as exc:
        return write_results(results, zero_result(bundle, "submission", str(exc)))
    try:
        nbformat.reads(raw.decode("utf-8"), as_version=nbformat.NO_CONVERT)
    except Exception:  # noqa: BLE001 -- e.g. RecursionError on deep nesting, in Otter's reader before plugins
        return write_results(results, grade_safely(bundle, raw, name))
    (folder / name).write_bytes(raw)
    metadata = autograder_dir / "submission_metadata.json"
    if not metadata.exists():  # Gradescope always writes it; an image run by hand may not, and Otter needs it
        metadata.write_text("{}", encoding="utf-8")
    D2LGradePlugin.verdicts.clear()
    try:
        from otter.run.run_autograder import main

        main(str(autograder_dir), logo=False)
    except Exception:  # noqa: BLE001 -- Otter's failure must not cost the student the result
        print(f"d2lgrade: Otter failed on {name}:\n{traceback.format_exc()}", flush=True)
        write_results(results, D2LGradePlugin.verdicts[-1] if D2LGradePlugin.verdicts else zero_result(
            bundle, name, f"The autograder failed on {name}; your instructor has the details. Submit again, and "
                          "if this persists, tell your instructor."))
