"""The proxy when things go wrong: the upstream down, slow or cut off, the client gone."""

from __future__ import annotations

import http.client
import json
import socket
import threading
import time

import pytest

import imspatch

from ..conftest import V21, body, r
from .conftest import IMAGE_ID, call
from .harness import Upstream, free_port, read_request, upload_sink

IMAGE = f"/v2/images/{IMAGE_ID}"
LIMIT = imspatch.DEFAULT_LIMITS.max_body_bytes
OVER = bytes(LIMIT + 1)


def engine_413():
    try:
        imspatch.patch_image({}, OVER, media_type=V21)
    except imspatch.LimitExceeded as error:
        return error.to_response()
    raise AssertionError("accepted")


def open_connection(url: str) -> socket.socket:
    host, port = url.removeprefix("http://").split(":")
    return socket.create_connection((host, int(port)), timeout=10)


def read_reply(conn: socket.socket) -> bytes:
    """One whole answer (head and Content-Length bytes), without waiting for the close."""
    reply = b""
    while b"\r\n\r\n" not in reply and (chunk := conn.recv(65536)):
        reply += chunk
    head = reply.partition(b"\r\n\r\n")[0].decode().lower()
    length = (
        int(head.split("content-length:")[1].split("\r\n")[0]) if "content-length:" in head else 0
    )
    while len(reply) - len(head) - 4 < length and (chunk := conn.recv(65536)):
        reply += chunk
    return reply


def wait_until(condition, timeout=10.0):
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


# --- the upstream ------------------------------------------------------------------------


@pytest.mark.parametrize(("method", "path"), [("GET", "/v2/images"), ("PATCH", IMAGE)])
def test_upstream_down_is_502(proxy, method, path):
    running = proxy(f"http://127.0.0.1:{free_port()}")
    response = call(running.url, method, path, body(r("/name", "x")), {"Content-Type": V21})
    assert response.status == 502
    assert json.loads(response.body) == {
        "error": {"code": "bad_gateway", "message": "The upstream could not be reached."}
    }


def test_upstream_down_in_glance_style(proxy):
    running = proxy(f"http://127.0.0.1:{free_port()}", rules=imspatch.GLANCE)
    response = call(running.url, "GET", "/v2/images", headers={"Accept": "application/json"})
    assert (response.status, response.header("Content-Type")) == (502, "application/json")
    assert json.loads(response.body) == {
        "code": "502 Bad Gateway",
        "title": "Bad Gateway",
        "message": "The upstream could not be reached.<br /><br />\n\n\n",
    }


@pytest.mark.parametrize(("method", "path"), [("GET", "/v2/images"), ("PATCH", IMAGE)])
def test_upstream_slow_is_504_after_the_timeout(proxy, method, path):
    release = threading.Event()

    def serve(conn: socket.socket) -> None:
        read_request(conn)
        release.wait(10)  # never answers in time

    with Upstream(serve) as upstream:
        running = proxy(upstream.url, timeout=0.3)
        started = time.monotonic()
        response = call(running.url, method, path, body(r("/name", "x")), {"Content-Type": V21})
        waited = time.monotonic() - started
        release.set()
    assert response.status == 504
    assert json.loads(response.body)["error"]["code"] == "gateway_timeout"
    assert waited < 8  # it did not wait for the upstream (which waits 10 s)


@pytest.mark.parametrize(
    "answer",
    [
        b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n0123456789",
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\na\r\n0123456789\r\n",
    ],
    ids=["content-length", "chunked"],
)
def test_upstream_closing_mid_response_truncates_the_answer(proxy, answer):
    def serve(conn: socket.socket) -> None:
        head, _ = read_request(conn)
        if b"/after" in head:
            conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
            return
        conn.sendall(answer)
        conn.shutdown(socket.SHUT_RDWR)

    with Upstream(serve) as upstream:
        running = proxy(upstream.url)
        conn = http.client.HTTPConnection(running.url.removeprefix("http://"), timeout=10)
        try:
            conn.request("GET", "/v2/images/x/file")
            response = conn.getresponse()
            assert response.status == 200  # the status had gone out already
            with pytest.raises(http.client.IncompleteRead) as info:
                response.read()
            assert info.value.partial == b"0123456789"
        finally:
            conn.close()
        assert call(running.url, "GET", "/after").body == b"ok"  # the proxy goes on
    assert running.seen[0].verdict == "relayed"


# --- the client ------------------------------------------------------------------------


def test_client_disconnecting_mid_upload_aborts_the_upstream_request(proxy):
    received: list[int] = []
    done = threading.Event()

    def serve(conn: socket.socket) -> None:
        _, rest = read_request(conn)
        size = len(rest)
        while chunk := conn.recv(65536):
            size += len(chunk)
        received.append(size)  # EOF: the proxy closed its side
        done.set()

    with Upstream(serve) as upstream:
        running = proxy(upstream.url)
        conn = open_connection(running.url)
        conn.sendall(
            b"PUT /v2/images/x/file HTTP/1.1\r\nHost: x\r\n"
            b"Content-Type: application/octet-stream\r\nContent-Length: 104857600\r\n\r\n"
        )
        conn.sendall(bytes(1024 * 1024))
        conn.close()
        assert done.wait(10), "the upstream connection was left open"
    assert 0 < received[0] < 104857600


def test_client_disconnecting_mid_patch_body_sends_nothing(service, proxy):
    running = proxy(service.url)
    conn = open_connection(running.url)
    conn.sendall(
        f"PATCH {IMAGE} HTTP/1.1\r\nHost: x\r\nContent-Type: {V21}\r\n"
        "Content-Length: 1000\r\n\r\n[{".encode()
    )
    conn.close()
    wait_until(lambda: len(running.seen) == 1)
    assert running.seen[0].verdict == "client gone"
    assert service.server.log == []
    assert call(running.url, "GET", IMAGE).status == 200  # still serving


def test_client_disconnecting_while_waiting_closes_the_upstream_request(proxy):
    closed = threading.Event()

    def serve(conn: socket.socket) -> None:
        read_request(conn)
        if conn.recv(1) == b"":  # the proxy gave up on this request
            closed.set()

    with Upstream(serve) as upstream:
        running = proxy(upstream.url)
        conn = open_connection(running.url)
        conn.sendall(b"GET /v2/images HTTP/1.1\r\nHost: x\r\n\r\n")
        time.sleep(0.2)
        conn.close()
        assert closed.wait(10)


def test_slow_patch_body_is_408(service, proxy):
    running = proxy(service.url, body_timeout=0.3)
    conn = open_connection(running.url)
    try:
        conn.sendall(
            f"PATCH {IMAGE} HTTP/1.1\r\nHost: x\r\nContent-Type: {V21}\r\n"
            "Content-Length: 1000\r\n\r\n[".encode()
        )
        reply = conn.recv(65536)
    finally:
        conn.close()
    assert reply.startswith(b"HTTP/1.1 408 Request Timeout\r\n")
    assert service.server.log == []


# --- the body limit --------------------------------------------------------------------


def test_body_over_the_limit_is_413_before_it_is_read(service, proxy):
    running = proxy(service.url)
    conn = open_connection(running.url)
    try:  # the headers only: the answer comes without a byte of the body
        conn.sendall(
            f"PATCH {IMAGE} HTTP/1.1\r\nHost: x\r\nContent-Type: {V21}\r\n"
            f"Content-Length: {LIMIT + 1}\r\n\r\n".encode()
        )
        reply = read_reply(conn)
    finally:
        conn.close()
    head, _, answer = reply.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 413 Request Entity Too Large\r\n")
    assert b"Connection: close" in head
    assert answer == engine_413().body
    assert service.server.log == []


def test_expect_100_continue_over_the_limit_gets_413_not_100(service, proxy):
    running = proxy(service.url)
    conn = open_connection(running.url)
    try:
        conn.sendall(
            f"PATCH {IMAGE} HTTP/1.1\r\nHost: x\r\nContent-Type: {V21}\r\n"
            f"Content-Length: {LIMIT + 1}\r\nExpect: 100-continue\r\n\r\n".encode()
        )
        reply = conn.recv(65536)
    finally:
        conn.close()
    assert reply.startswith(b"HTTP/1.1 413 ")
    assert b"100 Continue" not in reply
    assert service.server.log == []


def test_expect_100_continue_within_the_limit_goes_on(service, proxy):
    running = proxy(service.url)
    raw = body(r("/name", "continued"))
    conn = open_connection(running.url)
    try:
        conn.sendall(
            f"PATCH {IMAGE} HTTP/1.1\r\nHost: x\r\nContent-Type: {V21}\r\n"
            f"Content-Length: {len(raw)}\r\nExpect: 100-continue\r\nConnection: close\r\n\r\n".encode()
        )
        assert conn.recv(65536) == b"HTTP/1.1 100 Continue\r\n\r\n"
        conn.sendall(raw)
        reply = read_reply(conn)
    finally:
        conn.close()
    assert reply.startswith(b"HTTP/1.1 200 OK\r\n")
    (forwarded,) = service.patches()
    assert "Expect" not in forwarded.headers  # answered here, not forwarded
    assert service.image()["name"] == "continued"


def test_wrong_media_type_over_the_limit_is_415_as_the_engine_says(service, proxy):
    running = proxy(service.url)
    conn = open_connection(running.url)
    try:
        conn.sendall(
            f"PATCH {IMAGE} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            f"Content-Length: {LIMIT + 1}\r\n\r\n".encode()
        )
        reply = read_reply(conn)
    finally:
        conn.close()
    assert reply.startswith(b"HTTP/1.1 415 ")
    assert b"Accept-Patch: " + imspatch.ACCEPT_PATCH.encode() in reply


def test_chunked_body_over_the_limit_is_413_once_past_it(service, proxy):
    running = proxy(service.url)
    chunk = bytes(1024 * 1024)
    conn = open_connection(running.url)
    try:
        conn.sendall(
            f"PATCH {IMAGE} HTTP/1.1\r\nHost: x\r\nContent-Type: {V21}\r\n"
            "Transfer-Encoding: chunked\r\n\r\n".encode()
        )
        for _ in range(LIMIT // len(chunk) + 1):
            conn.sendall(f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n")
        reply = conn.recv(65536)
    finally:
        conn.close()
    assert reply.startswith(b"HTTP/1.1 413 ")
    assert reply.endswith(engine_413().body)
    assert service.server.log == []


def test_uploads_have_no_limit(proxy):
    size = LIMIT + 5 * 1024 * 1024
    received: list[int] = []
    with Upstream(upload_sink(size, received)) as upstream:
        running = proxy(upstream.url)
        response = call(running.url, "PUT", "/v2/images/x/file", bytes(size),
                        {"Content-Type": "application/octet-stream"})  # fmt: skip
    assert response.status == 204
    assert received == [size]
