"""Refusals under --rules glance look like glance-api's (webob's rendering, per Accept)."""

from __future__ import annotations

import json

import pytest

import imspatch
from imspatch import ACCEPT_PATCH

from ..conftest import V21, body, r, rm
from .conftest import IMAGE_ID, call

IMAGE = f"/v2/images/{IMAGE_ID}"
READ_ONLY = body(r("/status", "x"))


@pytest.fixture
def glance_proxy(glance_service, proxy):
    return proxy(glance_service.url, rules=imspatch.GLANCE)


def refuse(running, raw, **headers):
    return call(running.url, "PATCH", IMAGE, raw, {"Content-Type": V21, **headers})


def test_json_when_the_caller_accepts_json(glance_proxy, glance_service):
    response = refuse(glance_proxy, READ_ONLY, Accept="application/json")
    assert response.status == 403
    assert response.header("Content-Type") == "application/json"
    # glance-api's answer, as recorded in issue 14 (key order included)
    assert response.body == (
        b'{"message": "Attribute \'status\' is read-only.<br /><br />\\n\\n\\n", '
        b'"code": "403 Forbidden", "title": "Forbidden"}'
    )
    assert glance_service.patches() == []


def test_a_409_has_webobs_sentence_first(glance_proxy):
    response = refuse(glance_proxy, body(rm("/nope")), Accept="application/json")
    assert response.status == 409
    assert json.loads(response.body) == {
        "message": "There was a conflict when trying to complete your request.<br /><br />\n"
        "Property nope does not exist.\n\n",
        "code": "409 Conflict",
        "title": "Conflict",
    }


@pytest.mark.parametrize("accept", ["*/*", "text/html", "text/html, application/json"])
def test_html_when_html_comes_first(glance_proxy, accept):
    response = refuse(glance_proxy, READ_ONLY, Accept=accept)
    assert response.header("Content-Type") == "text/html; charset=UTF-8"
    assert response.body == (
        b"<html>\n <head>\n  <title>403 Forbidden</title>\n </head>\n <body>\n"
        b"  <h1>403 Forbidden</h1>\n  Attribute &#x27;status&#x27; is read-only.<br /><br />\n"
        b"\n\n\n </body>\n</html>"
    )


def test_json_preferred_by_quality(glance_proxy):
    response = refuse(glance_proxy, READ_ONLY, Accept="text/html;q=0.5, application/json")
    assert response.header("Content-Type") == "application/json"


def test_plain_text_without_accept(glance_proxy):
    response = refuse(glance_proxy, READ_ONLY)
    assert response.header("Content-Type") == "text/plain; charset=UTF-8"
    assert response.body == b"403 Forbidden\n\nAttribute 'status' is read-only.\n\n   "


def test_415_names_the_media_type_and_carries_accept_patch(glance_proxy):
    response = call(
        glance_proxy.url, "PATCH", IMAGE, b"[]",
        {"Content-Type": "application/json", "Accept": "application/json"},
    )  # fmt: skip
    assert response.status == 415
    assert response.header("Accept-Patch") == ACCEPT_PATCH
    assert json.loads(response.body) == {
        "message": "The request media type application/json is not supported by this server."
        "\n<br /><br />\nImage PATCH expects Content-Type one of: " + ACCEPT_PATCH,
        "code": "415 Unsupported Media Type",
        "title": "Unsupported Media Type",
    }


def test_a_long_media_type_is_echoed_as_an_excerpt(glance_proxy):
    media_type = "application/" + "x" * 500
    response = call(glance_proxy.url, "PATCH", IMAGE, b"[]",
                    {"Content-Type": media_type, "Accept": "application/json"})  # fmt: skip
    message = json.loads(response.body)["message"]
    shown = imspatch.errors.excerpt(media_type)
    assert message.startswith(f"The request media type {shown} is not supported")
    assert "x" * 100 not in message


def test_413_quota_is_rendered_like_glances(glance_service, proxy):
    running = proxy(glance_service.url, rules=imspatch.GLANCE.replace(tag_quota=1))
    response = refuse(running, body(r("/tags", ["a", "b"])), Accept="application/json")
    assert response.status == 413
    doc = json.loads(response.body)
    assert doc["code"] == "413 Request Entity Too Large"
    assert doc["message"].endswith("<br /><br />\n\n\n")
