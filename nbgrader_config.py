"""nbgrader settings of the course; `d2lgrade` reads this file too (the gradebook URL, the layout)."""

import os

c = get_config()  # noqa: F821 - provided by traitlets when nbgrader loads this file
COURSE = os.path.dirname(os.path.abspath(__file__))  # noqa: F821 - traitlets passes __file__ too

# The course id (the exchange's and the hub's name for the course): the file `course_id` in this folder (untracked,
# one per clone: two courses can be clones of one repository), else D2LGRADE_COURSE_ID, else "d2l-ch2-math". Letters,
# digits, _ . - only. A bad one is said on stderr and left out (nbgrader then asks for --course; d2lgrade stops with
# the same words): this file must never raise, or nbgrader drops it whole, sandboxed autograde included.
def _course_id(folder):
    import re
    import sys

    try:
        with open(os.path.join(folder, "course_id"), encoding="utf-8") as f:
            where, value = os.path.join(folder, "course_id"), f.read().strip()
    except OSError:
        where, value = "D2LGRADE_COURSE_ID", os.environ.get("D2LGRADE_COURSE_ID", "").strip()
    if not value:
        return "d2l-ch2-math", ""
    if re.fullmatch(r"[A-Za-z0-9_.-]+", value) and value not in (".", ".."):
        return value, ""
    problem = (f"the course id {value[:80]!r} (from {where}) is not valid: use letters, digits, _ . - only "
               f"(e.g. d2l-ch2-math); fix {where}")
    print(f"nbgrader_config.py: {problem}", file=sys.stderr)
    return "", problem


c.CourseDirectory.course_id, c.D2LGrade.course_id_problem = _course_id(COURSE)
# The gradebook: any SQLAlchemy URL works (e.g. "postgresql://user@host/gradebook").
c.CourseDirectory.db_url = "sqlite:///gradebook.db"
c.CourseDirectory.source_directory = "source"
c.CourseDirectory.release_directory = "release"
c.CourseDirectory.submitted_directory = "submitted"
c.CourseDirectory.autograded_directory = "autograded"
c.CourseDirectory.feedback_directory = "feedback"
# Who reads what the grader writes (README, "Who can read what"): the instructor and the course folder's group.
# True: several people write the course (instructors, or TAs grading by hand in their own formgrader on the class
# server), so files and folders are group-writable (nbgrader's convention). On by itself when the course folder is
# shared that way: setgid and group-writable, as the class server's set-up leaves it (d2lgrade/hub/provision.py).
c.CourseDirectory.groupshared = os.stat(COURSE).st_mode & 0o2020 == 0o2020
# nbgrader's own autograde writes autograded/ world-readable (444) by default: group-readable only, like d2lgrade.
c.Autograde.permissions = 660 if c.CourseDirectory.groupshared else 640

# Feedback pages too (nbgrader's default is 644): feedback/ is the course's, like autograded/. Released into the
# folder exchange, each page is made readable there by its student (d2lgrade.nbgrader.release.ReleaseFeedback: its
# name comes from the submission's secret); the hub exchange below replaces that step.
c.GenerateFeedback.permissions = c.Autograde.permissions
# The student version in release/ too when the course is shared (nbgrader's default is 664): the exchange service
# sends it to students; in the course folder it is the course group's.
if c.CourseDirectory.groupshared:
    c.GenerateAssignment.permissions = 660

# The exchange (release, fetch, submit, collect, feedback): inside the course folder unless the machine has
# a shared one (e.g. /srv/nbgrader/exchange); `d2lgrade build` creates it, writable by students (sticky).
c.Exchange.root = os.environ.get("D2LGRADE_EXCHANGE", os.path.join(COURSE, "exchange"))
c.ExchangeFactory.release_feedback = "d2lgrade.nbgrader.release.ReleaseFeedback"

# On the class server (deploy/, README "Running a term") the exchange is a JupyterHub service: who submitted and when
# come from the hub login and the service's clock, never from a shared folder. Named by strings only, so this file
# cannot fail here: nbgrader drops a config file that raises and would fall back to the folder exchange. A class that
# cannot be imported later stops the command instead (fail closed).
if os.environ.get("D2LGRADE_EXCHANGE_URL"):
    for _step, _class in {"exchange": "HubExchange", "fetch_assignment": "HubFetchAssignment",
                          "fetch_feedback": "HubFetchFeedback", "release_assignment": "HubReleaseAssignment",
                          "release_feedback": "HubReleaseFeedback", "list": "HubList", "submit": "HubSubmit",
                          "collect": "HubCollect"}.items():
        setattr(c.ExchangeFactory, _step, f"d2lgrade.hub.exchange_client.{_class}")
    c.HubExchange.url = os.environ["D2LGRADE_EXCHANGE_URL"]

# Due dates per assignment (UTC), and what a late submission costs (nbgrader's own plugin: "none" keeps the
# score, "zero" gives nothing; a custom plugin can be named with c.AssignLatePenalties.plugin_class). Applied
# alike by `d2lgrade grade` and `nbgrader autograde`. Example: {"s02_1": "2026-12-07 23:59:00 UTC"}.
c.D2LGrade.due_dates = {}
c.LateSubmissionPlugin.penalty_method = "none"

# What students see where a solution was.
c.ClearSolutions.code_stub = {"python": "# YOUR CODE HERE\nraise NotImplementedError()"}
c.ClearSolutions.text_stub = "YOUR ANSWER HERE"

# Submissions are hostile: HTML in outputs is cleaned by bleach when nbgrader renders notebooks (formgrader,
# generate_feedback). d2lgrade also writes autograded notebooks with active content already removed
# (d2lgrade/nbgrader/defang.py), since nbgrader's feedback template renders Markdown cells without this setting.
c.HTMLExporter.sanitize_html = True
# Maths without internet: MathJax from the Jupyter server (jupyter-server-mathjax serves it there; the formgrader
# finds it by itself), for feedback pages too, which students open through their JupyterLab.
c.HTMLExporter.mathjax_url = "/static/jupyter_server_mathjax/MathJax.js?config=TeX-AMS-MML_HTMLorMML-full,Safe"
# nbgrader's feedback and formgrade templates ignore that setting: d2lgrade/templates gives them the same macro
# with the local URL, ahead of nbgrader's own templates, and a Content-Security-Policy before it.
# (Guarded: nbgrader drops a whole config file that raises, the sandboxed autograde below included.)
try:
    from importlib.util import find_spec

    c.HTMLExporter.extra_template_basedirs = [
        os.path.join(find_spec("d2lgrade").submodule_search_locations[0], "templates"),
        os.path.join(find_spec("nbgrader.server_extensions.formgrader").submodule_search_locations[0], "templates"),
    ]
except (ImportError, AttributeError, TypeError, IndexError):
    pass
# Markdown links with javascript: URLs become inert (nbconvert's own filter allows them), and the HTML rendered from
# Markdown is cleaned (nbgrader's feedback and formgrade templates render Markdown cells with this filter only).
c.HTMLExporter.filters = {"markdown2html": "d2lgrade.nbgrader.defang.markdown2html"}
# Whatever wrote the notebook nbgrader renders (autograded/ by any path, a regrade, a hand edit), the manual-grading
# page and the feedback are made from a defanged copy of it.
c.HTMLExporter.preprocessors = ["d2lgrade.nbgrader.defang.Defang"]

# One grading path: `nbgrader autograde` and the formgrader's Autograde button grade through d2lgrade's
# sandbox (d2lgrade/nbgrader/autograde.py) instead of nbgrader's Execute, which would run the submission
# unconfined with the hidden tests. The other steps are nbgrader's own.
c.Autograde.autograde_preprocessors = [
    "d2lgrade.nbgrader.autograde.GradeInSandbox",
    "d2lgrade.nbgrader.defang.Defang",  # before anything is written to autograded/: nothing active from the submission
    "nbgrader.preprocessors.IgnorePattern",
    "nbconvert.preprocessors.ClearMetadataPreprocessor",
    "nbgrader.preprocessors.LimitOutput",
    "nbgrader.preprocessors.SaveAutoGrades",
    "nbgrader.preprocessors.AssignLatePenalties",
    "nbgrader.preprocessors.CheckCellMetadata",
]
