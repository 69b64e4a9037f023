"""Upstream Glance 33 as a test oracle for ``PATCH /v2/images/{image_id}``.

Runs only in a virtual environment with ``glance==33.0.0`` (``run.sh`` builds
one); the imspatch test process talks to it through ``--serve``.  Glance's own
code does all the work, unchanged:

* ``glance.common.wsgi.Resource`` around ``glance.api.v2.images``'
  ``RequestDeserializer`` (Content-Type, JSON, pointers, schema),
  ``ImagesController.update`` (the whole gateway proxy chain: notifier ->
  quota -> location -> db -> domain) and ``ResponseSerializer``, so exceptions
  become statuses exactly as in glance-api (an escaped exception is a 500);
* ``glance.db.sqlalchemy.api`` on an in-memory SQLite database.

Deployment: Glance's defaults (no ``schema-image.json``,
``show_multiple_locations`` False, ``image_property_quota`` and
``image_tag_quota`` 128), an allow-all policy and a no-op notifier, as in
Glance's unit tests.  A non-admin caller acts for the image's owner project.

Library use: ``run(media_type, body, image, admin=False)``.  Server use::

    python glance_oracle.py --serve       # JSON lines on stdin / stdout
    -> {"command": "patch", "media_type": "...", "body": "<base64>",
        "image": {...}, "admin": false}
    <- {"status": 200, "image": {...}, "message": ""}
    -> {"command": "phantoms"}
    <- ["__class__", ..., "image_id", ...]

``python glance_oracle.py --phantoms`` prints the names Glance takes for core
attributes because ``hasattr`` finds them on its image proxy.

Glance is imported lazily, so that ``pytest --doctest-modules`` can import this
file in an environment without Glance.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import datetime
import json
import logging
import sys
import uuid
import warnings
from typing import IO, Any

__all__ = ["COMPUTED", "CORE_COLUMNS", "ECHOED", "REAL_ATTRIBUTES", "phantoms", "run", "serve"]

#: Image JSON keys stored in columns of Glance's ``images`` table.
CORE_COLUMNS = (
    "name",
    "disk_format",
    "container_format",
    "visibility",
    "size",
    "virtual_size",
    "status",
    "checksum",
    "protected",
    "min_ram",
    "min_disk",
    "owner",
    "os_hidden",
    "os_hash_algo",
    "os_hash_value",
    "created_at",
    "updated_at",
)
#: Keys the API computes and never stores; returned only if the input has them.
COMPUTED = ("self", "file", "schema", "locations", "direct_url")
#: DB-only keys that the API never renders (IMS images show them); echoed.
ECHOED = ("deleted", "deleted_at")
#: The image attributes a client sees (the API's image schema).
REAL_ATTRIBUTES = frozenset({*CORE_COLUMNS, "id", "tags", "locations"})

_TIME_FORMAT = "%Y-%m-%dT%H:%M:%SZ"
_ADMIN_PROJECT = "oracle-admin-project"
_DEFAULT_PROJECT = "oracle-project"


class _AllowAll:
    """Allow-all policy, as ``glance.tests.unit.utils.FakePolicyEnforcer``."""

    def enforce(self, *_args: Any, **_kwargs: Any) -> bool:
        return True

    def check(self, *_args: Any, **_kwargs: Any) -> bool:
        return True

    def check_is_admin(self, context: Any) -> bool:
        return bool(context.is_admin)


class _NullNotifier:
    """Swallows notifications, as ``glance.tests.unit.utils.FakeNotifier``."""

    def _notify(self, *_args: Any, **_kwargs: Any) -> None:
        return None

    info = warn = error = debug = critical = _notify


class _Caught(logging.Handler):
    """Keeps the exception behind a 500 (``Resource`` logs it, then hides it)."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.exc_info and record.exc_info[1] is not None:
            exc = record.exc_info[1]
            self.records.append(f"{type(exc).__name__}: {exc}")


def _memoize_check_schema(validator_for: Any) -> None:
    """Check Glance's constant image schema once, not on every operation.

    ``jsonschema.validate`` checks the schema against the meta-schema on every
    call, which is most of the deserializer's time.  Instance validation is
    untouched; a schema that passed once is known to be good.
    """
    cls = validator_for({})
    original = cls.check_schema
    checked: set[str] = set()

    def check_schema(schema: Any, *args: Any, **kwargs: Any) -> None:
        key = json.dumps(schema, sort_keys=True, default=repr)
        if key not in checked:
            original(schema, *args, **kwargs)
            checked.add(key)

    cls.check_schema = staticmethod(check_schema)


class _Glance:
    """One configured Glance per process."""

    def __init__(self) -> None:
        warnings.simplefilter("ignore")
        # Glance registers its configuration options as it is imported.
        import glance.api.policy  # noqa: PLC0415
        import glance.api.v2.images  # noqa: PLC0415
        import glance.common.wsgi  # noqa: PLC0415
        import glance.context  # noqa: PLC0415
        import glance.db.sqlalchemy.api  # noqa: PLC0415
        import glance_store  # noqa: PLC0415
        import jsonschema.validators  # noqa: PLC0415
        from glance.db.sqlalchemy import models  # noqa: PLC0415
        from oslo_config import cfg  # noqa: PLC0415
        from oslo_db import options as db_options  # noqa: PLC0415

        self.caught = _Caught()
        logging.getLogger().setLevel(logging.CRITICAL)
        wsgi_log = logging.getLogger("glance.common.wsgi")
        wsgi_log.setLevel(logging.ERROR)
        wsgi_log.addHandler(self.caught)
        wsgi_log.propagate = False

        conf = cfg.CONF
        glance_store.register_opts(conf)
        conf([], project="glance", default_config_files=[], default_config_dirs=[])
        db_options.set_defaults(conf, connection="sqlite://")
        conf.set_override("show_multiple_locations", False)
        conf.set_override("image_property_quota", 128)
        conf.set_override("image_tag_quota", 128)
        glance.api.policy.Enforcer()  # registers oslo.policy's options, as glance-api does
        _memoize_check_schema(jsonschema.validators.validator_for)

        self.db_api = glance.db.sqlalchemy.api
        self.models = models
        models.register_models(self.db_api.get_engine())
        self.request_class = glance.common.wsgi.Request
        self.context_class = glance.context.RequestContext
        self.contexts: dict[tuple[bool, str], Any] = {}
        self.controller = glance.api.v2.images.ImagesController(
            db_api=self.db_api,
            policy_enforcer=_AllowAll(),
            notifier=_NullNotifier(),
            store_api=glance_store,
        )
        self.resource = glance.common.wsgi.Resource(
            self.controller,
            glance.api.v2.images.RequestDeserializer(),
            glance.api.v2.images.ResponseSerializer(),
        )

    def context(self, project: str, *, admin: bool) -> Any:
        """A caller; cached, as building one costs a policy enforcer."""
        key = (admin, project)
        if key not in self.contexts:
            self.contexts[key] = self.context_class(
                is_admin=admin,
                project_id=project,
                user_id="oracle-admin" if admin else "oracle-user",
                roles=["admin", "member", "reader"] if admin else ["member", "reader"],
                policy_enforcer=_AllowAll(),
            )
        return self.contexts[key]

    def caller(self, image: dict[str, Any], *, admin: bool) -> Any:
        """The admin, or else a member of the image's owner project."""
        if admin:
            return self.context(_ADMIN_PROJECT, admin=True)
        owner = image.get("owner")
        project = owner if isinstance(owner, str) and owner else _DEFAULT_PROJECT
        return self.context(project, admin=False)

    def create(self, image: dict[str, Any], image_id: str) -> None:
        """Store *image* (API shape) as an ``images`` row with properties and tags.

        One flush through Glance's own models: ``image_create`` flushes once
        per property, which would dominate the run time.
        """
        models = self.models
        values: dict[str, Any] = {"id": image_id, "status": "queued", "visibility": "shared"}
        properties = []
        for key, value in image.items():
            if key in CORE_COLUMNS:
                values[key] = _parse_time(value) if key.endswith("_at") else value
            elif key not in (*COMPUTED, *ECHOED, "id", "tags"):
                properties.append(models.ImageProperty(name=key, value=value))
        tags = list(dict.fromkeys(image.get("tags") or ()))
        with self.db_api.session_for_write() as session:
            row = models.Image(**values)
            row.properties = properties
            row.tags = [models.ImageTag(value=tag) for tag in tags]
            session.add(row)

    def patch(
        self, media_type: str | None, body: bytes, image: dict[str, Any], *, admin: bool
    ) -> dict[str, Any]:
        image_id = str(uuid.uuid4())
        try:
            self.create(image, image_id)
        except Exception as exc:
            return {"status": 0, "image": None, "message": f"cannot store the image: {exc!r}"}
        request = self.request_class.blank(f"/v2/images/{image_id}", method="PATCH", body=body)
        if media_type is None:
            request.headers.pop("Content-Type", None)
        else:
            request.headers["Content-Type"] = media_type
        request.environ["wsgiorg.routing_args"] = ((), {"action": "update", "image_id": image_id})
        request.context = self.caller(image, admin=admin)
        self.caught.records.clear()
        try:
            response = request.get_response(self.resource)
        except Exception as exc:
            return {"status": 500, "image": None, "message": f"{type(exc).__name__}: {exc}"}
        if response.status_int != 200:
            return {"status": response.status_int, "image": None, "message": self.detail(response)}
        view = json.loads(response.body.decode("utf-8"))
        return {"status": 200, "image": _reshape(view, image, image_id), "message": ""}

    def detail(self, response: Any) -> str:
        """The text of an error response, plus the exception behind a 500."""
        lines = [line.strip() for line in response.body.decode("utf-8", "replace").splitlines()]
        text = " ".join(line for line in lines[1:] if line)
        if self.caught.records:
            text = f"{text} [{'; '.join(self.caught.records)}]"
        return text

    def phantoms(self) -> list[str]:
        image_id = str(uuid.uuid4())
        self.create({"status": "active", "owner": _DEFAULT_PROJECT}, image_id)
        repo = self.controller.gateway.get_repo(self.context(_DEFAULT_PROJECT, admin=False))
        proxy = repo.get(image_id)  # what ImagesController.update calls hasattr() on
        return sorted(
            name for name in dir(proxy) if hasattr(proxy, name) and name not in REAL_ATTRIBUTES
        )


def _parse_time(value: object) -> datetime.datetime | None:
    if not isinstance(value, str):
        return None
    return datetime.datetime.strptime(value, _TIME_FORMAT)  # Glance stores naive UTC


def _reshape(view: dict[str, Any], image: dict[str, Any], image_id: str) -> dict[str, Any]:
    """Glance's response body in the input's shape: its id, its computed keys."""
    real_id = str(image.get("id", image_id))
    out: dict[str, Any] = {}
    for key, value in view.items():
        if key in (*COMPUTED, "id", "created_at", "updated_at") and key not in image:
            continue
        if key in ("self", "file", "id"):
            out[key] = value.replace(image_id, real_id)
        else:
            out[key] = value
    for key in ECHOED:
        if key in image:
            out[key] = image[key]
    return out


_glance: _Glance | None = None


def _instance() -> _Glance:
    global _glance  # noqa: PLW0603 - one Glance per process
    if _glance is None:
        _glance = _Glance()
    return _glance


def run(
    media_type: str | None,
    body: bytes,
    image: dict[str, Any],
    admin: bool = False,
) -> dict[str, Any]:
    """PATCH *image* with *body* through real Glance.

    Returns ``{"status", "image", "message"}``: *image* is the resulting image
    in the input's shape on 200, else None.  Status 0 means the input image
    could not be stored (a bad test input, not a Glance answer).
    """
    return _instance().patch(media_type, body, image, admin=admin)


def phantoms() -> list[str]:
    """Names ``hasattr`` finds on the image proxy the controller sees that are
    not image attributes: Glance takes them for core attributes.
    """
    return _instance().phantoms()


def serve(stdin: IO[str], stdout: IO[str]) -> None:
    """Answer one JSON request per line (see the module docstring)."""
    _instance()
    for line in stdin:
        if not line.strip():
            continue
        request = json.loads(line)
        answer: object
        if request["command"] == "phantoms":
            answer = phantoms()
        else:
            body = base64.b64decode(request["body"])
            answer = run(request["media_type"], body, request["image"], admin=request["admin"])
        stdout.write(json.dumps(answer) + "\n")
        stdout.flush()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Upstream Glance 33 as a PATCH oracle.")
    mode = parser.add_mutually_exclusive_group(required=True)
    mode.add_argument("--serve", action="store_true", help="JSON lines on stdin/stdout")
    mode.add_argument("--phantoms", action="store_true", help="print the proxy's phantom names")
    args = parser.parse_args(argv)
    protocol = sys.stdout
    # Nothing Glance or its libraries print may reach the protocol stream.
    with contextlib.redirect_stdout(sys.stderr):
        if args.phantoms:
            json.dump(phantoms(), protocol, indent=1)
            protocol.write("\n")
        else:
            serve(sys.stdin, protocol)
    return 0


if __name__ == "__main__":
    sys.exit(main())
