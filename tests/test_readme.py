"""The README's shell commands work as printed after the quickstart (issue 12, item 12).

The Python examples are doctests (``--doctest-glob=README.md``); this module takes the
shell commands: ```` ```sh ```` blocks hold one command a line, and transcripts (a block of
``$ command`` lines) show what each command prints. Every command must name its program
as a reader who just ran the two quickstart commands can run it (``.venv/bin/...``), and
every transcript command that needs no server is run, in order, in a scratch directory
holding a copy of ``examples/``, and must print what the README shows (``...`` elides).
"""

from __future__ import annotations

import doctest
import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

from .conftest import ROOT

FENCE = re.compile(r"^```(\w*)\n(.*?)^```$", re.MULTILINE | re.DOTALL)
#: programs a reader has before the venv, and what the quickstart puts in it
OWN_PROGRAMS = {"python3", "pip", "bash", "echo", "cat"}
VENV = ".venv/bin/"
#: run elsewhere: the quickstart and installs are what CI runs first, the tests are the
#: suite itself, and servers (a transcript that shows "listening on") and conform, which
#: needs one, have tests of their own (tests/clients, tests/glance_api, test_conformance)
NOT_RUN_HERE = re.compile(r"python3 -m venv|pip install|-m pytest|examples/server\.py|conform ")
SERVER_OUTPUT = "listening on "


def commands(text: str) -> list[tuple[str, str | None]]:
    """Each shell command of a Markdown text with the output its transcript shows, in order."""
    found: list[tuple[str, str | None]] = []
    for info, body in FENCE.findall(text):
        lines = body.splitlines()
        if info == "sh":
            found += [(c, None) for line in lines if (c := line.split("#", 1)[0].strip())]
        elif info == "" and lines and lines[0].startswith("$ "):
            command, output = "", []
            for line in lines:
                if command.endswith("\\"):
                    command += "\n" + line
                elif line.startswith("$ "):
                    if command:
                        found.append((command, "\n".join(output)))
                    command, output = line[2:], []
                else:
                    output.append(line)
            found.append((command, "\n".join(output)))
    return found


def programs(command: str) -> list[str]:
    """The program each part of a pipeline or ``&&`` chain starts."""
    words = shlex.split(command.replace("\\\n", " "), comments=True)
    starts, previous = [], "|"
    for word in words:
        if previous in {"|", "&&"}:
            starts.append(word)
        previous = word
    return starts


README_COMMANDS = commands((ROOT / "README.md").read_text(encoding="utf-8"))


def test_the_readme_has_commands_and_transcripts() -> None:
    assert len(README_COMMANDS) > 15
    assert sum(output is not None for _, output in README_COMMANDS) > 10


def test_every_command_names_a_program_the_reader_has() -> None:
    wrong = [
        (program, command)
        for command, _ in README_COMMANDS
        for program in programs(command)
        if program not in OWN_PROGRAMS and not program.startswith(VENV)
    ]
    assert wrong == [], "after the quickstart the venv is not active: write .venv/bin/NAME"


def test_the_commands_print_what_the_readme_shows(tmp_path: Path) -> None:
    shutil.copytree(ROOT / "examples", tmp_path / "examples")
    venv = str(Path(sys.executable).parent) + os.sep
    checker = doctest.OutputChecker()
    ran, failures = 0, []
    for command, want in README_COMMANDS:
        if want is None or NOT_RUN_HERE.search(command) or want.startswith(SERVER_OUTPUT):
            continue
        proc = subprocess.run(
            ["bash", "-c", command.replace(VENV, venv)],
            cwd=tmp_path,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,  # interleaved, as a terminal shows them
            text=True,
            timeout=60,
            check=False,
        )
        ran += 1
        if proc.returncode not in {0, 1} or not checker.check_output(
            want + "\n" if want else "", proc.stdout, doctest.ELLIPSIS
        ):
            failures.append(f"$ {command}\n(exit {proc.returncode})\n{proc.stdout}")
    assert ran > 10
    assert failures == [], "\n\n".join(failures)
