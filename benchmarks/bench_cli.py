"""Benchmark of the ``imspatch`` command (stdlib only).

1. ``check`` throughput: writes N small patch files (both dialects, a few
   invalid) to a temporary directory and runs ``imspatch check -q DIR`` in
   process and as a subprocess; prints files/s.  Target: >= 5,000 files/s.
2. Start-up: ``imspatch --help`` against ``python -c pass`` (and ``python -c
   'import imspatch'``), best and median of repeated runs, in milliseconds.

    python benchmarks/bench_cli.py [--files 10000] [--runs 20]

Not a timed test: numbers depend on the machine.
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


def bench_check(count: int, entry_point: str | None) -> None:
    with tempfile.TemporaryDirectory(prefix="imspatch-bench-") as tmp:
        root = Path(tmp)
        write_files(root, count)
        runs = []
        for _ in range(3):
            out, err = io.StringIO(), io.StringIO()
            start = time.perf_counter()
            status = cli.run(["check", "-q", str(root)], stdout=out, stderr=err)
            runs.append(time.perf_counter() - start)
            assert status == 1, status  # the invalid files are found
            assert out.getvalue().count("\n") == count // 50, out.getvalue()[:200]
        best = min(runs)
        print(
            f"check in process: {count} files in {best:.3f} s best of 3 "
            f"-> {count / best:,.0f} files/s"
        )
        if entry_point:
            start = time.perf_counter()
            env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
            proc = subprocess.run(
                [entry_point, "check", "-q", str(root)],
                env=env,
                stdout=subprocess.DEVNULL,
                check=False,
            )
            elapsed = time.perf_counter() - start
            assert proc.returncode == 1, proc.returncode
            print(
                f"check subprocess: {count} files in {elapsed:.3f} s "
                f"-> {count / elapsed:,.0f} files/s (start-up included)"
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
    parser.add_argument("--runs", type=int, default=20)
    args = parser.parse_args()
    script = Path(sys.executable).parent / "imspatch"
    entry_point = str(script) if script.exists() else shutil.which("imspatch")
    bench_check(args.files, entry_point)
    bench_startup(args.runs, entry_point)


if __name__ == "__main__":
    main()
