"""imspatch proxy in front of examples/server.py: pass-through, refusals, forwarding."""

from __future__ import annotations

import http.client
import json
import socket
import threading

import pytest

import imspatch
from imspatch import ACCEPT_PATCH

from ..conftest import SAMPLE, V20, V21, a, body, r, rm
from .conftest import IMAGE_ID, call
from .harness import Upstream, raw_exchange, read_request

IMAGE = f"/v2/images/{IMAGE_ID}"


def engine_response(ops_body, *, media_type=V21, rules=imspatch.IMS, admin=False, image=None):
    try:
        imspatch.patch_image(
            SAMPLE if image is None else image, ops_body, media_type=media_type,
            rules=rules, admin=admin,
        )  # fmt: skip
    except imspatch.PatchError as error:
        return error.to_response()
    raise AssertionError("the engine accepted it")


# --- pass-through ----------------------------------------------------------------------


def test_get_is_relayed_as_the_upstream_answers(service, proxy):
    running = proxy(service.url)
    direct = call(service.url, "GET", IMAGE)
    through = call(running.url, "GET", IMAGE)
    assert (through.status, through.body) == (200, direct.body)
    assert through.header("Content-Type") == "application/json"
    assert through.header("Server") == direct.header("Server")  # the upstream's, not aiohttp's
    assert [s.verdict for s in running.seen] == ["relayed"]


def test_method_path_query_headers_and_body_pass_unchanged(service, proxy):
    running = proxy(service.url)
    doc = {"name": "created", "custom": "x"}
    raw = json.dumps(doc).encode()
    headers = {
        "Content-Type": "application/json", "X-Auth-Token": "tok", "X-Custom": "a b",
        "Accept": "application/json",
    }  # fmt: skip
    created = call(running.url, "POST", "/v2/images?x=1&y=%20", raw, headers)
    assert created.status == 201
    exchange = service.server.log[-1]
    assert (exchange.method, exchange.path, exchange.body) == ("POST", "/v2/images?x=1&y=%20", raw)
    for name, value in headers.items():
        assert exchange.headers[name] == value
    assert exchange.headers["Host"] == running.url.removeprefix("http://")  # the caller's Host
    assert exchange.headers["Via"] == "1.1 imspatch-proxy"
    new_id = json.loads(created.body)["id"]
    assert call(running.url, "DELETE", f"/v2/images/{new_id}").status == 204
    assert service.server.store.get(new_id) is None


def test_hop_by_hop_headers_are_dropped_both_ways(proxy):
    got: list[bytes] = []

    def serve(conn: socket.socket) -> None:
        head, _ = read_request(conn)
        got.append(head)
        conn.sendall(
            b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: X-Secret-Hop\r\n"
            b"X-Secret-Hop: 1\r\nKeep-Alive: timeout=5\r\nX-End: kept\r\n"
            b"Set-Cookie: a=1\r\nSet-Cookie: b=2\r\n\r\nok"
        )

    with Upstream(serve) as upstream:
        running = proxy(upstream.url)
        headers = {
            "Connection": "keep-alive, X-Named", "X-Named": "gone", "Keep-Alive": "300",
            "TE": "trailers", "Upgrade": "websocket", "Proxy-Connection": "keep-alive",
            "Via": "1.0 front", "X-End-To-End": "kept",
        }  # fmt: skip
        response = call(running.url, "GET", "/v2/images", headers=headers)
    assert (response.status, response.body) == (200, b"ok")
    lines = got[0].decode().split("\r\n")
    assert lines[0] == "GET /v2/images HTTP/1.1"
    names = {line.split(":", 1)[0].lower(): line.split(":", 1)[1].strip() for line in lines[1:]}
    for gone in ("x-named", "keep-alive", "te", "upgrade", "proxy-connection"):
        assert gone not in names
    assert names["x-end-to-end"] == "kept"
    assert names["via"] == "1.0 front, 1.1 imspatch-proxy"
    assert response.header("X-Secret-Hop") is None
    assert response.header("Keep-Alive") is None
    assert response.header("X-End") == "kept"
    assert [v for k, v in response.headers if k == "Set-Cookie"] == ["a=1", "b=2"]


def test_no_cookie_of_one_caller_reaches_another(proxy):
    cookies: list[bytes] = []

    def serve(conn: socket.socket) -> None:
        head, _ = read_request(conn)
        cookies.append(b"cookie:" in head.lower())
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nSet-Cookie: s=secret\r\n\r\n")

    with Upstream(serve) as upstream:
        running = proxy(upstream.url)
        call(running.url, "GET", "/a")
        call(running.url, "GET", "/b")
    assert cookies == [False, False]


def test_head_and_no_content_pass_through(service, proxy):
    running = proxy(service.url)
    new = json.loads(
        call(running.url, "POST", "/v2/images", b"{}", {"Content-Type": "application/json"}).body
    )
    deleted = call(running.url, "DELETE", f"/v2/images/{new['id']}")
    assert (deleted.status, deleted.body) == (204, b"")
    # the example server sends "Content-Length: 0" with its 204, which RFC 9110 8.6 forbids
    assert deleted.header("Content-Length") is None
    assert deleted.header("Transfer-Encoding") is None
    missing = call(running.url, "GET", "/v2/images/nope")
    assert missing.status == 404
    assert json.loads(missing.body) == {
        "error": {"code": "not_found", "message": "No image found with ID nope"}
    }


def test_head_keeps_the_length_and_sends_no_body(proxy):
    def serve(conn: socket.socket) -> None:
        for _ in range(2):
            head, _ = read_request(conn)
            if head.startswith(b"HEAD"):
                conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 1234\r\n\r\n")
            else:
                conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")

    with Upstream(serve) as upstream:
        running = proxy(upstream.url)
        conn = http.client.HTTPConnection(running.url.removeprefix("http://"), timeout=10)
        try:
            conn.request("HEAD", "/v2/images/x/file")
            head = conn.getresponse()
            assert (head.status, head.getheader("Content-Length"), head.read()) == (
                200,
                "1234",
                b"",
            )
            conn.request("GET", "/after")  # the same connection is still usable
            assert conn.getresponse().read() == b"ok"
        finally:
            conn.close()


# --- PATCH: refused ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "media_type", "on_the_image"),
    [
        (body(r("/min_ram", 1024)), V21, True),  # 403 protected (IMS), unless unchanged
        (body(rm("/nope")), V21, True),  # 409
        (body(r("/status", "x")), V21, False),  # 403 read_only
        (b'[{"op": "replace", "path": "/name", "path": "/x", "value": "n"}]', V21, False),  # 400
        (b"[]", "application/json", False),  # 415
        (b"[]", None, False),  # 415, no Content-Type
        (b'[{"replace": "/name", "value": " bad"}]', V20, False),  # 400 IMG.0003
        (b"", V21, False),  # 400 empty body
    ],
)
def test_refused_patch_gets_the_engines_answer_and_is_not_forwarded(
    service, proxy, raw, media_type, on_the_image
):
    running = proxy(service.url)
    headers = {"X-Auth-Token": "t"} if media_type is None else {"Content-Type": media_type}
    response = call(running.url, "PATCH", IMAGE, raw, headers)
    expected = engine_response(raw, media_type=media_type, image=service.image())
    assert response.status == expected.status
    assert response.body == expected.body
    for name, value in expected.headers:
        assert response.header(name) == value
    if expected.status == 415:
        assert response.header("Accept-Patch") == ACCEPT_PATCH
    assert service.patches() == []
    # a refusal that does not depend on the image is answered before the GET
    assert service.requests() == ([("GET", IMAGE)] if on_the_image else [])
    assert service.image() == SAMPLE


def test_the_get_carries_the_callers_credentials(service, proxy):
    running = proxy(service.url)
    headers = {"Content-Type": V21, "X-Auth-Token": "caller-token", "Authorization": "Bearer b"}
    call(running.url, "PATCH", IMAGE, body(r("/min_ram", 1)), headers)
    (get,) = service.server.log
    assert get.method == "GET"
    assert get.headers["X-Auth-Token"] == "caller-token"
    assert get.headers["Authorization"] == "Bearer b"
    assert "Content-Type" not in get.headers
    assert get.body == b""


def test_a_failing_get_is_relayed_as_given(service, proxy):
    running = proxy(service.url)
    response = call(
        running.url, "PATCH", "/v2/images/nope", body(r("/name", "x")), {"Content-Type": V21}
    )
    direct = call(service.url, "GET", "/v2/images/nope")
    assert (response.status, response.body) == (404, direct.body)
    assert running.seen[-1].verdict == "get failed"
    assert service.patches() == []


@pytest.mark.parametrize("status", [401, 403, 500, 503])
def test_any_failing_get_is_relayed(proxy, status):
    def serve(conn: socket.socket) -> None:
        read_request(conn)
        conn.sendall(
            f"HTTP/1.1 {status} Whatever\r\nContent-Length: 4\r\nX-Why: upstream\r\n\r\nnope".encode()
        )

    with Upstream(serve) as upstream:
        running = proxy(upstream.url)
        response = call(running.url, "PATCH", IMAGE, body(r("/name", "x")), {"Content-Type": V21})
    assert (response.status, response.body, response.header("X-Why")) == (
        status,
        b"nope",
        "upstream",
    )


def test_an_image_that_is_not_json_is_a_bad_gateway(proxy):
    def serve(conn: socket.socket) -> None:
        read_request(conn)
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n[1,2]")

    with Upstream(serve) as upstream:
        running = proxy(upstream.url)
        response = call(running.url, "PATCH", IMAGE, body(r("/name", "x")), {"Content-Type": V21})
    assert response.status == 502
    assert json.loads(response.body) == {
        "error": {"code": "bad_gateway", "message": "The upstream's image is not a JSON object."}
    }


# --- PATCH: forwarded ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "media_type"),
    [
        (b'[{"op":"replace","path":"/name","value":"renamed"}]', V21),
        (b'[ {"replace": "/name", "value": "v20"} ,{"add": "/k", "value": "v"}]\n', V20),
        (b'[{"path": "/tags", "value": [], "op": "replace"}]', V21 + "; charset=utf-8"),
        (b"[]", V21),
        # over aiohttp's 1 MiB for a body sent as bytes (it would warn, and block the loop)
        (b'[{"op": "replace", "path": "/name", "value": "padded"}' + b" " * (2 << 20) + b"]", V21),
    ],
)
def test_accepted_patch_is_forwarded_byte_for_byte(service, proxy, raw, media_type):
    running = proxy(service.url)
    response = call(
        running.url, "PATCH", IMAGE, raw, {"Content-Type": media_type, "X-Auth-Token": "t"}
    )
    assert response.status == 200
    (forwarded,) = service.patches()
    assert forwarded.body == raw
    assert forwarded.headers["Content-Type"] == media_type
    assert forwarded.headers["X-Auth-Token"] == "t"
    assert json.loads(response.body) == service.image()  # the upstream's answer, relayed
    assert running.seen[-1].verdict == "forwarded"


def test_chunked_patch_is_forwarded_with_its_bytes(service, proxy):
    running = proxy(service.url)
    raw = body(r("/name", "chunked"))
    reply = raw_exchange(
        running.url,
        f"PATCH {IMAGE} HTTP/1.1\r\nHost: x\r\nContent-Type: {V21}\r\n"
        "Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n".encode()
        + f"{len(raw[:10]):x}\r\n".encode() + raw[:10] + b"\r\n"
        + f"{len(raw[10:]):x}\r\n".encode() + raw[10:] + b"\r\n0\r\n\r\n",
    )  # fmt: skip
    assert reply.startswith(b"HTTP/1.1 200 ")
    (forwarded,) = service.patches()
    assert forwarded.body == raw
    assert service.image()["name"] == "chunked"


@pytest.mark.parametrize(
    ("path", "headers"),
    [
        (f"/v2.1/images/{IMAGE_ID}", {}),
        (f"//v2/images/{IMAGE_ID}", {}),
        (f"/v2//images/{IMAGE_ID}", {}),
        (f"/v2/images/{IMAGE_ID}/", {}),
        (f"/images/{IMAGE_ID}", {"Accept": "application/vnd.openstack.images-v2"}),
    ],
)
def test_every_path_glance_routes_to_the_update_is_judged(service, proxy, path, headers):
    running = proxy(service.url)
    response = call(
        running.url, "PATCH", path, body(r("/min_ram", 1)), {"Content-Type": V21, **headers}
    )
    # the example server routes none of these, so the proxy's GET fails; what matters
    # is that the PATCH was judged (a GET was made) and never sent
    assert service.requests()[0][0] == "GET"
    assert service.patches() == []
    assert running.seen[-1].verdict in ("get failed", "refused protected")
    assert response.status in (403, 404)


def test_two_content_types_are_refused(service, proxy):
    # aiohttp's parser refuses them: the proxy and the upstream could read different ones
    running = proxy(service.url)
    raw = body(r("/name", "x"))
    reply = raw_exchange(
        running.url,
        f"PATCH {IMAGE} HTTP/1.1\r\nHost: x\r\nContent-Type: {V21}\r\nContent-Type: {V20}\r\n"
        f"Content-Length: {len(raw)}\r\nConnection: close\r\n\r\n".encode()
        + raw,
    )
    assert reply.startswith(b"HTTP/1.0 400 Bad Request\r\n")
    assert reply.endswith(b"Duplicate 'Content-Type' header found.")
    assert service.server.log == []


# --- admin -----------------------------------------------------------------------------

OWNER = body(r("/owner", "someone-else"))


def test_without_admin_header_an_owner_change_is_left_to_the_upstream(glance_service, proxy):
    running = proxy(glance_service.url, rules=imspatch.GLANCE)
    response = call(running.url, "PATCH", IMAGE, OWNER, {"Content-Type": V21})
    assert response.status == 200  # the upstream (admin) accepted it
    assert [p.body for p in glance_service.patches()] == [OWNER]
    assert glance_service.image()["owner"] == "someone-else"


def test_without_admin_header_a_refusal_alike_for_both_is_refused(glance_service, proxy):
    running = proxy(glance_service.url, rules=imspatch.GLANCE)
    raw = body(r("/owner", "x"), r("/status", "active"))
    assert call(running.url, "PATCH", IMAGE, raw, {"Content-Type": V21}).status == 403
    assert glance_service.patches() == []


@pytest.mark.parametrize(
    ("value", "forwarded"),
    [("member,Admin", True), ("true", True), ("member", False), (None, False)],
)
def test_admin_header_decides(glance_service, proxy, value, forwarded):
    running = proxy(glance_service.url, rules=imspatch.GLANCE, admin_header="X-Roles")
    headers = {"Content-Type": V21} if value is None else {"Content-Type": V21, "X-Roles": value}
    response = call(running.url, "PATCH", IMAGE, OWNER, headers)
    if forwarded:
        assert response.status == 200
        assert len(glance_service.patches()) == 1
    else:
        assert response.status == 403
        assert response.header("Content-Type") == "text/plain; charset=UTF-8"  # no Accept
        assert response.body == (
            b"403 Forbidden\n\nAccess was denied to this resource.\n\n"
            b" Owner can't be updated by non admin.  "
        )
        assert glance_service.patches() == []


# --- keys the upstream's view computes ------------------------------------------------
# A multi-store glance-api shows "stores": "fs" on an image with data, yet has no such
# property (tests/proxy/test_glance_api.py shows it on the real one); here the example
# server stores it, and what matters is what the proxy forwards.

V20_ADD_STORES = json.dumps([{"add": "/stores", "value": "x"}]).encode()


def with_stores(service):
    service.server.store.put({**service.image(), "stores": "fs"})


def test_a_request_judged_otherwise_without_a_view_key_is_left_to_the_upstream(
    glance_service, proxy
):
    with_stores(glance_service)
    running = proxy(glance_service.url, rules=imspatch.GLANCE)
    sent = [
        (V20_ADD_STORES, V20),  # 409 if "stores" is a property, 200 if the view made it up
        (body(r("/stores", "y")), V21),  # the other way round
        (body(rm("/stores")), V21),
    ]
    for raw, media_type in sent:
        call(running.url, "PATCH", IMAGE, raw, {"Content-Type": media_type})
    assert [s.verdict for s in running.patches()] == ["forwarded"] * 3
    assert [p.body for p in glance_service.patches()] == [raw for raw, _ in sent]


def test_with_no_view_keys_the_view_is_taken_as_the_image(glance_service, proxy):
    with_stores(glance_service)
    running = proxy(glance_service.url, rules=imspatch.GLANCE, view_keys=frozenset())
    refused = call(running.url, "PATCH", IMAGE, V20_ADD_STORES, {"Content-Type": V20})
    assert refused.status == 409
    assert [s.verdict for s in running.patches()] == ["refused already_present"]
    assert glance_service.patches() == []


def test_a_refusal_alike_with_and_without_a_view_key_is_refused(glance_service, proxy):
    with_stores(glance_service)
    running = proxy(glance_service.url, rules=imspatch.GLANCE)
    raw = body(a("/stores", "x"), r("/min_ram", "many"))
    response = call(running.url, "PATCH", IMAGE, raw, {"Content-Type": V21})
    assert response.status == 400
    assert [s.verdict for s in running.patches()] == ["refused invalid_value"]
    assert glance_service.patches() == []


@pytest.mark.parametrize(("counted", "forwarded"), [(127, True), (128, False)])
def test_the_quota_counts_a_view_key_only_when_both_readings_exceed_it(
    glance_service, proxy, counted, forwarded
):
    """*counted*: properties besides "stores"; the quota is 128."""
    image = glance_service.image()
    rules = imspatch.GLANCE
    missing = counted - sum(map(rules.is_counted, image))
    glance_service.server.store.put(
        {**image, **{f"p{i}": "v" for i in range(missing)}, "stores": "fs"}
    )
    running = proxy(glance_service.url, rules=rules)
    response = call(running.url, "PATCH", IMAGE, body(a("/new", "x")), {"Content-Type": V21})
    if forwarded:  # 129 with "stores", 128 without: the upstream knows which
        assert [s.verdict for s in running.patches()] == ["forwarded"]
        assert len(glance_service.patches()) == 1
    else:
        assert response.status == 413
        assert [s.verdict for s in running.patches()] == ["refused too_many_properties"]
        assert glance_service.patches() == []


# --- concurrency -----------------------------------------------------------------------


def test_many_concurrent_patches_to_one_image(service, proxy):
    running = proxy(service.url)
    results: dict[int, int] = {}

    def send(i: int) -> None:
        raw = body(a(f"/k{i}", str(i))) if i % 4 else body(r("/min_ram", i + 1))
        results[i] = call(running.url, "PATCH", IMAGE, raw, {"Content-Type": V21}).status

    threads = [threading.Thread(target=send, args=(i,)) for i in range(60)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert results == {i: 200 if i % 4 else 403 for i in range(60)}
    image = service.image()
    assert {k: v for k, v in image.items() if k.startswith("k")} == {
        f"k{i}": str(i) for i in range(60) if i % 4
    }
    assert image["min_ram"] == SAMPLE["min_ram"]
    assert len(service.patches()) == 45  # the 15 refused never reached it
    assert (
        sorted(s.verdict for s in running.patches())
        == ["forwarded"] * 45 + ["refused protected"] * 15
    )


def test_the_request_target_goes_upstream_as_sent(service, proxy):
    running = proxy(service.url)
    for target, upstream_sees in [
        ("/v2/images/a%2Fb?q=%20&z", "/v2/images/a%2Fb?q=%20&z"),  # still encoded
        ("/v2/./images/x", "/v2/./images/x"),  # not normalised
        ("http://elsewhere.example/v2/images?x=1", "/v2/images?x=1"),  # absolute-form
    ]:
        raw_exchange(
            running.url, f"GET {target} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode()
        )
        assert service.server.log[-1].path == upstream_sees
