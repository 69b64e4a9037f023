"""Timing, memory and import-time measurement (stdlib only).

Timing follows ``timeit``'s method with three changes: the garbage collector
stays on (a server pays for it, and the big workloads allocate a lot); the
engines of one case are sampled round-robin, so that a slow drift of the
machine affects every engine alike and the ratios stay honest; and the clock
is, by default, the process's CPU time (``time.process_time``), not the wall
clock, so that other processes competing for the cores (a shared CI or
developer machine) do not count.  ``--clock wall`` measures wall time.
"""

from __future__ import annotations

import gc
import math
import os
import platform
import resource
import statistics
import subprocess
import sys
import time
import tracemalloc
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from workloads import ROOT


@dataclass
class Series:
    """One engine, dialect and rule set on one case, and its samples."""

    engine: str
    label: str
    dialect: str
    rules: str  # "ims", "glance" or "-" (the result does not depend on it)
    run: Callable[[], Any]
    essential: bool = True  # the targets need it: never fewer than 3 samples
    first: float = 0.0  # seconds of the first (verifying) call
    loops: int = 1
    repeats: int = 1
    samples: list[float] = field(default_factory=list)  # seconds per call

    @property
    def median(self) -> float:
        return statistics.median(self.samples)

    @property
    def best(self) -> float:
        return min(self.samples)


@dataclass(frozen=True)
class Budget:
    min_sample: float  # seconds one sample should last at least
    max_repeats: int
    quick: bool = False
    slow_peer: float = 1.0  # a peer slower than this (s) gets one sample

    def plan(self, once: float, essential: bool) -> tuple[int, int]:
        """(loops per sample, samples) for a call that takes *once* seconds."""
        if self.quick:
            return 1, 0
        if not essential and once > self.slow_peer:
            return 1, 0  # the first call is its only sample
        loops = max(1, math.ceil(self.min_sample / max(once, 1e-9)))
        sample = loops * once
        # long calls (workload d) get fewer samples, but never fewer than 5:
        # they vary most from one sample to the next
        repeats = self.max_repeats if sample <= 0.05 else max(5, self.max_repeats - 2)
        return loops, repeats


CLOCKS: dict[str, Callable[[], float]] = {"cpu": time.process_time, "wall": time.perf_counter}
clock = CLOCKS["cpu"]


def use_clock(name: str) -> None:
    global clock  # noqa: PLW0603 - one setting for the whole run
    clock = CLOCKS[name]


def timed(run: Callable[[], Any]) -> tuple[float, Any]:
    """Seconds one call takes on the current clock, and its result."""
    gc.collect()
    start = clock()
    result = run()
    return clock() - start, result


def _once(run: Callable[[], Any]) -> float:
    return timed(run)[0]


def measure(series: list[Series], budget: Budget) -> None:
    """Fill every series' samples, sampling the series round-robin.

    Each series' first call (``first``, timed while verifying the result)
    sizes the loops; a series that gets no sample of its own keeps that one.
    """
    for s in series:
        once = s.first
        if once < 0.2 and not budget.quick:
            once = min(once, _once(s.run))
        s.loops, s.repeats = budget.plan(once, s.essential)
        if s.repeats == 0:
            s.samples, s.repeats = [s.first], 1
    for _ in range(max(s.repeats for s in series)):
        for s in series:
            if len(s.samples) >= s.repeats:
                continue
            run, loops = s.run, s.loops
            gc.collect()
            start = clock()
            for _ in range(loops):
                run()
            s.samples.append((clock() - start) / loops)


def peak_memory(run: Callable[[], Any]) -> int:
    """Peak bytes traced by tracemalloc during one call (result kept alive)."""
    gc.collect()
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        result = run()
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    del result
    return peak


def _child_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def import_times(
    module: str, baseline: str, runs: int, *, module_code: str | None = None
) -> dict[str, Any]:
    """``python -c 'import X'`` against a baseline, interleaved subprocesses.

    *module_code* replaces ``import X``: ``import imspatch`` alone is lazy
    (PEP 562), so the engine's cost shows with ``from imspatch import patch_image``.

    On the CPU clock the child's user + system time is measured (rusage),
    else its wall time; min and median are kept.
    """
    cmds = {
        module: [sys.executable, "-c", module_code or f"import {module}"],
        baseline: [sys.executable, "-c", f"import {baseline}"],
    }
    cpu = clock is time.process_time
    measure_child = _child_cpu if cpu else time.perf_counter
    times: dict[str, list[float]] = {module: [], baseline: []}
    for cmd in cmds.values():  # warm the file system cache
        subprocess.run(cmd, cwd=ROOT, check=True)
    for _ in range(runs):
        for name, cmd in cmds.items():
            start = measure_child()
            subprocess.run(cmd, cwd=ROOT, check=True)
            times[name].append(measure_child() - start)
    out: dict[str, Any] = {"runs": runs, "clock": "child cpu (rusage)" if cpu else "wall"}
    for name, values in times.items():
        out[name] = {"min_ms": min(values) * 1e3, "median_ms": statistics.median(values) * 1e3}
    out["extra_min_ms"] = out[module]["min_ms"] - out[baseline]["min_ms"]
    out["extra_median_ms"] = out[module]["median_ms"] - out[baseline]["median_ms"]
    return out


def machine() -> dict[str, Any]:
    """CPU model, cores, Python: what a reader needs to weigh the numbers."""
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as fh:
            for line in fh:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "python": sys.version.split()[0],
        "implementation": platform.python_implementation(),
        "platform": platform.platform(),
    }
