"""Runs in the student's kernel after the student's cells: report each answer as plain data.

One probe cell per question, so a function that loops or crashes costs only its own question. The
grader reads the report from the cell's display output (MIME type :data:`MIME`) and judges it
outside (:mod:`d2lgrade.judging.answer_report` validates it first); a submission that forges a report can only claim
answers it could have given anyway. The report echoes the probe's one-time ``nonce``, so output that
code started in an earlier cell emits without reading it is ignored.
"""

from __future__ import annotations

from typing import Any

MIME = "application/vnd.d2lgrade.answer+json"


def report(probe: dict[str, Any]) -> None:
    """Describe the answer ``probe['name']`` (and its outputs on ``probe['cases']``) and display it."""
    from IPython import get_ipython
    from IPython.display import display

    from d2lgrade.judging.plain import error, from_plain, to_plain

    namespace = get_ipython().user_ns
    name = probe["name"]
    value = namespace.get(name)
    answer: dict[str, Any] = {"id": probe["id"]}
    if "nonce" in probe:
        answer["nonce"] = probe["nonce"]
    answer["value"] = to_plain(value) if name in namespace else {"t": "missing"}
    if "cases" in probe:
        outputs = []
        for args in probe["cases"]:
            try:
                outputs.append(to_plain(value(*[from_plain(a) for a in args])))
            except (Exception, SystemExit) as exc:  # noqa: BLE001 - a failing case is data
                outputs.append(error(exc))
        answer["outputs"] = outputs
    display({MIME: answer}, raw=True)
