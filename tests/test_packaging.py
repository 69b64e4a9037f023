"""The sdist and the wheel are what a registry shows and a user installs (issue 12, items 7-8).

Both are built here with the pinned build backend (no download); ``nox -s package`` builds
them again as pip does, isolated, and runs ``twine check --strict`` on them.
"""

from __future__ import annotations

import ast
import email.parser
import email.policy
import json
import re
import subprocess
import sys
import tarfile
import venv
import zipfile
from pathlib import Path

import pytest

from .conftest import ROOT

SCHEMAS = sorted(p.name for p in (ROOT / "schemas").glob("*.json"))
#: the sdist carries what the tests, the benchmarks and the docs need, nothing of CI's own
SDIST_TOP = {
    "PKG-INFO", "pyproject.toml", "README.md", "LICENSE", "CHANGELOG.md", "SECURITY.md",
    ".gitignore", "noxfile.py", "imspatch", "tests", "schemas", "benchmarks", "examples",
    "scripts", "docs",
}  # fmt: skip


def supported_pythons() -> list[str]:
    """noxfile.PYTHONS, read without importing nox."""
    tree = ast.parse((ROOT / "noxfile.py").read_text(encoding="utf-8"))
    for node in tree.body:
        if isinstance(node, ast.Assign) and [getattr(t, "id", None) for t in node.targets] == [
            "PYTHONS"
        ]:
            return list(ast.literal_eval(node.value))
    raise AssertionError("noxfile.py defines no PYTHONS")


@pytest.fixture(scope="module")
def dist(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    out = tmp_path_factory.mktemp("dist")
    subprocess.run(
        [sys.executable, "-m", "hatchling", "build", "-d", str(out)],
        cwd=ROOT, check=True, capture_output=True, text=True,
    )  # fmt: skip
    (wheel,) = out.glob("*.whl")
    (sdist,) = out.glob("*.tar.gz")
    return {"wheel": wheel, "sdist": sdist}


@pytest.fixture(scope="module")
def installed(dist: dict[str, Path], tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh venv with the wheel installed and nothing else; its python."""
    env = tmp_path_factory.mktemp("venv")
    venv.create(env, with_pip=False)
    python = env / "bin" / "python"
    subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(python), "install", "--quiet",
         "--no-deps", "--no-index", str(dist["wheel"])],
        check=True, capture_output=True, text=True,
    )  # fmt: skip
    return python


def metadata(dist: dict[str, Path]) -> email.message.Message:
    with zipfile.ZipFile(dist["wheel"]) as whl:
        (name,) = [n for n in whl.namelist() if n.endswith(".dist-info/METADATA")]
        raw = whl.read(name)
    return email.parser.Parser(policy=email.policy.compat32).parsestr(raw.decode("utf-8"))


def readme_block(containing: str) -> str:
    """The README's fenced Python block that contains *containing*."""
    blocks = re.findall(r"^```python\n(.*?)^```$", (ROOT / "README.md").read_text(), re.M | re.S)
    (block,) = [b for b in blocks if containing in b]
    return block


def test_the_installed_wheel_carries_every_schema(installed: Path, tmp_path: Path) -> None:
    """The README's importlib.resources call finds each schema of schemas/ in the wheel."""
    documented = readme_block('files("imspatch")')
    check = documented + (
        "import imspatch, sys\n"
        "assert imspatch.__file__.startswith(sys.prefix), imspatch.__file__\n"
        "assert isinstance(v21_body, dict)\n"
        "print(json.dumps({p.name: json.loads(p.read_text(encoding='utf-8'))"
        " for p in schemas.iterdir()}))\n"
    )
    # -I: neither the working directory nor PYTHONPATH may lend it the source tree
    proc = subprocess.run(
        [str(installed), "-I", "-c", check], cwd=tmp_path, capture_output=True, text=True,
        check=False,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    found = json.loads(proc.stdout)
    assert sorted(found) == SCHEMAS
    for name in SCHEMAS:
        assert found[name] == json.loads((ROOT / "schemas" / name).read_text(encoding="utf-8"))


def test_the_installed_command_and_typing_marker(installed: Path, tmp_path: Path) -> None:
    example = ROOT / "examples" / "ims-rename.v2.1-json-patch.json"
    proc = subprocess.run(
        [str(installed.parent / "imspatch"), "check", "-q", str(example)],
        cwd=tmp_path, capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert (proc.returncode, proc.stderr) == (0, "")
    proc = subprocess.run(
        [str(installed), "-I", "-c", "import imspatch, pathlib; print(pathlib.Path("
         "imspatch.__file__).with_name('py.typed').is_file())"],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert proc.stdout == "True\n", proc.stderr


def test_the_wheel_holds_the_package_and_the_schemas_only(dist: dict[str, Path]) -> None:
    source = {
        f"imspatch/{p.relative_to(ROOT / 'imspatch').as_posix()}"
        for p in (ROOT / "imspatch").rglob("*")
        if p.is_file() and "__pycache__" not in p.parts
    }
    with zipfile.ZipFile(dist["wheel"]) as whl:
        names = set(whl.namelist())
    info = {n for n in names if n.startswith("imspatch-") and ".dist-info/" in n}
    assert names - info == source | {f"imspatch/schemas/{name}" for name in SCHEMAS}
    assert {n.split(".dist-info/", 1)[1] for n in info} == {
        "METADATA", "WHEEL", "RECORD", "entry_points.txt", "licenses/LICENSE",
    }  # fmt: skip


def test_the_metadata_a_registry_shows(dist: dict[str, Path]) -> None:
    meta = metadata(dist)
    assert meta["License-Expression"] == "Apache-2.0"
    assert meta.get_all("License-File") == ["LICENSE"]
    assert "Apache License" in (ROOT / "LICENSE").read_text(encoding="utf-8")
    with zipfile.ZipFile(dist["wheel"]) as whl:
        (licence,) = [n for n in whl.namelist() if n.endswith(".dist-info/licenses/LICENSE")]
        assert whl.read(licence) == (ROOT / "LICENSE").read_bytes()
    summary = meta["Summary"]
    assert "`" not in summary
    assert "\n" not in summary
    pythons = supported_pythons()
    assert meta["Requires-Python"] == f">={pythons[0]}"
    classifiers = meta.get_all("Classifier")
    versions = [c.rsplit(" :: ", 1)[1] for c in classifiers if re.fullmatch(r".*:: 3\.\d+", c)]
    assert versions == pythons
    assert "Typing :: Typed" in classifiers
    assert [c for c in classifiers if c.startswith("Development Status :: ")]
    assert not [c for c in classifiers if c.startswith("License ::")]  # PEP 639: the expression
    assert meta["Description-Content-Type"] == "text/markdown"
    assert meta.get_payload() == (ROOT / "README.md").read_text(encoding="utf-8")


def test_the_long_description_has_no_link_into_the_repository() -> None:
    """On a registry a relative link or image leads nowhere: absolute URLs only."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    targets = re.findall(r"\]\(([^)\s]+)", text) + re.findall(r"^\[[^]]+\]:\s*(\S+)", text, re.M)
    targets += re.findall(r"""<(?:a|img)\b[^>]*\b(?:href|src)=["']([^"']+)""", text)
    assert [t for t in targets if not re.match(r"https?://", t)] == []


def test_the_sdist_has_the_tree_but_not_ci(dist: dict[str, Path]) -> None:
    with tarfile.open(dist["sdist"]) as sdist:
        names = {n.split("/", 1)[1] for n in sdist.getnames() if "/" in n}
    assert {n.split("/", 1)[0] for n in names} == SDIST_TOP
    tracked = subprocess.run(
        ["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=False
    )
    if tracked.returncode != 0:
        pytest.skip("not a git checkout: no list of tracked files to compare with")
    expected = {
        n for n in tracked.stdout.splitlines()
        if n.split("/", 1)[0] in SDIST_TOP and (ROOT / n).exists()
    }  # fmt: skip
    assert expected - names == set()
