"""Run the atheris harness for a bounded time (marker ``fuzz``: not in the default run).

python -m pytest -m fuzz tests/fuzz         # IMSPATCH_FUZZ_SECONDS=60 by default
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from .target import CORPUS, ROOT

HARNESS = Path(__file__).with_name("atheris_harness.py")
pytestmark = pytest.mark.fuzz


@pytest.mark.skipif(importlib.util.find_spec("atheris") is None, reason="atheris not installed")
def test_atheris_finds_nothing(tmp_path: Path) -> None:
    seconds = int(os.environ.get("IMSPATCH_FUZZ_SECONDS", "60"))
    scratch = tmp_path / "corpus"
    scratch.mkdir()
    proc = subprocess.run(
        [
            sys.executable,
            str(HARNESS),
            f"-max_total_time={seconds}",
            "-rss_limit_mb=4096",
            f"-artifact_prefix={tmp_path}/",
            str(scratch),
            str(CORPUS),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=seconds + 300,
        check=False,
    )
    crashes = sorted(tmp_path.glob("crash-*")) + sorted(tmp_path.glob("timeout-*"))
    keep = Path(os.environ.get("IMSPATCH_FUZZ_KEEP", ""))
    if crashes and keep.is_dir():
        for crash in crashes:
            shutil.copy(crash, keep / crash.name)
    assert not crashes, (crashes, proc.stderr[-4000:])
    assert proc.returncode == 0, (proc.returncode, proc.stderr[-4000:])
