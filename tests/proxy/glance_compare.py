"""The proxy in front of a real glance-api, compared with glance-api alone.

    .venv/bin/python -m tests.proxy.glance_compare [--examples N] [--seed N]

starts ``scripts/glance-api.sh``, a wire tap in front of it (glance-api logs no
requests, the tap counts them) and ``imspatch proxy --rules glance`` in front of the
tap, then sends each request the conformance kit generates
(``imspatch.conformance.conformance_requests``) twice: to glance-api directly and
through the proxy, each time on a fresh image built from the request's image, as
a project member (not an admin), with an ``Accept`` header drawn from the ones
clients send.  It reports:

* **verdicts**: how many requests glance-api alone and the proxy in front answer
  as the engine says they must (status, image after), and how many the proxy
  changed from agreeing to disagreeing (must be none);
* **the wire**: PATCHes that reached glance-api although the proxy refused them
  (must be none), and forwarded ones whose bytes changed (must be none);
* **fidelity**: for the requests both refused, the share whose status,
  ``Content-Type``, ``Accept-Patch``, body structure and message text are equal,
  and each kind of difference with an example.
"""

from __future__ import annotations

import argparse
import contextlib
import html
import http.client
import json
import re
import sys
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import webob.exc
from hypothesis import HealthCheck, Phase, Verbosity, given, settings
from hypothesis import seed as hypothesis_seed
from hypothesis import strategies as st

import imspatch
from imspatch import conformance
from imspatch.proxy import Config

from ..glance_api import OWNER, glance_api, identity
from .harness import RunningProxy
from .wiretap import WireTap

#: What clients send: python-glanceclient and openstacksdk ask for JSON, curl and
#: requests send ``*/*``, some send nothing, browsers prefer HTML.
ACCEPTS = ("application/json", "*/*", None, "text/html,application/xhtml+xml;q=0.9,*/*;q=0.8")
#: glance-api cannot be told an image's owner on create (the caller's project is).
NOT_ON_CREATE = conformance.NOT_ON_CREATE | {"owner"}
FIELDS = ("status", "Content-Type", "Accept-Patch", "structure", "message")


@dataclass(frozen=True)
class Answer:
    status: int
    headers: dict[str, str]  # lower-case names
    body: bytes


@dataclass
class Report:
    requests: int = 0
    unbuildable: int = 0
    direct_agrees: int = 0
    proxy_agrees: int = 0
    changed_to_disagree: list[str] = field(default_factory=list)
    refused_on_the_wire: list[str] = field(default_factory=list)
    forwarded_altered: list[str] = field(default_factory=list)
    forwarded: int = 0
    refused: int = 0
    #: refusals the upstream answered otherwise (an intentional difference), by code
    upstream_otherwise: Counter[str] = field(default_factory=Counter)
    #: forwarded (the engine accepts) and refused by glance-api, behind the proxy as
    #: alone (an intentional difference, e.g. a media type in capitals): its answer
    #: relayed; status -> [count, one example]
    upstream_refused: dict[int, list[Any]] = field(default_factory=dict)
    compared: int = 0
    equal: Counter[str] = field(default_factory=Counter)
    all_equal: int = 0
    #: kind of difference -> (count, one example)
    differences: dict[str, list[Any]] = field(default_factory=dict)

    def share(self, name: str) -> float:
        return self.equal[name] / self.compared if self.compared else 1.0

    def __str__(self) -> str:
        lines = [
            f"requests: {self.requests} (plus {self.unbuildable} whose image glance-api "
            "cannot be given)",
            f"verdicts as the engine says: glance-api alone {self.direct_agrees}, through "
            f"the proxy {self.proxy_agrees}; changed from agreeing to disagreeing by the "
            f"proxy: {len(self.changed_to_disagree)}",
            f"proxy: {self.forwarded} forwarded, {self.refused} refused; refused PATCHes "
            f"that reached glance-api: {len(self.refused_on_the_wire)}; forwarded with "
            f"altered bytes: {len(self.forwarded_altered)}",
            "refused by the proxy, answered otherwise by glance-api alone (intentional "
            "differences): "
            + (", ".join(f"{k} x{n}" for k, n in self.upstream_otherwise.most_common()) or "none"),
            "forwarded by the proxy, refused by glance-api alone and behind it alike "
            "(intentional differences): "
            + (
                ", ".join(
                    f"{status} x{n} (e.g. {example})"
                    for status, (n, example) in sorted(self.upstream_refused.items())
                )
                or "none"
            ),
            f"fidelity over {self.compared} refusals both gave: "
            + ", ".join(f"{name} {self.share(name):.1%}" for name in FIELDS)
            + f"; all five {self.all_equal / self.compared if self.compared else 1:.1%}",
        ]
        for problem in (
            *self.changed_to_disagree,
            *self.refused_on_the_wire,
            *self.forwarded_altered,
        ):
            lines.append(f"  PROBLEM {problem}")
        for kind, (count, example) in sorted(self.differences.items(), key=lambda kv: -kv[1][0]):
            lines.append(f"  x{count} {kind}\n      e.g. {example}")
        return "\n".join(lines)

    def note(self, kind: str, example: str) -> None:
        entry = self.differences.setdefault(kind, [0, example])
        entry[0] += 1


# --- reading a webob error ---------------------------------------------------------------


def webob_message(status: int, content_type: str, body: bytes) -> tuple[str, str]:
    """``(structure, text)`` of a webob-rendered error: how it is built, and Glance's text.

    The structure names the rendering (JSON with its keys, code and title, the HTML
    page, plain text) and the slot the text went in (``explanation=``, ``detail``,
    or the 415 template).  Anything else is ``other`` with the whole body as text.
    """
    text = body.decode("utf-8", "replace")
    media = content_type.partition(";")[0].strip()
    generic = webob.exc.status_map[status].explanation if status in webob.exc.status_map else ""
    if media == "application/json":
        try:
            doc = json.loads(text)
        except ValueError:
            return "other", text
        if not isinstance(doc, dict) or not isinstance(doc.get("message"), str):
            return "other", text
        wrapper = f"json{sorted(doc)} {doc.get('code')!r} {doc.get('title')!r}"
        slot, message = _slot(doc["message"], generic, plain=False)
        return f"{wrapper} {slot}", message
    if media == "text/html":
        match = re.fullmatch(
            r"<html>\n <head>\n  <title>(.*)</title>\n </head>\n <body>\n  <h1>\1</h1>\n"
            r"  (.*)\n </body>\n</html>", text, re.DOTALL,
        )  # fmt: skip
        if match is None:
            return "other", text
        slot, message = _slot(html.unescape(match[2]), generic, plain=False)
        return f"html {match[1]!r} {slot}", message
    if media == "text/plain":
        head, sep, rest = text.partition("\n\n")
        if not sep:
            return "other", text
        slot, message = _slot(rest, generic, plain=True)
        return f"plain {head!r} {slot}", message
    return "other", text


def _slot(message: str, generic: str, plain: bool) -> tuple[str, str]:
    """Which slot of webob's body template Glance's text went in, and the text."""
    detail_start, detail_end, explanation_end = (
        ("\n\n ", "  ", "\n\n   ") if plain else ("<br /><br />\n", "\n\n", "<br /><br />\n\n\n")
    )
    media = re.fullmatch(
        r"The request media type (.*) is not supported by this server\.(.*)", message, re.DOTALL
    )
    if media is not None:
        return "415-template", f"{media[1]} | {media[2].replace('<br /><br />', '').strip()}"
    if generic and message.startswith(generic + detail_start) and message.endswith(detail_end):
        return "detail", message[len(generic + detail_start) : -len(detail_end)]
    if message.endswith(explanation_end):
        return "explanation", message[: -len(explanation_end)]
    return "other", message


# --- one request, both ways --------------------------------------------------------------


class Side:
    """glance-api (directly, or through the proxy) as a place to send one PATCH."""

    def __init__(self, url: str, headers: dict[str, str]) -> None:
        self.url = url
        self.headers = headers
        self.http = conformance.HTTPSystem(url, headers=headers, not_on_create=NOT_ON_CREATE)

    def patch(
        self, media_type: str | None, body: bytes, image: dict[str, Any], accept: str | None
    ) -> tuple[str, dict[str, Any], Answer, dict[str, Any]]:
        """Create an image like *image*, PATCH it, read it back, delete it."""
        image_id = self.http.create(image)
        try:
            stored = self.http.get(image_id)
            headers = {k: v for k, v in self.headers.items() if k != "Accept"}
            if accept is not None:
                headers["Accept"] = accept
            if media_type is not None:
                headers["Content-Type"] = media_type
            conn = http.client.HTTPConnection(urlsplit(self.url).netloc, timeout=60)
            try:
                conn.request("PATCH", f"/v2/images/{image_id}", body=body, headers=headers)
                response = conn.getresponse()
                answer = Answer(
                    response.status,
                    {k.lower(): v for k, v in response.getheaders()},
                    response.read(),
                )
            finally:
                conn.close()
            return image_id, stored, answer, self.http.get(image_id)
        finally:
            self.http.delete(image_id)


def _agrees(
    error: imspatch.PatchError | None,
    expected: dict[str, Any],
    answer: Answer,
    after: dict[str, Any],
) -> bool:
    status = 200 if error is None else error.status
    diffs = conformance.differences(
        expected, after, ignored=conformance.DEFAULT_IGNORED, set_valued=imspatch.GLANCE.set_valued
    )
    return answer.status == status and not diffs


def _shown(media_type: str | None, body: bytes, accept: str | None) -> str:
    text = body.decode("utf-8", "replace")
    text = text if len(text) <= 160 else text[:160] + "..."
    return f"{media_type} {text} (Accept: {accept})"


class Comparison:
    def __init__(self, direct: Side, proxied: Side, tap: WireTap) -> None:
        self.direct, self.proxied, self.tap = direct, proxied, tap
        self.report = Report()

    def __call__(
        self, media_type: str | None, body: bytes, image: dict[str, Any], accept: str | None
    ) -> None:
        report = self.report
        try:
            _, stored, direct, direct_after = self.direct.patch(media_type, body, image, accept)
            seen = len(self.tap.patches())
            image_id, via_stored, via, via_after = self.proxied.patch(
                media_type, body, image, accept
            )
        except conformance.HTTPError:
            report.unbuildable += 1
            return
        report.requests += 1
        shown = _shown(media_type, body, accept)
        error, expected = _engine(via_stored, body, media_type)
        direct_error, direct_expected = _engine(stored, body, media_type)
        direct_ok = _agrees(direct_error, direct_expected, direct, direct_after)
        via_ok = _agrees(error, expected, via, via_after)
        report.direct_agrees += direct_ok
        report.proxy_agrees += via_ok
        if direct_ok and not via_ok:
            report.changed_to_disagree.append(f"{shown}: {direct.status} -> {via.status}")
        wire = [sent for target, sent in self.tap.patches()[seen:] if image_id in target]
        if error is None:
            report.forwarded += 1
            # (a request that made the image protected is followed by HTTPSystem's
            # own unprotecting PATCH, so only the first one is the request's)
            if wire[:1] != [body]:
                report.forwarded_altered.append(shown)
            if not via_ok and via.status == direct.status != 200:
                entry = report.upstream_refused.setdefault(via.status, [0, shown])
                entry[0] += 1
            return
        report.refused += 1
        if wire:
            report.refused_on_the_wire.append(shown)
        if direct.status != error.status:
            report.upstream_otherwise[f"{error.status} {error.code} (glance {direct.status})"] += 1
            return
        self.fidelity(error, direct, via, shown)

    def fidelity(self, error: imspatch.PatchError, direct: Answer, via: Answer, shown: str) -> None:
        report = self.report
        report.compared += 1
        d_structure, d_text = webob_message(
            direct.status, direct.headers.get("content-type", ""), direct.body
        )
        v_structure, v_text = webob_message(
            via.status, via.headers.get("content-type", ""), via.body
        )
        checks = {
            "status": (direct.status, via.status),
            "Content-Type": (direct.headers.get("content-type"), via.headers.get("content-type")),
            "Accept-Patch": (direct.headers.get("accept-patch"), via.headers.get("accept-patch")),
            "structure": (d_structure, v_structure),
            "message": (d_text, v_text),
        }
        for name, (upstream, proxy) in checks.items():
            if upstream == proxy:
                report.equal[name] += 1
            else:
                kind = _message_kind(error.code, upstream, proxy) if name == "message" else (
                    f"{name}: glance-api {upstream!r}, proxy {proxy!r}"
                )  # fmt: skip
                report.note(
                    kind, f"{shown}\n      glance-api: {upstream!r}\n      proxy:      {proxy!r}"
                )
        report.all_equal += all(a == b for a, b in checks.values())


#: Kinds of text difference that are the engine's on purpose (README, "Intentional
#: differences"): a reason where Glance reads the body otherwise, and the nesting limit.
SAYS_WHY = frozenset({"duplicate_member", "invalid_number", "lone_surrogate", "too_deep"})


def _message_kind(code: str, upstream: str, proxy: str) -> str:
    """How the proxy's text differs from glance-api's, naming the intentional kinds."""
    if code == "invalid_value" and upstream.partition("\n\nFailed validating ")[0] == proxy:
        return "intentional: the first line of jsonschema's report"
    if ("\\" in proxy or "..." in proxy) and (
        not upstream.isprintable() or len(upstream) > len(proxy)
    ):
        return f"intentional: an escaped excerpt of the input ({code})"
    if code in SAYS_WHY:
        return f"intentional: says why ({code})"
    return f"message differs ({code})"


def _engine(
    image: dict[str, Any], body: bytes, media_type: str | None
) -> tuple[imspatch.PatchError | None, dict[str, Any]]:
    """The engine's refusal and the image unchanged, or None and the patched image."""
    try:
        return None, imspatch.patch_image(image, body, media_type=media_type, rules=imspatch.GLANCE)
    except imspatch.PatchError as error:
        return error, image


def run(comparison: Comparison, *, examples: int, seed: int) -> Report:
    """Send *examples* generated requests, split over the conformance kit's parts."""
    parts = conformance.conformance_requests(rules=imspatch.GLANCE)
    total = sum(share for _, share, _ in parts)
    for _, share, strategy in parts:

        @hypothesis_seed(seed)
        @settings(
            max_examples=max(1, round(examples * share / total)),
            deadline=None,
            database=None,
            verbosity=Verbosity.quiet,
            phases=(Phase.generate,),
            suppress_health_check=list(HealthCheck),
        )
        @given(strategy, st.sampled_from(ACCEPTS))
        def send(request: tuple[str | None, bytes, dict[str, Any]], accept: str | None) -> None:
            comparison(*request, accept)

        send()
    return comparison.report


@contextlib.contextmanager
def proxy_in_front(upstream: str) -> Iterator[tuple[WireTap, RunningProxy]]:
    """A wire tap in front of *upstream* and ``imspatch proxy --rules glance`` in front of it.

    The proxy learns who is an admin from ``X-Roles``, the header glance-api reads.
    """
    with (
        WireTap(upstream) as tap,
        RunningProxy(Config(tap.url, rules=imspatch.GLANCE, admin_header="X-Roles")) as proxy,
    ):
        yield tap, proxy


def compare(glance_url: str, *, examples: int, seed: int) -> Report:
    with proxy_in_front(glance_url) as (tap, proxy):
        caller = identity(OWNER)
        comparison = Comparison(Side(glance_url, caller), Side(proxy.url, caller), tap)
        return run(comparison, examples=examples, seed=seed)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--examples", type=int, default=200)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    with glance_api() as api:
        report = compare(api.url, examples=args.examples, seed=args.seed)
    print(report)
    clean = not (
        report.changed_to_disagree or report.refused_on_the_wire or report.forwarded_altered
    )
    return 0 if clean else 1


if __name__ == "__main__":
    sys.exit(main())
