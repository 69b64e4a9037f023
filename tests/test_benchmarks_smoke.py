"""The benchmark runner keeps working (tiny sizes; no timing is asserted)."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
RUNNER = ROOT / "benchmarks" / "run.py"

pytestmark = pytest.mark.skipif(not RUNNER.exists(), reason="benchmarks/ not in this tree")


def _script(path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """Run a benchmark script as a user would; it must succeed."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    env["MPLBACKEND"] = "Agg"
    proc = subprocess.run(
        [sys.executable, str(path), *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc


def _run(tmp_path: Path, *args: str) -> tuple[subprocess.CompletedProcess[str], dict]:
    proc = _script(RUNNER, "--quick", "--out", str(tmp_path), *args)
    data = json.loads((tmp_path / "results.json").read_text(encoding="utf-8"))
    return proc, data


def test_quick_run_writes_results(tmp_path: Path) -> None:
    proc, data = _run(tmp_path)
    engines = {row["engine"] for row in data["timings"]}
    assert {"floor", "imspatch"} <= engines
    # every workload, image size, dialect and rule set ran for imspatch
    ims = {
        (r["workload"], r["extras"], r["dialect"], r["rules"])
        for r in data["timings"]
        if r["engine"] == "imspatch"
    }
    assert len(ims) == len(data["workloads"]) * len(data["extras"]) * 2 * 2
    assert all(r["median_us"] > 0 for r in data["timings"])
    md = (tmp_path / "results.md").read_text(encoding="utf-8")
    assert "## Targets" in md
    assert "| imspatch |" in md
    assert data["machine"]["python"]
    # every target is reported with PASS or MISS
    assert data["targets"]
    for target in data["targets"]:
        assert f"{target['name']}:" in proc.stdout
    assert "[PASS]" in proc.stdout or "[MISS]" in proc.stdout
    for name in ("jsonpatch", "pyjsonpatch"):
        if importlib.util.find_spec(name) is None:
            assert not any(e.startswith(name) for e in engines)
    if importlib.util.find_spec("matplotlib") is not None:
        assert data["plots"]
        for png in data["plots"]:
            assert (tmp_path / png).read_bytes().startswith(b"\x89PNG")
    else:
        assert data["plots"] == []


def test_quick_run_floor_and_imspatch_only(tmp_path: Path) -> None:
    _, data = _run(tmp_path, "--engines", "imspatch", "--workloads", "a,b", "--no-plots")
    assert {row["engine"] for row in data["timings"]} == {"floor", "imspatch"}
    assert set(data["workloads"]) == {"a", "b"}
    assert data["plots"] == []


def test_quick_run_without_workload_b(tmp_path: Path) -> None:
    _, data = _run(tmp_path, "--engines", "imspatch", "--workloads", "a", "--no-plots")
    assert set(data["workloads"]) == {"a"}
    assert "## Headline" not in (tmp_path / "results.md").read_text(encoding="utf-8")


# about 25 s (it times every phase at its real budget): `pytest -m bench`, a CI step of its own
@pytest.mark.bench
def test_profiler_names_the_phases() -> None:
    proc = _script(ROOT / "benchmarks" / "profile_imspatch.py", "a", "--seconds", "0.05")
    for phase in (
        "floor: json.loads",
        "imspatch: decode_body",
        "imspatch: parse, apply, finish in one pass",
    ):
        assert phase in proc.stdout
    # the profile finds the engine's phase functions by name: renaming one shows here
    assert "patch (_patch.py" in proc.stdout
    assert "decode_body (_decode.py" in proc.stdout
