"""examples/server.py over plain HTTP (stdlib only, so this runs in the default suite)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import urllib.error
import urllib.request
from pathlib import Path

import pytest

import imspatch

ROOT = Path(__file__).resolve().parents[2]
V20 = "application/openstack-images-v2.0-json-patch"
V21 = "application/openstack-images-v2.1-json-patch"


@pytest.fixture
def ims(ims_direct):
    """The example server itself: these tests are about it, not about its clients."""
    return ims_direct


def call(ims, method, path, body=None, content_type=None):
    """Return (status, headers, decoded JSON body or None)."""
    data = body if isinstance(body, bytes) or body is None else json.dumps(body).encode()
    request = urllib.request.Request(ims.url + path, data=data, method=method)
    if content_type is not None:
        request.add_header("Content-Type", content_type)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            status, headers, raw = response.status, response.headers, response.read()
    except urllib.error.HTTPError as error:
        status, headers, raw = error.code, error.headers, error.read()
        error.close()
    return status, headers, json.loads(raw) if raw else None


def patch(ims, ops, content_type=V21):
    return call(ims, "PATCH", f"/v2/images/{ims.image_id}", ops, content_type)


def test_patch_stores_and_stamps(ims):
    before = ims.stored()
    status, headers, image = patch(ims, [{"op": "replace", "path": "/name", "value": "test01"}])
    assert status == 200
    assert headers["Content-Type"] == "application/json"
    assert image == ims.stored()
    assert image["name"] == "test01"
    assert image["updated_at"] != before["updated_at"]
    assert list(image) == list(before)  # key order kept through SQLite


def test_empty_patch_changes_nothing(ims):
    before = ims.stored()
    status, _, image = patch(ims, [])
    assert (status, image) == (200, before)
    assert ims.stored() == before  # updated_at included


def test_documented_examples(ims):
    for dialect, media_type in (("v2.0", V20), ("v2.1", V21)):
        ims.put()
        body = (ROOT / "examples" / f"ims-rename.{dialect}-json-patch.json").read_bytes()
        status, _, image = patch(ims, body, media_type)
        assert (status, image["name"]) == (200, "test01")


def test_415_carries_accept_patch(ims):
    status, headers, body = patch(ims, [], "application/json")
    assert status == 415
    assert headers["Accept-Patch"] == f"{V20}, {V21}"
    assert body["error"]["code"] == "unsupported_media_type"


def test_ims_error_body(ims):
    status, _, body = patch(ims, [{"op": "replace", "path": "/__description", "value": "<"}])
    assert (status, body) == (
        400,
        {"error": {"code": "IMG.0054", "message": "The image description format is invalid."}},
    )


def test_v20_add_on_existing_is_a_conflict(ims):
    status, _, body = patch(ims, [{"add": "/name", "value": "x"}], V20)
    assert status == 409
    assert body["error"]["code"] == "already_present"


def test_empty_body(ims):
    status, _, body = patch(ims, b"")
    assert (status, body["error"]["code"]) == (400, "empty_body")


def test_glance_rules_and_error_style(ims):
    ims.server.rules = imspatch.GLANCE
    status, _, image = patch(ims, [{"op": "replace", "path": "/visibility", "value": "public"}])
    assert (status, image["visibility"]) == (200, "public")
    status, _, body = patch(ims, [{"op": "remove", "path": "/nope"}])
    assert status == 409
    assert body == {
        "code": "409 Conflict",
        "title": "Conflict",
        "message": "Property nope does not exist.",
    }
    status, _, body = call(ims, "GET", "/v2/images/missing")
    assert (status, body["code"]) == (404, "404 Not Found")


def test_owner_needs_admin(ims):
    ops = [{"op": "replace", "path": "/owner", "value": "other"}]
    ims.server.rules = imspatch.GLANCE
    assert patch(ims, ops)[0] == 403
    ims.server.admin = True
    assert patch(ims, ops)[0] == 200


def test_not_found(ims):
    status, _, body = call(ims, "PATCH", "/v2/images/missing", [], V21)
    assert (status, body["error"]["code"]) == (404, "not_found")
    assert call(ims, "GET", "/v2/nothing")[0] == 404


def test_create_list_show_delete(ims):
    status, _, created = call(ims, "POST", "/v2/images", {"name": "new", "custom": "c"})
    assert status == 201
    assert (created["status"], created["custom"]) == ("queued", "c")
    status, _, listing = call(ims, "GET", "/v2/images?name=new")
    assert [image["id"] for image in listing["images"]] == [created["id"]]
    assert call(ims, "GET", f"/v2/images/{created['id']}")[2] == created
    assert call(ims, "DELETE", f"/v2/images/{created['id']}")[0] == 204
    assert call(ims, "GET", f"/v2/images/{created['id']}")[0] == 404
    assert call(ims, "POST", "/v2/images", {"status": "active"})[0] == 403
    assert call(ims, "POST", "/v2/images", {"id": ims.image_id})[0] == 409


def test_list_paging(ims):
    ids = [call(ims, "POST", "/v2/images", {"name": f"n{i}"})[2]["id"] for i in range(3)]
    _, _, page = call(ims, "GET", "/v2/images?limit=2")
    assert [image["id"] for image in page["images"]] == [ims.image_id, ids[0]]
    _, _, rest = call(ims, "GET", page["next"])
    assert [image["id"] for image in rest["images"]] == ids[1:]
    assert "next" not in rest


def test_protected_image_cannot_be_deleted(ims):
    ims.put(protected=True)
    assert call(ims, "DELETE", f"/v2/images/{ims.image_id}")[0] == 403


def test_schema_and_versions(ims):
    status, _, schema = call(ims, "GET", "/v2/schemas/image")
    assert status == 200
    assert schema["additionalProperties"] == {"type": "string"}
    assert schema["properties"]["file"]["readOnly"] is True
    assert call(ims, "GET", "/v2/schemas/images")[0] == 200
    assert call(ims, "GET", "/versions")[2]["versions"][0]["status"] == "CURRENT"
    assert call(ims, "GET", "/")[0] == 300


def test_concurrent_patches_are_serialised(ims):
    def add(i):
        patch(ims, [{"op": "add", "path": f"/k{i}", "value": str(i)}])

    threads = [threading.Thread(target=add, args=(i,)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert all(ims.stored()[f"k{i}"] == str(i) for i in range(8))


def test_request_log(ims):
    patch(ims, [{"op": "replace", "path": "/name", "value": "logged"}])
    (exchange,) = ims.server.patches()
    assert exchange.status == 200
    assert exchange.headers["Content-Type"] == V21
    assert exchange.json() == [{"op": "replace", "path": "/name", "value": "logged"}]


def test_command_line(tmp_path):
    db = tmp_path / "images.sqlite"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    process = subprocess.Popen(
        [sys.executable, str(ROOT / "examples" / "server.py"), "0", "--db", str(db),
         "--seed", str(ROOT / "examples" / "ims-sample-image.json")],
        stdout=subprocess.PIPE, text=True, env=env,
    )  # fmt: skip
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        assert line.startswith("listening on http://127.0.0.1:")
        url = line.split()[-1]
        image_id = "33ad552d-1149-471c-8190-ff6776174a00"
        request = urllib.request.Request(
            f"{url}/v2/images/{image_id}",
            data=b'[{"op": "replace", "path": "/name", "value": "on disk"}]',
            method="PATCH",
            headers={"Content-Type": V21},
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            assert json.loads(response.read())["name"] == "on disk"
    finally:
        process.terminate()
        process.wait(10)
        process.stdout.close()
    store = sys.modules["imspatch_example_server"].ImageStore(str(db))
    try:
        image = store.get(image_id)
        assert image is not None
        assert image["name"] == "on disk"
        assert image["__data_origin"] is None
    finally:
        store.close()


@pytest.mark.parametrize("path", ["/v2/images/x", "/v2/images"])
def test_oversized_body_is_refused_unread(ims, path):
    request = urllib.request.Request(ims.url + path, data=b"[]", method="PATCH")
    request.add_header("Content-Type", V21)
    request.add_header("Content-Length", str(64 * 1024 * 1024))
    # the server answers 413 without reading the (missing) 64 MiB
    with pytest.raises(urllib.error.HTTPError) as info:
        urllib.request.urlopen(request, timeout=10)
    assert info.value.code == 413
    info.value.close()
