"""benchmarks/bench_proxy.py keeps working (tiny sizes; no timing is asserted).

``pytest -m bench`` (a CI step of its own): three processes for a few seconds.
"""

from __future__ import annotations

import re
import subprocess
import sys

import pytest

from ..conftest import ROOT

pytestmark = pytest.mark.bench


def test_bench_proxy_reports_every_scenario_both_ways():
    proc = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "bench_proxy.py"), "--clients", "2",
         "--seconds", "0.3", "--rounds", "1", "--upload-mib", "16"],
        cwd=ROOT, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    rows = re.findall(r"^ +2 (GET image|valid PATCH|409 on image|403 on body) +(direct|proxy) .*(\{.*\})$",
                      proc.stdout, re.MULTILINE)  # fmt: skip
    assert [(name, via) for name, via, _ in rows] == [
        (name, via)
        for name in ("GET image", "valid PATCH", "409 on image", "403 on body")
        for via in ("direct", "proxy")
    ]
    statuses = {(name, via): seen for name, via, seen in rows}
    assert re.fullmatch(r"\{200: \d+\}", statuses["valid PATCH", "proxy"])
    assert re.fullmatch(r"\{409: \d+\}", statuses["409 on image", "proxy"])  # refused there
    assert re.fullmatch(r"\{403: \d+\}", statuses["403 on body", "proxy"])
    assert re.search(r"upload of 16 MiB: direct \d+ MiB/s, through the proxy \d+ MiB/s",
                     proc.stdout)  # fmt: skip
