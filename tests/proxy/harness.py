"""Running the proxy in a test: in a thread of its own, with a recording middleware.

``RunningProxy(config)`` is a context manager: on entry the proxy serves on
127.0.0.1 (a free port) from a thread with its own event loop; ``.url`` is its
address and ``.seen`` what it received and answered; on exit it is stopped and
the thread joined.  ``Upstream`` is a scripted HTTP server for the fault tests: each
connection is handed to a function of the test's.
"""

from __future__ import annotations

import asyncio
import socket
import socketserver
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from imspatch.proxy import PATCH_BODY, VERDICT, Config, serve


@dataclass(frozen=True)
class Seen:
    """One request as the proxy received it, and what it answered."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes | None  # image PATCH bodies only
    status: int | None  # None: the caller went away first
    verdict: str


class RunningProxy:
    def __init__(self, config: Config) -> None:
        self.config = config
        self._seen: list[Seen] = []
        self._in_flight = 0
        self._idle = threading.Condition()
        self.url = ""
        self._ready = threading.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._failure: BaseException | None = None

    @web.middleware
    async def _record(self, request: web.Request, handler: Any) -> web.StreamResponse:
        with self._idle:
            self._in_flight += 1
        response: web.StreamResponse | None = None
        try:
            response = await handler(request)
            return response
        finally:
            seen = Seen(
                request.method,
                request.path_qs,
                dict(request.headers),
                request.get(PATCH_BODY),
                None if response is None else response.status,
                request.get(VERDICT, "-"),
            )
            with self._idle:
                self._seen.append(seen)
                self._in_flight -= 1
                self._idle.notify_all()

    @property
    def seen(self) -> list[Seen]:
        """What the proxy has answered, once no request is in progress.

        A caller may have its whole answer a moment before the handler returns.
        """
        with self._idle:
            self._idle.wait_for(lambda: self._in_flight == 0, timeout=10)
        return list(self._seen)

    def _run(self) -> None:
        async def main() -> None:
            self._loop = asyncio.get_running_loop()
            self._stop = asyncio.Event()

            def ready(line: str) -> None:
                self.url = line.removeprefix("listening on ")
                self._ready.set()

            await serve(self.config, ready=ready, stop=self._stop, middlewares=[self._record])

        try:
            asyncio.run(main())
        except BaseException as exc:  # reported by __enter__ / __exit__
            self._failure = exc
            self._ready.set()

    def __enter__(self) -> RunningProxy:
        self._thread.start()
        assert self._ready.wait(10), "the proxy did not start"
        if self._failure is not None:
            raise self._failure
        return self

    def __exit__(self, *exc_info: object) -> None:
        assert self._loop is not None
        assert self._stop is not None
        self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(30)
        assert not self._thread.is_alive(), "the proxy did not stop"
        if self._failure is not None:
            raise self._failure

    def patches(self) -> list[Seen]:
        return [s for s in self.seen if s.method == "PATCH"]

    def clear(self) -> None:
        """Forget what was seen so far."""
        _ = self.seen  # wait for requests in progress
        with self._idle:
            self._seen.clear()


class Upstream(socketserver.ThreadingTCPServer):
    """A scripted upstream on 127.0.0.1: ``serve(connection)`` handles each connection."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, serve: Callable[[socket.socket], None]) -> None:
        script = serve

        class Handler(socketserver.BaseRequestHandler):
            def handle(self) -> None:
                script(self.request)

        super().__init__(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server_address[1]}"
        self._thread = threading.Thread(target=self.serve_forever, args=(0.05,), daemon=True)

    def __enter__(self) -> Upstream:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.shutdown()
        self.server_close()
        self._thread.join(5)


def read_request(conn: socket.socket) -> tuple[bytes, bytes]:
    """The head of one request (up to the blank line) and what came after it so far."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(65536)
        if not chunk:
            break
        data += chunk
    head, _, rest = data.partition(b"\r\n\r\n")
    return head, rest


def upload_sink(size: int, received: list[int]) -> Callable[[socket.socket], None]:
    """An upstream handler that reads an upload of *size* bytes, counts it, answers 204."""

    def sink(conn: socket.socket) -> None:
        _, rest = read_request(conn)
        got = len(rest)
        while got < size and (chunk := conn.recv(1 << 20)):
            got += len(chunk)
        received.append(got)
        conn.sendall(b"HTTP/1.1 204 No Content\r\n\r\n")

    return sink


def free_port() -> int:
    """A port nothing listens on (bound, then closed)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def raw_exchange(url: str, data: bytes, timeout: float = 10) -> bytes:
    """Send *data* as is to the server at *url*; everything it answers until it closes."""
    host, port = url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=timeout) as conn:
        conn.sendall(data)
        reply = b""
        while chunk := conn.recv(65536):
            reply += chunk
    return reply
