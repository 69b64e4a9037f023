"""A small image service that embeds imspatch: how to put the engine behind HTTP.

    python examples/server.py 8080                         # IMS rules, in-memory DB
    python examples/server.py 0 --seed examples/ims-sample-image.json
    python examples/server.py 9292 --db images.sqlite --rules glance --admin

Port 0 picks a free port; the server prints ``listening on http://127.0.0.1:PORT``.
It listens on 127.0.0.1 only, has no authentication (every token is accepted) and
serves just enough of the image API for real clients (python-glanceclient,
openstacksdk, python-openstackclient, huaweicloudsdkims) to update images:

    GET    /, /versions, /v2        version discovery
    GET    /v2/schemas/image(s)     the IMS image schema (a Kilo-era Glance schema)
    GET    /v2/images               list; filters name, status, visibility, owner;
                                    paging with limit and marker
    POST   /v2/images               create (201)
    GET    /v2/images/{id}          show
    PATCH  /v2/images/{id}          imspatch.patch_image, then store the result
    DELETE /v2/images/{id}          delete (204; 403 when protected)
    PUT    /v2/images/{id}/file     upload data: a queued image becomes active (204)
    POST   /v2/images/{id}/actions/deactivate, .../reactivate    (204)

The engine does no I/O, so everything around it is here: reading the body, taking
the media type from Content-Type, loading and storing the image, setting
``updated_at``, and rendering a ``PatchError`` with ``to_response()``.
Images are kept in SQLite as JSON documents, key order preserved.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sqlite3
import sys
import threading
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import imspatch

Image = dict[str, Any]

#: What ``POST /v2/images`` may not set (Glance's read-only and reserved names).
_NOT_ON_CREATE = frozenset(
    {
        "created_at", "updated_at", "status", "checksum", "size", "virtual_size",
        "direct_url", "self", "file", "schema", "os_hash_algo", "os_hash_value",
        "location", "deleted", "deleted_at",
    }
)  # fmt: skip


def _now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


# --------------------------------------------------------------------------- storage


class ImageStore:
    """Images as JSON documents in one SQLite table; safe to share between threads."""

    def __init__(self, path: str = ":memory:") -> None:
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._lock = threading.RLock()
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS images "
            "(seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT UNIQUE NOT NULL, doc TEXT NOT NULL)"
        )

    def get(self, image_id: str) -> Image | None:
        with self._lock:
            row = self._db.execute("SELECT doc FROM images WHERE id = ?", (image_id,)).fetchone()
        return None if row is None else dict(json.loads(row[0]))

    def all(self) -> list[Image]:
        with self._lock:
            rows = self._db.execute("SELECT doc FROM images ORDER BY seq").fetchall()
        return [json.loads(doc) for (doc,) in rows]

    def put(self, image: Image) -> None:
        doc = json.dumps(image, ensure_ascii=False)
        with self._lock:
            self._db.execute(
                "INSERT INTO images (id, doc) VALUES (?, ?) "
                "ON CONFLICT (id) DO UPDATE SET doc = excluded.doc",
                (image["id"], doc),
            )

    def delete(self, image_id: str) -> bool:
        with self._lock:
            return self._db.execute("DELETE FROM images WHERE id = ?", (image_id,)).rowcount > 0

    def update(self, image_id: str, change: Callable[[Image], Image]) -> Image | None:
        """Read, change and write one image atomically; None if it does not exist.

        *change* may raise (a ``PatchError``): then nothing is written.
        """
        with self._lock:
            image = self.get(image_id)
            if image is None:
                return None
            new = change(image)
            if new != image:
                self.put(new)
            return new

    def close(self) -> None:
        with self._lock:
            self._db.close()


# --------------------------------------------------------------------------- schema

_UUID = "^([0-9a-fA-F]){8}-([0-9a-fA-F]){4}-([0-9a-fA-F]){4}-([0-9a-fA-F]){4}-([0-9a-fA-F]){12}$"


def _prop(json_type: str, description: str, **extra: Any) -> dict[str, Any]:
    if "READ-ONLY" in description:
        # Not in the IMS document; without it the `glance` CLI turns `file` into a
        # `--file` option that clashes with its own (tests/clients/README.md).
        extra["readOnly"] = True
    return {"type": json_type, "description": description, **extra}


#: ``GET /v2/schemas/image`` as the IMS API reference documents it (GlanceShowImageSchemas):
#: Kilo-era Glance, custom properties must be strings, plus ``readOnly`` marks.
#: python-glanceclient validates every image it reads against this schema.
IMAGE_SCHEMA: dict[str, Any] = {
    "additionalProperties": {"type": "string"},
    "name": "image",
    "links": [
        {"href": "{self}", "rel": "self"},
        {"href": "{file}", "rel": "enclosure"},
        {"href": "{schema}", "rel": "describedby"},
    ],
    "properties": {
        "id": _prop("string", "An identifier for the image", pattern=_UUID),
        "name": _prop("string", "Descriptive name for the image", maxLength=255),
        "status": _prop(
            "string", "Status of the image (READ-ONLY)",
            enum=["queued", "saving", "active", "killed", "deleted", "pending_delete"],
        ),
        "visibility": _prop("string", "Scope of image accessibility", enum=["public", "private"]),
        "protected": _prop("boolean", "If true, image will not be deletable."),
        "checksum": _prop("string", "md5 hash of image contents. (READ-ONLY)", maxLength=32),
        "owner": _prop("string", "Owner of the image", maxLength=255),
        "size": _prop("integer", "Size of image file in bytes (READ-ONLY)"),
        "virtual_size": _prop("integer", "Virtual size of image in bytes (READ-ONLY)"),
        "container_format": _prop(
            "string", "Format of the container",
            enum=["ami", "ari", "aki", "bare", "ovf", "ova"],
        ),
        "disk_format": _prop(
            "string", "Format of the disk",
            enum=["ami", "ari", "aki", "vhd", "vmdk", "raw", "qcow2", "vdi", "iso"],
        ),
        "created_at": _prop("string", "Date and time of image registration (READ-ONLY)"),
        "updated_at": _prop("string", "Date and time of the last image modification (READ-ONLY)"),
        "tags": {
            "type": "array",
            "description": "List of strings related to the image",
            "items": {"type": "string", "maxLength": 255},
        },
        "direct_url": _prop(
            "string", "URL to access the image file kept in external store (READ-ONLY)"
        ),
        "min_ram": _prop("integer", "Amount of ram (in MB) required to boot image."),
        "min_disk": _prop("integer", "Amount of disk space (in GB) required to boot image."),
        "self": _prop("string", "(READ-ONLY)"),
        "file": _prop("string", "(READ-ONLY)"),
        "schema": _prop("string", "(READ-ONLY)"),
        "locations": {
            "type": "array",
            "description": "A set of URLs to access the image file kept in external store",
            "items": {
                "type": "object",
                "required": ["url", "metadata"],
                "properties": {
                    "url": {"type": "string", "maxLength": 255},
                    "metadata": {"type": "object"},
                },
            },
        },
        "kernel_id": _prop("string", "ID of the kernel image", pattern=_UUID, is_base=False),
        "ramdisk_id": _prop("string", "ID of the ramdisk image", pattern=_UUID, is_base=False),
        "instance_uuid": _prop("string", "ID of the source instance", is_base=False),
        "architecture": _prop("string", "Operating system architecture", is_base=False),
        "os_distro": _prop("string", "Common name of operating system distribution", is_base=False),
        "os_version": _prop("string", "Operating system version", is_base=False),
    },
}  # fmt: skip

IMAGES_SCHEMA: dict[str, Any] = {
    "name": "images",
    "properties": {
        "images": {"type": "array", "items": IMAGE_SCHEMA},
        "schema": {"type": "string"},
        "first": {"type": "string"},
        "next": {"type": "string"},
    },
    "links": [
        {"href": "{first}", "rel": "first"},
        {"href": "{next}", "rel": "next"},
        {"href": "{schema}", "rel": "describedby"},
    ],
}


# --------------------------------------------------------------------------- HTTP


@dataclass(frozen=True)
class Exchange:
    """One request as the server received it, and the status it answered."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    status: int

    def json(self) -> Any:
        return json.loads(self.body)


class ImageServer(ThreadingHTTPServer):
    """The HTTP server; its attributes are the service's configuration and state."""

    daemon_threads = True

    def __init__(
        self,
        port: int = 0,
        *,
        store: ImageStore | None = None,
        rules: imspatch.Rules = imspatch.IMS,
        admin: bool = False,
        schema: dict[str, Any] | None = None,
        verbose: bool = False,
    ) -> None:
        super().__init__(("127.0.0.1", port), ImageHandler)
        self.store = store if store is not None else ImageStore()
        self.rules = rules
        self.admin = admin
        self.schema = IMAGE_SCHEMA if schema is None else schema
        self.verbose = verbose
        #: Every request received, in order (tests read it).
        self.log: list[Exchange] = []

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def patches(self) -> list[Exchange]:
        """The PATCH requests received so far."""
        return [e for e in self.log if e.method == "PATCH"]


@dataclass
class _Reply:
    status: int
    body: bytes = b""
    headers: list[tuple[str, str]] = field(default_factory=list)


class ImageHandler(BaseHTTPRequestHandler):
    server: ImageServer
    server_version = "imspatch-example"

    # -- plumbing

    def _serve(self, method: str) -> None:
        length_text = self.headers.get("Content-Length") or "0"
        length = int(length_text) if length_text.isdigit() else -1
        limit = imspatch.DEFAULT_LIMITS.max_body_bytes
        body = b""
        if length < 0:
            reply = self._error(400, "bad_request", "Invalid Content-Length.")
            self.close_connection = True
        elif length > limit:  # refuse before reading; the engine would say the same
            reply = self._error(413, "body_too_large", f"Body larger than {limit} bytes.")
            self.close_connection = True
        else:
            body = self.rfile.read(length) if length else b""
            try:
                reply = self._route(method, urlsplit(self.path).path.rstrip("/"), body)
            except Exception as exc:  # a bug here or in the engine: still answer
                reply = self._error(500, "internal_error", f"{type(exc).__name__}: {exc}")
        self.server.log.append(
            Exchange(method, self.path, dict(self.headers.items()), body, reply.status)
        )
        self.send_response(reply.status)
        for name, value in reply.headers:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(reply.body)))
        self.end_headers()
        self.wfile.write(reply.body)

    def do_GET(self) -> None:
        self._serve("GET")

    def do_POST(self) -> None:
        self._serve("POST")

    def do_PATCH(self) -> None:
        self._serve("PATCH")

    def do_DELETE(self) -> None:
        self._serve("DELETE")

    def do_PUT(self) -> None:
        self._serve("PUT")

    def log_message(self, format: str, *args: Any) -> None:
        if self.server.verbose:
            super().log_message(format, *args)

    def _json(self, status: int, doc: Any) -> _Reply:
        body = json.dumps(doc).encode()
        return _Reply(status, body, [("Content-Type", "application/json")])

    def _error(self, status: int, code: str, message: str) -> _Reply:
        """An error that is not the engine's, in the same style as the engine's."""
        if self.server.rules.name == "glance":
            reason = HTTPStatus(status).phrase
            doc: Any = {"code": f"{status} {reason}", "title": reason, "message": message}
        else:
            doc = {"error": {"code": code, "message": message}}
        return self._json(status, doc)

    def _not_found(self, image_id: str) -> _Reply:
        return self._error(404, "not_found", f"No image found with ID {image_id[:64]}")

    # -- routes

    def _route(self, method: str, path: str, body: bytes) -> _Reply:
        parts = path.split("/")[1:]  # "/v2/images/x" -> ["v2", "images", "x"]
        if method == "GET" and parts in ([], ["versions"], ["v2"]):
            return self._versions(multiple=parts == [])
        if method == "GET" and parts == ["v2", "schemas", "image"]:
            return self._json(200, self.server.schema)
        if method == "GET" and parts == ["v2", "schemas", "images"]:
            return self._json(
                200,
                {
                    **IMAGES_SCHEMA,
                    "properties": {
                        **IMAGES_SCHEMA["properties"],
                        "images": {"type": "array", "items": self.server.schema},
                    },
                },
            )
        if parts == ["v2", "images"]:
            if method == "GET":
                return self._list()
            if method == "POST":
                return self._create(body)
        if len(parts) == 3 and parts[:2] == ["v2", "images"]:
            image_id = parts[2]
            if method == "GET":
                image = self.server.store.get(image_id)
                return self._not_found(image_id) if image is None else self._json(200, image)
            if method == "PATCH":
                return self._patch(image_id, body)
            if method == "DELETE":
                return self._delete(image_id)
        below = parts[3:] if len(parts) > 3 and parts[:2] == ["v2", "images"] else []
        if method == "PUT" and below == ["file"]:
            return self._upload(parts[2], body)
        if method == "POST" and len(below) == 2 and below[0] == "actions" and below[1] in _ACTIONS:
            return self._act(parts[2], below[1])
        return self._error(404, "not_found", f"Not found: {method} {path[:64]}")

    def _versions(self, *, multiple: bool) -> _Reply:
        host = self.headers.get("Host") or "127.0.0.1"
        versions = [
            {"id": v, "status": s, "links": [{"rel": "self", "href": f"http://{host}/v2/"}]}
            for v, s in (("v2.9", "CURRENT"), ("v2.1", "SUPPORTED"), ("v2.0", "SUPPORTED"))
        ]
        return self._json(300 if multiple else 200, {"versions": versions})

    def _list(self) -> _Reply:
        query = {k: v[-1] for k, v in parse_qs(urlsplit(self.path).query).items()}
        images = [
            image
            for image in self.server.store.all()
            if all(
                str(image.get(key)) == query[key]
                for key in ("name", "status", "visibility", "owner")
                if key in query
            )
        ]
        if "marker" in query:
            ids = [image["id"] for image in images]
            images = images[ids.index(query["marker"]) + 1 :] if query["marker"] in ids else []
        doc: dict[str, Any] = {"images": images, "schema": "/v2/schemas/images"}
        doc["first"] = "/v2/images"
        limit = int(query["limit"]) if query.get("limit", "").isdigit() else None
        if limit is not None and len(images) > limit:
            doc["images"] = images[:limit]
            doc["next"] = f"/v2/images?marker={images[limit - 1]['id']}&limit={limit}"
        return self._json(200, doc)

    def _create(self, body: bytes) -> _Reply:
        try:
            request = json.loads(body)
        except ValueError:
            return self._error(400, "invalid_json", "Malformed JSON in request body.")
        if not isinstance(request, dict):
            return self._error(400, "invalid_json", "Request body must be a JSON object.")
        for name in request:
            if name in _NOT_ON_CREATE or name.startswith("os_glance"):
                return self._error(403, "read_only", f"Attribute '{name[:64]}' is read-only.")
        image_id = str(request.pop("id", None) or uuid.uuid4())
        if self.server.store.get(image_id) is not None:
            return self._error(409, "conflict", f"Image with identifier {image_id} already exists!")
        now = _now()
        image: Image = {
            "id": image_id,
            "name": None,
            "status": "queued",
            "visibility": "private",
            "protected": False,
            "tags": [],
            "min_ram": 0,
            "min_disk": 0,
            "container_format": None,
            "disk_format": None,
            "size": None,
            "virtual_size": None,
            "checksum": None,
            "owner": None,
            "created_at": now,
            "updated_at": now,
            "self": f"/v2/images/{image_id}",
            "file": f"/v2/images/{image_id}/file",
            "schema": "/v2/schemas/image",
        }
        image.update(request)
        self.server.store.put(image)
        return self._json(201, image)

    def _delete(self, image_id: str) -> _Reply:
        image = self.server.store.get(image_id)
        if image is None:
            return self._not_found(image_id)
        if image.get("protected") is True:
            return self._error(403, "protected", f"Image {image_id} is protected.")
        self.server.store.delete(image_id)
        return _Reply(204)

    def _upload(self, image_id: str, data: bytes) -> _Reply:
        """Image data (kept as its size and checksums only): queued becomes active."""
        image = self.server.store.get(image_id)
        if image is None:
            return self._not_found(image_id)
        if image.get("status") != "queued":
            return self._error(
                409, "conflict", f"Image status {image.get('status')} is not queued."
            )
        unset = [k for k in ("disk_format", "container_format") if image.get(k) is None]
        if unset:
            message = f"Properties {', '.join(unset)} must be set prior to saving data."
            return self._error(400, "bad_request", message)
        image.update(
            status="active",
            size=len(data),
            virtual_size=len(data),
            checksum=hashlib.md5(data, usedforsecurity=False).hexdigest(),
            os_hash_algo="sha512",
            os_hash_value=hashlib.sha512(data).hexdigest(),
            updated_at=_now(),
        )
        self.server.store.put(image)
        return _Reply(204)

    def _act(self, image_id: str, action: str) -> _Reply:
        """deactivate (active to deactivated) and reactivate (back)."""
        image = self.server.store.get(image_id)
        if image is None:
            return self._not_found(image_id)
        before, after = _ACTIONS[action]
        if image.get("status") != before:
            return self._error(
                400, "bad_request", f"Not allowed to {action} a {image.get('status')} image."
            )
        image.update(status=after, updated_at=_now())
        self.server.store.put(image)
        return _Reply(204)

    def _patch(self, image_id: str, body: bytes) -> _Reply:
        """The part this example exists for."""

        def change(image: Image) -> Image:
            new = imspatch.patch_image(
                image,
                body,
                media_type=self.headers.get("Content-Type"),
                rules=self.server.rules,
                admin=self.server.admin,
            )
            if new != image:  # the engine leaves timestamps to the server
                new["updated_at"] = _now()
            return new

        try:
            image = self.server.store.update(image_id, change)
        except imspatch.PatchError as err:
            status, headers, error_body = err.to_response()
            return _Reply(status, error_body, list(headers))
        if image is None:
            return self._not_found(image_id)
        return self._json(200, image)


#: The image actions: status before, status after.
_ACTIONS = {"deactivate": ("active", "deactivated"), "reactivate": ("deactivated", "active")}

# --------------------------------------------------------------------------- main


def seed(store: ImageStore, path: Path) -> int:
    """Load images from a JSON file holding one image object or a list of them."""
    doc = json.loads(path.read_text(encoding="utf-8"))
    images = doc if isinstance(doc, list) else [doc]
    for image in images:
        store.put(image)
    return len(images)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("port", type=int, nargs="?", default=0, help="0 picks a free port")
    parser.add_argument("--db", default=":memory:", help="SQLite file (default: in memory)")
    parser.add_argument("--rules", choices=["ims", "glance"], default="ims")
    parser.add_argument("--admin", action="store_true", help="treat every caller as admin")
    parser.add_argument("--seed", type=Path, action="append", default=[], metavar="FILE",
                        help="load images (an object or a list) from FILE; repeatable")  # fmt: skip
    parser.add_argument("-v", "--verbose", action="store_true", help="log every request")
    args = parser.parse_args(argv)

    store = ImageStore(args.db)
    for path in args.seed:
        seed(store, path)
    rules = imspatch.GLANCE if args.rules == "glance" else imspatch.IMS
    server = ImageServer(args.port, store=store, rules=rules, admin=args.admin,
                         verbose=args.verbose)  # fmt: skip
    print(f"listening on {server.url}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
        store.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
