"""Grading one submission through the class server's grading service, for staff who cannot run the sandbox.

Only root starts the sandbox's kernels, so a TA's ``nbgrader autograde`` (or the formgrader's Autograde button)
sends the submission's bytes to the grading service (``d2lgrade/hub/grading_service.py``, run as root), which
grades them exactly as ``d2lgrade grade`` does and answers with a worker's report
(:mod:`d2lgrade.grading.cluster_report`). The client trusts that report no more than a cluster worker's: it is
checked against the client's own bundle, and one no honest service writes becomes a zero saying grading failed on
our side (logged; a regrade grades it again). A service that cannot be reached or refuses raises
:class:`GradingServiceError` naming the service, the reason and the remedy: nothing is recorded then.
"""

from __future__ import annotations

import base64
import json
import logging
import os
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from d2lgrade.grading.cluster_report import checked_job
from d2lgrade.grading.ledger import digest
from d2lgrade.grading.steps import Assignment, Job, Rejected, check_size, rejected_result
from d2lgrade.grading.workers import Work
from d2lgrade.judging.bundle import Bundle

LOG = logging.getLogger("d2lgrade.grading")
URL_VARIABLE = "D2LGRADE_GRADER_URL"
"""Where the grading service is (``http://127.0.0.1:8000/services/grader``): the hub sets it in staff servers."""
TOKEN_VARIABLE = "JUPYTERHUB_API_TOKEN"
"""The user's hub token; the service asks the hub whose it is (the request body names no one)."""
TIMEOUT_SECONDS = 1800
"""A socket may wait this long: the service grades one submission at a time, up to 10 minutes each, so a request
may queue behind a few others."""
MAX_ERROR_CHARS = 600


class GradingServiceError(RuntimeError):
    """The service could not be asked, or refused: which service, why, and what to do. Nothing was graded."""


@dataclass(frozen=True)
class GradingService:
    """The grading service of one course, reached with one user's hub token."""

    url: str
    token: str
    course: str

    @classmethod
    def from_env(cls, course: str) -> GradingService | None:
        """The service a user's hub server names (:data:`URL_VARIABLE`, :data:`TOKEN_VARIABLE`); None without one."""
        url, token = os.environ.get(URL_VARIABLE, ""), os.environ.get(TOKEN_VARIABLE, "")
        return cls(url.rstrip("/"), token, course) if url and token else None

    def grade(self, assignment: Assignment, raw: bytes, student: str, source: str) -> Job:
        return grade_by_service(self.url, self.token, assignment, raw, student, source, course=self.course)


def checking_assignment(bundle: Bundle) -> Assignment:
    """An assignment whose reports are checked here and whose submissions are run elsewhere: it starts no kernel."""
    return Assignment(bundle, (), kernel_factory=_runs_elsewhere)


def _runs_elsewhere() -> Any:
    raise GradingServiceError("this assignment is graded by the grading service: no kernel starts in this process")


def grade_by_service(url: str, token: str, assignment: Assignment, raw: bytes, student: str, source: str, *,
                     course: str) -> Job:
    """One submission graded by the service at ``url`` for ``course``: the job its report describes, checked against
    ``assignment``'s bundle (this process's own). A notebook over the size limit is refused here, as locally."""
    job = Job(assignment, student, source, raw, Path("."))
    try:
        check_size(job)
    except Rejected as exc:
        job.result = rejected_result(job, str(exc))
        return job
    text = _post(request_for(url, token, course, assignment, raw, student, source), url)
    return checked_job(text, assignment, Work(student, source, raw), "grading service")


def request_for(url: str, token: str, course: str, assignment: Assignment, raw: bytes, student: str,
                source: str) -> urllib.request.Request:
    """``POST <url>/grade/<course>/<assignment>``; the body's ``bundle`` (the hash of the client's bundle) lets the
    service say so when the course was rebuilt since, rather than send a report the client must refuse."""
    body = json.dumps({"student": student, "source": source, "notebook": base64.b64encode(raw).decode("ascii"),
                       "bundle": digest(assignment.bundle.to_json().encode())}).encode()
    return urllib.request.Request(f"{url.rstrip('/')}/grade/{course}/{assignment.bundle.assignment}", data=body,
                                  method="POST", headers={"Authorization": f"token {token}",
                                                          "Content-Type": "application/json"})


def _post(request: urllib.request.Request, url: str) -> str:
    """The service's answer, or :class:`GradingServiceError` saying why there is none and what to do."""
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS) as response:
            return response.read().decode("utf-8")
    except urllib.error.HTTPError as exc:
        raise GradingServiceError(refusal(url, exc.code, _sentence(exc))) from None
    except (urllib.error.URLError, OSError, UnicodeDecodeError) as exc:
        reason = getattr(exc, "reason", exc)
        raise GradingServiceError(f"the grading service at {url} cannot be reached ({reason}). Ask the course's "
                                  "administrator to start it (`systemctl start d2lgrade-grader`, or `make hub`), "
                                  f"or check {URL_VARIABLE}.") from None


REMEDIES = {
    401: "Log in to the hub again and restart your server (Hub Control Panel), so that your server's token may "
         "reach the grader service.",
    403: "Only the course's TAs and instructors may grade: ask an instructor to add you to the course's TAs "
         "(hub.toml, then restart the hub).",
    404: "Check the course id (nbgrader_config.py) and that the assignment is built (`d2lgrade build`).",
    409: "The course was rebuilt since this process read it: run the command again.",
}


def refusal(url: str, status: int, sentence: str) -> str:
    """What a refused request tells the user: the service, its own reason, and what to do about it."""
    remedy = REMEDIES.get(status, "Ask the course's administrator: the service's log (journalctl -u "
                                  "d2lgrade-grader) says more.")
    return f"the grading service at {url} refused to grade (HTTP {status}): {sentence} {remedy}"


def _sentence(exc: urllib.error.HTTPError) -> str:
    """The service's JSON error sentence, as text of bounded length (whatever the answer holds)."""
    try:
        error = json.loads(exc.read(MAX_ERROR_CHARS * 4).decode("utf-8", "replace")).get("error")
    except (ValueError, AttributeError, OSError):
        error = None
    return str(error)[:MAX_ERROR_CHARS] if error else (exc.reason or "no reason given")


