"""Fixtures for driving real clients against examples/server.py.

Every test gets a fresh server on 127.0.0.1 (a free port) with an in-memory SQLite
store holding one image, and reads back both what the server stored and the exact
PATCH bodies it received.  Nothing here imports a client: each test module skips
itself with ``pytest.importorskip`` when its client is not installed.

Each test runs twice: ``direct``, and ``proxy``, with ``imspatch proxy`` (IMS rules)
between the client and the server.  Through the proxy, the PATCH bodies and statuses
a test reads are the ones the proxy received and answered, and at the end the server
must have received exactly the PATCHes the proxy forwarded, byte for byte, and
accepted every one of them (the proxy refused everything the server would refuse).
"""

from __future__ import annotations

import contextlib
import copy
import json
import os
import shutil
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from ..conftest import load_file

ROOT = Path(__file__).resolve().parents[2]


example_server = load_file("imspatch_example_server", ROOT / "examples" / "server.py")

#: The image of the IMS API reference's PATCH example (examples/ims-sample-image.json).
IMS_SAMPLE: dict[str, Any] = json.loads(
    (ROOT / "examples" / "ims-sample-image.json").read_text(encoding="utf-8")
)
IMAGE_ID: str = IMS_SAMPLE["id"]

#: The sample without the three entries python-glanceclient cannot read back
#: (``deleted: false``, ``deleted_at: null``, ``__data_origin: null`` are not
#: strings, and the schema says extra properties are strings).  Tests start from
#: this unless they are about those entries.
CLEAN_IMAGE: dict[str, Any] = {
    k: v for k, v in IMS_SAMPLE.items() if k not in {"deleted", "deleted_at", "__data_origin"}
}

#: Marker value for Harness.put(): remove that key from the image.
_DELETE: Any = object()


class Harness:
    """One running example server plus helpers to set up and inspect its image.

    Test modules use it through the ``ims`` fixture and import nothing from here.
    """

    image_id = IMAGE_ID
    DELETE = _DELETE

    @property
    def sample(self) -> dict[str, Any]:
        """The IMS sample image, with its non-string ``deleted`` and nulls."""
        return copy.deepcopy(IMS_SAMPLE)

    def __init__(self, server: Any, proxy: Any = None) -> None:
        self.server = server
        self.proxy = proxy
        self.url: str = server.url if proxy is None else proxy.url

    def put(self, image: dict[str, Any] | None = None, /, **changes: Any) -> dict[str, Any]:
        """Store *image* (default: CLEAN_IMAGE) with *changes*; ``DELETE`` drops a key."""
        doc = copy.deepcopy(CLEAN_IMAGE if image is None else image)
        for key, value in changes.items():
            if value is _DELETE:
                doc.pop(key, None)
            else:
                doc[key] = value
        self.server.store.put(doc)
        self.server.log.clear()
        if self.proxy is not None:
            self.check_proxy()
            self.proxy.clear()
        return doc

    def stored(self) -> dict[str, Any]:
        image = self.server.store.get(self.image_id)
        assert image is not None
        return image

    def _received(self) -> list[tuple[bytes, int, dict[str, str]]]:
        """Body, status and headers of each PATCH the client sent (since put())."""
        if self.proxy is None:
            return [(e.body, e.status, e.headers) for e in self.server.patches()]
        return [(s.body, s.status, s.headers) for s in self.proxy.patches()]

    def patches(self) -> list[Any]:
        """The decoded bodies of the PATCH requests received since put()."""
        return [json.loads(raw) for raw, _, _ in self._received()]

    def raw_patches(self) -> list[bytes]:
        return [raw for raw, _, _ in self._received()]

    def statuses(self) -> list[int]:
        return [status for _, status, _ in self._received()]

    def content_types(self) -> set[str]:
        return {headers.get("Content-Type", "") for _, _, headers in self._received()}

    def check_proxy(self) -> None:
        """The server got exactly the PATCHes the proxy forwarded, and accepted them all."""
        forwarded = [s.body for s in self.proxy.patches() if s.verdict == "forwarded"]
        assert [e.body for e in self.server.patches()] == forwarded
        assert {e.status for e in self.server.patches()} <= {200}
        assert all(
            s.verdict in ("forwarded", "get failed") or s.verdict.startswith("refused ")
            for s in self.proxy.patches()
        )


@contextlib.contextmanager
def serving(*, through_proxy: bool) -> Iterator[Harness]:
    """A fresh server with IMS rules and the CLEAN_IMAGE stored, maybe behind the proxy."""
    server = example_server.ImageServer(0)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        with contextlib.ExitStack() as stack:
            proxy = None
            if through_proxy:
                pytest.importorskip("aiohttp")
                from imspatch.proxy import Config  # noqa: PLC0415 - needs aiohttp

                from ..proxy.harness import RunningProxy  # noqa: PLC0415

                proxy = stack.enter_context(RunningProxy(Config(server.url)))
            harness = Harness(server, proxy)
            harness.put()
            yield harness
            if proxy is not None:
                harness.check_proxy()
    finally:
        server.shutdown()
        server.server_close()
        server.store.close()
        thread.join(5)


@pytest.fixture(params=["direct", "proxy"])
def ims(request: pytest.FixtureRequest) -> Iterator[Harness]:
    """The server, reached directly and through ``imspatch proxy``."""
    with serving(through_proxy=request.param == "proxy") as harness:
        yield harness


@pytest.fixture
def ims_direct() -> Iterator[Harness]:
    """The server, reached directly only."""
    with serving(through_proxy=False) as harness:
        yield harness


@pytest.fixture
def cli(tmp_path: Path) -> Any:
    """``cli(name, *args)``: run a client CLI; its HOME (and schema cache) is tmp_path."""

    def run(name: str, *args: str) -> subprocess.CompletedProcess[str]:
        return run_cli(name, list(args), tmp_path)

    return run


def client_executable(name: str) -> Path:
    """A console script of the client venv (next to the running interpreter)."""
    path = Path(sys.executable).parent / name
    if not path.exists():
        found = shutil.which(name)
        if found is None:
            pytest.skip(f"{name} is not installed")
        path = Path(found)
    return path


def run_cli(name: str, args: list[str], home: Path) -> subprocess.CompletedProcess[str]:
    """Run a client CLI with a private HOME and no OS_* variables from the caller."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OS_", "PYTHON"))}
    env["HOME"] = str(home)
    env["LC_ALL"] = env["LANG"] = "C.UTF-8"
    return subprocess.run(
        [str(client_executable(name)), *args],
        capture_output=True,
        text=True,
        encoding="utf-8",
        env=env,
        timeout=120,
        check=False,
    )
