"""Fixtures for driving real clients against examples/server.py.

Every test gets a fresh server on 127.0.0.1 (a free port) with an in-memory SQLite
store holding one image, and reads back both what the server stored and the exact
PATCH bodies it received.  Nothing here imports a client: each test module skips
itself with ``pytest.importorskip`` when its client is not installed.
"""

from __future__ import annotations

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

    def __init__(self, server: Any) -> None:
        self.server = server
        self.url: str = server.url

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
        return doc

    def stored(self) -> dict[str, Any]:
        image = self.server.store.get(self.image_id)
        assert image is not None
        return image

    def patches(self) -> list[Any]:
        """The decoded bodies of the PATCH requests received since put()."""
        return [exchange.json() for exchange in self.server.patches()]

    def raw_patches(self) -> list[bytes]:
        return [exchange.body for exchange in self.server.patches()]

    def statuses(self) -> list[int]:
        return [exchange.status for exchange in self.server.patches()]

    def content_types(self) -> set[str]:
        return {exchange.headers.get("Content-Type", "") for exchange in self.server.patches()}


@pytest.fixture
def ims() -> Iterator[Harness]:
    """A fresh server with IMS rules and the CLEAN_IMAGE stored."""
    server = example_server.ImageServer(0)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    harness = Harness(server)
    harness.put()
    try:
        yield harness
    finally:
        server.shutdown()
        server.server_close()
        server.store.close()
        thread.join(5)


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
