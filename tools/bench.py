"""``make bench``: seconds per submission, d2lgrade against ``otter run`` and ``nbgrader autograde``, side by side.

A batch of copies of an assignment's sample submissions (complete, partial, untouched, in turn) is
graded by ``d2lgrade grade`` with one job and with every core, sandbox on; a few of the same
submissions by ``otter run`` with the project's own autograder zip (Otter starts a cold kernel per
submission), and by ``nbgrader autograde`` on a copy of the course. Prints the per-submission
seconds, the speed-up against Otter, the parallel efficiency and the peak memory per worker
(proportional set size of all its processes, sampled).
Usage: ``python tools/bench.py [ASSIGNMENT] [COUNT]``.
"""

from __future__ import annotations

import os
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


def _descendants(root: int) -> list[int]:
    parents: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            parents.setdefault(ppid, []).append(int(entry.name))
    found, todo = [], [root]
    while todo:
        pid = todo.pop()
        found.append(pid)
        todo += parents.get(pid, [])
    return found


def _pss_mib(pids: list[int]) -> float:
    """Proportional set size: pages shared by a template and its kernels are counted once in all."""
    total = 0
    for pid in pids:
        try:
            for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
                if line.startswith("Pss:"):
                    total += int(line.split()[1])
        except OSError:
            continue
    return total / 1024


def timed(command: list[str], cwd: Path) -> tuple[float, float]:
    """Wall seconds, and the peak memory (PSS, MiB) of the command and everything it started, sampled."""
    start = time.perf_counter()
    process = subprocess.Popen(command, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    peak = 0.0
    while process.poll() is None:
        peak = max(peak, _pss_mib(_descendants(process.pid)))
        time.sleep(0.25)
    if process.returncode != 0:
        raise SystemExit(f"{command[0]} failed ({process.returncode}): {' '.join(command)}")
    return time.perf_counter() - start, peak


def nbgrader_autograde(assignment: str, notebooks: list[Path], work: Path) -> tuple[float, float]:
    """Stock ``nbgrader autograde`` on a copy of the course (without the config that sends it through
    d2lgrade's sandbox): cold kernels, hidden tests run in the student's process (unconfined: our own
    samples only), as a course without d2lgrade would grade. Only its time is used."""
    course = work / "nbgrader-course"
    course.mkdir()
    config = (ROOT / "nbgrader_config.py").read_text()
    (course / "nbgrader_config.py").write_text(config[:config.index("c.Autograde.autograde_preprocessors")])
    for folder in ("source", "solutions"):
        shutil.copytree(ROOT / folder, course / folder)
    subprocess.run([str(BIN / "nbgrader"), "generate_assignment", assignment, "--force"], cwd=course, check=True,
                   capture_output=True)
    notebook = next((ROOT / "source" / assignment).glob("*.ipynb")).name
    for path in notebooks:
        target = course / "submitted" / path.stem / assignment
        target.mkdir(parents=True)
        shutil.copy(path, target / notebook)
    return timed([str(BIN / "nbgrader"), "autograde", assignment], course)


def main(argv: list[str]) -> int:
    assignment = argv[0] if argv else "s02_3"
    count = int(argv[1]) if len(argv) > 1 else 200
    otter_count = 5
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
            rows.append((f"d2lgrade grade --jobs {jobs}", n, wall / n, peak / jobs))
        otter_wall = 0.0
        for path in sorted(inbox.iterdir())[:otter_count]:
            out = work / "otter" / path.stem
            out.mkdir(parents=True)
            wall, peak = timed([str(BIN / "otter"), "run", "-a", str(ROOT / "build" / "autograder" / f"{assignment}.zip"),
                                "-o", str(out), str(path)], ROOT)
            otter_wall += wall
        otter = otter_wall / otter_count
        rows.append(("otter run (project zip)", otter_count, otter, peak))
        nbgrader_wall, nbgrader_peak = nbgrader_autograde(assignment, sorted(inbox.iterdir())[:otter_count], work)
        rows.append(("nbgrader autograde", otter_count, nbgrader_wall / otter_count, nbgrader_peak))
    print(f"{assignment}, {os.uname().machine}, {cores} cores, {os.cpu_count()} CPUs, "
          f"{os.sysconf('SC_PAGE_SIZE') * os.sysconf('SC_PHYS_PAGES') / 2**30:.0f} GiB")
    print(f"{'grader':<28}{'submissions':>12}{'s / submission':>16}{'vs otter run':>14}{'MiB / worker':>14}")
    for name, n, per, peak in rows:
        print(f"{name:<28}{n:>12}{per:>16.2f}{otter / per:>13.1f}x{peak:>14.0f}")
    one, many = rows[0][2], rows[1][2]
    print(f"parallel efficiency, 1 -> {cores} workers: {one / many / cores:.0%}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
