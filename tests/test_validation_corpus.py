"""60 hand-made invalid patch files through ``imspatch check`` without an image (issue 10).

Each file is rejected by some image.  Without an image, ``check`` must call it
an error when every image rejects it, a warning (exit 0 unless ``--strict``)
when only some do, and never ``ok``.  Before issue 10, 19 of 60 such files came
out ``ok``.
"""

from __future__ import annotations

import io
import json
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from imspatch import cli

from .conftest import a, r, rm

EMOJI = "\U0001f600"
LOCATION = {"url": "http://a/b", "metadata": {}}


def v20(op: str, path: str, *value: Any) -> dict[str, Any]:
    return {op: path, **({"value": value[0]} if value else {})}


# (file name, rules, body, verdict, code of the first error or warning)
CORPUS: list[tuple[str, str, Any, str, str]] = [
    # --- parse errors: every image, as before
    ("op-unknown", "ims", [{"op": "move", "path": "/name", "value": "x"}], "error", "invalid_op"),
    ("op-upper", "ims", [{"op": "ADD", "path": "/k", "value": "x"}], "error", "invalid_op"),
    ("op-missing", "ims", [{"path": "/k", "value": "x"}, a("/k", "v")], "error", "missing_op"),
    ("path-missing", "ims", [{"op": "remove"}], "error", "missing_path"),
    ("path-number", "ims", [{"op": "remove", "path": 5}], "error", "path_not_string"),
    ("value-missing", "ims", [{"op": "replace", "path": "/name"}], "error", "missing_value"),
    ("pointer-no-slash", "ims", [rm("name")], "error", "pointer_no_slash"),
    ("pointer-trailing", "ims", [rm("/k/")], "error", "pointer_trailing_slash"),
    ("pointer-tilde", "ims", [rm("/k~2")], "error", "pointer_bad_escape"),
    ("pointer-deep", "ims", [r("/k/x", "v")], "error", "invalid_path"),
    ("tags-index", "glance", [a("/tags/-", "x")], "error", "invalid_path"),
    ("read-only-id", "ims", [r("/id", "x")], "error", "read_only"),
    ("read-only-status", "glance", [r("/status", "active")], "error", "read_only"),
    ("reserved", "glance", [a("/os_glance_x", "v")], "error", "reserved"),
    ("ims-name-space", "ims", [r("/name", " x")], "error", "IMG.0003"),
    ("ims-name-long", "ims", [r("/name", "n" * 129)], "error", "IMG.0002"),
    ("ims-description-lt", "ims", [r("/__description", "<b>")], "error", "IMG.0054"),
    ("custom-number", "ims", [a("/k", 5)], "error", "invalid_value"),
    ("visibility-enum", "glance", [r("/visibility", "everyone")], "error", "invalid_value"),
    ("min-ram-string", "glance", [r("/min_ram", "1")], "error", "invalid_value"),
    (
        "duplicate-op",
        "ims",
        '[{"op": "add", "op": "remove", "path": "/k"}]',
        "error",
        "duplicate_member",
    ),
    ("nan", "ims", '[{"op": "add", "path": "/k", "value": NaN}]', "error", "invalid_number"),
    ("object-body", "ims", {"op": "remove", "path": "/k"}, "error", "not_an_array"),
    ("not-objects", "ims", [["remove", "/k"]], "error", "operation_not_object"),
    # --- apply and finishing errors no image escapes (these came out "ok" before)
    ("remove-name", "ims", [rm("/name")], "error", "not_removable"),
    ("remove-tags", "glance", [rm("/tags")], "error", "not_removable"),
    ("remove-visibility", "glance", [rm("/visibility")], "error", "not_removable"),
    ("locations-add", "glance", [a("/locations/-", LOCATION)], "error", "locations_hidden"),
    ("locations-replace", "glance", [r("/locations", [LOCATION])], "error", "locations_hidden"),
    ("locations-empty", "ims", [r("/locations", [])], "error", "locations_empty"),
    ("locations-remove", "glance", [rm("/locations/0")], "error", "locations_hidden"),
    ("min-ram-negative", "glance", [r("/min_ram", -1)], "error", "negative_value"),
    ("min-disk-too-big", "glance", [r("/min_disk", 2**31)], "error", "out_of_range"),
    ("owner-non-admin", "glance", [r("/owner", "tenant-b")], "error", "owner_admin_only"),
    ("owner-add-ims", "ims", [a("/owner", "tenant-b")], "error", "owner_admin_only"),
    ("ims-remove-os-type", "ims", [rm("/__os_type")], "error", "protected"),
    ("ims-remove-min-ram", "ims", [rm("/min_ram")], "error", "protected"),
    ("v20-add-name", "ims", [v20("add", "/name", "x")], "error", "already_present"),
    (
        "v20-add-visibility",
        "glance",
        [v20("add", "/visibility", "public")],
        "error",
        "already_present",
    ),
    ("phantom-image-id", "glance", [r("/image_id", "x")], "error", "phantom_attribute"),
    (
        "tags-over-quota",
        "glance",
        [r("/tags", [str(i) for i in range(129)])],
        "error",
        "too_many_tags",
    ),
    (
        "properties-over-quota",
        "glance",
        [v20("add", f"/p{i}", "v") for i in range(129)],
        "error",
        "too_many_properties",
    ),
    ("remove-twice", "ims", [rm("/k"), rm("/k")], "error", "no_such_property"),
    (
        "add-remove-replace",
        "ims",
        [a("/k", "v"), rm("/k"), r("/k", "w")],
        "error",
        "no_such_property",
    ),
    # IMS: 403 unless the image has -1 already, and then -1 is 400: every image
    ("ims-min-ram-negative", "ims", [r("/min_ram", -1)], "error", "negative_value"),
    # --- what fails on some images only: a warning naming the condition
    ("replace-missing", "ims", [r("/backup_policy", "daily")], "warning", "no_such_property"),
    ("remove-custom", "ims", [rm("/backup_policy")], "warning", "no_such_property"),
    ("remove-description", "ims", [rm("/__description")], "warning", "no_such_property"),
    ("v20-add-existing", "ims", [v20("add", "/__description", "x")], "warning", "already_present"),
    ("ims-min-ram", "ims", [r("/min_ram", 1024)], "warning", "protected"),
    ("ims-os-type", "ims", [r("/__os_type", "Windows")], "warning", "protected"),
    ("ims-tags", "ims", [r("/tags", ["a", "b"])], "warning", "protected"),
    ("ims-visibility", "ims", [r("/visibility", "public")], "warning", "protected"),
    ("disk-format", "glance", [r("/disk_format", "qcow2")], "warning", "format_not_queued"),
    ("four-byte-name", "glance", [r("/name", "web" + EMOJI)], "warning", "four_byte_unicode"),
    ("four-byte-property", "glance", [r("/note", EMOJI)], "warning", "no_such_property"),
    ("four-byte-tag", "glance", [r("/tags", [EMOJI])], "warning", "four_byte_unicode"),
    ("four-byte-key", "glance", [a("/k" + EMOJI, "v")], "warning", "too_many_properties"),
    (
        "quota-v21",
        "glance",
        [a(f"/p{i}", "v") for i in range(129)],
        "warning",
        "too_many_properties",
    ),
    ("quota-one-more", "ims", [a("/backup_policy", "daily")], "warning", "too_many_properties"),
]


def test_the_corpus_is_sixty_distinct_files() -> None:
    assert len(CORPUS) == 60
    assert len({name for name, *_ in CORPUS}) == 60


def _check(tmp_path: Path, rules: str) -> dict[str, Any]:
    for name, rule_set, body, _, _ in CORPUS:
        if rule_set == rules:
            text = body if isinstance(body, str) else json.dumps(body)
            (tmp_path / rules).mkdir(exist_ok=True)
            (tmp_path / rules / f"{name}.json").write_text(text, encoding="utf-8")
    out = io.StringIO()
    status = cli.run(
        ["check", "--format", "json", "--rules", rules, str(tmp_path / rules)],
        stdout=out,
        stderr=io.StringIO(),
    )
    doc = json.loads(out.getvalue())
    assert status == 1
    return {Path(record["file"]).stem: record for record in doc["files"]}


def test_every_invalid_file_is_an_error_or_a_named_warning(tmp_path: Path) -> None:
    records = {**_check(tmp_path, "ims"), **_check(tmp_path, "glance")}
    verdicts: Counter[str] = Counter()
    for name, _, _, verdict, code in CORPUS:
        record = records[name]
        got = "error" if record["errors"] else "warning" if record["warnings"] else "ok"
        verdicts[got] += 1
        first = (record["errors"] or record["warnings"])[0] if got != "ok" else None
        assert (got, first and first["code"]) == (verdict, code), name
        for warning in record["warnings"]:
            assert warning["condition"], name
        assert record["valid"] is (got == "warning"), name
    assert verdicts == {"error": 45, "warning": 15}


@pytest.mark.parametrize("name", ["ims-min-ram", "disk-format", "quota-one-more"])
def test_warnings_fail_under_strict(tmp_path: Path, name: str) -> None:
    (entry,) = [entry for entry in CORPUS if entry[0] == name]
    path = tmp_path / f"{name}.json"
    path.write_text(json.dumps(entry[2]), encoding="utf-8")
    argv = ["check", "-q", "--rules", entry[1], str(path)]
    assert cli.run(argv, stdout=io.StringIO(), stderr=io.StringIO()) == 0
    assert cli.run([*argv, "--strict"], stdout=io.StringIO(), stderr=io.StringIO()) == 1
