"""Fixtures: the example server as the upstream, and the proxy in front of it."""

from __future__ import annotations

import copy
import http.client
import threading
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import urlsplit

import pytest

pytest.importorskip("aiohttp")

import imspatch
from imspatch.proxy import Config

from ..conftest import ROOT, SAMPLE, load_file
from .harness import RunningProxy

example_server = load_file("imspatch_example_server", ROOT / "examples" / "server.py")
IMAGE_ID: str = SAMPLE["id"]


class Response:
    def __init__(self, status: int, headers: list[tuple[str, str]], body: bytes) -> None:
        self.status, self.headers, self.body = status, headers, body

    def header(self, name: str) -> str | None:
        values = [v for k, v in self.headers if k.lower() == name.lower()]
        return ", ".join(values) if values else None


def call(
    url: str,
    method: str,
    path: str,
    body: bytes | None = None,
    headers: dict[str, str] | None = None,
    timeout: float = 10,
) -> Response:
    """One request on a fresh connection, exactly these headers (plus Host, Content-Length)."""
    conn = http.client.HTTPConnection(urlsplit(url).netloc, timeout=timeout)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        response = conn.getresponse()
        return Response(response.status, response.getheaders(), response.read())
    finally:
        conn.close()


class Service:
    """The example server (the upstream) holding the IMS sample image."""

    def __init__(self, rules: imspatch.Rules = imspatch.IMS, admin: bool = False) -> None:
        self.server = example_server.ImageServer(0, rules=rules, admin=admin)
        self.server.store.put(copy.deepcopy(SAMPLE))
        self.url: str = self.server.url
        self._thread = threading.Thread(target=self.server.serve_forever, args=(0.05,))

    def __enter__(self) -> Service:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.server.store.close()
        self._thread.join(5)

    def image(self) -> dict[str, Any]:
        image = self.server.store.get(IMAGE_ID)
        assert image is not None
        return dict(image)

    def patches(self) -> list[Any]:
        return self.server.patches()

    def requests(self) -> list[tuple[str, str]]:
        return [(e.method, e.path) for e in self.server.log]


@pytest.fixture
def service() -> Iterator[Service]:
    with Service() as running:
        yield running


@pytest.fixture
def glance_service() -> Iterator[Service]:
    with Service(imspatch.GLANCE, admin=True) as running:
        yield running


@pytest.fixture
def proxy() -> Iterator[Callable[..., RunningProxy]]:
    """``proxy(upstream_url, **config)``: a running proxy, stopped after the test."""
    started: list[RunningProxy] = []

    def start(upstream: str, **options: Any) -> RunningProxy:
        running = RunningProxy(Config(upstream, **options)).__enter__()
        started.append(running)
        return running

    yield start
    for running in reversed(started):
        running.__exit__(None, None, None)
