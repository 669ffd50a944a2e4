"""The exchange service as the grading service reaches it: a hub service token (``grader``), which the exchange
treats as a TA of every course (:attr:`d2lgrade.hub.exchange_service.Exchange.staff_services`)."""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
from typing import Any

from d2lgrade.hub.exchange_files import ExchangeFile, decode, encode
from d2lgrade.serve.queue import Received


class ExchangeUnreachable(RuntimeError):
    """The exchange did not answer, or refused: what it said, and where."""


class ExchangeAPI:
    """Submissions listed and downloaded, feedback attached, policies published; JSON over HTTP."""

    def __init__(self, url: str, token: str, timeout: float = 30.0) -> None:
        self.url, self.token, self.timeout = url.rstrip("/"), token, timeout

    def call(self, method: str, path: str, body: Any = None, **query: str) -> Any:
        address = f"{self.url}/{path}" + (f"?{urllib.parse.urlencode(query)}" if query else "")
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(address, data=data, method=method, headers={
            "Authorization": f"token {self.token}", "Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as answer:
                return json.loads(answer.read())
        except urllib.error.HTTPError as e:
            said = e.read()[:500].decode(errors="replace")
            raise ExchangeUnreachable(f"the exchange at {self.url} refused {method} {path} ({e.code}): {said}") from None
        except (OSError, ValueError) as e:
            raise ExchangeUnreachable(f"the exchange at {self.url} did not answer {method} {path}: {e}") from None

    def submissions(self, course: str, after: int) -> list[Received]:
        """The course's submissions received after exchange id ``after``, oldest first."""
        rows = self.call("GET", f"courses/{course}/submissions", after=str(after))
        return [Received(r["course_id"], r["assignment_id"], r["student_id"], int(r["id"]), r["timestamp"])
                for r in rows]

    def files(self, course: str, sid: int) -> list[ExchangeFile]:
        return decode(self.call("GET", f"courses/{course}/submissions/{sid}").get("contents"))

    def feedback(self, course: str, sid: int) -> dict[str, str]:
        """The submission's latest feedback: path -> sha256 (empty: none yet)."""
        return dict(self.call("GET", f"courses/{course}/submissions/{sid}", contents="0").get("feedback") or {})

    def add_feedback(self, course: str, sid: int, files: list[ExchangeFile]) -> None:
        self.call("POST", f"courses/{course}/submissions/{sid}/feedback", {"files": encode(files)})

    def result(self, course: str, sid: int) -> dict[str, Any] | None:
        """The submission's latest grading result (None: none yet)."""
        return self.call("GET", f"courses/{course}/submissions/{sid}", contents="0").get("result")

    def add_result(self, course: str, sid: int, result: dict[str, Any]) -> None:
        self.call("POST", f"courses/{course}/submissions/{sid}/result", {"result": result})

    def set_policies(self, course: str, policies: dict[str, dict[str, Any]]) -> None:
        self.call("POST", f"courses/{course}/policies", {"policies": policies})
