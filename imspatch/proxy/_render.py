"""Refusals rendered as the service behind the proxy renders them.

``--rules ims``: the engine's own ``to_response()`` (IMS's ``{"error": {"code",
"message"}}``, always JSON).  ``--rules glance``: what glance-api answers.  Glance
raises ``webob.exc`` exceptions, and webob renders them for the request's ``Accept``
header: JSON (``{"message", "code", "title"}``) when the caller accepts JSON before
HTML, an HTML page when it accepts HTML (``*/*`` included), plain text when it sends
no ``Accept`` at all.  The message is webob's template around the text, and Glance
passes its text in one of two slots: ``explanation=`` (the text, then
``<br /><br />``), or the positional ``detail`` (webob's generic sentence for the
status first).  Rather than copy webob's templates and its ``Accept`` negotiation,
this module builds the exception Glance would raise and lets webob render it.
"""

from __future__ import annotations

import json
import warnings
from typing import Any

with warnings.catch_warnings():  # WebOb 1.8 imports cgi, deprecated since Python 3.11
    warnings.filterwarnings("ignore", "'cgi' is deprecated", DeprecationWarning)
    import webob.exc

from ..errors import ACCEPT_PATCH, HTTPResponse, PatchError, shown_name

__all__ = ["gateway_error", "refusal"]

#: Codes Glance raises as ``webob.exc.HTTPxxx(msg)``, the message in webob's ``detail``
#: slot behind the status's generic sentence (glance/api/v2/images.py ``_do_replace``,
#: ``_do_add``, ``_do_remove``); every other refusal passes ``explanation=msg``.
DETAIL_CODES = frozenset(
    {"owner_admin_only", "locations_empty", "no_such_property", "already_present", "not_removable"}
)
#: Codes Glance raises with ``content_type="text/plain"`` (its ``LimitExceeded`` branch).
PLAIN_CODES = frozenset({"too_many_tags", "too_many_properties"})


def refusal(
    error: PatchError, *, style: str, accept: str | None, content_type: str | None
) -> HTTPResponse:
    """*error* as the answer of a service of *style* to a request with these headers."""
    if style != "glance":
        return error.to_response(style)
    environ = _environ(accept)
    if content_type is not None:
        # webob's 415 template names the request's media type; echo it only when safe
        environ["CONTENT_TYPE"] = shown_name(content_type)
    cls = webob.exc.status_map[error.status]
    kwargs: dict[str, Any] = {}
    if error.status == 415:
        kwargs = {"detail": error.message, "headers": {"Accept-Patch": ACCEPT_PATCH}}
    elif error.code in DETAIL_CODES:
        kwargs = {"detail": error.message}
    else:
        kwargs = {"explanation": error.message}
    if error.code in PLAIN_CODES:
        kwargs["content_type"] = "text/plain"
    return _render(cls(**kwargs), environ)


def gateway_error(
    status: int, code: str, message: str, *, style: str, accept: str | None
) -> HTTPResponse:
    """An answer of the proxy's own (502, 504, ...) in the style of the rule set."""
    if style != "glance":
        body = json.dumps(
            {"error": {"code": code, "message": message}}, ensure_ascii=False
        ).encode()
        return HTTPResponse(status, [("Content-Type", "application/json")], body)
    return _render(webob.exc.status_map[status](explanation=message), _environ(accept))


def _environ(accept: str | None) -> dict[str, Any]:
    environ: dict[str, Any] = {
        "REQUEST_METHOD": "PATCH",
        "SERVER_NAME": "imspatch-proxy",
        "SERVER_PORT": "80",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "SCRIPT_NAME": "",
        "PATH_INFO": "/",
        "wsgi.url_scheme": "http",
    }
    if accept is not None:
        environ["HTTP_ACCEPT"] = accept
    return environ


def _render(exc: webob.exc.WSGIHTTPException, environ: dict[str, Any]) -> HTTPResponse:
    started: list[Any] = []

    def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
        started[:] = [status, headers]
        return None

    body = b"".join(exc(environ, start_response))
    status, headers = started
    kept = [(name, value) for name, value in headers if name.lower() != "content-length"]
    return HTTPResponse(int(status.split(" ", 1)[0]), kept, body)
