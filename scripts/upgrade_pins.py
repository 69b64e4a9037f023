"""Re-resolve the pinned development tools and rewrite their pins in pyproject.toml.

    python3 scripts/upgrade_pins.py test=3.10 dev=3.10 docs=3.11   # as nox -s upgrade_pins
    python3 scripts/upgrade_pins.py --check test=3.10               # report, change nothing

Each argument names one of pyproject's extras whose every requirement is ``name==version``
(or another of the project's own extras, ``imspatch[proxy]``, upgraded as that extra) and
the Python its pins must install on. pip resolves the extra's names together, without
pins, for that Python (a dry run: nothing is installed), and each pin becomes the version
pip chose. Only these lines change; run the tests afterwards and commit.
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import tempfile
from pathlib import Path

PYPROJECT = Path(__file__).resolve().parent.parent / "pyproject.toml"
PIN = re.compile(r'"([A-Za-z0-9][A-Za-z0-9._-]*)==([^"]+)"')
#: one of the project's own extras (``"imspatch[proxy]"``), pinned where it is defined
OWN_EXTRA = re.compile(r'"imspatch\[[a-z0-9_,-]+\]"')


def extra_block(text: str, extra: str) -> re.Match[str]:
    """The ``extra = [...]`` list of [project.optional-dependencies] in pyproject's text."""
    match = re.search(rf"^{re.escape(extra)} = \[\n(.*?)^\]", text, re.MULTILINE | re.DOTALL)
    if match is None:
        raise SystemExit(f"pyproject.toml has no extra {extra!r} written as a list")
    return match


def resolve(names: list[str], python: str) -> dict[str, str]:
    """The versions pip picks for *names*, resolved together for *python* (X.Y)."""
    with tempfile.TemporaryDirectory() as tmp:
        report = Path(tmp) / "report.json"
        subprocess.run(  # noqa: S603 (our own interpreter, arguments from pyproject.toml)
            [sys.executable, "-m", "pip", "install", "--quiet", "--dry-run", "--ignore-installed",
             "--only-binary=:all:", "--python-version", python, "--target", str(Path(tmp) / "t"),
             "--report", str(report), *names],
            check=True,
        )  # fmt: skip
        installs = json.loads(report.read_text(encoding="utf-8"))["install"]
    return {canonical(i["metadata"]["name"]): i["metadata"]["version"] for i in installs}


def canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("extras", nargs="+", metavar="EXTRA=PYTHON")
    parser.add_argument("--check", action="store_true", help="report, do not write")
    args = parser.parse_args(argv)
    text = PYPROJECT.read_text(encoding="utf-8")
    changed = []
    for spec in args.extras:
        extra, _, python = spec.partition("=")
        block = extra_block(text, extra)
        lines = [line.strip().rstrip(",") for line in block.group(1).splitlines()]
        pins = [
            PIN.fullmatch(line)
            for line in lines
            if line and not line.startswith("#") and not OWN_EXTRA.fullmatch(line)
        ]
        if not all(pins):
            raise SystemExit(f'extra {extra!r}: every requirement must read "name==version"')
        names = [m.group(1) for m in pins if m]
        chosen = resolve(names, python)
        body = block.group(1)
        for name, old in (m.groups() for m in pins if m):
            new = chosen[canonical(name)]
            if new != old:
                changed.append(f"{extra}: {name} {old} -> {new}")
                body = body.replace(f'"{name}=={old}"', f'"{name}=={new}"')
        text = text[: block.start(1)] + body + text[block.end(1) :]
    print("\n".join(changed) or "every pin is the newest release")
    if changed and not args.check:
        PYPROJECT.write_text(text, encoding="utf-8")
        print("pyproject.toml rewritten: run `nox` (or `bash .ci/run`) and commit")
    return 0


if __name__ == "__main__":
    sys.exit(main())
