"""Sessions CI runs (``bash .ci/run``); their tools are pinned in pyproject's extras.

    nox                          # tests on every supported Python, docs, package
    nox -s tests-3.12            # one Python; nox -s tests-3.12 -- -x passes pytest options
    nox -s docs                  # HTML reference and its doctests, warnings are errors
    nox -s package               # sdist and wheel, twine check --strict
    nox -s upgrade_pins          # re-resolve the pinned tools, rewrite pyproject.toml

The README's "Development" section says when to run which.
"""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

import nox

#: the supported Pythons: requires-python and the classifiers must say the same
#: (tests/test_packaging.py checks it)
PYTHONS = ["3.10", "3.11", "3.12", "3.13"]
DOCS_PYTHON = "3.11"
ROOT = Path(__file__).resolve().parent

nox.options.sessions = ["tests", "docs", "package"]
nox.options.error_on_missing_interpreters = True  # a Python not found fails, never skips
nox.options.default_venv_backend = "venv"


def _pyenv_first_on_path() -> None:
    """Find each supported Python where pyenv keeps it, not only through pyenv's shims.

    nox looks for ``python3.X`` on PATH; pyenv's shim for a version that is installed but
    not selected exits with an error. So ``.nox/pythons/python3.X`` links to the newest
    installed 3.X.Y, and that directory (holding nothing else) goes first on PATH.
    """
    versions = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv")) / "versions"
    links = ROOT / ".nox" / "pythons"
    for python in PYTHONS:
        pattern = re.compile(rf"{re.escape(python)}\.(\d+)")
        found = [
            (int(m.group(1)), path / "bin" / f"python{python}")
            for path in (versions.iterdir() if versions.is_dir() else ())
            if (m := pattern.fullmatch(path.name)) and (path / "bin" / f"python{python}").exists()
        ]
        if found:
            links.mkdir(parents=True, exist_ok=True)
            link = links / f"python{python}"
            link.unlink(missing_ok=True)
            link.symlink_to(max(found)[1])
    if links.is_dir():
        os.environ["PATH"] = os.pathsep.join([str(links), os.environ.get("PATH", "")])


_pyenv_first_on_path()


@nox.session(python=PYTHONS)
def tests(session: nox.Session) -> None:
    """The default suite (the README's ``pytest``), ruff and mypy included."""
    session.install("-e", ".[test]")
    session.run("python", "-m", "pytest", *session.posargs)


@nox.session(python=DOCS_PYTHON)
def docs(session: nox.Session) -> None:
    """The documentation from the docstrings and the README; then its doctests."""
    session.install("-e", ".[docs,test]")  # test: the pinned hypothesis imspatch.strategies needs
    build = ROOT / "docs" / "_build"
    shutil.rmtree(build, ignore_errors=True)
    for builder in ("html", "doctest"):
        session.run(
            "python", "-m", "sphinx", "-W", "--keep-going", "-n", "-b", builder,
            "-d", str(build / "doctrees"), "docs", str(build / builder),
        )  # fmt: skip


@nox.session(python=DOCS_PYTHON)
def package(session: nox.Session) -> None:
    """Build the sdist and the wheel as pip does (isolated), and check them as PyPI would."""
    session.install(*(pin for pin in _pins("dev") if not pin.startswith("nox")))
    dist = ROOT / "dist"
    shutil.rmtree(dist, ignore_errors=True)
    session.run("python", "-m", "build", "--outdir", str(dist))
    session.run("python", "-m", "twine", "check", "--strict", *map(str, sorted(dist.iterdir())))


@nox.session(venv_backend="none")
def upgrade_pins(session: nox.Session) -> None:
    """Re-resolve the pinned tools to their newest releases and rewrite pyproject.toml.

    test, dev and proxy must install on the oldest supported Python, docs on the docs session's.
    Run it on purpose, then ``nox`` (or ``bash .ci/run``), and commit the result.
    """
    oldest = PYTHONS[0]
    session.run(
        "python3", "scripts/upgrade_pins.py", f"test={oldest}", f"dev={oldest}",
        f"docs={DOCS_PYTHON}", f"proxy={oldest}", *session.posargs,
    )  # fmt: skip


def _pins(extra: str) -> list[str]:
    """The requirements of one of pyproject's extras, for tools nox installs by name."""
    project = nox.project.load_toml(ROOT / "pyproject.toml")["project"]
    return list(project["optional-dependencies"][extra])
