"""imspatch.conformance (issue 5): the runner, its reports, the HTTP adapter, the strategies."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import imspatch
from imspatch import GLANCE, IMS, PatchError, conformance
from imspatch import strategies as ims_st

from .conftest import ROOT

SMALL = GLANCE.replace(name="small", tag_quota=2, property_quota=3)
FAST = settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))


def engine(rules: imspatch.Rules = IMS, admin: bool = False) -> conformance.SystemUnderTest:
    """The engine itself as a system under test: the image is unchanged on an error."""

    def sut(media_type: str | None, body: bytes, image: dict[str, Any]) -> tuple[int, Any]:
        try:
            return 200, imspatch.patch_image(
                image, body, media_type=media_type, rules=rules, admin=admin
            )
        except PatchError as e:
            return e.status, image

    return sut


def ops_of(body: bytes) -> list[Any]:
    doc = json.loads(body)
    assert isinstance(doc, list)
    return doc


# --- the runner against the engine ------------------------------------------------------


@pytest.mark.parametrize(
    ("rules", "admin"), [(IMS, False), (GLANCE, False), (GLANCE, True), (SMALL, False)]
)
def test_the_engine_conforms_to_itself(rules: imspatch.Rules, admin: bool) -> None:
    summary = conformance.check(
        engine(rules, admin), rules=rules, admin=admin, max_examples=30, seed=5
    )
    assert summary.examples == 30
    assert summary.seed == 5
    assert sum(summary.statuses.values()) == 30
    assert 200 in summary.statuses
    assert "30 requests (seed 5)" in str(summary)


def test_what_a_server_owns_is_ignored_and_tags_are_a_set() -> None:
    """Timestamps, ids, links and tag order are the server's business."""

    def server(media_type: str | None, body: bytes, image: dict[str, Any]) -> tuple[Any, ...]:
        stored = {**image, "id": "server-id", "created_at": "now", "updated_at": "now"}
        stored["self"] = "/v2/images/server-id"
        status, after = engine()(media_type, body, stored)
        after = {**after, "updated_at": "later", "checksum": "abc"}
        after["tags"] = list(reversed(after.get("tags", [])))
        return status, after, stored

    conformance.check(server, max_examples=40, seed=3)


# --- the runner finds and shrinks what is wrong ------------------------------------------


def test_a_server_without_the_ims_protection_is_caught() -> None:
    """It checks IMS names and descriptions, but lets visibility, tags, ... change."""
    unprotected = IMS.replace(writable=None)
    with pytest.raises(conformance.NonConformance) as info:
        conformance.check(engine(unprotected), max_examples=300, seed=1)
    found = info.value.mismatch
    assert (found.expected_status, found.actual_status) == (403, 200)
    assert found.expected_error is not None
    assert found.expected_error.code == "protected"
    (op,) = ops_of(found.body)  # shrunk to the one operation that matters
    path = op.get("path") or op.get("add") or op.get("replace")
    assert path == found.expected_error.pointer
    report = str(info.value)
    assert "(rules ims, admin off, seed 1)" in report
    assert "smallest failing request" in report
    assert f"  body:       {found.body.decode()}" in report
    assert "expected: 403 protected (operation 0): Attribute " in report
    assert "actual:   200" in report
    assert f"{path[1:]}: " in report  # the image difference is named


def test_a_server_that_says_400_for_409_is_caught() -> None:
    def wrong(media_type: str | None, body: bytes, image: dict[str, Any]) -> tuple[int, Any]:
        status, after = engine()(media_type, body, image)
        return (400 if status == 409 else status), after

    with pytest.raises(AssertionError) as info:  # NonConformance is an AssertionError
        conformance.check(wrong, max_examples=300, seed=3)
    found = info.value.mismatch  # type: ignore[attr-defined]
    assert (found.expected_status, found.actual_status) == (409, 400)
    assert found.expected_error.code in ("no_such_property", "already_present")
    assert len(ops_of(found.body)) == 1
    assert "expected: 409" in str(info.value)
    assert "actual:   400" in str(info.value)


def test_a_server_that_is_not_all_or_nothing_is_caught() -> None:
    """It answers the right error but keeps the operations before the failing one."""

    def partial(media_type: str | None, body: bytes, image: dict[str, Any]) -> tuple[int, Any]:
        status, after = engine()(media_type, body, image)
        if status != 200:
            try:
                errors = list(imspatch.iter_errors(body, media_type=media_type, image=image))
                ops = imspatch.parse_patch(body, media_type=media_type)
                after = imspatch.apply_patch(image, ops[: errors[0].index])
            except (PatchError, TypeError, IndexError):
                pass
        return status, after

    with pytest.raises(conformance.NonConformance) as info:
        conformance.check(partial, max_examples=300, seed=1)
    found = info.value.mismatch
    assert found.expected_status == found.actual_status != 200
    assert len(ops_of(found.body)) == 2  # one that applies, one that fails
    assert "image (must be unchanged) differs" in str(info.value)


def test_a_crashing_server_is_reported() -> None:
    def crash(media_type: str | None, body: bytes, image: dict[str, Any]) -> tuple[int, Any]:
        if media_type == ims_st.V20:
            raise RuntimeError("boom")
        return engine()(media_type, body, image)

    with pytest.raises(conformance.NonConformance) as info:
        conformance.check(crash, max_examples=100, seed=1)
    assert info.value.mismatch.media_type == ims_st.V20
    assert "raised RuntimeError: boom" in str(info.value)


def test_differences() -> None:
    differences = conformance.differences
    assert differences({"a": 1, "tags": ["x", "y"]}, {"a": 1.0, "tags": ["y", "x"]}) == []
    assert differences({"a": 1}, {"a": True}) == ["a: 1 / true"]
    assert differences({"a": "x"}, {"b": "x"}) == ['a: "x" / (absent)', 'b: (absent) / "x"']
    assert differences({"updated_at": 1, "id": 2}, {}) == []
    assert differences({"k": 1}, {}, ignored={"k"}) == []
    assert differences({"tags": ["a"]}, {"tags": ["a"]}, set_valued=()) == []
    assert differences({"tags": ["a", "b"]}, {"tags": ["b", "a"]}, set_valued=()) != []


# --- the strategies the runner draws from -------------------------------------------------


@pytest.mark.property
@FAST
@given(st.data(), st.sampled_from((IMS, GLANCE, SMALL)), st.booleans())
def test_labelled_errors_get_their_status_and_code(
    data: st.DataObject, rules: imspatch.Rules, admin: bool
) -> None:
    media_type, body, image, status, code = data.draw(
        ims_st.labelled_errors(rules=rules, admin=admin)
    )
    with pytest.raises(PatchError) as info:
        imspatch.patch_image(image, body, media_type=media_type, rules=rules, admin=admin)
    assert (info.value.status, info.value.code) == (status, code)


@pytest.mark.property
@FAST
@given(st.data(), st.sampled_from((IMS, GLANCE, SMALL)), st.booleans())
def test_applicable_requests_succeed(
    data: st.DataObject, rules: imspatch.Rules, admin: bool
) -> None:
    media_type, body, image = data.draw(ims_st.requests(rules=rules, admin=admin, applicable=True))
    imspatch.patch_image(image, body, media_type=media_type, rules=rules, admin=admin)


@pytest.mark.property
@FAST
@given(st.data(), st.sampled_from((IMS, GLANCE)))
def test_applicable_operations_apply_one_at_a_time(
    data: st.DataObject, rules: imspatch.Rules
) -> None:
    image = data.draw(ims_st.images(rules=rules))
    op = data.draw(ims_st.operations(rules=rules, image=image, applicable=True))
    imspatch.apply_patch(image, [op], rules=rules)


def test_applicable_needs_an_image() -> None:
    @given(st.data())
    def draw(data: st.DataObject) -> None:
        data.draw(ims_st.operations(applicable=True))

    with pytest.raises(ValueError, match="needs an image"):
        draw()


# --- HTTP: the example server ---------------------------------------------------------------

SERVER = ROOT / "examples" / "server.py"


def serve(*args: str) -> Iterator[str]:
    if not SERVER.exists():
        pytest.skip("examples/server.py is not there yet")
    proc = subprocess.Popen(
        [sys.executable, str(SERVER), "0", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        if not line.startswith("listening on "):
            proc.kill()
            pytest.fail(f"the example server said {line!r}: {proc.communicate()[1][-2000:]}")
        yield line.split()[-1]
    finally:
        proc.terminate()
        proc.communicate(timeout=10)


@pytest.fixture(scope="module")
def ims_server() -> Iterator[str]:
    yield from serve()


def test_the_example_server_conforms(ims_server: str) -> None:
    system = conformance.HTTPSystem(ims_server)
    summary = conformance.check(system, max_examples=25, seed=7)
    assert summary.examples == 25
    assert system.leaked == []


def test_the_adapter_creates_patches_reads_and_deletes(ims_server: str) -> None:
    system = conformance.HTTPSystem(ims_server + "/v2/")  # a /v2 suffix is fine too
    body = b'[{"op": "replace", "path": "/name", "value": "renamed"}]'
    image = {"id": "x", "name": "before", "status": "active", "protected": True, "p": None}
    status, after, stored = system(ims_st.V21, body, image)
    assert status == 200
    assert (stored["name"], after["name"]) == ("before", "renamed")
    assert stored["id"] != "x"  # the server's id; read-only keys are not sent
    assert stored["status"] == "queued"
    assert stored["protected"] is False  # so that it can be deleted
    assert "p" not in stored  # null custom properties are not sent
    status, _ = system.request("GET", f"/v2/images/{stored['id']}")
    assert status == 404  # deleted
    status, after, stored = system(None, body, image)  # no Content-Type header at all
    assert status == 415
    assert after == stored


def test_conform_command(ims_server: str, capsys: pytest.CaptureFixture[str]) -> None:
    args = [ims_server, "--max-examples", "15", "--seed", "1"]
    assert conformance.main(args) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"OK {ims_server} agrees with imspatch (rules ims): 15 requests (seed 1)")


def test_conform_command_finds_a_server_with_other_rules(
    ims_server: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """The server runs the IMS rules; it is checked against Glance's, as an admin."""
    args = [ims_server, "--rules", "glance", "--admin", "--max-examples", "100", "--seed", "1"]
    assert conformance.main(args) == 1
    out = capsys.readouterr().out
    assert out.startswith(f"FAIL {ims_server}\n")
    assert "(rules glance, admin on, seed 1)" in out
    assert "the smallest failing request found" in out
    assert "  as stored:  {" in out
    expected = out.split("\nexpected: ", 1)[1][:3]
    actual = out.split("\nactual:   ", 1)[1][:3]
    assert expected != actual
    assert actual != "200"  # the IMS server is the stricter one
    assert f"repeat with: imspatch conform {ims_server} --rules glance --admin" in out


def test_conform_command_usage_errors(capsys: pytest.CaptureFixture[str]) -> None:
    assert conformance.main(["--help"]) == 0
    assert "imspatch conform" in capsys.readouterr().out
    assert conformance.main([]) == 2
    assert conformance.main(["ftp://example.com"]) == 2
    assert "cannot test" in capsys.readouterr().err
    assert conformance.main(["http://127.0.0.1:9", "--timeout", "2"]) == 2
    assert "cannot test http://127.0.0.1:9" in capsys.readouterr().err
    assert conformance.main(["http://127.0.0.1:9", "-H", "no colon"]) == 2
