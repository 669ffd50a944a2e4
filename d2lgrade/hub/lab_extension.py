"""A student's JupyterLab server on the class server: a refused submission says why in one sentence.

nbgrader's Assignment List answers a failed Submit with the whole Python traceback, which its dialog shows as is
("Assignment not submitted:" and forty lines ending in the reason). The exchange's refusals are sentences for the
student ("s02_1: 3 of 3 submissions used (0 left); no more submissions are accepted …"): once every extension is
loaded, this one puts in nbgrader's place an Assignment List manager that answers with that sentence alone. Enabled
in the student set-up (``jupyter/student/jupyter_server_config.json``).
"""

from __future__ import annotations

import textwrap
from typing import Any

from nbgrader.server_extensions.assignment_list.handlers import AssignmentList

EXCHANGE_ERROR = "nbgrader.exchange.abc.exchange.ExchangeError: "


def sentence(trace: str) -> str:
    """The exchange's sentence from the end of a traceback, else its last line with what to do."""
    lines = [line for line in trace.strip().splitlines() if line.strip()]
    for index in range(len(lines) - 1, -1, -1):
        if lines[index].startswith(EXCHANGE_ERROR):
            return _wrapped([lines[index].removeprefix(EXCHANGE_ERROR), *lines[index + 1:]])
    last = lines[-1] if lines else "no reason given"
    return _wrapped([last, "(the submission did not reach the exchange; try again, and tell your instructor if it "
                           "persists)"])


def _wrapped(paragraphs: list[str]) -> str:
    """Lines of at most 90 characters: nbgrader's dialog shows the text in a <pre>, which does not wrap."""
    return "\n".join(textwrap.fill(p, 90, break_on_hyphens=False) for p in paragraphs)


class SubmitSaysWhy(AssignmentList):
    """nbgrader's manager, whose failed Submit answers with the reason only (the log keeps the traceback)."""

    def submit_assignment(self, course_id: str, assignment_id: str) -> dict[str, Any]:
        answer = super().submit_assignment(course_id, assignment_id)
        if not answer.get("success"):
            answer["value"] = sentence(str(answer.get("value", "")))
        return answer


def _jupyter_server_extension_points() -> list[dict[str, str]]:
    return [{"module": "d2lgrade.hub.lab_extension"}]


def _load_jupyter_server_extension(app: Any) -> None:
    """Nothing at load: nbgrader's manager is made by its own extension, which loads after this one (by name)."""


async def _start_jupyter_server_extension(app: Any) -> None:
    settings = app.web_app.settings
    if "assignment_list_manager" not in settings:
        app.log.warning("d2lgrade: nbgrader's assignment_list extension is not loaded; Submit keeps its messages")
        return
    manager = SubmitSaysWhy(parent=app)
    manager.root_dir = settings["assignment_list_manager"].root_dir
    settings["assignment_list_manager"] = manager
