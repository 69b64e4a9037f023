"""A wire tap in front of an HTTP server: it relays bytes and notes each request.

glance-api logs no access lines, so to count what reaches it the tests put this
between the proxy and glance-api: ``WireTap(target_url)`` listens on 127.0.0.1
and relays every connection to the target, parsing the requests going in (the
proxy always sends a ``Content-Length``) and copying the answers back untouched.
``.requests`` lists ``(method, target, body)`` in the order they went in.
"""

from __future__ import annotations

import socket
import threading
from urllib.parse import urlsplit

from .harness import Upstream


class WireTap(Upstream):
    def __init__(self, target: str) -> None:
        parts = urlsplit(target)
        self.target = (parts.hostname or "127.0.0.1", parts.port or 80)
        self.requests: list[tuple[str, str, bytes]] = []
        self._lock = threading.Lock()
        super().__init__(self._relay)

    def patches(self) -> list[tuple[str, bytes]]:
        with self._lock:
            return [(target, body) for method, target, body in self.requests if method == "PATCH"]

    def _relay(self, client: socket.socket) -> None:
        with socket.create_connection(self.target) as server:
            back = threading.Thread(target=_pipe, args=(server, client), daemon=True)
            back.start()
            try:
                self._requests_in(client, server)
            finally:
                server.shutdown(socket.SHUT_WR)
                back.join(60)

    def _requests_in(self, client: socket.socket, server: socket.socket) -> None:
        buffer = b""
        while True:
            while b"\r\n\r\n" not in buffer:
                chunk = client.recv(65536)
                if not chunk:
                    return
                buffer += chunk
            head, _, buffer = buffer.partition(b"\r\n\r\n")
            lines = head.decode("latin-1").split("\r\n")
            method, target, _ = lines[0].split(" ", 2)
            fields = {
                k.strip().lower(): v.strip() for k, _, v in (x.partition(":") for x in lines[1:])
            }
            assert "transfer-encoding" not in fields, "the tap reads Content-Length bodies only"
            length = int(fields.get("content-length", "0"))
            while len(buffer) < length:
                chunk = client.recv(65536)
                if not chunk:
                    return
                buffer += chunk
            body, buffer = buffer[:length], buffer[length:]
            with self._lock:
                self.requests.append((method, target, body))
            server.sendall(head + b"\r\n\r\n" + body)


def _pipe(source: socket.socket, sink: socket.socket) -> None:
    try:
        while chunk := source.recv(65536):
            sink.sendall(chunk)
    except OSError:
        pass
    finally:
        try:
            sink.shutdown(socket.SHUT_WR)
        except OSError:
            pass
