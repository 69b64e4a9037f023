"""``imspatch proxy`` as a process: start-up line, clean stop, logs, memory."""

from __future__ import annotations

import http.client
import logging
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from imspatch import cli

from ..conftest import V21, body, r
from .conftest import IMAGE_ID, call
from .harness import Upstream, free_port, raw_exchange, read_request, upload_sink

IMAGE = f"/v2/images/{IMAGE_ID}"
SECRETS = ("tok-SECRET-1", "Basic U0VDUkVULTI=", "sess=SECRET-3", "SECRET-4")


class Proxy:
    def __init__(self, process: subprocess.Popen[str], url: str) -> None:
        self.process, self.url = process, url

    def stop(self, signum: int = signal.SIGTERM) -> tuple[int, str]:
        self.process.send_signal(signum)
        try:
            code = self.process.wait(20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
            raise
        assert self.process.stderr is not None
        return code, self.process.stderr.read()


@contextmanager
def proxy_process(*args: str) -> Iterator[Proxy]:
    process = subprocess.Popen(
        [sys.executable, "-m", "imspatch", "proxy", "--listen", "127.0.0.1:0", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        assert line.startswith("listening on http://127.0.0.1:"), line
        yield Proxy(process, line.split()[-1])
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        for stream in (process.stdout, process.stderr):
            if stream is not None:
                stream.close()


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_prints_where_it_listens_serves_and_stops_cleanly(service, signum):
    with proxy_process("--upstream", service.url) as proxy:
        port = int(proxy.url.rsplit(":", 1)[1])
        assert 0 < port < 65536
        assert call(proxy.url, "GET", IMAGE).status == 200
        code, stderr = proxy.stop(signum)
    assert code == 0
    assert "Traceback" not in stderr
    assert f"GET /v2/images/{IMAGE_ID} 200 relayed" in stderr
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", port), timeout=2).close()  # the port is closed


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ([], "the following arguments are required: --upstream"),
        (["--upstream", "ftp://x"], "imspatch proxy: not an http(s) URL: 'ftp://x'"),
        (["--upstream", "http://x", "--listen", "nowhere"], "not HOST:PORT: 'nowhere'"),
        (["--upstream", "http://x", "--rules", "aws"], "invalid choice: 'aws'"),
    ],
)
def test_usage_errors_exit_2(capsys, args, message):
    assert cli.run(["proxy", *args]) == 2
    assert message in capsys.readouterr().err


def test_a_taken_port_exits_2(service):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = subprocess.run(
            [sys.executable, "-m", "imspatch", "proxy", "--upstream", service.url,
             "--listen", f"127.0.0.1:{port}"],
            capture_output=True, text=True, timeout=30, check=False,
        )  # fmt: skip
    assert result.returncode == 2
    assert f"imspatch proxy: cannot listen on 127.0.0.1:{port}:" in result.stderr
    assert result.stdout == ""


def exercise(url: str) -> None:
    """Requests carrying credentials down every path of the proxy."""
    secret = {
        "X-Auth-Token": SECRETS[0], "Authorization": SECRETS[1], "Cookie": SECRETS[2],
        "Content-Type": V21,
    }  # fmt: skip
    call(url, "GET", f"{IMAGE}?token={SECRETS[3]}", headers=secret)  # relayed
    call(url, "PATCH", IMAGE, body(r("/name", "x")), secret)  # forwarded
    call(url, "PATCH", IMAGE, body(r("/min_ram", 1)), secret)  # refused
    call(url, "PATCH", "/v2/images/missing", body(r("/name", "x")), secret)  # GET failed
    # a malformed request, which aiohttp's parser refuses and logs
    raw_exchange(
        url,
        f"GET / HTTP/1.1\r\nX-Auth-Token: {SECRETS[0]}\r\nBad\x01: {SECRETS[3]}\r\n\r\n".encode(),
    )


def test_no_credential_is_ever_written_to_the_log(service):
    with proxy_process("--upstream", service.url) as proxy:
        exercise(proxy.url)
        _, stderr = proxy.stop()
    with proxy_process("--upstream", f"http://127.0.0.1:{free_port()}") as down:
        exercise(down.url)
        _, down_stderr = down.stop()
    for log in (stderr, down_stderr):
        assert "relayed" in log or "gateway" in log  # the log is there ...
        for secret in SECRETS:
            assert secret not in log  # ... without the credentials
    assert "refused protected" in stderr
    assert "upstream http://127.0.0.1" in down_stderr


def test_no_credential_in_any_logger_at_debug(service, proxy, caplog):
    caplog.set_level(logging.DEBUG)
    running = proxy(service.url)
    exercise(running.url)

    def cut_off(conn: socket.socket) -> None:
        read_request(conn)
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\nx")

    with Upstream(cut_off) as cut, pytest.raises(http.client.IncompleteRead):
        call(proxy(cut.url).url, "GET", "/", headers={"X-Auth-Token": SECRETS[0]})
    text = "\n".join(record.getMessage() + str(record.exc_info) for record in caplog.records)
    assert "refused protected" in text
    assert "Error handling request from 127.0.0.1 (BadHttpMessage)" in text
    for secret in SECRETS:
        assert secret not in text


def vm(pid: int, field: str) -> int:
    """A memory figure of a process, in KiB (from /proc)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise AssertionError(field)


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="needs /proc")
def test_a_large_upload_streams_through_in_bounded_memory():
    size = 256 * 1024 * 1024
    got: list[int] = []
    with (
        Upstream(upload_sink(size, got)) as upstream,
        proxy_process("--upstream", upstream.url, "-q") as proxy,
    ):
        before = vm(proxy.process.pid, "VmRSS")
        host, port = proxy.url.removeprefix("http://").split(":")
        with socket.create_connection((host, int(port)), timeout=60) as conn:
            conn.sendall(
                f"PUT /v2/images/x/file HTTP/1.1\r\nHost: x\r\nContent-Length: {size}\r\n"
                "Content-Type: application/octet-stream\r\n\r\n".encode()
            )
            block = bytes(1 << 20)
            for _ in range(size // len(block)):
                conn.sendall(block)
            reply = conn.recv(65536)
        peak = vm(proxy.process.pid, "VmHWM")
        proxy.stop()
    assert reply.startswith(b"HTTP/1.1 204 ")
    assert got == [size]
    assert peak - before < 64 * 1024, f"peak {peak} KiB, {before} KiB before a 256 MiB upload"
