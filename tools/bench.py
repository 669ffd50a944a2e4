"""``make bench``: seconds per submission, d2lgrade against ``otter run``, side by side in one run.

A batch of copies of an assignment's sample submissions (complete, partial, untouched, in turn) is
graded by ``d2lgrade grade`` with one job and with every core, sandbox on; a few of the same
submissions by ``otter run`` with the project's own autograder zip (Otter starts a cold kernel per
submission). Prints the per-submission seconds, the speed-up against Otter, the parallel efficiency
and the peak memory of the largest process. Usage: ``python tools/bench.py [ASSIGNMENT] [COUNT]``.
"""

from __future__ import annotations

import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


def batch(assignment: str, count: int, folder: Path) -> Path:
    samples = sorted((ROOT / "tests" / "submissions" / assignment).glob("*.ipynb"))
    folder.mkdir(parents=True)
    for n in range(count):
        shutil.copy(samples[n % len(samples)], folder / f"student{n:04d}.ipynb")
    return folder


def timed(command: list[str], cwd: Path) -> tuple[float, float]:
    """Wall seconds and peak RSS (MiB) of the largest process the command started."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    start = time.perf_counter()
    subprocess.run(command, cwd=cwd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wall = time.perf_counter() - start
    return wall, max(before, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss) / 1024


def main(argv: list[str]) -> int:
    assignment = argv[0] if argv else "s02_3"
    count = int(argv[1]) if len(argv) > 1 else 120
    otter_count = 3
    cores = len(os.sched_getaffinity(0))
    with tempfile.TemporaryDirectory(prefix="d2lgrade-bench-") as tmp:
        os.chmod(tmp, 0o755)
        work = Path(tmp)
        inbox = batch(assignment, count, work / "inbox")
        rows = []
        for jobs in (1, cores):
            n = count if jobs > 1 else max(cores * 10, count // 3)
            subset = batch(assignment, n, work / f"inbox-{jobs}") if n != count else inbox
            wall, peak = timed([str(BIN / "d2lgrade"), "grade", assignment, str(subset), "--jobs", str(jobs),
                                "--no-gradebook", "--regrade", "--output", str(work / f"out-{jobs}")], ROOT)
            rows.append((f"d2lgrade grade --jobs {jobs}", n, wall / n, peak))
        otter_wall = 0.0
        for path in sorted(inbox.iterdir())[:otter_count]:
            out = work / "otter" / path.stem
            out.mkdir(parents=True)
            wall, peak = timed([str(BIN / "otter"), "run", "-a", str(ROOT / "build" / "autograder" / f"{assignment}.zip"),
                                "-o", str(out), str(path)], ROOT)
            otter_wall += wall
        otter = otter_wall / otter_count
        rows.append(("otter run (project zip)", otter_count, otter, peak))
    print(f"{assignment}, {os.uname().machine}, {cores} cores, {os.cpu_count()} CPUs, "
          f"{os.sysconf('SC_PAGE_SIZE') * os.sysconf('SC_PHYS_PAGES') / 2**30:.0f} GiB")
    print(f"{'grader':<28}{'submissions':>12}{'s / submission':>16}{'vs otter run':>14}{'peak MiB':>10}")
    for name, n, per, peak in rows:
        print(f"{name:<28}{n:>12}{per:>16.2f}{otter / per:>13.1f}x{peak:>10.0f}")
    one, many = rows[0][2], rows[1][2]
    print(f"parallel efficiency, 1 -> {cores} workers: {one / many / cores:.0%}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
