"""The grading limits as the notebooks' introductions state them, from the limits that apply.

``tests/test_release.py`` checks that each source notebook's introduction carries this paragraph
word for word, so a change of a limit that is not told to students fails the tests.
"""

from __future__ import annotations

from d2lgrade.sandbox.execute import Limits
from d2lgrade.sandbox.kernels import Policy


def limits_paragraph(limits: Limits = Limits(), policy: Policy = Policy()) -> str:  # noqa: B008 - frozen defaults
    wall = limits.cell_seconds * limits.cell_wall_factor
    return (
        "**Limits when graded.** Your notebook is graded in a sandbox without network access. Each cell, "
        f"and each check of an answer, may use {limits.cell_seconds} s of CPU time: the time your code "
        "computes, so a busy grading machine does not change it (a cell that waits without computing is "
        f"stopped after {wall} s). The whole notebook has {limits.submission_seconds} s and "
        f"{policy.group_memory_bytes // 2**30} GiB of memory. A cell past its limit is stopped and the "
        f"cells after it still run. Files can be written in the working folder ({policy.scratch_bytes // 2**20} MiB)."
    )
