"""scripts/glance-api.sh: a real upstream glance-api, as imspatch's GLANCE rules model it.

Each request goes to the real server and, with the image the server holds, to
``imspatch.patch_image(..., rules=GLANCE)``: both must give the same status
(imspatch's exact error is asserted too), so the deployment is the one SPEC 6.1
describes.  The other tests start and stop the launcher and check that it
leaves nothing behind.  Marker ``glance_api``; needs the Glance venv
(``bash scripts/glance-venv.sh``), skipped without it unless
``IMSPATCH_REQUIRE_GLANCE_API=1``.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

import imspatch

from . import ADMIN, LAUNCHER, OTHER, OWNER, REQUIRE_ENV, GlanceAPI, glance_api, identity, stop
from . import venv_ready as _venv_ready

pytestmark = pytest.mark.glance_api

ROOT = Path(__file__).resolve().parents[2]
V20 = "application/openstack-images-v2.0-json-patch"
V21 = "application/openstack-images-v2.1-json-patch"


@pytest.fixture(scope="module")
def glance_venv() -> None:
    """Skips (or, with IMSPATCH_REQUIRE_GLANCE_API=1, fails) without the Glance venv."""
    if _venv_ready():
        return
    reason = "no Glance venv: build it with `bash scripts/glance-venv.sh` (a few minutes)"
    if os.environ.get(REQUIRE_ENV) == "1":
        pytest.fail(f"{REQUIRE_ENV}=1 but {reason}")
    pytest.skip(reason)


def r21(path: str, value: Any) -> dict[str, Any]:
    return {"op": "replace", "path": path, "value": value}


def a21(path: str, value: Any) -> dict[str, Any]:
    return {"op": "add", "path": path, "value": value}


def patch(
    api: GlanceAPI,
    image_id: str,
    ops: list[dict[str, Any]],
    *,
    media_type: str = V21,
    project: str = OWNER,
    admin: bool = False,
) -> tuple[int, dict[str, str], Any, imspatch.PatchError | None]:
    """PATCH the real server; also ask imspatch about the image the server holds.

    Returns upstream's status, headers and decoded body, and imspatch's error
    (None when imspatch accepts).  Asserts both give the same status.
    """
    caller = identity(project, admin=admin)
    status, stored = api.json("GET", f"/v2/images/{image_id}", None, caller)
    assert status == 200, stored
    # With multiple stores (the reserved stores need them), the view of an image
    # with data holds a computed "stores", which GLANCE would take for a custom
    # property (test_stores_is_computed_not_a_property); the engine gets the
    # image without it.
    stored.pop("stores", None)
    body = json.dumps(ops).encode()
    status, headers, data = api.request(
        "PATCH", f"/v2/images/{image_id}", body, {**caller, "Content-Type": media_type}
    )
    answer = json.loads(data)
    try:
        imspatch.patch_image(
            stored, body, media_type=media_type, rules=imspatch.GLANCE, admin=admin
        )
    except imspatch.PatchError as exc:
        assert status == exc.status, (answer, exc)
        return status, headers, answer, exc
    assert status == 200, answer
    return status, headers, answer, None


def assert_error(
    error: imspatch.PatchError | None,
    cls: type[imspatch.PatchError],
    code: str,
    index: int | None,
    pointer: str | None,
) -> None:
    assert type(error) is cls
    assert (error.code, error.index, error.pointer) == (code, index, pointer)


# --------------------------------------------------------------------------
# The deployment answers as GLANCE says
# --------------------------------------------------------------------------


@pytest.mark.usefixtures("glance_venv")
def test_requests_answer_as_the_glance_rules_say() -> None:
    with glance_api() as api:
        assert api.port != 0
        image = api.create_image(OWNER, name="imspatch")
        assert (image["status"], image["owner"]) == ("active", OWNER)
        image_id = image["id"]

        # Both dialects.
        status, _, answer, error = patch(api, image_id, [r21("/name", "v21")])
        assert (status, answer["name"], error) == (200, "v21", None)
        status, _, answer, error = patch(
            api, image_id, [{"replace": "/name", "value": "v20"}], media_type=V20
        )
        assert (status, answer["name"], error) == (200, "v20", None)
        status, _, answer, error = patch(api, image_id, [a21("/p", "1"), a21("/p", "2")])
        assert (status, answer["p"], error) == (200, "2", None)
        status, _, answer, error = patch(
            api, image_id, [{"add": "/p", "value": "3"}], media_type=V20
        )
        assert (status, answer["code"]) == (409, "409 Conflict")
        assert "Property p already present." in answer["message"]
        assert_error(error, imspatch.PatchConflict, "already_present", 0, "/p")

        # 403 read-only, as JSON (Accept: application/json) and as text without it.
        status, _, answer, error = patch(api, image_id, [r21("/id", "x")])
        assert (status, answer["title"]) == (403, "Forbidden")
        assert "Attribute 'id' is read-only." in answer["message"]
        assert_error(error, imspatch.ForbiddenChange, "read_only", 0, "/id")
        plain = {k: v for k, v in identity(OWNER).items() if k != "Accept"}
        status, headers, data = api.request(
            "PATCH",
            f"/v2/images/{image_id}",
            json.dumps([r21("/id", "x")]).encode(),
            {**plain, "Content-Type": V21},
        )
        assert (status, headers["content-type"]) == (403, "text/plain; charset=UTF-8")
        assert data.startswith(b"403 Forbidden\n\nAttribute 'id' is read-only.")

        # 409: a missing custom property; the error comes after a valid operation.
        status, _, answer, error = patch(
            api, image_id, [r21("/name", "n"), {"op": "remove", "path": "/nope"}]
        )
        assert status == 409
        assert "Property nope does not exist." in answer["message"]
        assert_error(error, imspatch.PatchConflict, "no_such_property", 1, "/nope")

        # 415 with Accept-Patch; parameters after ";" are ignored upstream.
        status, headers, answer, error = patch(api, image_id, [], media_type="application/json")
        assert status == 415
        assert headers["accept-patch"] == imspatch.ACCEPT_PATCH
        assert_error(error, imspatch.UnsupportedMediaType, "unsupported_media_type", None, None)
        status, _, _, error = patch(
            api, image_id, [r21("/name", "c")], media_type=f"{V21}; charset=utf-8"
        )
        assert (status, error) == (200, None)

        # Locations hidden (show_multiple_locations False).
        location = {"url": "file:///nowhere", "metadata": {}}
        status, _, answer, error = patch(api, image_id, [a21("/locations/-", location)])
        assert status == 403
        assert "locations are invisible" in answer["message"]
        assert_error(error, imspatch.ForbiddenChange, "locations_hidden", 0, "/locations/-")

        # Formats only while queued; owner only by an admin.
        status, _, _, error = patch(api, image_id, [r21("/disk_format", "qcow2")])
        assert status == 403
        assert_error(error, imspatch.ForbiddenChange, "format_not_queued", 0, "/disk_format")
        status, _, _, error = patch(api, image_id, [r21("/owner", OTHER)])
        assert status == 403
        assert_error(error, imspatch.ForbiddenChange, "owner_admin_only", 0, "/owner")

        # Allow-all policy: a plain member may publicize (Glance's default says admin only).
        status, _, answer, error = patch(api, image_id, [r21("/visibility", "public")])
        assert (status, answer["visibility"], error) == (200, "public", None)

        # Quotas: 128 properties and 128 tags pass, one more is 413.
        names = [f"q{i:03}" for i in range(127)]  # "p" is already there
        status, _, answer, error = patch(api, image_id, [a21(f"/{n}", "v") for n in names])
        assert (status, error) == (200, None)
        status, _, answer, error = patch(api, image_id, [a21("/one_more", "v")])
        assert status == 413
        assert "Attempted: 129, Maximum: 128" in answer["message"]
        assert_error(error, imspatch.LimitExceeded, "too_many_properties", None, None)
        tags = [f"t{i}" for i in range(129)]
        status, _, answer, error = patch(api, image_id, [r21("/tags", tags[:128])])
        assert (status, len(answer["tags"]), error) == (200, 128, None)
        status, _, answer, error = patch(api, image_id, [r21("/tags", tags)])
        assert status == 413
        assert_error(error, imspatch.LimitExceeded, "too_many_tags", 0, "/tags")


@pytest.mark.usefixtures("glance_venv")
def test_stores_is_computed_not_a_property() -> None:
    """Upstream facts about the "stores" key (not modelled by GLANCE, see the report)."""
    with glance_api() as api:
        queued = api.json("POST", "/v2/images", {"name": "no data"}, identity(OWNER))[1]
        assert "stores" not in queued
        image_id = api.create_image(OWNER, name="with data")["id"]
        url = f"/v2/images/{image_id}"

        def send(media_type: str, ops: list[dict[str, Any]]) -> tuple[int, Any]:
            headers = {**identity(OWNER), "Content-Type": media_type}
            status, _, data = api.request("PATCH", url, json.dumps(ops).encode(), headers)
            return status, json.loads(data)

        assert api.json("GET", url, None, identity(OWNER))[1]["stores"] == "fs"
        # Not a stored property: replace and remove of it are 409, a v2.0 add is 200 ...
        status, answer = send(V21, [r21("/stores", "x")])
        assert (status, answer["code"]) == (409, "409 Conflict")
        status, answer = send(V21, [{"op": "remove", "path": "/stores"}])
        assert (status, answer["code"]) == (409, "409 Conflict")
        status, answer = send(V20, [{"add": "/stores", "value": "x"}])
        # ... and the property so made is hidden behind the computed value.
        assert (status, answer["stores"]) == (200, "fs")
        status, answer = send(V21, [{"op": "remove", "path": "/stores"}])
        assert (status, answer["stores"]) == (200, "fs")


@pytest.mark.usefixtures("glance_venv")
def test_identity_comes_from_the_headers() -> None:
    with glance_api() as api:
        image_id = api.create_image(OWNER, name="mine")["id"]
        no_identity = {"Accept": "application/json"}
        status, _, _ = api.request("GET", f"/v2/images/{image_id}", None, no_identity)
        assert status == 401
        # Another project does not see a "shared" image it is not a member of.
        status, answer = api.json("GET", f"/v2/images/{image_id}", None, identity(OTHER))
        assert status == 404, answer
        # An admin of any project sees it and may give it away; then the old
        # owner no longer sees it, and the new one may patch it.
        status, _, answer, error = patch(
            api, image_id, [r21("/owner", OTHER)], project=ADMIN, admin=True
        )
        assert (status, answer["owner"], error) == (200, OTHER, None)
        status, answer = api.json("GET", f"/v2/images/{image_id}", None, identity(OWNER))
        assert status == 404, answer
        status, _, answer, error = patch(api, image_id, [r21("/name", "theirs")], project=OTHER)
        assert (status, answer["name"]) == (200, "theirs")


# --------------------------------------------------------------------------
# The launcher: ports, signals, nothing left behind
# --------------------------------------------------------------------------


def git_status() -> str:
    return subprocess.run(
        ["git", "status", "--porcelain", "--ignored"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout


def assert_gone(pid: int) -> None:
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)
    with pytest.raises(ProcessLookupError):
        os.killpg(pid, 0)  # nor anything else it started


@pytest.mark.usefixtures("glance_venv")
@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_a_signal_stops_it_and_leaves_nothing_behind(tmp_path: Path, signum: int) -> None:
    before = git_status()
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with glance_api(port, env={"TMPDIR": str(tmp_path)}) as api:
        assert api.url == f"http://127.0.0.1:{port}"
        assert [p.name.startswith("imspatch-glance-api-") for p in tmp_path.iterdir()] == [True]
        pid = api.process.pid
        api.process.send_signal(signum)
        assert api.process.wait(30) == 0
        assert "Traceback" not in api.log()
    assert_gone(pid)
    assert list(tmp_path.iterdir()) == []
    assert git_status() == before


@pytest.mark.usefixtures("glance_venv")
def test_the_server_is_stopped_when_its_test_process_is_terminated(tmp_path: Path) -> None:
    script = (
        "import time\n"
        "from tests.glance_api import glance_api\n"
        "with glance_api() as api:\n"
        "    print(api.process.pid, flush=True)\n"
        "    time.sleep(600)\n"
    )
    test_process = subprocess.Popen(
        [sys.executable, "-c", script],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "TMPDIR": str(tmp_path)},
    )
    try:
        assert test_process.stdout is not None
        launcher = int(test_process.stdout.readline())
        test_process.terminate()
        _, err = test_process.communicate(timeout=60)
    finally:
        test_process.kill()
        test_process.wait()
    # Python ends on an uncaught KeyboardInterrupt by SIGINT.
    assert test_process.returncode == -signal.SIGINT
    assert "KeyboardInterrupt: signal 15" in err
    assert_gone(launcher)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.usefixtures("glance_venv")
def test_a_failed_start_says_why_and_cleans_up(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with (
            pytest.raises(RuntimeError, match="Address already in use"),
            glance_api(port, env={"TMPDIR": str(tmp_path)}),
        ):
            pass
    assert list(tmp_path.iterdir()) == []


def test_usage() -> None:
    result = subprocess.run(["bash", str(LAUNCHER)], capture_output=True, text=True, check=False)
    assert (result.returncode, result.stdout) == (2, "")
    assert result.stderr.startswith("usage: bash scripts/glance-api.sh PORT")


def test_stop_kills_a_launcher_that_ignores_sigterm() -> None:
    process = subprocess.Popen(
        ["bash", "-c", "trap '' TERM; echo listening; sleep 60"],
        stdout=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    assert process.stdout is not None
    assert process.stdout.readline() == "listening\n"
    assert stop(process, timeout=0.5) == -signal.SIGKILL
    assert_gone(process.pid)
