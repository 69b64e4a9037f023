"""Benchmark of the ``imspatch`` command (stdlib only).

1. ``check`` throughput: writes N small patch files (both dialects, 1 in 50
   invalid, most with warnings: a file that adds a property can meet the
   quota) to a temporary directory, then
   - in process: ``check -q DIR`` (the offline analysis included) against
     ``check -q --image IMAGE DIR`` (the engine on one image, no analysis),
     interleaved, best of 3;
   - as a subprocess, start-up included: ``check -q --jobs N DIR`` for each N
     of ``--jobs``, interleaved, best and median of ``--rounds``; files/s and
     the ratio to one process.
   The outputs of every N must be identical (the order does not depend on N).
2. Start-up: ``imspatch --help`` against ``python -c pass`` (and ``python -c
   'import imspatch'``), best and median of repeated runs, in milliseconds.

    python benchmarks/bench_cli.py [--files 10000] [--jobs 1,2] [--rounds 3] [--runs 20]
    python benchmarks/bench_cli.py --files 100000 --runs 0    # the README's figures

Not a timed test: numbers depend on the machine, and on what else runs on it.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from imspatch import cli

_BODIES = [
    [{"op": "replace", "path": "/name", "value": "image-{i}"}],
    [{"replace": "/name", "value": "image-{i}"}],
    [
        {"op": "add", "path": "/__description", "value": "build {i}"},
        {"op": "add", "path": "/owner_team", "value": "team-{i}"},
    ],
    [{"add": "/build_id", "value": "{i}"}, {"remove": "/old_tag"}],
    [{"op": "replace", "path": "/min_ram", "value": 1024}],  # valid under both rule sets' parse
]
_INVALID = [
    [{"op": "replace", "path": "/id", "value": "x"}],  # 403 read-only
    [{"op": "move", "path": "/name", "value": "x"}],  # 400 invalid op
]


def write_files(directory: Path, count: int) -> None:
    """*count* patch files in 100 sub-directories, 1 in 50 invalid."""
    for i in range(count):
        sub = directory / f"d{i % 100:02d}"
        sub.mkdir(exist_ok=True)
        body = _INVALID[i % 2] if i % 50 == 49 else _BODIES[i % len(_BODIES)]
        text = json.dumps(body).replace("{i}", str(i))
        (sub / f"patch-{i:05d}.json").write_text(text, encoding="utf-8")


def _errors(output: str) -> int:
    return sum(1 for line in output.splitlines() if ": warning " not in line)


def bench_check(count: int, entry_point: str | None, jobs: list[int], rounds: int) -> None:
    sample = Path(__file__).resolve().parent.parent / "examples" / "ims-sample-image.json"
    with tempfile.TemporaryDirectory(prefix="imspatch-bench-") as tmp:
        root = Path(tmp)
        write_files(root, count)
        cases = {
            "check (offline analysis)": ["check", "-q", str(root)],
            "check --image (engine, one image)": ["check", "-q", "--image", str(sample), str(root)],
        }
        runs: dict[str, list[float]] = {label: [] for label in cases}
        for _ in range(3):
            for label, argv in cases.items():
                out, err = io.StringIO(), io.StringIO()
                start = time.perf_counter()
                status = cli.run(argv, stdout=out, stderr=err)
                runs[label].append(time.perf_counter() - start)
                assert status == 1, status  # the invalid files are found
                assert _errors(out.getvalue()) >= count // 50, out.getvalue()[:200]
        for label, times in runs.items():
            best = min(times)
            print(f"in process, {label:34} {count} files: {count / best:9,.0f} files/s (best of 3)")
        if not entry_point:
            return
        env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
        wall: dict[int, list[float]] = {n: [] for n in jobs}
        outputs: dict[int, bytes] = {}
        for _ in range(rounds):
            for n in jobs:
                start = time.perf_counter()
                proc = subprocess.run(
                    [entry_point, "check", "-q", "--jobs", str(n), str(root)],
                    env=env,
                    stdout=subprocess.PIPE,
                    check=False,
                )
                wall[n].append(time.perf_counter() - start)
                assert proc.returncode == 1, proc.returncode
                assert outputs.setdefault(n, proc.stdout) == proc.stdout
        assert len(set(outputs.values())) == 1, "the output depends on --jobs"
        load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
        print(f"(load average {load} on {os.cpu_count()} CPUs: other processes share them)")
        base = statistics.median(wall[jobs[0]])
        for n in jobs:
            best, median = min(wall[n]), statistics.median(wall[n])
            print(
                f"subprocess, check -q --jobs {n}: {count} files in {median:.2f} s median "
                f"-> {count / median:,.0f} files/s (best {count / best:,.0f}); "
                f"{base / median:.2f}x --jobs {jobs[0]}"
            )


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def bench_startup(runs: int, entry_point: str | None) -> None:
    """Wall and CPU time (user+sys of the child) per start-up, cases interleaved.

    CPU time is the steadier number on a busy machine; the wall-clock minimum is
    what hyperfine would call the best run.
    """
    cases = [
        ("python -c pass", [sys.executable, "-c", "pass"]),
        ("python -c 'import argparse'", [sys.executable, "-c", "import argparse"]),
        ("python -c 'import imspatch'", [sys.executable, "-c", "import imspatch"]),
        ("python -m imspatch --help", [sys.executable, "-m", "imspatch", "--help"]),
    ]
    if entry_point:
        cases.append(("imspatch --help", [entry_point, "--help"]))
    # Measure what an installed package gives: byte-code caches written and used
    # (the first, uncounted rounds write them even if this shell says not to).
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    wall: dict[str, list[float]] = {label: [] for label, _ in cases}
    cpu: dict[str, list[float]] = {label: [] for label, _ in cases}
    for round_ in range(runs + 2):
        for label, argv in cases:
            start, start_cpu = time.perf_counter(), _cpu()
            subprocess.run(argv, stdout=subprocess.DEVNULL, check=True, env=env)
            if round_ >= 2:  # warm-up rounds are not counted
                wall[label].append(time.perf_counter() - start)
                cpu[label].append(_cpu() - start_cpu)
    for label, _ in cases:
        print(
            f"start-up {label:30} wall min {min(wall[label]) * 1000:6.1f} ms"
            f"  median {statistics.median(wall[label]) * 1000:6.1f} ms"
            f"  | cpu median {statistics.median(cpu[label]) * 1000:6.1f} ms"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=10_000)
    parser.add_argument("--jobs", default="1,2", help="comma-separated process counts")
    parser.add_argument("--rounds", type=int, default=3, help="subprocess runs per --jobs")
    parser.add_argument("--runs", type=int, default=20, help="start-up runs (0: skip)")
    args = parser.parse_args()
    script = Path(sys.executable).parent / "imspatch"
    entry_point = str(script) if script.exists() else shutil.which("imspatch")
    bench_check(args.files, entry_point, [int(n) for n in args.jobs.split(",")], args.rounds)
    if args.runs:
        bench_startup(args.runs, entry_point)


if __name__ == "__main__":
    main()
