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

from ..glance_api import OWNER, REQUIRE_ENV, GlanceAPI, glance_api, identity, venv_ready
from .conftest import call
from .glance_compare import NOT_ON_CREATE, compare, proxy_in_front
from .harness import RunningProxy
from .wiretap import WireTap

pytestmark = pytest.mark.glance_api

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
    assert report.proxy_agrees == report.requests  # glance-api behind the proxy conforms
    assert report.compared >= report.refused * 0.7
    for name in ("status", "Content-Type", "Accept-Patch", "structure"):
        assert report.share(name) == 1.0, name
    # The engine's texts are to be aligned with upstream's (issue 14); this is the floor.
    assert report.share("message") >= 0.8


def test_the_conformance_runner_passes_through_the_proxy(api):
    with proxy_in_front(api.url) as (tap, proxy):
        system = conformance.HTTPSystem(
            proxy.url, headers=identity(OWNER), not_on_create=NOT_ON_CREATE
        )
        summary = conformance.check(system, rules=imspatch.GLANCE, max_examples=100, seed=7)
        refused = [s for s in proxy.patches() if s.verdict.startswith("refused")]
        forwarded = [s.body for s in proxy.patches() if s.verdict == "forwarded"]
        # the upstream side: every forwarded body, byte for byte, and none of the refused
        assert sorted(body for _, body in tap.patches()) == sorted(forwarded)
    assert summary.examples == 100
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
