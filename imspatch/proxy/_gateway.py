"""The gateway: an aiohttp server whose handler is an aiohttp client to the upstream.

Every request but an image PATCH is relayed as it came, streaming in both
directions.  An image PATCH is read (up to the engine's body limit), judged by
``parse_patch`` (what no image changes), then by ``patch_image`` against the image
the upstream shows the caller, and either refused here or forwarded with its body
bytes unchanged.

For middlewares of one's own (audit, metrics), each request carries its verdict
under :data:`VERDICT` (``relayed``, ``forwarded``, ``refused <code>``, ``get
failed``, ...) and an image PATCH its body under :data:`PATCH_BODY`.
"""

from __future__ import annotations

import asyncio
import io
import itertools
import json
import logging
import re
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import aiohttp
from aiohttp import web
from aiohttp.typedefs import Middleware
from multidict import CIMultiDict
from yarl import URL

from .. import DEFAULT_LIMITS, IMS, PatchError, Rules, parse_patch, patch_image
from ..errors import HTTPResponse
from ._render import gateway_error, refusal

__all__ = ["PATCH_BODY", "VERDICT", "Config", "make_app"]

log = logging.getLogger("imspatch.proxy")

#: What the proxy did with a request, set before the handler returns.
VERDICT = web.RequestKey("imspatch.verdict", str)
#: The body of an image PATCH, once read.
PATCH_BODY = web.RequestKey("imspatch.body", bytes)

#: Paths glance-api routes to its image update when the method is PATCH: the URL
#: version (``v2``, ``v2.0`` ... ``v2.17``, after any number of leading slashes) or,
#: with ``Accept: application/vnd.openstack.images-v2``, none.  Matched liberally
#: (any ``v2.N``, doubled and trailing slashes): a path the upstream would not route
#: only costs a GET that fails the same way, a path missed here would bypass the checks.
IMAGE_PATH = re.compile(r"/*(?:v2(?:\.[0-9]+)?/+)?images/+([^/]+)/*")

#: RFC 9110 7.6.1: connection-specific fields, never forwarded (plus those that
#: ``Connection`` names).  ``Expect`` is answered here (100 Continue), so it is not
#: forwarded either, and framing (``Content-Length``) is set anew where a body changes.
HOP_BY_HOP = frozenset(
    {"connection", "keep-alive", "proxy-connection", "te", "transfer-encoding", "upgrade"}
)
_NOT_ON_GET = frozenset({"content-length", "content-type", "content-encoding", "expect"})
#: Headers aiohttp's client would add on its own; the caller's are sent instead, or none.
_SKIP_AUTO = ("Accept", "Accept-Encoding", "User-Agent", "Content-Type")
_VIA = "1.1 imspatch-proxy"
_V21 = "application/openstack-images-v2.1-json-patch"
#: The largest image document read from the upstream's GET.
_MAX_IMAGE_BYTES = DEFAULT_LIMITS.max_body_bytes
#: Bodies larger than this are judged in a worker thread, so that the event loop
#: keeps serving other requests meanwhile (the engine needs ~1 ms per 10 KiB).
_THREAD_BODY_BYTES = 256 * 1024
_CHUNK = 256 * 1024


@dataclass(frozen=True)
class Config:
    """What the proxy fronts and how."""

    #: Base URL of the image service (``http://glance:9292``, or with a path prefix).
    upstream: str
    #: The rule set enforced, and the style of the refusals.
    rules: Rules = IMS
    #: A request header set by a trusted layer in front; a caller is an admin when
    #: one of its comma-separated items is ``admin`` or ``true`` (any case).  ``None``:
    #: the proxy cannot tell, and leaves requests whose verdict depends on it to the
    #: upstream.
    admin_header: str | None = None
    #: Keys the upstream's image view may compute rather than store, such as the
    #: ``stores`` a multi-store Glance adds to an image with data (not a property:
    #: ``replace /stores`` is 409 there).  The engine reads an image showing one
    #: both ways, and the proxy refuses only what both readings refuse.
    view_keys: frozenset[str] = frozenset({"stores"})
    #: Seconds without a byte from the upstream before the proxy answers 504.
    timeout: float = 60.0
    #: Seconds to connect to the upstream before the proxy answers 502.
    connect_timeout: float = 10.0
    #: Seconds a client may take to send a PATCH body before the proxy answers 408.
    body_timeout: float = 60.0
    #: Connections to the upstream kept at once (0: no limit).
    max_connections: int = 100

    def __post_init__(self) -> None:
        url = URL(self.upstream)
        if url.scheme not in ("http", "https") or not url.host:
            raise ValueError(f"not an http(s) URL: {self.upstream!r}")
        if url.query_string or url.fragment:
            raise ValueError(f"the upstream URL takes no query or fragment: {self.upstream!r}")


class _Gateway:
    """The state of one running proxy: configuration and the upstream session."""

    def __init__(self, config: Config) -> None:
        self.config = config
        self.style = config.rules.error_style
        self.base = str(URL(config.upstream)).rstrip("/")
        self.session: aiohttp.ClientSession | None = None
        self.too_large_error = _too_large_error(config.rules)

    async def start(self, _app: web.Application) -> None:
        config = self.config
        self.session = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=config.max_connections),
            timeout=aiohttp.ClientTimeout(
                total=None, sock_connect=config.connect_timeout, sock_read=config.timeout
            ),
            auto_decompress=False,  # bytes pass through as the upstream sent them
            cookie_jar=aiohttp.DummyCookieJar(),  # one caller's cookies never reach another
            trust_env=False,
            skip_auto_headers=_SKIP_AUTO,
        )

    async def stop(self, _app: web.Application) -> None:
        if self.session is not None:
            await self.session.close()

    # -- requests

    async def handle(self, request: web.Request) -> web.StreamResponse:
        started = time.monotonic()
        verdict = "relayed"
        response: web.StreamResponse | None = None
        try:
            if request.method == "PATCH" and IMAGE_PATH.fullmatch(request.path):
                response, verdict = await self.patch(request)
            else:
                data = request.content if request.body_exists else None
                response = await self.relay(request, request.method, _outbound(request), data)
        except ConnectionResetError:  # the caller went away while sending its request
            verdict, response = "client gone", None
            return web.Response(status=400)  # never delivered: the connection is closed
        except asyncio.CancelledError:  # the caller went away while waiting
            verdict, response = "client gone", None
            raise
        else:
            return response
        finally:
            request[VERDICT] = verdict
            status = "-" if response is None else str(response.status)
            log.info(
                "%s %s %s %s %.1fms",
                request.method,
                _shown_path(request),
                status,
                verdict,
                (time.monotonic() - started) * 1000,
            )

    async def expect(self, request: web.Request) -> web.StreamResponse | None:
        """``Expect: 100-continue``: an image PATCH over the body limit gets 413 instead."""
        if request.method == "PATCH" and IMAGE_PATH.fullmatch(request.path):
            early = self.too_large(request)
            if early is not None:
                return early
        if request.headers.get("Expect", "").lower() != "100-continue":
            return _answer(
                self.gateway_error(request, 417, "expectation_failed", "Unknown Expect value.")
            )
        if request.version >= aiohttp.HttpVersion11:
            await request.writer.write(b"HTTP/1.1 100 Continue\r\n\r\n")
            request.writer.output_size = 0
        return None

    async def patch(self, request: web.Request) -> tuple[web.StreamResponse, str]:
        """``PATCH /v2/images/{id}``: judge, then refuse or forward."""
        early = self.too_large(request)
        if early is not None:
            return early, "refused body_too_large"
        try:
            body = await asyncio.wait_for(_read_body(request), self.config.body_timeout)
        except (_TooLarge, asyncio.TimeoutError) as exc:
            if isinstance(exc, _TooLarge):
                response, verdict = (
                    self.refuse(request, self.too_large_error),
                    "refused body_too_large",
                )
            else:
                message = "The request body was not received in time."
                response = _answer(self.gateway_error(request, 408, "request_timeout", message))
                verdict = "timeout"
            response.force_close()  # the rest of the body is discarded, not read
            return response, verdict
        request[PATCH_BODY] = body
        # What no image changes (media type, JSON, operations, names, values) is judged
        # before the GET, as glance-api's deserializer judges it before looking the image
        # up: a malformed request costs the upstream nothing.
        media_type = request.headers.get("Content-Type")
        error = await self.judge(_parse_error, body, media_type, self.config.rules)
        if error is not None:
            return self.refuse(request, error), f"refused {error.code}"

        headers = _outbound(request)
        get_headers = [(k, v) for k, v in headers if k.lower() not in _NOT_ON_GET]
        upstream = await self.send(request, "GET", get_headers, None)
        if isinstance(upstream, HTTPResponse):
            return _answer(upstream), "gateway error"
        if upstream.status != 200:
            return await self.stream_back(request, upstream), "get failed"
        async with upstream:
            image = await _read_image(upstream)
        if image is None:
            message = "The upstream's image is not a JSON object."
            return _answer(self.gateway_error(request, 502, "bad_gateway", message)), "bad image"

        config = self.config
        error = await self.judge(
            _verdict, body, media_type, config.rules, self.admin(request), config.view_keys, image
        )
        if error is not None:
            return self.refuse(request, error), f"refused {error.code}"
        headers = [(k, v) for k, v in headers if k.lower() != "content-length"]
        # aiohttp writes a bytes body in one piece (over 1 MiB it warns that this blocks
        # the event loop); a BytesIO it writes in chunks
        data = body if len(body) <= _CHUNK else io.BytesIO(body)
        return await self.relay(request, "PATCH", headers, data), "forwarded"

    async def judge(
        self, verdict: Callable[..., PatchError | None], body: bytes, *args: Any
    ) -> PatchError | None:
        """``verdict(body, *args)``, in a worker thread for a large body."""
        if len(body) > _THREAD_BODY_BYTES:
            return await asyncio.to_thread(verdict, body, *args)
        return verdict(body, *args)

    def admin(self, request: web.Request) -> bool | None:
        name = self.config.admin_header
        if name is None:
            return None
        items = {
            item.strip().lower()
            for value in request.headers.getall(name, ())
            for item in value.split(",")
        }
        return not items.isdisjoint({"admin", "true"})

    def too_large(self, request: web.Request) -> web.StreamResponse | None:
        """413 (or the engine's 415 first) when Content-Length is over the limit."""
        length = request.content_length
        if length is None or length <= DEFAULT_LIMITS.max_body_bytes:
            return None
        rules = self.config.rules
        try:  # the engine checks the media type before the size
            parse_patch(b"[]", media_type=request.headers.get("Content-Type"), rules=rules)
        except PatchError as error:
            response = self.refuse(request, error)
        else:
            response = self.refuse(request, self.too_large_error)
        response.force_close()  # the body is never read; lingering close discards it
        return response

    def refuse(self, request: web.Request, error: PatchError) -> web.Response:
        return _answer(
            refusal(
                error,
                style=self.style,
                accept=_joined(request, "Accept"),
                content_type=request.headers.get("Content-Type"),
            )
        )

    def gateway_error(
        self, request: web.Request, status: int, code: str, message: str
    ) -> HTTPResponse:
        return gateway_error(
            status, code, message, style=self.style, accept=_joined(request, "Accept")
        )

    # -- the upstream

    async def send(
        self,
        request: web.Request,
        method: str,
        headers: list[tuple[str, str]],
        data: Any,
    ) -> aiohttp.ClientResponse | HTTPResponse:
        """One request to the upstream: its response, or the 502/504 to answer instead."""
        assert self.session is not None
        url = URL(self.base + _target(request), encoded=True)
        try:
            return await self.session.request(
                method, url, headers=CIMultiDict(headers), data=data, allow_redirects=False
            )
        except asyncio.TimeoutError:
            status, code, message = 504, "gateway_timeout", "The upstream did not answer in time."
        except (aiohttp.ClientError, OSError) as exc:
            log.warning("upstream %s failed: %s", self.base, type(exc).__name__)
            status, code, message = 502, "bad_gateway", "The upstream could not be reached."
        return self.gateway_error(request, status, code, message)

    async def relay(
        self,
        request: web.Request,
        method: str,
        headers: list[tuple[str, str]],
        data: Any,
    ) -> web.StreamResponse:
        upstream = await self.send(request, method, headers, data)
        if isinstance(upstream, HTTPResponse):
            return _answer(upstream)
        return await self.stream_back(request, upstream)

    async def stream_back(
        self, request: web.Request, upstream: aiohttp.ClientResponse
    ) -> web.StreamResponse:
        """The upstream's answer to the caller, as it came, streaming."""
        async with upstream:
            response = web.StreamResponse(status=upstream.status, reason=upstream.reason)
            for name, value in _end_to_end(_decoded(upstream.raw_headers)):
                if name.lower() != "content-length":
                    response.headers.add(name, value)
            if upstream.content_length is not None:
                response.content_length = upstream.content_length
            await response.prepare(request)
            try:
                async for chunk in upstream.content.iter_chunked(_CHUNK):
                    await response.write(chunk)
            except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
                # The status line is gone: all that is left is to cut the connection,
                # so that the caller sees a truncated answer, never a complete one.
                log.warning("upstream broke off its answer: %s", type(exc).__name__)
                if request.transport is not None:
                    request.transport.abort()
                return response
            await response.write_eof()
            return response


class _TooLarge(Exception):
    pass


async def _read_body(request: web.Request) -> bytes:
    """The whole body, or ``_TooLarge`` as soon as it passes the engine's limit."""
    limit = DEFAULT_LIMITS.max_body_bytes
    parts: list[bytes] = []
    size = 0
    async for chunk in request.content.iter_any():
        size += len(chunk)
        if size > limit:
            raise _TooLarge
        parts.append(chunk)
    return b"".join(parts)


async def _read_image(upstream: aiohttp.ClientResponse) -> dict[str, Any] | None:
    try:
        data = await upstream.content.read(_MAX_IMAGE_BYTES + 1)
        if len(data) > _MAX_IMAGE_BYTES:
            return None
        doc = json.loads(data)
    except (ValueError, aiohttp.ClientError, asyncio.TimeoutError):
        return None
    return doc if isinstance(doc, dict) else None


def _parse_error(body: bytes, media_type: str | None, rules: Rules) -> PatchError | None:
    """The refusal that every image gets (decode and parse), or None."""
    try:
        parse_patch(body, media_type=media_type, rules=rules)
    except PatchError as error:
        return error
    return None


def _verdict(
    body: bytes,
    media_type: str | None,
    rules: Rules,
    admin: bool | None,
    view_keys: frozenset[str],
    image: dict[str, Any],
) -> PatchError | None:
    """The engine's refusal, or None to forward.

    What the proxy cannot know is read every way it may be: with *admin* unknown
    (``None``) as a non-admin and as an admin; each of *view_keys* that the image
    shows, as computed by the view (dropped: no such property) and as a property.
    A request is refused only when every reading refuses it alike (status, code,
    index, pointer), with the error of the first: a non-admin, every view key
    dropped.  An accepted request costs one run of the engine.
    """
    shown = sorted(view_keys & image.keys())
    images = [
        {key: value for key, value in image.items() if key not in dropped}
        for n in range(len(shown), -1, -1)
        for dropped in itertools.combinations(shown, n)
    ]
    admins = (False, True) if admin is None else (admin,)
    first: PatchError | None = None
    for reading, as_admin in itertools.product(images, admins):
        try:
            patch_image(reading, body, media_type=media_type, rules=rules, admin=as_admin)
        except PatchError as error:
            if first is None:
                first = error
            elif (error.status, error.code, error.index, error.pointer) != (
                first.status, first.code, first.index, first.pointer,
            ):  # fmt: skip
                return None
        else:
            return None
    return first


def _too_large_error(rules: Rules) -> PatchError:
    """The engine's own answer to a body one byte over its limit (computed once)."""
    over = bytes(DEFAULT_LIMITS.max_body_bytes + 1)  # zeros: refused on size, never decoded
    try:
        patch_image({}, over, media_type=_V21, rules=rules)
    except PatchError as error:
        return error
    raise AssertionError("a body over the limit passed")  # pragma: no cover


def _decoded(raw: Iterable[tuple[bytes, bytes]]) -> list[tuple[str, str]]:
    return [(k.decode("latin-1"), v.decode("latin-1")) for k, v in raw]


def _end_to_end(headers: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """*headers* without the hop-by-hop ones (RFC 9110 7.6.1)."""
    named = {
        token.strip().lower()
        for name, value in headers
        if name.lower() == "connection"
        for token in value.split(",")
    }
    return [(k, v) for k, v in headers if k.lower() not in HOP_BY_HOP and k.lower() not in named]


def _outbound(request: web.Request) -> list[tuple[str, str]]:
    """The caller's headers for the upstream: end-to-end ones, then ``Via`` (RFC 9110 7.6.3)."""
    headers = [
        (k, v) for k, v in _end_to_end(_decoded(request.raw_headers)) if k.lower() != "expect"
    ]
    via = [v for k, v in headers if k.lower() == "via"]
    headers = [(k, v) for k, v in headers if k.lower() != "via"]
    headers.append(("Via", ", ".join([*via, _VIA])))
    return headers


def _target(request: web.Request) -> str:
    """The request target as the caller sent it (path and query, still percent-encoded).

    Origin-form (``/v2/...``) as is: aiohttp's parsed URL would read ``//v2/x`` as
    the host ``v2``.  Absolute-form (``http://host/v2/...``, meant for forward
    proxies) keeps its path and query only.
    """
    raw = request.raw_path
    return raw if raw.startswith("/") else request.rel_url.raw_path_qs


def _joined(request: web.Request, name: str) -> str | None:
    values = request.headers.getall(name, ())
    return ", ".join(values) if values else None


#: Reason phrases as glance-api (webob) writes them where Python's own differ: 3.13
#: renamed 413 "Content Too Large" (RFC 9110), and aiohttp takes Python's by default.
_REASONS = {413: "Request Entity Too Large"}


def _answer(response: HTTPResponse) -> web.Response:
    return web.Response(
        status=response.status,
        reason=_REASONS.get(response.status),
        headers=response.headers,
        body=response.body,
    )


def _shown_path(request: web.Request) -> str:
    """The path for the log: raw (percent-encoded, so one line), no query, at most 200."""
    path = request.rel_url.raw_path
    return path if len(path) <= 200 else path[:200] + "..."


def make_app(config: Config, *, middlewares: Iterable[Middleware] = ()) -> web.Application:
    """The proxy as an aiohttp application (run it with ``aiohttp.web.AppRunner``).

    *middlewares* wrap the gateway's handler, the first outermost.
    """
    gateway = _Gateway(config)
    app = web.Application(
        client_max_size=DEFAULT_LIMITS.max_body_bytes, middlewares=tuple(middlewares)
    )
    app.on_startup.append(gateway.start)
    app.on_cleanup.append(gateway.stop)
    app.router.add_route("*", "/{path:.*}", gateway.handle, expect_handler=gateway.expect)
    return app
