"""The ``imspatch`` command, in process (``cli.run``) and as the installed entry point."""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import pytest

import imspatch
from imspatch import cli, offline

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
SAMPLE_PATH = EXAMPLES / "ims-sample-image.json"
SAMPLE: dict[str, Any] = json.loads(SAMPLE_PATH.read_text())
RENAME20 = EXAMPLES / "ims-rename.v2.0-json-patch.json"
RENAME21 = EXAMPLES / "ims-rename.v2.1-json-patch.json"


class Result:
    def __init__(self, status: int, out: str, err: str) -> None:
        self.status = status
        self.out = out
        self.err = err

    @property
    def lines(self) -> list[str]:
        return self.out.splitlines()


def run(*argv: str | Path, stdin: Any = None) -> Result:
    out, err = io.StringIO(), io.StringIO()
    status = cli.run(
        [str(a) for a in argv],
        stdin=io.BytesIO(b"") if stdin is None else stdin,
        stdout=out,
        stderr=err,
    )
    assert "Traceback" not in out.getvalue() + err.getvalue()
    return Result(status, out.getvalue(), err.getvalue())


def write(path: Path, content: Any) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(content, bytes):
        path.write_bytes(content)
    elif isinstance(content, str):
        path.write_text(content, encoding="utf-8")
    else:
        path.write_text(json.dumps(content), encoding="utf-8")
    return path


def v21(op: str, path: str, *value: Any) -> dict[str, Any]:
    raw: dict[str, Any] = {"op": op, "path": path}
    if value:
        raw["value"] = value[0]
    return raw


def v20(op: str, path: str, *value: Any) -> dict[str, Any]:
    raw: dict[str, Any] = {op: path}
    if value:
        raw["value"] = value[0]
    return raw


# --- usage -------------------------------------------------------------------------


def test_help_lists_the_commands() -> None:
    result = run("--help")
    assert result.status == 0
    for command in ("check", "apply", "convert", "diff"):
        assert command in result.out
    assert result.err == ""


@pytest.mark.parametrize("command", ["check", "apply", "convert", "diff"])
def test_subcommand_help(command: str) -> None:
    result = run(command, "--help")
    assert result.status == 0
    assert f"usage: imspatch {command}" in result.out


def test_version() -> None:
    result = run("--version")
    assert result.status == 0
    assert result.out == f"imspatch {imspatch.__version__}\n"


@pytest.mark.parametrize(
    "argv",
    [
        [],
        ["frobnicate"],
        ["check"],
        ["check", "--media-type", "v3", "x.json"],
        ["check", "--rules", "nova", "x.json"],
        ["check", "--format", "xml", "x.json"],
        ["apply", "x.json"],
        ["convert", "x.json"],
        ["convert", "x.json", "--to", "v2.2"],
        ["diff", "a.json"],
    ],
)
def test_usage_errors_exit_2(argv: list[str]) -> None:
    result = run(*argv)
    assert result.status == 2
    assert result.out == ""
    assert "usage: imspatch" in result.err
    assert "error:" in result.err


def test_full_media_type_accepted(tmp_path: Path) -> None:
    patch = write(tmp_path / "p.json", [v21("replace", "/name", "x")])
    mt = "Application/OpenStack-Images-v2.1-JSON-Patch; charset=utf-8"
    assert run("check", "--media-type", mt, patch).status == 0


# --- check: results -----------------------------------------------------------------


def test_check_examples_reports_dialects() -> None:
    result = run("check", RENAME20, RENAME21)
    assert result.status == 0
    assert result.lines == [f"{RENAME20}: ok v2.0", f"{RENAME21}: ok v2.1"]
    assert result.err == "2 files checked: 2 valid, 0 invalid, 0 errors\n"


def test_check_reports_every_static_error(tmp_path: Path) -> None:
    patch = write(
        tmp_path / "p.json",
        [
            v21("replace", "/name", "ok"),
            v21("add", "/id", "x"),
            {"opp": "add"},
            v21("add", "/x y:z", 1),
            v21("replace", "/name", ""),
        ],
    )
    result = run("check", patch)
    assert result.status == 1
    assert result.lines == [
        f"{patch}:1:/id: 403 read_only Attribute 'id' is read-only.",
        f"{patch}:2:-: 400 missing_op Unable to find `op` in JSON Schema change. "
        "It must be one of the following: add, remove, replace.",
        f'{patch}:3:"/x y:z": 400 invalid_value Provided object does not match schema '
        "'image': 1 is not of type 'string'",
        f"{patch}:4:/name: 400 IMG.0003 The image name format is invalid.",
    ]
    assert result.err == "1 file checked: 0 valid, 1 invalid, 4 errors\n"


def test_check_body_level_error(tmp_path: Path) -> None:
    patch = write(tmp_path / "p.json", {"op": "add"})
    result = run("check", patch)
    assert result.status == 1
    assert result.lines == [
        f"{patch}:-:-: 400 not_an_array Request body must be a JSON array of operation objects."
    ]


def test_check_strict_json_via_library(tmp_path: Path) -> None:
    dup = write(tmp_path / "dup.json", '[{"op": "add", "op": "remove", "path": "/x"}]')
    nan = write(tmp_path / "nan.json", '[{"op": "add", "path": "/x", "value": NaN}]')
    result = run("check", "-q", dup, nan)
    assert result.status == 1
    assert [line.split(" ")[2] for line in result.lines] == ["duplicate_member", "invalid_number"]


def test_check_rules_and_image(tmp_path: Path) -> None:
    patch = write(tmp_path / "p.json", [v21("replace", "/min_ram", 512)])
    assert run("check", "-q", patch).status == 0  # protection is an apply-phase check
    result = run("check", "-q", "--image", SAMPLE_PATH, patch)
    assert result.lines == [
        f"{patch}:0:/min_ram: 403 protected Attribute min_ram cannot be changed in this API."
    ]
    assert run("check", "--rules", "glance", "--image", SAMPLE_PATH, patch).status == 0


def test_check_image_reports_409_and_413(tmp_path: Path) -> None:
    add = write(tmp_path / "add.json", [v20("add", "/__description", "x")])
    many = write(tmp_path / "many.json", [v21("add", f"/p{i}", "v") for i in range(130)])
    result = run("check", "-q", "--image", SAMPLE_PATH, add, many)
    assert result.status == 1
    assert result.lines == [
        f"{add}:0:/__description: 409 already_present Property __description already present.",
        f"{many}:-:-: 413 too_many_properties The limit has been exceeded on the number of "
        "allowed image properties. Attempted: 145, Maximum: 128",
    ]


def test_check_admin(tmp_path: Path) -> None:
    patch = write(tmp_path / "p.json", [v21("replace", "/owner", "someone")])
    argv = ["check", "-q", "--rules", "glance", "--image", str(SAMPLE_PATH), str(patch)]
    assert run(*argv).lines == [
        f"{patch}:0:/owner: 403 owner_admin_only Owner can't be updated by non admin."
    ]
    assert run(*argv, "--admin").status == 0


def test_check_explicit_media_type(tmp_path: Path) -> None:
    result = run("check", "--media-type", "v2.0", RENAME21)
    assert result.status == 1
    assert result.lines[0].startswith(f"{RENAME21}:0:-: 400 missing_op ")
    ok = run("check", "--media-type", "v2.1", RENAME21)
    assert ok.lines == [f"{RENAME21}: ok v2.1"]


def test_check_json_format(tmp_path: Path) -> None:
    good = write(tmp_path / "a.json", [v21("replace", "/name", "x")])
    bad = write(tmp_path / "b.json", [v20("replace", "/id", "x")])
    junk = write(tmp_path / "c.json", b"\xff")
    result = run("check", "--format", "json", tmp_path)
    assert result.status == 1
    assert result.err == ""
    assert json.loads(result.out) == {
        "files": [
            {"file": str(good), "dialect": "v2.1", "valid": True, "errors": [], "warnings": []},
            {
                "file": str(bad),
                "dialect": "v2.0",
                "valid": False,
                "errors": [
                    {
                        "status": 403,
                        "code": "read_only",
                        "message": "Attribute 'id' is read-only.",
                        "index": 0,
                        "pointer": "/id",
                    }
                ],
                "warnings": [],
            },
            {
                "file": str(junk),
                "dialect": None,
                "valid": False,
                "errors": [
                    {
                        "status": None,
                        "code": "not_utf8",
                        "message": "Not UTF-8: invalid byte at position 0.",
                        "index": None,
                        "pointer": None,
                    }
                ],
                "warnings": [],
            },
        ],
        "summary": {"files": 3, "valid": 1, "invalid": 2, "errors": 2, "warnings": 0},
    }


def test_check_json_format_of_an_empty_directory(tmp_path: Path) -> None:
    result = run("check", "--format", "json", tmp_path)
    assert result.status == 1
    assert json.loads(result.out)["files"] == [
        {
            "file": str(tmp_path),
            "dialect": None,
            "valid": False,
            "errors": [
                {
                    "status": None,
                    "code": "no_files",
                    "message": "No *.json files in this directory.",
                    "index": None,
                    "pointer": None,
                }
            ],
            "warnings": [],
        }
    ]


def test_check_quiet(tmp_path: Path) -> None:
    result = run("check", "-q", RENAME20)
    assert (result.status, result.out, result.err) == (0, "", "")


# --- check: dialect recognition -------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ([v21("replace", "/name", "x")], "ok v2.1"),
        ([v20("replace", "/name", "x")], "ok v2.0"),
        ([], "ok v2.0/v2.1 (empty patch)"),
        # a malformed op does not vote: the others decide, the library says what is wrong
        ([v21("add", "/x", "1"), {"value": 1}], ":1:-: 400 missing_op"),
        ([v20("add", "/x", "1"), v20("add", "/y", "1") | {"remove": "/y"}], ":1:-: 400 several"),
        ([v21("add", "/x", "1"), 5], ":1:-: 400 operation_not_object"),
        # an op of both shapes is read in the dialect the others show
        (
            [v21("replace", "/name", "1") | {"remove": "/y"}, v21("replace", "/name", "z")],
            "ok v2.1",
        ),
        ([v20("add", "/x", "1"), v21("add", "/y", "1")], ":1:-: - mixed_dialects"),
        ([v21("add", "/x", "1") | {"remove": "/y"}], ":-:-: - ambiguous_dialect"),
        (
            [{"value": 1}, {}],
            ":-:-: - unknown_dialect No operation has the shape of v2.0 or v2.1: "
            'operation 0 has none of op, path, add, remove, replace (its members: "value"); '
            "operation 1 is an empty object. Give --media-type to parse it as one.",
        ),
        ("5", ":-:-: 400 unexpected_body_type"),
    ],
)
def test_check_auto_dialect(tmp_path: Path, body: Any, expected: str) -> None:
    patch = write(tmp_path / "p.json", body)
    result = run("check", "-q" if expected.startswith(":") else "--no-progress", patch)
    first = result.lines[0]
    assert first.startswith(f"{patch}{expected}" if expected.startswith(":") else str(patch))
    assert expected in first
    assert result.status == (1 if expected.startswith(":") else 0)


def test_detect_dialect_function() -> None:
    assert cli.detect_dialect([v20("remove", "/x")]) == "v2.0"
    assert cli.detect_dialect({"a": 1}) is None
    with pytest.raises(cli._Problem, match=r"Mixed dialects: operation 1 is v2\.0, operation 0"):
        cli.detect_dialect([v21("remove", "/x"), v20("remove", "/x")])


# --- check: files that are not patches -------------------------------------------------


def test_check_file_problems_one_line_each(tmp_path: Path) -> None:
    write(tmp_path / "a-empty.json", b"")
    write(tmp_path / "b-bom.json", b"\xef\xbb\xbf[]")
    write(
        tmp_path / "c-latin1.json", '[{"op":"add","path":"/x","value":"caf\xe9"}]'.encode("latin-1")
    )
    write(tmp_path / "d-broken.json", "[{")
    write(tmp_path / "e-ok.json", [])
    (tmp_path / "f-loop.json").symlink_to("f-loop.json")
    (tmp_path / "g-dangling.json").symlink_to("nowhere")
    result = run("check", "-q", tmp_path, tmp_path / "missing.json")
    assert result.status == 1
    assert result.lines == [
        f"{tmp_path}/a-empty.json:-:-: - not_json Not JSON: the file is empty.",
        f"{tmp_path}/b-bom.json:-:-: - not_json Not JSON: the file starts with a byte order mark.",
        f"{tmp_path}/c-latin1.json:-:-: - not_utf8 Not UTF-8: invalid byte at position 37.",
        f"{tmp_path}/d-broken.json:-:-: - not_json Not JSON: Expecting property name enclosed "
        "in double quotes at line 1 column 3.",
        f"{tmp_path}/f-loop.json:-:-: - symlink_loop Too many levels of symbolic links",
        f"{tmp_path}/g-dangling.json:-:-: - not_found No such file or directory",
        f"{tmp_path}/missing.json:-:-: - not_found No such file or directory",
    ]


def test_check_too_large(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cli, "MAX_FILE_BYTES", 10)
    big = write(tmp_path / "big.json", [v21("remove", "/x")])
    small = write(tmp_path / "small.json", "[]")
    result = run("check", "-q", big, small, "-", stdin=io.BytesIO(b"[" + b" " * 20 + b"]"))
    assert result.lines == [
        f"{big}:-:-: - too_large File is larger than 10 bytes.",
        "-:-:-: - too_large Input is larger than 10 bytes.",
    ]


def test_check_unreadable(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    patch = write(tmp_path / "p.json", "[]")

    def deny(*args: Any, **kwargs: Any) -> Any:
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(os, "open", deny)
    result = run("check", "-q", patch)
    assert result.lines == [f"{patch}:-:-: - unreadable Permission denied"]


def test_check_unreadable_directory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    sub = tmp_path / "sub"
    write(sub / "a.json", "[]")

    def deny(path: Any) -> Any:
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(os, "scandir", deny)
    result = run("check", "-q", sub)
    assert result.lines == [f"{sub}:-:-: - unreadable Permission denied"]


def test_check_walk_is_sorted_recursive_and_json_only(tmp_path: Path) -> None:
    for name in ("b.json", "a/z.json", "a/y.JSON", "c/readme.txt", "a.json", "c/d/e.json"):
        write(tmp_path / name, "[]")
    notes = write(tmp_path / "notes.txt", "[]")  # named explicitly: checked anyway
    (tmp_path / "link").symlink_to(tmp_path / "c")
    (tmp_path / "c" / "d" / "up").symlink_to(tmp_path)  # a cycle
    os.mkfifo(tmp_path / "fifo.json")  # walked: not a regular file, skipped
    result = run("check", tmp_path, notes)
    names = [line.split(":")[0] for line in result.lines]
    assert names == [
        f"{tmp_path}/a/y.JSON",
        f"{tmp_path}/a/z.json",
        f"{tmp_path}/a.json",
        f"{tmp_path}/b.json",
        f"{tmp_path}/c/d/e.json",
        f"{tmp_path}/c/d/up",
        f"{tmp_path}/link/d/e.json",
        f"{tmp_path}/link/d/up",
        str(notes),
    ]
    assert f"{tmp_path}/c/d/up:-:-: - symlink_loop Directory cycle: this is {tmp_path} again." in (
        result.lines
    )
    assert result.status == 1


def test_check_stdin_binary_and_text() -> None:
    body = RENAME21.read_bytes()
    assert run("check", "-", stdin=io.BytesIO(body)).lines == ["-: ok v2.1"]
    assert run("check", "-", stdin=io.StringIO(body.decode())).lines == ["-: ok v2.1"]
    result = run("check", "-q", "-", stdin=io.BytesIO(b"\xff"))
    assert result.lines == ["-:-:-: - not_utf8 Not UTF-8: invalid byte at position 0."]


def test_check_undecodable_file_name(tmp_path: Path) -> None:
    raw = os.fsencode(tmp_path) + b"/\xff.json"
    with open(raw, "wb") as handle:
        handle.write(b"[{}]")
    result = run("check", "-q", tmp_path)
    assert result.lines == [
        f"{tmp_path}/\\xff.json:-:-: - unknown_dialect No operation has the shape of v2.0 or "
        "v2.1: operation 0 is an empty object. Give --media-type to parse it as one."
    ]


def test_check_bad_image(tmp_path: Path) -> None:
    image = write(tmp_path / "image.json", [])
    result = run("check", "--image", image, RENAME21)
    assert result.status == 1
    assert result.out == ""
    assert result.err == f"{image}:-:-: - invalid_image An image must be a JSON object.\n"


def test_check_internal_error_does_not_stop_the_run(monkeypatch: pytest.MonkeyPatch) -> None:
    calls = []
    review = offline.review

    def broken(*args: Any, **kwargs: Any) -> Any:
        calls.append(1)
        if len(calls) == 1:
            raise ZeroDivisionError("boom")
        return review(*args, **kwargs)

    monkeypatch.setattr(offline, "review", broken)
    result = run("check", RENAME20, RENAME21)
    assert result.status == 1
    assert result.lines == [
        f"{RENAME20}:-:-: - internal_error ZeroDivisionError: boom (please report this bug)",
        f"{RENAME21}: ok v2.1",
    ]


class FakeTTY(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_check_progress_bar_on_a_terminal(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for i in range(130):
        write(tmp_path / f"{i:03d}.json", "[]")
    monkeypatch.setattr(cli, "_PROGRESS_DELAY", 0.0)
    err = FakeTTY()
    status = cli.run(["check", str(tmp_path)], stdout=io.StringIO(), stderr=err)
    assert status == 0
    text = err.getvalue()
    assert "\r[" in text
    assert "/130 files" in text
    assert text.endswith("\r\x1b[K130 files checked: 130 valid, 0 invalid, 0 errors\n")
    quiet = FakeTTY()
    cli.run(["check", "--no-progress", str(tmp_path)], stdout=io.StringIO(), stderr=quiet)
    assert "\r" not in quiet.getvalue()
    not_a_tty = io.StringIO()
    cli.run(["check", str(tmp_path)], stdout=io.StringIO(), stderr=not_a_tty)
    assert "\r" not in not_a_tty.getvalue()


def test_check_many_files_in_one_process(tmp_path: Path) -> None:
    for i in range(2000):
        write(tmp_path / f"d{i % 10}" / f"{i}.json", [v21("replace", "/name", f"n{i}")])
    result = run("check", tmp_path)
    assert result.status == 0
    assert len(result.lines) == 2000
    assert result.lines[0] == f"{tmp_path}/d0/0.json: ok v2.1"


# --- apply --------------------------------------------------------------------------


def test_apply_quickstart() -> None:
    result = run("apply", "--image", SAMPLE_PATH, RENAME21)
    assert result.status == 0
    assert result.err == ""
    assert json.loads(result.out) == {**SAMPLE, "name": "test01"}
    assert list(json.loads(result.out)) == list(SAMPLE)  # key order kept
    assert result.out == json.dumps({**SAMPLE, "name": "test01"}, indent=2) + "\n"


def test_apply_v20_and_stdin() -> None:
    result = run("apply", "--image", SAMPLE_PATH, "-", stdin=io.BytesIO(RENAME20.read_bytes()))
    assert json.loads(result.out)["name"] == "test01"


def test_apply_error(tmp_path: Path) -> None:
    patch = write(tmp_path / "p.json", [v21("replace", "/name", "ok"), v21("remove", "/name")])
    result = run("apply", "--image", SAMPLE_PATH, patch)
    assert result.status == 1
    assert result.out == ""
    assert result.err == f"{patch}:1:/name: 403 not_removable Property name may not be removed.\n"


def test_apply_rules_and_admin(tmp_path: Path) -> None:
    patch = write(tmp_path / "p.json", [v21("replace", "/owner", "o2")])
    assert run("apply", "--image", SAMPLE_PATH, patch, "--rules", "glance").status == 1
    result = run("apply", "--image", SAMPLE_PATH, patch, "--rules", "glance", "--admin")
    assert json.loads(result.out)["owner"] == "o2"


def test_apply_non_ascii_output(tmp_path: Path) -> None:
    patch = write(tmp_path / "p.json", [v21("replace", "/name", "镜像")])
    result = run("apply", "--image", SAMPLE_PATH, patch)
    assert '"name": "镜像"' in result.out


@pytest.mark.parametrize(
    ("make", "code"),
    [
        (lambda p: p / "missing.json", "not_found"),
        (lambda p: p, "is_directory"),
        (lambda p: write(p / "x.json", "nope"), "not_json"),
    ],
)
def test_apply_bad_inputs(tmp_path: Path, make: Any, code: str) -> None:
    bad = make(tmp_path)
    result = run("apply", "--image", SAMPLE_PATH, bad)
    assert result.status == 1
    assert result.err.startswith(f"{bad}:-:-: - {code} ")
    result = run("apply", "--image", bad, RENAME21)
    assert result.status == 1
    assert result.err.startswith(f"{bad}:-:-: - {code} ")


# --- convert ------------------------------------------------------------------------


def convert(tmp_path: Path, body: Any, *argv: str | Path) -> Result:
    return run("convert", write(tmp_path / "p.json", body), *argv)


def test_convert_plain_operations_need_no_image(tmp_path: Path) -> None:
    body = [v21("replace", "/name", "x"), v21("remove", "/k"), v21("add", "/name", "y")]
    result = convert(tmp_path, body, "--to", "v2.0")
    assert result.status == 0
    assert json.loads(result.out) == [
        v20("replace", "/name", "x"),
        v20("remove", "/k"),
        v20("replace", "/name", "y"),  # core attributes always exist
    ]
    back = run("convert", "-", "--to", "v2.1", stdin=io.StringIO(result.out))
    assert json.loads(back.out) == [
        v21("replace", "/name", "x"),
        v21("remove", "/k"),
        v21("replace", "/name", "y"),
    ]


def test_convert_same_dialect_normalises(tmp_path: Path) -> None:
    result = convert(tmp_path, [{"path": "/ k", "op": "remove", "value": 1}], "--to", "v2.1")
    assert json.loads(result.out) == [v21("remove", "/ k")]


def test_convert_refuses_a_patch_no_image_accepts(tmp_path: Path) -> None:
    result = convert(tmp_path, [v21("remove", "/name")], "--to", "v2.0")
    assert result.status == 1
    assert result.err == (
        f"{tmp_path}/p.json:0:/name: 403 not_removable Property name may not be removed.\n"
    )


def test_convert_ambiguous_add_v21_to_v20(tmp_path: Path) -> None:
    body = [
        v21("add", "/k", "1"),
        v21("remove", "/j"),
        v21("add", "/j", "2"),
        v21("add", "/k", "3"),
    ]
    result = convert(tmp_path, body, "--to", "v2.0")
    assert result.status == 1
    assert result.out == ""
    assert result.err == (
        f"{tmp_path}/p.json:0:/k: - ambiguous v2.1 'add' of /k sets or overwrites; v2.0 needs "
        "'add' if the name is absent, 'replace' if it exists. Give --image to decide.\n"
    )


@pytest.mark.parametrize(
    ("image", "expected"),
    [
        ({}, [("add", "1"), ("remove",), ("add", "2"), ("replace", "3")]),
        ({"j": "0", "k": "0"}, [("replace", "1"), ("remove",), ("add", "2"), ("replace", "3")]),
    ],
)
def test_convert_v21_to_v20_with_image(tmp_path: Path, image: Any, expected: Any) -> None:
    paths = ["/k", "/j", "/j", "/k"]
    expected = [v20(op, path, *rest) for (op, *rest), path in zip(expected, paths, strict=True)]
    body = [
        v21("add", "/k", "1"),
        v21("remove", "/j"),
        v21("add", "/j", "2"),
        v21("add", "/k", "3"),
    ]
    if "j" not in image:
        body[1] = v21("add", "/j", "0")  # so that the patch applies
        expected[1] = v20("add", "/j", "0")
        expected[2] = v20("replace", "/j", "2")
    img = write(tmp_path / "image.json", {**SAMPLE, **image})
    result = convert(tmp_path, body, "--to", "v2.0", "--image", img)
    assert result.status == 0, result.err
    assert json.loads(result.out) == expected


def test_convert_v20_add_to_v21(tmp_path: Path) -> None:
    body = [v20("add", "/k", "1")]
    result = convert(tmp_path, body, "--to", "v2.1")
    assert result.status == 1
    assert " - ambiguous v2.0 'add' of /k fails (409) if the name exists" in result.err
    result = convert(tmp_path, body, "--to", "v2.1", "--image", SAMPLE_PATH)
    assert json.loads(result.out) == [v21("add", "/k", "1")]
    # a name the same patch removed first is known to be absent
    result = convert(tmp_path, [v20("remove", "/k"), v20("add", "/k", "1")], "--to", "v2.1")
    assert json.loads(result.out) == [v21("remove", "/k"), v21("add", "/k", "1")]


def test_convert_v20_add_of_existing_name_is_409(tmp_path: Path) -> None:
    result = convert(
        tmp_path, [v20("add", "/__description", "x")], "--to", "v2.1", "--image", SAMPLE_PATH
    )
    assert result.status == 1
    assert result.err == (
        f"{tmp_path}/p.json:0:/__description: 409 already_present "
        "Property __description already present.\n"
    )
    result = convert(tmp_path, [v20("add", "/name", "x")], "--to", "v2.1")
    assert result.err.endswith(":0:/name: 409 already_present Property name already present.\n")


def test_convert_reports_invalid_patches(tmp_path: Path) -> None:
    result = convert(tmp_path, [v21("add", "/id", "x"), v21("bad", "/x")], "--to", "v2.0")
    assert result.status == 1
    assert [line.split(" ")[2] for line in result.err.splitlines()] == ["read_only", "invalid_op"]
    result = convert(tmp_path, "{", "--to", "v2.0")
    assert " - not_json " in result.err


def test_convert_bad_image(tmp_path: Path) -> None:
    result = convert(tmp_path, [], "--to", "v2.0", "--image", tmp_path / "nope.json")
    assert result.status == 1
    assert "not_found" in result.err


# --- diff ---------------------------------------------------------------------------


def test_diff_prints_the_smallest_patch(tmp_path: Path) -> None:
    new = {**SAMPLE, "name": "renamed", "team": "blue"}
    del new["__description"]
    new_path = write(tmp_path / "new.json", new)
    result = run("diff", SAMPLE_PATH, new_path)
    assert result.status == 0
    expected = [
        v21("remove", "/__description"),
        v21("replace", "/name", "renamed"),
        v21("add", "/team", "blue"),
    ]
    assert json.loads(result.out) == expected
    applied = run("apply", "--image", SAMPLE_PATH, "-", stdin=io.StringIO(result.out))
    assert json.loads(applied.out) == new
    v20_result = run("diff", "--to", "v2.0", SAMPLE_PATH, new_path)
    assert json.loads(v20_result.out)[2] == v20("add", "/team", "blue")


def test_diff_names_every_forbidden_attribute(tmp_path: Path) -> None:
    new = {**SAMPLE, "name": "ok", "min_ram": 1, "status": "queued", "__os_type": "Windows"}
    new_path = write(tmp_path / "new.json", new)
    result = run("diff", SAMPLE_PATH, new_path)
    assert result.status == 1
    assert result.out == ""
    assert result.err.splitlines() == [
        f"{new_path}:-:/status: 403 read_only Attribute 'status' is read-only.",
        f"{new_path}:-:/min_ram: 403 protected Attribute min_ram cannot be changed in this API.",
        f"{new_path}:-:/__os_type: 403 protected Attribute __os_type cannot be changed in this "
        "API.",
    ]
    result = run("diff", "--rules", "glance", SAMPLE_PATH, new_path)
    assert result.err.splitlines() == [
        f"{new_path}:-:/status: 403 read_only Attribute 'status' is read-only."
    ]


def test_diff_bad_image(tmp_path: Path) -> None:
    result = run("diff", SAMPLE_PATH, write(tmp_path / "n.json", "[]"))
    assert result.status == 1
    assert "invalid_image" in result.err


def test_diff_identical_images() -> None:
    result = run("diff", SAMPLE_PATH, SAMPLE_PATH)
    assert (result.status, result.out) == (0, "[]\n")


# --- the installed entry point ----------------------------------------------------------


def _entry_point() -> list[str]:
    script = Path(sys.executable).parent / "imspatch"
    if script.exists():
        return [str(script)]
    found = shutil.which("imspatch")
    if found is None:
        pytest.skip("the imspatch entry point is not installed")
    return [found]


def sh(*argv: str | Path, stdin: bytes = b"") -> subprocess.CompletedProcess[bytes]:
    result = subprocess.run(
        [*_entry_point(), *map(str, argv)], input=stdin, capture_output=True, check=False
    )
    assert b"Traceback" not in result.stderr
    return result


def test_entry_point_quickstart() -> None:
    result = sh("apply", "--image", SAMPLE_PATH, RENAME21)
    assert result.returncode == 0
    assert json.loads(result.stdout) == {**SAMPLE, "name": "test01"}


def test_entry_point_exit_statuses(tmp_path: Path) -> None:
    assert sh("check", RENAME20, RENAME21).returncode == 0
    bad = sh("check", "-", stdin=b'[{"op": "replace", "path": "/id", "value": 1}]')
    assert bad.returncode == 1
    assert bad.stdout == b"-:0:/id: 403 read_only Attribute 'id' is read-only.\n"
    usage = sh("check", "--bogus")
    assert usage.returncode == 2
    assert b"usage: imspatch" in usage.stderr
    assert sh("--help").returncode == 0


def test_entry_point_python_m() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "imspatch", "check", RENAME21], capture_output=True, check=False
    )
    assert result.returncode == 0
    assert result.stdout.decode().endswith("ok v2.1\n")


def test_entry_point_closed_pipe(tmp_path: Path) -> None:
    for i in range(3000):
        write(tmp_path / f"{i:04d}.json", [])
    proc = subprocess.Popen(
        [*_entry_point(), "check", str(tmp_path)], stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    assert proc.stdout is not None
    proc.stdout.readline()
    proc.stdout.close()
    _, err = proc.communicate(timeout=60)
    assert b"Traceback" not in err
    assert proc.returncode in (0, 1)


def test_entry_point_non_utf8_locale(tmp_path: Path) -> None:
    patch = write(tmp_path / "镜像.json", [v21("replace", "/name", "镜像")])
    env = {**os.environ, "LC_ALL": "C", "PYTHONIOENCODING": "ascii", "PYTHONUTF8": "0"}
    args = [*_entry_point(), "apply", "--image", str(SAMPLE_PATH), str(patch)]
    result = subprocess.run(args, capture_output=True, check=False, env=env)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["name"] == "镜像"
    check = subprocess.run(
        [*_entry_point(), "check", str(patch)], capture_output=True, check=False, env=env
    )
    assert check.returncode == 0
    assert b"Traceback" not in check.stderr


def test_check_deeply_nested_and_huge_numbers(tmp_path: Path) -> None:
    deep = write(tmp_path / "deep.json", "[" * 100_000 + "]" * 100_000)
    huge = write(
        tmp_path / "huge.json", '[{"op": "add", "path": "/x", "value": ' + "1" * 5000 + "}]"
    )
    result = run("check", "-q", deep, huge)
    assert result.lines[0] == f"{deep}:-:-: 400 too_deep The request body is nested too deeply."
    assert result.lines[1].startswith(f"{huge}:-:-: - not_json Not JSON: ")
    assert len(result.lines) == 2


def test_explicit_auto_media_type() -> None:
    assert run("check", "--media-type", "auto", RENAME20).lines == [f"{RENAME20}: ok v2.0"]


def test_read_limits_on_streams_and_devices(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cli, "MAX_FILE_BYTES", 100_000)
    result = run("check", "-q", "/dev/zero")  # no size to go by: read in chunks
    assert result.lines == ["/dev/zero:-:-: - too_large File is larger than 100000 bytes."]


def test_read_a_pipe_in_chunks(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe.json"
    os.mkfifo(fifo)
    body = json.dumps([v21("add", f"/p{i:04d}", "x" * 100) for i in range(1000)]).encode()
    assert len(body) > 65536

    def writer() -> None:
        with fifo.open("wb") as handle:
            handle.write(body)

    thread = threading.Thread(target=writer)
    thread.start()
    result = run("check", "-q", "--rules", "glance", "--image", SAMPLE_PATH, fifo)
    thread.join()
    assert result.lines == [
        f"{fifo}:-:-: 413 too_many_properties The limit has been exceeded on the number of "
        "allowed image properties. Attempted: 1015, Maximum: 128"
    ]


def test_text_stdin_that_is_not_utf8() -> None:
    stream = io.TextIOWrapper(io.BytesIO(b'["\xff"]'), encoding="utf-8")
    result = run("check", "-q", "-", stdin=stream)
    assert result.lines == ["-:-:-: - not_utf8 Not UTF-8: invalid byte at position 2."]


def test_stderr_without_isatty(tmp_path: Path) -> None:
    class Closed(io.StringIO):
        def isatty(self) -> bool:
            raise ValueError("I/O operation on closed file")

    argv = ["check", str(RENAME20), str(RENAME21)]
    assert cli.run(argv, stdout=io.StringIO(), stderr=Closed()) == 0


class FailingStream:
    def __init__(self, exc: Exception) -> None:
        self.exc = exc

    def read(self, size: int = -1) -> str:
        raise self.exc


@pytest.mark.parametrize(
    ("exc", "line"),
    [
        (OSError(5, "Input/output error"), "-:-:-: - unreadable Input/output error"),
        (
            UnicodeDecodeError("utf-8", b"\xff", 0, 1, "invalid start byte"),
            "-:-:-: - not_utf8 Not UTF-8: invalid byte at position 0.",
        ),
    ],
)
def test_stdin_read_errors(exc: Exception, line: str) -> None:
    assert run("check", "-q", "-", stdin=FailingStream(exc)).lines == [line]


def test_walk_follows_symlinks_to_files(tmp_path: Path) -> None:
    target = write(tmp_path / "real" / "patch.txt", "[]")
    (tmp_path / "walk").mkdir()
    (tmp_path / "walk" / "a.json").symlink_to(target)  # named *.json: checked
    (tmp_path / "walk" / "b.txt").symlink_to(target)  # not *.json: skipped
    (tmp_path / "walk" / "c.txt").symlink_to("nowhere")  # dangling, not *.json: skipped
    result = run("check", tmp_path / "walk")
    assert result.lines == [f"{tmp_path}/walk/a.json: ok v2.0/v2.1 (empty patch)"]


def test_main_uses_the_process_streams(monkeypatch: pytest.MonkeyPatch, capsys: Any) -> None:
    monkeypatch.setattr(sys, "argv", ["imspatch", "check", str(RENAME21)])
    assert cli.main() == 0
    assert capsys.readouterr().out == f"{RENAME21}: ok v2.1\n"

    def interrupted(*args: Any, **kwargs: Any) -> int:
        raise KeyboardInterrupt

    monkeypatch.setattr(cli, "run", interrupted)
    assert cli.main() == 130


def test_conform_is_dispatched_to_the_conformance_runner() -> None:
    result = run("conform", "--help")
    assert result.status == 0
    assert "usage: imspatch conform" in result.out
    assert "--max-examples" in result.out
    missing_url = run("conform")
    assert missing_url.status == 2
    assert "URL" in missing_url.err
    unreachable = run("conform", "http://127.0.0.1:9/", "--timeout", "1")
    assert unreachable.status == 2
    assert "cannot test http://127.0.0.1:9/" in unreachable.err


# --- issue 12 item 5: defects of the command ----------------------------------------------


@pytest.mark.parametrize("command", ["check", "apply"])
def test_entry_point_stdout_closed(command: str) -> None:
    argv = [
        *_entry_point(),
        command,
        *(["--image", str(SAMPLE_PATH)] if command == "apply" else []),
    ]
    result = subprocess.run(
        ["sh", "-c", '"$@" >&-', "sh", *argv, str(RENAME21)], capture_output=True, check=False
    )
    assert result.returncode == 1
    assert result.stderr == b"imspatch: cannot write the output: standard output is closed\n"


@pytest.mark.parametrize(
    "argv",
    [
        ["check", str(RENAME21)],
        ["check", "--format", "json", str(RENAME21)],
        ["apply", "--image", str(SAMPLE_PATH), str(RENAME21)],
        ["diff", str(SAMPLE_PATH), str(SAMPLE_PATH)],
    ],
)
def test_entry_point_stdout_full(argv: list[str]) -> None:
    with open("/dev/full", "w") as full:
        result = subprocess.run(
            [*_entry_point(), *argv], stdout=full, stderr=subprocess.PIPE, check=False
        )
    assert result.returncode == 1
    assert result.stderr == b"imspatch: cannot write the output: No space left on device\n"


def test_stdout_failing_in_process() -> None:
    class Full(io.StringIO):
        def write(self, text: str) -> int:
            raise OSError(28, "No space left on device")

    err = io.StringIO()
    assert cli.run(["check", str(RENAME21)], stdout=Full(), stderr=err) == 1
    assert err.getvalue().startswith("imspatch: cannot write the output: No space left on device\n")


def test_each_file_is_checked_once(tmp_path: Path) -> None:
    patch = write(tmp_path / "d" / "a.json", [v21("replace", "/name", "x")])
    result = run(
        "check", "-", "-", patch, patch, tmp_path / "d" / "." / "a.json", tmp_path / "d",
        tmp_path / "d", "-", stdin=io.BytesIO(RENAME21.read_bytes()),
    )  # fmt: skip
    assert result.lines == ["-: ok v2.1", f"{patch}: ok v2.1"]
    assert result.err == "2 files checked: 2 valid, 0 invalid, 0 errors\n"


def test_an_empty_directory_does_not_pass(tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    write(tmp_path / "other" / "notes.txt", "[]")
    result = run("check", empty, tmp_path / "other")
    assert result.status == 1
    assert result.lines == [
        f"{empty}:-:-: - no_files No *.json files in this directory.",
        f"{tmp_path / 'other'}:-:-: - no_files No *.json files in this directory.",
    ]
    # a directory whose files were all named already is not empty
    patch = write(tmp_path / "full" / "a.json", [])
    assert run("check", "-q", patch, tmp_path / "full").status == 0


@pytest.mark.parametrize(
    "argv",
    [
        ["check", "--bogus", "x.json"],
        ["apply", "--image", "i.json", "p.json", "--bogus"],
        ["convert", "p.json", "--to", "v2.0", "--bogus"],
        ["diff", "a.json", "b.json", "--bogus"],
    ],
)
def test_an_unknown_option_shows_the_subcommands_usage(argv: list[str]) -> None:
    result = run(*argv)
    assert result.status == 2
    assert result.err.startswith(f"usage: imspatch {argv[0]} ")
    assert result.err.endswith(f"imspatch {argv[0]}: error: unrecognized arguments: --bogus\n")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('{"name": "a", "x": NaN}', "Not JSON: NaN is not a JSON number."),
        ('{"name": "a", "x": -Infinity}', "Not JSON: -Infinity is not a JSON number."),
        ('{"name": "a", "x": 1e400}', "Not JSON: 1e400 is beyond the range of a double."),
        ('{"name": "a", "name": "b"}', 'Not JSON: duplicate member name "name".'),
    ],
)
def test_images_are_strict_json(tmp_path: Path, text: str, message: str) -> None:
    image = write(tmp_path / "image.json", text)
    for argv in (
        ["apply", "--image", image, RENAME21],
        ["convert", RENAME21, "--to", "v2.0", "--image", image],
        ["diff", image, SAMPLE_PATH],
        ["check", "--image", image, RENAME21],
    ):
        result = run(*argv)
        assert result.status == 1
        assert result.out == ""
        assert result.err == f"{image}:-:-: - not_json {message}\n"


def test_what_apply_prints_diff_reads(tmp_path: Path) -> None:
    image = write(tmp_path / "image.json", {**SAMPLE, "size": 1.5e308, "min_disk": -0.0})
    applied = run("apply", "--image", image, RENAME21)
    new = write(tmp_path / "new.json", applied.out)
    result = run("diff", image, new)
    assert (result.status, json.loads(result.out)) == (0, [v21("replace", "/name", "test01")])


@pytest.mark.parametrize(
    ("text", "line"),
    [
        (
            '[{"add": "/a", "remove": "/b"}, {"value": 1}]',
            "-:-:-: - unknown_dialect No operation has the shape of v2.0 or v2.1: operation 0 "
            'has several of add, remove, replace ("add", "remove"); operation 1 has none of op, '
            'path, add, remove, replace (its members: "value"). Give --media-type to parse it as '
            "one.",
        ),
        # the same error in either dialect: the dialect does not matter
        (
            '[{"add": "/a", "remove": "/b", "add": "/c"}]',
            "-:-:-: 400 duplicate_member Malformed JSON in request body: duplicate member name "
            '"add".',
        ),
        ('[5, "x"]', "-:0:-: 400 operation_not_object Operations must be JSON objects."),
        (
            '[{"op": "add", "path": "/x", "value": "1", "remove": "/y"}]',
            "-:-:-: - ambiguous_dialect Every operation fits both v2.0 and v2.1 (operation 0 has "
            '"op", "path" and "remove"); give --media-type.',
        ),
    ],
)
def test_an_unknown_dialect_says_what_was_seen(text: str, line: str) -> None:
    result = run("check", "-q", "-", stdin=io.StringIO(text))
    assert result.lines[0] == line
    assert result.status == 1


# --- issue 10: what fails on every image, what on some ------------------------------------


def test_check_without_image_reports_what_no_image_accepts(tmp_path: Path) -> None:
    files = {
        "remove-name": [v21("remove", "/name")],
        "locations": [v21("add", "/locations/-", {"url": "http://a", "metadata": {}})],
        "min-ram": [v21("replace", "/min_ram", -1)],
    }
    paths = [write(tmp_path / f"{name}.json", body) for name, body in files.items()]
    result = run("check", "-q", "--rules", "glance", *paths)
    assert result.status == 1
    assert result.lines == [
        f"{paths[0]}:0:/name: 403 not_removable Property name may not be removed.",
        f"{paths[1]}:0:/locations/-: 403 locations_hidden It's not allowed to add locations if "
        "locations are invisible.",
        f"{paths[2]}:0:/min_ram: 400 negative_value Invalid value '-1' for parameter 'min_ram': "
        "Cannot be a negative value",
    ]


def test_check_warnings_name_the_condition_and_exit_0(tmp_path: Path) -> None:
    patch = write(tmp_path / "p.json", [v21("replace", "/backup", "daily")])
    result = run("check", patch)
    assert result.status == 0
    assert result.lines == [
        f"{patch}:0:/backup: warning 409 no_such_property Property backup does not exist. "
        '(if the image has no "backup")'
    ]
    assert result.err == "1 file checked: 1 valid, 0 invalid, 0 errors, 1 warning\n"
    strict = run("check", "--strict", patch)
    assert strict.status == 1
    assert strict.err == "1 file checked: 0 valid, 1 invalid, 0 errors, 1 warning\n"
    # with the image, the engine decides: no warnings, only what happens
    assert run("check", "--image", SAMPLE_PATH, patch).lines == [
        f"{patch}:0:/backup: 409 no_such_property Property backup does not exist."
    ]


def test_check_ignore_warning_drops_only_those_warnings(tmp_path: Path) -> None:
    body = [v21("add", "/k", "v"), v21("replace", "/backup", "daily")]
    patch = write(tmp_path / "p.json", body)
    quota = (
        f"{patch}:-:-: warning 413 too_many_properties The limit has been exceeded on the "
        "number of allowed image properties. Attempted: 129, Maximum: 128 (if the image has no "
        '"k" and the image has more than 126 other properties)'
    )
    missing = (
        f"{patch}:1:/backup: warning 409 no_such_property Property backup does not exist. "
        '(if the image has no "backup")'
    )
    assert run("check", patch).lines == [missing, quota]
    ignored = run("check", "--strict", "--ignore-warning", "too_many_properties", patch)
    assert (ignored.status, ignored.lines) == (1, [missing])
    listed = ["--ignore-warning", "too_many_properties,no_such_property"]
    repeated = ["--ignore-warning", "too_many_properties", "--ignore-warning", "no_such_property"]
    for ignoring in (listed, repeated):
        both = run("check", "--strict", *ignoring, patch)
        assert (both.status, both.lines) == (0, [f"{patch}: ok v2.1"])
        assert both.err == "1 file checked: 1 valid, 0 invalid, 0 errors\n"
    # errors are always reported
    removal = write(tmp_path / "r.json", [v21("remove", "/name")])
    kept = run("check", "--ignore-warning", "not_removable", removal)
    assert (kept.status, kept.lines) == (
        1,
        [f"{removal}:0:/name: 403 not_removable Property name may not be removed."],
    )
    unknown = run("check", "--ignore-warning", "too_many_propertys", patch)
    assert unknown.status == 2
    assert unknown.err.startswith("usage: imspatch check")
    assert "unknown error code 'too_many_propertys'" in unknown.err


def test_check_warnings_in_json(tmp_path: Path) -> None:
    patch = write(tmp_path / "p.json", [v21("replace", "/min_ram", 512)])
    doc = json.loads(run("check", "--format", "json", patch).out)
    assert doc["files"][0]["warnings"] == [
        {
            "status": 403,
            "code": "protected",
            "message": "Attribute min_ram cannot be changed in this API.",
            "index": 0,
            "pointer": "/min_ram",
            "condition": 'the image\'s "min_ram" is missing or not 512',
        }
    ]
    assert doc["summary"] == {"files": 1, "valid": 1, "invalid": 0, "errors": 0, "warnings": 1}
    strict = json.loads(run("check", "--format", "json", "--strict", patch).out)
    assert strict["files"][0]["valid"] is False


def test_check_github_format(tmp_path: Path) -> None:
    patch = write(
        tmp_path / "a,b:c%.json",
        '[\n  {"op": "replace", "path": "/name", "value": "ok"},\n'
        '  {"op": "replace", "path": "/x:y", "value": "v"},\n'
        '  {"op": "remove",\n   "path": "/name"}\n]\n',
    )
    result = run("check", "--format", "github", patch)
    assert result.status == 1
    shown = str(patch).replace("%", "%25").replace(":", "%3A").replace(",", "%2C")
    assert result.lines == [
        f"::error file={shown},line=4,title=imspatch 403 not_removable::operation 2 (/name): "
        "Property name may not be removed.",
        f"::warning file={shown},line=3,title=imspatch 409 no_such_property::operation 1 "
        '("/x:y"): Property x:y does not exist. (if the image has no "x:y")',
    ]
    assert result.err == "1 file checked: 0 valid, 1 invalid, 1 error, 1 warning\n"


def test_github_escaping() -> None:
    finding = {
        "status": 400, "code": "c", "message": "100% bad\r\nreally", "index": None,
        "pointer": None,
    }  # fmt: skip
    assert cli.github_command("error", "d,1/f:2.json", finding) == (
        "::error file=d%2C1/f%3A2.json,line=1,title=imspatch 400 c::100%25 bad really"
    )
    assert cli._escape_data("a%b\r\nc") == "a%25b%0D%0Ac"
    assert cli._escape_property("a%b\r\n:,") == "a%25b%0D%0A%3A%2C"


def test_check_gitlab_format(tmp_path: Path) -> None:
    bad = write(tmp_path / "bad.json", [v21("remove", "/name")])
    twice = write(
        tmp_path / "twice.json",
        [v21("remove", "/k"), v21("add", "/k", "v"), v21("remove", "/k"), v21("remove", "/k")],
    )
    fine = write(tmp_path / "fine.json", [v21("replace", "/name", "x")])
    result = run("check", "-q", "--format", "gitlab", bad, twice, fine)
    assert result.status == 1
    issues = json.loads(result.out)
    assert [(i["check_name"], i["severity"], i["location"]) for i in issues] == [
        ("imspatch/not_removable", "major", {"path": str(bad), "lines": {"begin": 1}}),
        ("imspatch/no_such_property", "major", {"path": str(twice), "lines": {"begin": 1}}),
        ("imspatch/no_such_property", "minor", {"path": str(twice), "lines": {"begin": 1}}),
    ]
    assert issues[0]["description"] == (
        "imspatch 403 not_removable: operation 0 (/name): Property name may not be removed."
    )
    assert len({i["fingerprint"] for i in issues}) == 3
    # stable: the same run gives the same fingerprints
    assert json.loads(run("check", "-q", "--format", "gitlab", bad, twice).out)[0] == issues[0]
    empty = run("check", "-q", "--format", "gitlab", fine)
    assert (empty.status, empty.out) == (0, "[]\n")


def test_check_jobs_output_does_not_depend_on_n(tmp_path: Path) -> None:
    bodies = [
        [v21("replace", "/name", "x")],
        [v21("remove", "/name")],
        [v21("replace", "/k", "v")],
        "[{",
        [v20("add", "/k", "v")],
    ]
    for i in range(150):
        write(tmp_path / f"d{i % 7}" / f"{i:03d}.json", bodies[i % len(bodies)])
    (tmp_path / "empty").mkdir()
    outputs = {}
    for jobs in ("1", "2", "3"):
        for fmt in ("text", "json"):
            result = run(
                "check", "--jobs", jobs, "--format", fmt, tmp_path, "-", tmp_path / "empty",
                stdin=io.BytesIO(RENAME20.read_bytes()),
            )  # fmt: skip
            outputs[jobs, fmt] = (result.status, result.out, result.err)
    for fmt in ("text", "json"):
        assert outputs["1", fmt] == outputs["2", fmt] == outputs["3", fmt]
    status, out, err = outputs["1", "text"]
    assert status == 1
    # per 5 files: ok, error, warning, error, 2 warnings; then stdin and the empty directory
    assert out.count("\n") == 30 * 6 + 2
    assert out.endswith(
        f"-: ok v2.0\n{tmp_path / 'empty'}:-:-: - no_files No *.json files in this directory.\n"
    )
    assert err == "152 files checked: 91 valid, 61 invalid, 61 errors, 90 warnings\n"


def test_check_jobs_argument() -> None:
    assert run("check", "--jobs", "-1", RENAME21).status == 2
    assert run("check", "--jobs", "x", RENAME21).status == 2
    assert run("check", "--jobs", "0", RENAME21).lines == [f"{RENAME21}: ok v2.1"]


# --- --format json everywhere, one schema ---------------------------------------------------


def _output_schema() -> Any:
    jsonschema = pytest.importorskip("jsonschema")
    schema = json.loads((ROOT / "schemas" / "cli-output.json").read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


def test_json_output_of_every_subcommand_follows_the_schema(tmp_path: Path) -> None:
    validator = _output_schema()
    bad = write(tmp_path / "bad.json", [v21("remove", "/name"), v21("replace", "/id", 1)])
    warn = write(tmp_path / "warn.json", [v21("replace", "/min_ram", 512)])
    new = write(tmp_path / "new.json", {**SAMPLE, "min_ram": 1})
    runs = {
        "check": run("check", "--format", "json", RENAME20, bad, warn, tmp_path / "nope.json"),
        "apply": run("apply", "--format", "json", "--image", SAMPLE_PATH, RENAME21),
        "apply-bad": run("apply", "--format", "json", "--image", SAMPLE_PATH, bad),
        "apply-no-image": run("apply", "--format", "json", "--image", tmp_path / "x", bad),
        "convert": run("convert", "--format", "json", RENAME21, "--to", "v2.0"),
        "convert-bad": run("convert", "--format", "json", bad, "--to", "v2.0"),
        "diff": run("diff", "--format", "json", SAMPLE_PATH, SAMPLE_PATH),
        "diff-bad": run("diff", "--format", "json", SAMPLE_PATH, new),
    }
    for name, result in runs.items():
        doc = json.loads(result.out)
        errors = sorted(validator.iter_errors(doc), key=str)
        assert not errors, (name, [e.message for e in errors])
        assert result.status == (0 if name in ("apply", "convert", "diff") else 1), name
        assert result.err == "", name
    assert json.loads(runs["apply"].out)["image"]["name"] == "test01"
    assert json.loads(runs["convert"].out)["patch"] == [v20("replace", "/name", "test01")]
    assert json.loads(runs["diff"].out) == {"valid": True, "errors": [], "patch": []}
    assert json.loads(runs["apply-bad"].out) == {
        "valid": False,
        "errors": [
            {
                "file": str(bad),
                "status": 403,
                "code": "read_only",
                "message": "Attribute 'id' is read-only.",
                "index": 1,
                "pointer": "/id",
            }
        ],
        "image": None,
    }
    assert json.loads(runs["diff-bad"].out)["errors"][0]["code"] == "protected"


def test_the_schema_rejects_what_it_should() -> None:
    validator = _output_schema()
    warning = {"status": 409, "code": "c", "message": "m", "index": 0, "pointer": "/k"}
    record = {"file": "f", "dialect": "v2.1", "valid": True, "errors": [], "warnings": [warning]}
    summary = {"files": 1, "valid": 1, "invalid": 0, "errors": 0, "warnings": 1}
    assert not validator.is_valid({"files": [record], "summary": summary})  # no condition
    warning["condition"] = "the image has no k"
    assert validator.is_valid({"files": [record], "summary": summary})
    assert not validator.is_valid({"valid": True, "errors": [], "image": None, "patch": None})


def test_the_cli_benchmark_runs() -> None:
    """benchmarks/bench_cli.py at a tiny size (no timing is asserted)."""
    result = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "bench_cli.py"), "--files", "100",
         "--rounds", "1", "--runs", "0", "--jobs", "1,2"],
        capture_output=True, text=True, check=False, cwd=ROOT,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "check -q --jobs 2: 100 files" in result.stdout
