"""The proxy in front of a real glance-api (scripts/glance-api.sh): verdicts, wire, fidelity.

``pytest -m glance_api tests/proxy`` (CI runs it); skipped without the Glance venv
unless ``IMSPATCH_REQUIRE_GLANCE_API=1``.  ``IMSPATCH_PROXY_GLANCE_EXAMPLES`` sets
the number of generated requests (default 200).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator

import pytest

import imspatch
from imspatch import conformance
from imspatch.proxy import Config

from ..glance_api import OTHER, OWNER, REQUIRE_ENV, GlanceAPI, glance_api, identity, venv_ready
from .conftest import call
from .glance_compare import NOT_ON_CREATE, compare, proxy_in_front
from .harness import RunningProxy
from .wiretap import WireTap

pytestmark = pytest.mark.glance_api

V20 = "application/openstack-images-v2.0-json-patch"
V21 = "application/openstack-images-v2.1-json-patch"
EXAMPLES = int(os.environ.get("IMSPATCH_PROXY_GLANCE_EXAMPLES", "200"))


@pytest.fixture(scope="module")
def api() -> Iterator[GlanceAPI]:
    if not venv_ready() and os.environ.get(REQUIRE_ENV) != "1":
        pytest.skip("no Glance venv (bash scripts/glance-venv.sh builds it)")
    with glance_api() as running:
        yield running


def test_the_proxy_changes_no_verdict_and_renders_refusals_as_glance_api(api, capsys):
    report = compare(api.url, examples=EXAMPLES, seed=20261202)
    with capsys.disabled():
        print(f"\n{report}")
    assert report.requests >= EXAMPLES * 0.9
    assert report.changed_to_disagree == []
    assert report.refused_on_the_wire == []  # counted by the wire tap in front of glance-api
    assert report.forwarded_altered == []
    # glance-api behind the proxy conforms, but where the engine accepts what glance-api
    # refuses (its intentional differences): that is forwarded, and glance-api's answer relayed
    relayed = sum(n for n, _ in report.upstream_refused.values())
    assert report.proxy_agrees + relayed == report.requests
    assert report.compared >= report.refused * 0.7
    for name in ("status", "Content-Type", "Accept-Patch", "structure"):
        assert report.share(name) == 1.0, name
    # Texts differ only where the engine's messages differ on purpose (README)
    assert [kind for kind in report.differences if not kind.startswith("intentional: ")] == []


def test_the_conformance_runner_passes_through_the_proxy(api):
    with proxy_in_front(api.url) as (tap, proxy):
        system = conformance.HTTPSystem(
            proxy.url, headers=identity(OWNER), not_on_create=NOT_ON_CREATE
        )
        # upstream's answers under the engine's named differences are accepted, as when
        # the runner checks glance-api alone (tests/test_conformance.py)
        summary = conformance.check(
            system, rules=imspatch.GLANCE, max_examples=100, seed=7, profile="upstream"
        )
        refused = [s for s in proxy.patches() if s.verdict.startswith("refused")]
        forwarded = [s.body for s in proxy.patches() if s.verdict == "forwarded"]
        # the upstream side: every forwarded body, byte for byte, and none of the refused
        assert sorted(body for _, body in tap.patches()) == sorted(forwarded)
    assert summary.examples - summary.swept == 100  # and the whole deterministic sweep
    assert summary.swept > 1000
    assert refused
    assert system.leaked == []


@pytest.mark.parametrize(
    ("path", "accept"),
    [
        ("/v2/images/{id}", None),
        ("/v2.1/images/{id}", None),
        ("/v2.17/images/{id}", None),
        ("//v2/images/{id}", None),
        ("/v2//images/{id}", None),
        ("/v2/images/{id}?x=1", None),
        ("/images/{id}", "application/vnd.openstack.images-v2"),
    ],
)
def test_no_path_that_glance_api_routes_to_its_update_gets_past(api, path, accept):
    image = api.create_image(OWNER, name="guarded")
    caller = identity(OWNER)
    if accept is not None:
        caller["Accept"] = accept
    protected = json.dumps([{"op": "replace", "path": "/min_ram", "value": 512}]).encode()
    with WireTap(api.url) as tap, RunningProxy(Config(tap.url, rules=imspatch.IMS)) as proxy:
        target = path.format(id=image["id"])
        status, _, direct = api.request("PATCH", target, protected, {**caller, "Content-Type": V21})
        assert status == 200, direct  # glance-api alone routes it to the update
        api.request("PATCH", f"/v2/images/{image['id']}",
                    json.dumps([{"op": "replace", "path": "/min_ram", "value": 0}]).encode(),
                    {**identity(OWNER), "Content-Type": V21})  # fmt: skip
        refused = call(proxy.url, "PATCH", target, protected, {**caller, "Content-Type": V21})
        assert refused.status == 403  # IMS: min_ram is protected
        assert tap.patches() == []
    status, _, shown = api.request("GET", f"/v2/images/{image['id']}", None, identity(OWNER))
    assert json.loads(shown)["min_ram"] == 0


# --- "stores", which a multi-store glance-api computes in its view -----------------------

STORES_REQUESTS = [
    # 200 upstream (no such property); the engine, shown the view, says 409 already present
    (V20, [{"add": "/stores", "value": "x"}]),
    # 409 upstream (no such property); the engine, shown the view, says 200
    (V21, [{"op": "replace", "path": "/stores", "value": "x"}]),
    (V21, [{"op": "remove", "path": "/stores"}]),
    (V21, [{"op": "add", "path": "/stores", "value": "x"}]),
    # refused whatever "stores" is, so refused by the proxy
    (
        V21,
        [
            {"op": "add", "path": "/stores", "value": "x"},
            {"op": "replace", "path": "/status", "value": "x"},
        ],
    ),
]


def send_both_ways(api, image_of, raw, media_type, **config):
    """Status direct, status through the proxy, the proxy's verdict, PATCHes on the wire."""
    headers = {**identity(OWNER), "Content-Type": media_type}
    direct = image_of()
    assert direct["stores"] == "fs"  # computed by the view: glance-api has several stores
    status, _, _ = api.request("PATCH", f"/v2/images/{direct['id']}", raw, headers)
    via = image_of()
    with (
        WireTap(api.url) as tap,
        RunningProxy(Config(tap.url, rules=imspatch.GLANCE, **config)) as proxy,
    ):
        through = call(proxy.url, "PATCH", f"/v2/images/{via['id']}", raw, headers)
        (seen,) = proxy.patches()
        wire = tap.patches()
    return status, through.status, seen.verdict, wire


@pytest.mark.parametrize(("media_type", "ops"), STORES_REQUESTS)
def test_the_computed_stores_key_changes_no_verdict(api, media_type, ops):
    raw = json.dumps(ops).encode()
    status, through, verdict, wire = send_both_ways(
        api, lambda: api.create_image(OWNER, name="with data"), raw, media_type
    )
    assert through == status
    assert len(wire) == (0 if verdict.startswith("refused") else 1)
    assert verdict.startswith("refused") == (ops[-1].get("path") == "/status")


def test_the_raw_view_would_refuse_what_glance_api_accepts(api):
    raw = json.dumps([{"add": "/stores", "value": "x"}]).encode()
    status, through, verdict, wire = send_both_ways(
        api, lambda: api.create_image(OWNER), raw, V20, view_keys=frozenset()
    )
    assert (status, through, verdict, wire) == (200, 409, "refused already_present", [])


@pytest.mark.parametrize(("properties", "status"), [(127, 200), (128, 413)])
def test_the_property_quota_does_not_count_stores(api, properties, status):
    def image_of():
        custom = {f"p{i}": "v" for i in range(properties)}
        return api.create_image(OWNER, **custom)

    raw = json.dumps([{"op": "add", "path": "/one-more", "value": "x"}]).encode()
    direct, through, verdict, wire = send_both_ways(api, image_of, raw, V21)
    assert (direct, through) == (status, status)
    assert verdict == ("forwarded" if status == 200 else "refused too_many_properties")
    assert len(wire) == (status == 200)
    _, raw_view, raw_verdict, _ = send_both_ways(api, image_of, raw, V21, view_keys=frozenset())
    assert (raw_view, raw_verdict) == (413, "refused too_many_properties")


# --- what glance-api judges before it looks the image up ----------------------------------


@pytest.mark.parametrize("whose", ["missing", "another project's"])
@pytest.mark.parametrize(
    ("ops", "looked_up"),
    [
        ([{"op": "replace", "path": "/status", "value": "x"}], False),  # 403 read-only first
        ([{"op": "replace", "path": "/name", "value": "x"}], True),  # 404 from the GET
    ],
)
def test_an_image_the_caller_cannot_see_is_answered_as_glance_api_answers(
    api, whose, ops, looked_up
):
    image_id = (
        "00000000-0000-0000-0000-000000000000" if whose == "missing" else
        api.create_image(OTHER)["id"]  # private: not found for OWNER
    )  # fmt: skip
    raw = json.dumps(ops).encode()
    headers = {**identity(OWNER), "Content-Type": V21}
    status, _, direct = api.request("PATCH", f"/v2/images/{image_id}", raw, headers)
    with WireTap(api.url) as tap, RunningProxy(Config(tap.url, rules=imspatch.GLANCE)) as proxy:
        via = call(proxy.url, "PATCH", f"/v2/images/{image_id}", raw, headers)
        sent = [method for method, _, _ in tap.requests]
    assert (via.status, via.body) == (status, direct)
    assert status == (404 if looked_up else 403)
    assert sent == (["GET"] if looked_up else [])
