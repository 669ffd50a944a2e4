"""Failures of the grader's own machinery, told apart from anything a submission does."""

from __future__ import annotations


class GraderFault(RuntimeError):
    """The grader's own machinery failed (the sandbox, the kernel template), not the submission: grading
    stops with an internal error (logged, regraded by a rerun) instead of a note blaming the notebook."""
