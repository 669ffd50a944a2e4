"""``d2lgrade``: a thin command line over the functions that do the work."""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from d2lgrade.course.layout import Course

EXIT_NOTHING_FOUND, EXIT_USAGE, EXIT_NO_SANDBOX, EXIT_INTERNAL_ERROR, EXIT_NOT_ALL_GRADED = 1, 2, 3, 4, 5
GRADE_EXIT_STATUS = (
    "Exit status: 0 every submission found was graded (students who did not submit are listed, not failures); "
    f"{EXIT_NOT_ALL_GRADED} something could not be graded: a submission not gradable (it got a zero with the reason) "
    f"or a file refused (listed with the reason, kept in refused/); everything else was graded; "
    f"{EXIT_INTERNAL_ERROR} some submission hit an internal error (that student got a zero saying so; tracebacks in "
    f"<output>/<assignment>/grading.log; run again to grade it); {EXIT_NOTHING_FOUND} no submission was found; "
    f"{EXIT_USAGE} bad arguments; {EXIT_NO_SANDBOX} the sandbox is unavailable.")

if TYPE_CHECKING:
    from d2lgrade.batch.run import BatchSummary
    from d2lgrade.grading.cluster import Cluster


class UsageError(Exception):
    """A mistake in how d2lgrade was called: one line saying what to do, exit status 2."""


def _course(args: argparse.Namespace) -> Course:
    try:
        course = Course.find(Path(args.course) if args.course else None)
    except FileNotFoundError as exc:
        raise UsageError(f"{exc} (or give --course DIR)") from None
    _references_from(course)
    return course


def _references_from(course: Course) -> None:
    """The course's own ``solutions/`` is what ``import solutions`` finds: on the class server d2lgrade runs from the
    shared runtime, which carries no references (every user can read it), so a course clone brings its own."""
    if str(course.root) not in sys.path:
        sys.path.insert(0, str(course.root))


def _output(course: Course, output: str) -> Path:
    """``--output`` relative to the course folder, wherever d2lgrade is run from."""
    return Path(output) if Path(output).is_absolute() else course.root / output


def _known(course: Course, assignments: list[str]) -> list[str]:
    unknown = [a for a in assignments if a not in course.assignments()]
    if unknown:
        raise UsageError(f"no assignment {', '.join(map(repr, unknown))} in {course.root}; `d2lgrade list` shows them")
    return assignments


def _build(args: argparse.Namespace) -> int:
    from d2lgrade.authoring.build import build

    course = _course(args)
    build(course, _known(course, args.assignments) or None, force=args.force)
    return 0


def _grade(args: argparse.Namespace) -> int:
    from d2lgrade.batch.intake import find_submissions, read_roster
    from d2lgrade.batch.run import run_batch

    course = _course(args)
    cluster = _cluster(args)
    _known(course, [args.assignment])
    try:
        roster = read_roster(Path(args.roster)) if args.roster else None
        intake = find_submissions(Path(args.submission), roster, args.assignment)
    except FileNotFoundError as exc:
        raise UsageError(f"{exc.filename or ''}: no such file or folder" if exc.filename else str(exc)) from None
    if not course.bundle_path(args.assignment).is_file():
        raise UsageError(f"{args.assignment} is not built yet; run `d2lgrade build {args.assignment}`")
    report = run_batch(course, args.assignment, intake, _output(course, args.output), gradebook=not args.no_gradebook,
                       jobs=args.jobs, regrade=args.regrade, cluster=cluster)
    if not report.results and not report.kept:
        print(f"d2lgrade: nothing was graded in {args.submission}: it holds no <student>.ipynb, <student>/<notebook>.ipynb "
              f"or <student>/{args.assignment}/<notebook>.ipynb (nbgrader's submitted/ layout)", file=sys.stderr)
        return EXIT_NOTHING_FOUND
    return grade_exit_status(report.summary(args.assignment))


def grade_exit_status(summary: BatchSummary) -> int:
    """``d2lgrade grade``'s exit status from the batch's summary (:data:`GRADE_EXIT_STATUS` says it)."""
    return EXIT_INTERNAL_ERROR if summary.internal_errors else 0 if summary.all_graded else EXIT_NOT_ALL_GRADED


def _course_access(args: argparse.Namespace) -> int:
    """The course's group and modes on what already exists (folders made before, or by nbgrader, or by a TA)."""
    import grp

    from d2lgrade.course.access import Access, Applied

    course = _course(args)
    groupshared = bool(course.config.CourseDirectory.get("groupshared", False))
    if args.group:
        try:
            gid = int(args.group) if args.group.isdigit() else grp.getgrnam(args.group).gr_gid
        except KeyError:
            raise UsageError(f"no group {args.group!r} on this machine: create it (groupadd {args.group}) or name "
                             "another with --group") from None
        try:
            Access.give_course_folder(course.root, gid, groupshared)
        except PermissionError:
            raise UsageError(f"cannot give {course.root} the group {args.group}: run as root, or as its owner while in "
                             "that group") from None
    access = Access.for_course(course.root, groupshared)
    applied = Applied()
    for path in course.private_paths(_output(course, args.results)):
        access.apply(path, applied)
    name = _group_name(access.gid)
    print(f"{course.root}: group {name}, files {access.file_mode:04o}, folders {access.folder_mode:04o}: "
          f"{applied.changed} changed, {applied.unchanged} already so, {len(applied.left_alone)} left alone, "
          f"{len(applied.failed)} could not be changed")
    for line in applied.left_alone:
        print(f"  left alone: {line}")
    for line in applied.failed:
        print(f"  could not be changed: {line}")
    if course.root.stat().st_mode & 0o005:
        print(f"  note: other users can still enter {course.root} (release/, source/, the exchange); on a shared server "
              f"where students never enter it: chmod o= {course.root}")
    return 1 if applied.failed else 0


def _group_name(gid: int) -> str:
    import grp

    try:
        return grp.getgrgid(gid).gr_name
    except KeyError:
        return str(gid)


def _cluster(args: argparse.Namespace) -> Cluster | None:
    """The scheduler to grade on: ``tls://`` with the client's certificate, or ``tcp://`` only when the
    instructor opted out by name."""
    from d2lgrade.grading.cluster import Cluster, ClusterRefused

    if not args.cluster:
        return None
    try:
        if args.cluster.startswith("tcp://") and args.insecure_cluster:
            print(f"d2lgrade: warning: grading on {args.cluster} without TLS: anyone who can reach it can run code "
                  "on the workers, read the references and change grades", file=sys.stderr)
            return Cluster.insecure(args.cluster)
        if args.cluster.startswith("tls://") and not args.cluster_certs:
            raise UsageError(f"--cluster {args.cluster} needs the client's certificate: add --cluster-certs DIR "
                             "(the folder `d2lgrade cluster-certs DIR` made)")
        return Cluster.secure(args.cluster, Path(args.cluster_certs or "."))
    except ClusterRefused as exc:
        raise UsageError(str(exc)) from None


def _cluster_certs(args: argparse.Namespace) -> int:
    """A course CA and the certificates of the client, scheduler and workers, and where each file goes."""
    from d2lgrade.grading.cluster_ca import make_certificates
    from d2lgrade.grading.cluster_certs import CA, ROLES

    try:
        certs = make_certificates(Path(args.folder), days=args.days)
    except FileExistsError as exc:
        raise UsageError(str(exc)) from None
    print(f"wrote a course CA and {len(ROLES)} certificates in {certs.folder} (keys 0600, folder 0700), valid "
          f"{args.days} days. Copy, keeping them private:")
    for role in ROLES:
        print(f"  to {role.machines}: " + ", ".join(p.name for p in certs.files_for(role)))
    print(f"  to no machine of the cluster: {certs.key(CA).name} (it signs; keep it offline)")
    return 0


def _validate(args: argparse.Namespace) -> int:
    """Grade the instructor's solved source notebooks (trusted: they import solutions/)."""
    from d2lgrade.grading.steps import Assignment, grade_bytes
    from d2lgrade.judging.bundle import compile_bundle
    from d2lgrade.judging.rules import ModuleSources
    from d2lgrade.sandbox.execute import trusted_kernel_factory

    course = _course(args)
    failed = 0
    for a in args.assignments or course.assignments():
        path = course.source_notebook(a)
        assignment = Assignment.from_bundle(compile_bundle(course.spec(a)), kernel_factory=trusted_kernel_factory,
                                            modules=ModuleSources(course.root))
        result = grade_bytes(assignment, path.read_bytes(), "instructor", path.name).result
        wrong = [q for q in result.autograded if q.status != "passed"]
        failed += bool(wrong)
        print(f"{a}: {result.totals}" + ("" if not wrong else "  FAILS:"))
        for q in wrong:
            print(f"    {q.id}: {q.output}")
        for note in result.notes:
            print(f"    note: {note}")
    return 1 if failed else 0


def _similarity(args: argparse.Namespace) -> int:
    """Which students' answers are alike: reports/<assignment>/similarity.{json,html}, for instructors."""
    from d2lgrade.reports.similarity import SimilarityError
    from d2lgrade.reports.similarity_cli import run

    course = _course(args)
    submissions = Path(args.submissions) if args.submissions else course.folder("submitted_directory", "submitted")
    try:
        data, page = run(course, args.assignment, submissions, _output(course, args.output))
    except SimilarityError as exc:
        raise UsageError(str(exc)) from None
    print(f"wrote {page} and {data.name} beside it (instructors only: open it in a browser)")
    return 0


def _list(args: argparse.Namespace) -> int:
    from d2lgrade.course.listing import course_listing, render_listing

    listing = course_listing(_course(args))
    print(json.dumps(listing, indent=2) if args.json else render_listing(listing))
    return 0


def _samples(args: argparse.Namespace) -> int:
    from d2lgrade.authoring.samples import write_samples

    course = _course(args)
    for path in write_samples(course, args.assignments or None):
        print(f"wrote {path.relative_to(course.root)}")
    return 0


def _grade_samples(args: argparse.Namespace) -> int:
    """The bundled samples of every assignment, graded into a demo gradebook beside their results: what
    changed is built first, then everything is graded on ``--jobs`` workers shared by all assignments."""
    from contextlib import nullcontext

    from d2lgrade.authoring.build import build
    from d2lgrade.authoring.samples import samples_dir
    from d2lgrade.batch.intake import Submission
    from d2lgrade.batch.run import run_batch, say
    from d2lgrade.grading.progress import Progress
    from d2lgrade.grading.steps import Assignment
    from d2lgrade.grading.workers import worker_pool
    from d2lgrade.judging.results import course_table

    course = _course(args)
    output = _output(course, args.output)
    demo = course.demo(output)
    build(demo, log=lambda line: say(f"build: {line}"))
    assignments = course.assignments()
    samples = {a: [Submission(f"sample-{p.stem}", p) for p in sorted(samples_dir(course, a).glob("*.ipynb"))]
               for a in assignments}
    progress = Progress(sum(map(len, samples.values())), say)
    pool = worker_pool([Assignment.load(course.bundle_path(a)) for a in assignments], args.jobs) if args.jobs > 1 else None
    results = []
    with pool or nullcontext() as workers:
        for a in assignments:
            report = run_batch(demo, a, samples[a], output, log=progress.say, jobs=args.jobs, regrade=True,
                               pool=workers, progress=progress)
            results += report.results
    progress.close()
    print(course_table(results, assignments))
    shown = os.path.relpath(output, Path.cwd())
    print(f"\nResults JSON: {shown}/<assignment>/<student>.json; demo gradebook: {shown}/gradebook.db "
          f"(the course's own, {course.db_url}, is not touched)")
    return 0


def _report(args: argparse.Namespace) -> int:
    """The class report of one assignment, or of the course (students × sections), from the results JSON."""
    from d2lgrade.reports.class_report import ReportError, assignment_report, course_report
    from d2lgrade.reports.class_report_html import write_assignment_report, write_course_report

    course = _course(args)
    if bool(args.assignment) == bool(args.whole_course):
        raise UsageError("give one assignment (`d2lgrade report s02_3`) or --course, not both nor neither")
    results, output = _output(course, args.results), _output(course, args.output)
    try:
        if args.whole_course:
            index = write_course_report(course_report(course, results), output / "course")
        else:
            _known(course, [args.assignment])
            index = write_assignment_report(assignment_report(course, args.assignment, results),
                                            output / args.assignment)
    except ReportError as exc:
        raise UsageError(str(exc)) from None
    print(f"wrote {index} (open it in a browser; the PNG figures are beside it)")
    return 0


def _positive(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number of at least 1")
    return int(text)


def default_jobs() -> int:
    import os

    return len(os.sched_getaffinity(0))


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="d2lgrade", description=__doc__)
    p.add_argument("--course", metavar="DIR", help="the course folder (default: the one at or above the current folder)")
    sub = p.add_subparsers(dest="command", required=True)
    b = sub.add_parser("build", help="regenerate release/, the grading bundles and the Otter zips (what changed)")
    b.add_argument("assignments", nargs="*", help="assignment ids (default: all)")
    b.add_argument("--force", action="store_true",
                   help="rebuild even assignments whose inputs have not changed since their build/<a>/stamp.json")
    b.set_defaults(run=_build)
    g = sub.add_parser("grade", help="grade a submission (.ipynb) or a folder of them",
                       description="The last line sums the batch up: graded, not gradable (a zero with the reason), "
                                   "refused (files that are not a student's submission), did not submit. "
                                   + GRADE_EXIT_STATUS)
    g.add_argument("assignment")
    g.add_argument("submission", help="a notebook, or a folder of <student>.ipynb, <student>/<notebook>.ipynb or "
                                      "<student>/<assignment>/<notebook>.ipynb (nbgrader's submitted/)")
    g.add_argument("--output", default="results", help="where results JSON go (default: results/)")
    g.add_argument("--roster", help="CSV with a column of student ids (id/student_id/first column): "
                                    "only those ids are graded, other files are refused; roster students with "
                                    "nothing in the folder are listed as did not submit")
    g.add_argument("--no-gradebook", action="store_true", help="write results JSON only")
    g.add_argument("--jobs", type=_positive, default=default_jobs(),
                   help="submissions graded at once, each worker with its own warm kernel template "
                        f"(default: this machine's cores, {default_jobs()})")
    g.add_argument("--cluster", metavar="tls://HOST:8786",
                   help="grade on a Dask scheduler's workers (machines with this checkout and the sandbox), over "
                        "mutual TLS; see README")
    g.add_argument("--cluster-certs", metavar="DIR",
                   help="the folder `d2lgrade cluster-certs DIR` made: this machine's client certificate and key")
    g.add_argument("--insecure-cluster-anyone-can-grade", dest="insecure_cluster", action="store_true",
                   help="allow a tcp:// --cluster, unauthenticated and unencrypted: anyone who can reach the "
                        "scheduler runs code on the workers, reads the references and changes grades")
    g.add_argument("--regrade", action="store_true",
                   help="grade again submissions already graded with the same bytes and bundle (default: keep them)")
    g.set_defaults(run=_grade)
    cc = sub.add_parser("cluster-certs", help="make a course CA and the TLS certificates of `grade --cluster`",
                        description="Writes DIR/ca.pem and <role>.pem, <role>-key.pem for the client (the machine "
                                    "that runs `d2lgrade grade --cluster`), the scheduler and the workers, and says "
                                    "which files go to which machine. ca-key.pem signs them; keep it offline.")
    cc.add_argument("folder", metavar="DIR", help="a new folder (made 0700), or an empty one")
    cc.add_argument("--days", type=_positive, default=365, help="how long the certificates are valid (default: 365)")
    cc.set_defaults(run=_cluster_certs)
    ca = sub.add_parser("course-access", help="give what grading already wrote the course's group and modes",
                        description="Sets the course folder's group (the group of its folder, or --group) and modes "
                                    "(files 0640, folders 0750; 0660 and 2770 with groupshared) on results/, "
                                    "reports/, submitted/, submitted-earlier/, refused/, autograded/, feedback/, "
                                    "build/ and the SQLite gradebook, as they exist; links are never followed. "
                                    "Run it as root or as the owner of those files. Exit status: 0 done; 1 some "
                                    "entries could not be changed (listed, with what to do); 2 bad arguments.")
    ca.add_argument("--group", metavar="G", help="first give the course folder this group (and setgid), e.g. its TAs'")
    ca.add_argument("--results", default="results", help="where the results JSON are (default: results/)")
    ca.set_defaults(run=_course_access)
    v = sub.add_parser("validate", help="check that each solved source notebook gets full marks (trusted run)")
    v.add_argument("assignments", nargs="*")
    v.set_defaults(run=_validate)
    ls = sub.add_parser("list", help="the course as data: assignments and questions in book order")
    ls.add_argument("--json", action="store_true")
    ls.set_defaults(run=_list)
    s = sub.add_parser("samples", help="regenerate the sample submissions from release/ and the scenarios")
    s.add_argument("assignments", nargs="*")
    s.set_defaults(run=_samples)
    r = sub.add_parser("report", help="a class report (HTML + PNG): scores, pass rates, frequent wrong answers",
                       description="Reads <results>/<assignment>/*.json (what `d2lgrade grade` writes) and the "
                                   "bundle (build/<assignment>/bundle.json, for titles and declared misconceptions). "
                                   "Writes <output>/<assignment>/index.html with scores.png and questions.png beside "
                                   "it, or with --course <output>/course/index.html (students × sections) with "
                                   "heatmap.png. The folder is self-contained: copy it anywhere and open index.html.")
    r.add_argument("assignment", nargs="?", help="the assignment to report on")
    r.add_argument("--course", dest="whole_course", action="store_true",
                   help="report on the whole course: students × sections")
    r.add_argument("--results", default="results", help="where the results JSON are (default: results/)")
    r.add_argument("--output", default="reports", help="where reports are written (default: reports/)")
    r.set_defaults(run=_report)
    sim = sub.add_parser("similarity", help="which students' answers are alike, per question (instructors only)",
                         description="Scores every pair of students per answer cell from normalised code (the "
                                     "release's lines, comments, spacing, the students' own names and the order of "
                                     "independent statements taken out) and written answers as text, weighted by how "
                                     "rare the shared part is in the class. Nothing in a submission runs. Writes "
                                     "<output>/<assignment>/similarity.json and similarity.html (it says what a score "
                                     "does not prove). Exit status: 0 written; 2 nothing to compare or bad arguments.")
    sim.add_argument("assignment")
    sim.add_argument("submissions", nargs="?", default=None,
                     help="a folder as `d2lgrade grade` takes it (default: the course's submitted/)")
    sim.add_argument("--output", default="reports", help="where reports are written (default: reports/)")
    sim.set_defaults(run=_similarity)
    gs = sub.add_parser("grade-samples", help="build what changed, grade every bundled sample submission into a demo "
                                              "gradebook (never the course's) and print a table")
    gs.add_argument("--output", default="results/demo",
                    help="where the results JSON and the demo's gradebook.db, submitted/ and autograded/ go "
                         "(default: results/demo/)")
    gs.add_argument("--jobs", type=_positive, default=default_jobs(),
                    help=f"submissions graded at once (default: this machine's cores, {default_jobs()})")
    gs.set_defaults(run=_grade_samples)
    from d2lgrade.serve.commands import add_parsers as add_serve_parsers

    add_serve_parsers(sub)  # serve, queue, export: grading on submit on the class server (docs/grading-on-submit.md)
    return p


def main(argv: list[str] | None = None) -> int:
    from d2lgrade.course.layout import CourseIdError
    from d2lgrade.judging.spec import SpecError
    from d2lgrade.sandbox.kernels import SandboxUnavailable

    args = parser().parse_args(argv)
    try:
        return int(args.run(args))
    except SandboxUnavailable as exc:
        print(f"d2lgrade: cannot grade: the sandbox is unavailable: {exc}", file=sys.stderr)
        return EXIT_NO_SANDBOX
    except (SpecError, UsageError, CourseIdError) as exc:
        print(f"d2lgrade: {exc}", file=sys.stderr)
        return EXIT_USAGE


if __name__ == "__main__":
    sys.exit(main())
