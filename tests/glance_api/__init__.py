"""A real upstream glance-api (``scripts/glance-api.sh``) for tests.

``glance_api()`` starts the launcher, reads ``listening on URL`` from its first
line of output and always stops it again (SIGTERM to its process group, wait,
SIGKILL on timeout), so a test that starts a server also stops it::

    with glance_api() as api:
        image = api.create_image(OWNER, name="x")            # active, owned by OWNER
        status, headers, body = api.request(
            "PATCH", f"/v2/images/{image['id']}",
            json.dumps([{"op": "replace", "path": "/name", "value": "y"}]).encode(),
            {**identity(OWNER), "Content-Type": V21},
        )

Glance takes the caller from headers (``identity``): a project member acts for
its project (and owns the images it creates), ``admin=True`` adds the
``admin`` role.  Errors come as JSON only with ``Accept: application/json``,
which ``identity`` sends.

The launcher needs the Glance venv (``scripts/glance-venv.sh`` builds it, in a
minute or a few); ``venv_ready()`` says whether it is there, without building.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import selectors
import signal
import subprocess
import tempfile
import threading
import time
import urllib.parse
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

__all__ = [
    "ADMIN",
    "OTHER",
    "OWNER",
    "REQUIRE_ENV",
    "GlanceAPI",
    "glance_api",
    "identity",
    "venv_ready",
]

ROOT = Path(__file__).resolve().parents[2]
LAUNCHER = ROOT / "scripts" / "glance-api.sh"
VENV_SCRIPT = ROOT / "scripts" / "glance-venv.sh"
#: Set to 1 (CI does) to fail, not skip, when the Glance venv is missing.
REQUIRE_ENV = "IMSPATCH_REQUIRE_GLANCE_API"
#: Projects the tests act for: two plain members and an admin.
OWNER, OTHER, ADMIN = "project-owner", "project-other", "project-admin"
_READY_PREFIX = "listening on "


def identity(project: str, *, admin: bool = False) -> dict[str, str]:
    """Headers that make Glance's ContextMiddleware act for ``project``.

    Without ``X-Identity-Status: Confirmed`` every request is 401.  The roles
    decide admin (policy rule ``context_is_admin`` is ``role:admin``);
    ``Accept: application/json`` makes error bodies JSON instead of text.
    """
    return {
        "X-Identity-Status": "Confirmed",
        "X-Project-Id": project,
        "X-User-Id": f"user-of-{project}",
        "X-Roles": "admin,member,reader" if admin else "member,reader",
        "Accept": "application/json",
    }


def venv_ready() -> bool:
    """Whether the Glance venv is complete (nothing is built to find out)."""
    check = subprocess.run(["bash", str(VENV_SCRIPT), "--check"], capture_output=True, check=False)
    return check.returncode == 0


@dataclass
class GlanceAPI:
    """A running launcher: its URL, its process and its standard error."""

    url: str
    process: subprocess.Popen[str]
    stderr: IO[str]
    _connection: http.client.HTTPConnection | None = field(default=None, repr=False)

    @property
    def port(self) -> int:
        return urllib.parse.urlsplit(self.url).port or 80

    def log(self) -> str:
        """What the launcher (Glance's log included) wrote to standard error."""
        self.stderr.flush()
        self.stderr.seek(0)
        return self.stderr.read()

    def request(
        self,
        method: str,
        path: str,
        body: bytes | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> tuple[int, dict[str, str], bytes]:
        """One request on a kept-alive connection: status, headers (lower-cased), body.

        Sent again, once, on a new connection if the server had closed the old one.
        """
        for attempt in (1, 2):
            if self._connection is None:
                self._connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
            try:
                self._connection.request(method, path, body, dict(headers or {}))
                answer = self._connection.getresponse()
                data = answer.read()
            except (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError):
                self.close_connection()
                if attempt == 2:
                    raise
                continue
            return answer.status, {k.lower(): v for k, v in answer.getheaders()}, data
        raise AssertionError("unreachable")

    def json(
        self, method: str, path: str, payload: Any, headers: Mapping[str, str]
    ) -> tuple[int, Any]:
        """A request with a JSON body (none if ``payload`` is None); the answer decoded.

        Content-Type is JSON unless ``headers`` say otherwise.
        """
        body = None if payload is None else json.dumps(payload).encode()
        if body is not None:
            headers = {"Content-Type": "application/json", **headers}
        status, _, data = self.request(method, path, body, headers)
        return status, json.loads(data) if data else None

    def create_image(
        self, project: str, *, data: bytes = b"imspatch", **attributes: Any
    ) -> dict[str, Any]:
        """An ``active`` image owned by ``project``: create it, then upload ``data``.

        ``attributes`` go into the create request; ``disk_format`` ``raw`` and
        ``container_format`` ``bare`` unless given (upload needs both).
        """
        caller = identity(project)
        body = {"disk_format": "raw", "container_format": "bare", **attributes}
        status, image = self.json("POST", "/v2/images", body, caller)
        if status != 201:
            raise RuntimeError(f"create image: {status} {image}")
        upload = {**caller, "Content-Type": "application/octet-stream"}
        status, _, answer = self.request("PUT", f"/v2/images/{image['id']}/file", data, upload)
        if status != 204:
            raise RuntimeError(f"upload image data: {status} {answer[:300]!r}")
        status, image = self.json("GET", f"/v2/images/{image['id']}", None, caller)
        if status != 200 or image["status"] != "active":
            raise RuntimeError(f"image after upload: {status} {image}")
        return image  # type: ignore[no-any-return]

    def close_connection(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None


def _first_line(process: subprocess.Popen[str], timeout: float) -> str:
    """The launcher's first output line, or '' if it ended or timed out first."""
    assert process.stdout is not None
    with selectors.DefaultSelector() as selector:
        selector.register(process.stdout, selectors.EVENT_READ)
        if not selector.select(timeout):
            return ""
    return process.stdout.readline()


def stop(process: subprocess.Popen[str], timeout: float = 30.0) -> int:
    """SIGTERM to the launcher's process group, wait, SIGKILL on timeout.

    Returns the launcher's exit status (negative: killed by that signal).
    """
    if process.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait()
    # Nothing else of its group (a pip or glance-manage child) may outlive it.
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    if process.stdout is not None:
        process.stdout.close()
    return process.returncode


@contextlib.contextmanager
def _sigterm_unwinds() -> Iterator[None]:
    """While a server runs, SIGTERM to this process raises KeyboardInterrupt.

    Then the ``finally`` that stops the server runs even when the test process
    itself is terminated (as ``timeout`` in CI does).  Left alone where a
    SIGTERM handler is already set or outside the main thread.
    """
    if (
        threading.current_thread() is not threading.main_thread()
        or signal.getsignal(signal.SIGTERM) is not signal.SIG_DFL
    ):
        yield
        return

    def unwind(signum: int, _frame: object) -> None:
        raise KeyboardInterrupt(f"signal {signum}")

    signal.signal(signal.SIGTERM, unwind)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)


@contextlib.contextmanager
def glance_api(
    port: int = 0,
    *,
    env: Mapping[str, str] | None = None,
    start_timeout: float = 600.0,
    stop_timeout: float = 30.0,
) -> Iterator[GlanceAPI]:
    """Run ``bash scripts/glance-api.sh PORT`` for the ``with`` block.

    ``env`` is added to the environment (e.g. ``TMPDIR`` to see where the
    launcher's temporary directory goes).  ``start_timeout`` covers building
    the venv on first use.  On a failed start the error holds the launcher's
    standard error.
    """
    with tempfile.TemporaryFile("w+", encoding="utf-8") as stderr, _sigterm_unwinds():
        process = subprocess.Popen(
            ["bash", str(LAUNCHER), str(port)],
            stdout=subprocess.PIPE,
            stderr=stderr,
            stdin=subprocess.DEVNULL,
            text=True,
            encoding="utf-8",
            env={**os.environ, **(env or {})},
            start_new_session=True,  # its own process group, for stop()
        )
        api: GlanceAPI | None = None
        try:
            started = time.monotonic()
            line = _first_line(process, start_timeout)
            if not line.startswith(_READY_PREFIX):
                stderr.seek(0)
                raise RuntimeError(
                    f"glance-api.sh did not start within {time.monotonic() - started:.0f} s "
                    f"(first line {line!r}); its standard error ends with:\n"
                    + stderr.read()[-4000:]
                )
            api = GlanceAPI(line[len(_READY_PREFIX) :].strip(), process, stderr)
            yield api
        finally:
            if api is not None:
                api.close_connection()
            stop(process, stop_timeout)
