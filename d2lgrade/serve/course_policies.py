"""The policies a course's ``nbgrader_config.py`` sets, read again when that file changes, and published to the
exchange then (the exchange enforces counts and cooldowns; it cannot read the course folder, which is the course
staff's only)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from d2lgrade.course.layout import CONFIG_FILE, Course
from d2lgrade.hub.submission_policy import Policy, course_policies

LOG = logging.getLogger("d2lgrade.serve")


def read_policies(root: Path) -> dict[str, Policy]:
    d2lgrade = Course(root).config.get("D2LGrade", {})
    return course_policies(d2lgrade.get("policies", {}), d2lgrade.get("due_dates", {}))


@dataclass
class PolicyBook:
    """Each course's policies, by its config file's modification time; ``publish`` called on every change."""

    courses: dict[str, Path]
    publish: Callable[[str, dict[str, dict[str, Any]]], None] = lambda course, policies: None
    _seen: dict[str, tuple[float, dict[str, Policy]]] = field(default_factory=dict)

    def __call__(self, course: str) -> dict[str, Policy]:
        path = self.courses[course] / CONFIG_FILE
        mtime = path.stat().st_mtime
        held = self._seen.get(course)
        if held and held[0] == mtime:
            return held[1]
        policies = read_policies(self.courses[course])
        self.publish(course, {a: p.as_dict() for a, p in policies.items()})
        self._seen[course] = (mtime, policies)
        LOG.info("policies of %s: %s", course, {a: p.as_dict() for a, p in policies.items()})
        return policies

    def refresh(self) -> None:
        for course in self.courses:
            try:
                self(course)
            except Exception:
                LOG.exception("the policies of %s could not be read or published; fix its %s", course, CONFIG_FILE)
