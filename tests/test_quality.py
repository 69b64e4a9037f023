"""Quality gates run with the tests: ruff (lint and format) and mypy --strict, all pinned."""

from __future__ import annotations

import subprocess
import sys

import pytest

import scripts.upgrade_pins as pins

from .conftest import ROOT

#: extras pinned exactly (the tools, and the proxy's), rewritten by `nox -s upgrade_pins`
PINNED_EXTRAS = ("test", "docs", "dev", "proxy")


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", *args], cwd=ROOT, capture_output=True, text=True, check=False
    )


def test_ruff_check() -> None:
    # "." is every file ruff knows how to read (Python, and Python in Markdown), less .gitignore
    result = run("ruff", "check", ".")
    assert result.returncode == 0, result.stdout + result.stderr


def test_ruff_format() -> None:
    result = run("ruff", "format", "--check", ".")
    assert result.returncode == 0, result.stdout + result.stderr


def test_ruff_sees_every_python_file() -> None:
    listed = run("ruff", "check", "--show-files", ".")
    seen = {line.strip() for line in listed.stdout.splitlines()}
    tracked = subprocess.run(
        ["git", "ls-files", "*.py"], cwd=ROOT, capture_output=True, text=True, check=False
    )
    if tracked.returncode != 0:
        pytest.skip("not a git checkout")
    missing = [
        p for p in tracked.stdout.split() if (ROOT / p).exists() and str(ROOT / p) not in seen
    ]
    assert missing == []


def test_mypy_strict() -> None:
    result = run("mypy")
    assert result.returncode == 0, result.stdout + result.stderr


def test_py_typed_marker_ships() -> None:
    assert (ROOT / "imspatch" / "py.typed").exists()


@pytest.mark.parametrize("extra", PINNED_EXTRAS)
def test_development_tools_are_pinned(extra: str) -> None:
    """A tool's new release changes CI only through a commit that changes its pin."""
    text = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    lines = [
        line.strip().rstrip(",") for line in pins.extra_block(text, extra).group(1).splitlines()
    ]
    requirements = [line for line in lines if line and not line.startswith("#")]
    assert requirements
    loose = [r for r in requirements if not (pins.PIN.fullmatch(r) or pins.OWN_EXTRA.fullmatch(r))]
    assert loose == []
