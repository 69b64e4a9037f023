"""Conformance testing: does a server answer ``PATCH /v2/images/{id}`` as the engine does?

Needs the optional dependency ``hypothesis`` (``pip install 'imspatch[hypothesis]'``).

A *system under test* is any callable ``sut(media_type, body, image)`` that
applies one PATCH request to *image* and returns ``(status, image_after)``:
the HTTP status it answered and the image as it is afterwards (``None`` if it
cannot tell).  A system that had to store the image first (a real server
assigns its own id, timestamps and status) returns ``(status, image_after,
stored)``: the expectation is then computed on *stored*, the image as the
system held it before the request.

:func:`check` draws requests (valid ones that succeed, parse-valid ones the
apply phase may refuse, and invalid ones of every kind, see
:mod:`imspatch.strategies`), asks the engine (:func:`imspatch.patch_image`) what
must happen, and compares the status and, where the system reports one, the
resulting image: on success the engine's result, on failure the image
unchanged (all or nothing).  Keys a server legitimately owns (``updated_at``,
``id``, ``self``, ...; :data:`DEFAULT_IGNORED`) are left out, and ``tags``
compare as sets.  On a disagreement hypothesis shrinks the request and
:func:`check` raises ``AssertionError`` with a report of the smallest one::

    from imspatch import conformance

    def test_my_handler_conforms():
        conformance.check(my_sut, rules=imspatch.IMS, max_examples=200)

:class:`HTTPSystem` makes a system under test of a server that offers
``POST /v2/images``, ``GET``, ``PATCH`` and ``DELETE /v2/images/{id}``, and
:func:`main` is ``imspatch conform URL``.
"""

from __future__ import annotations

import argparse
import http.client
import json
import random
import sys
from collections import Counter
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from hypothesis import HealthCheck, Phase, Verbosity, given, settings
from hypothesis import seed as hypothesis_seed
from hypothesis import strategies as st
from hypothesis.errors import Flaky

from . import strategies as ims_st
from ._api import patch_image
from .errors import PatchError
from .rules import GLANCE, GLANCE_RESERVED, GLANCE_WRITABLE, IMS, Rules, json_equal

__all__ = [
    "DEFAULT_IGNORED",
    "HTTPError",
    "HTTPSystem",
    "Mismatch",
    "NonConformance",
    "Summary",
    "SystemUnderTest",
    "check",
    "conformance_requests",
    "differences",
    "main",
]

#: ``sut(media_type, body, image) -> (status, image_after[, stored])``.
SystemUnderTest = Callable[[str | None, bytes, dict[str, Any]], Sequence[Any]]
Request = tuple[str | None, bytes, dict[str, Any]]

#: Keys a server owns and may add or change on any request: identity, timestamps,
#: links, and what it computes from the image data.  Left out of every comparison.
DEFAULT_IGNORED: frozenset[str] = frozenset(
    {
        "id", "created_at", "updated_at", "self", "file", "schema",
        "checksum", "size", "virtual_size", "direct_url", "os_hash_algo", "os_hash_value",
        "locations",
    }
)  # fmt: skip

_V21 = "application/openstack-images-v2.1-json-patch"

#: Keys :class:`HTTPSystem` does not send when it creates an image: the server's own
#: (read-only and reserved names), and ``protected`` (a protected image cannot be
#: deleted afterwards; the server's default, False, is used).
NOT_ON_CREATE: frozenset[str] = frozenset(
    {
        "id", "created_at", "updated_at", "status", "checksum", "size", "virtual_size",
        "direct_url", "self", "file", "schema", "os_hash_algo", "os_hash_value",
        "protected", "locations", *GLANCE_RESERVED,
    }
)  # fmt: skip


def conformance_requests(
    *, rules: Rules = IMS, admin: bool = False
) -> list[tuple[str, float, st.SearchStrategy[Request]]]:
    """The requests :func:`check` draws, in parts: ``(name, share, strategy)``.

    Each part gets its *share* of the examples, so that every kind of request
    is sent whatever the seed: invalid ones of each group of
    :func:`~imspatch.strategies.labelled_errors` (wrong media type, bad body,
    parse-time, apply-time and finishing errors), requests that succeed, and
    parse-valid requests whose first doubtful operation decides the outcome.
    """

    def invalid(group: str) -> st.SearchStrategy[Request]:
        labelled = ims_st.labelled_errors(rules=rules, admin=admin, groups=(group,))
        return labelled.map(lambda r: (r[0], r[1], r[2]))

    return [
        ("wrong media types", 0.05, invalid("media_type")),
        ("malformed bodies", 0.05, invalid("body")),
        ("operations refused at parse time", 0.15, invalid("parse")),
        (
            "requests that succeed",
            0.25,
            ims_st.requests(rules=rules, admin=admin, applicable=True, min_size=1, max_size=4),
        ),
        ("operations refused in the apply phase", 0.15, invalid("apply")),
        ("requests refused by the finishing checks", 0.1, invalid("finish")),
        ("parse-valid requests", 0.25, ims_st.requests(rules=rules, admin=admin, max_size=4)),
    ]


@dataclass
class Summary:
    """What :func:`check` did: requests sent, the seed, and the statuses expected."""

    examples: int
    seed: int
    statuses: Counter[int] = field(default_factory=Counter)

    def __str__(self) -> str:
        counts = ", ".join(f"{s} x{n}" for s, n in sorted(self.statuses.items()))
        return f"{self.examples} requests (seed {self.seed}); expected statuses: {counts}"


@dataclass
class Mismatch:
    """One request on which the system under test and the engine disagree."""

    media_type: str | None
    body: bytes
    image: dict[str, Any]
    stored: dict[str, Any] | None
    expected_status: int
    expected_image: dict[str, Any]
    expected_error: PatchError | None
    actual_status: int | None
    actual_image: dict[str, Any] | None
    differences: list[str]
    raised: str | None = None

    def report(self) -> str:
        """The mismatch as text: the request, then expected against actual."""
        lines = [
            f"  media type: {self.media_type!r}",
            f"  body:       {_text(self.body)}",
            f"  image:      {_json(self.image)}",
        ]
        if self.stored is not None:
            lines.append(f"  as stored:  {_json(self.stored)}")
        error = self.expected_error
        detail = ""
        if error is not None:
            where = "" if error.index is None else f" (operation {error.index})"
            detail = f" {error.code}{where}: {error.message}"
        lines.append(f"expected: {self.expected_status}{detail}")
        if self.raised is not None:
            lines.append(f"actual:   the system under test raised {self.raised}")
            return "\n".join(lines)
        lines.append(f"actual:   {self.actual_status}")
        if self.differences:
            what = "result" if self.expected_error is None else "image (must be unchanged)"
            lines.append(f"{what} differs, expected / actual:")
            lines += [f"  {d}" for d in self.differences]
        return "\n".join(lines)


class NonConformance(AssertionError):
    """Raised by :func:`check`: the report as message, and the data behind it."""

    def __init__(self, report: str, mismatch: Mismatch, seed: int, examples: int) -> None:
        super().__init__(report)
        self.mismatch, self.seed, self.examples = mismatch, seed, examples


class _Disagreement(Exception):
    def __init__(self, mismatch: Mismatch) -> None:
        super().__init__(mismatch.report())
        self.mismatch = mismatch


def _text(body: bytes) -> str:
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError:
        return repr(body)


def _json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, default=repr)


def differences(
    expected: Mapping[str, Any],
    actual: Mapping[str, Any],
    *,
    ignored: Collection[str] = DEFAULT_IGNORED,
    set_valued: Collection[str] = ("tags",),
) -> list[str]:
    """How *actual* differs from *expected*, one line per key; ``[]`` if they agree.

    Keys in *ignored* are left out; *set_valued* keys compare as sets; other
    values as JSON (``1`` is ``1.0``, ``True`` is not ``1``).
    """
    lines = []
    for key in [*expected, *(k for k in actual if k not in expected)]:
        if key in ignored:
            continue
        want, got = expected.get(key, _ABSENT), actual.get(key, _ABSENT)
        if want is _ABSENT or got is _ABSENT:
            same = want is got
        elif key in set_valued and isinstance(want, list) and isinstance(got, list):
            same = _as_set(want) == _as_set(got)
        else:
            same = json_equal(want, got)
        if not same:
            lines.append(f"{key}: {_shown(want)} / {_shown(got)}")
    return lines


class _Absent:
    def __repr__(self) -> str:
        return "(absent)"


_ABSENT: Any = _Absent()


def _shown(value: Any) -> str:
    if value is _ABSENT:
        return "(absent)"
    text = _json(value)
    return text if len(text) <= 200 else text[:197] + "..."


def _as_set(values: list[Any]) -> Any:
    try:
        return frozenset(values)
    except TypeError:
        return tuple(values)


def _judge(
    sut: SystemUnderTest,
    request: Request,
    rules: Rules,
    admin: bool,
    ignored: Collection[str],
    statuses: Counter[int],
) -> Mismatch | None:
    """Send one request to the system, ask the engine, compare."""
    media_type, body, image = request
    raised: str | None = None
    actual_status: int | None = None
    after: dict[str, Any] | None = None
    stored: dict[str, Any] | None = None
    try:
        result = sut(media_type, body, image)
        actual_status, after = result[0], result[1]
        if len(result) > 2:
            stored = result[2]
    except Exception as exc:  # anything the system does is a finding, not a crash
        raised = f"{type(exc).__name__}: {exc}"
    before = image if stored is None else stored
    error: PatchError | None = None
    try:
        expected = patch_image(before, body, media_type=media_type, rules=rules, admin=admin)
        status = 200
    except PatchError as exc:
        error, status, expected = exc, exc.status, dict(before)
    statuses[status] += 1
    diffs: list[str] = []
    if raised is None and after is not None:
        diffs = differences(expected, after, ignored=ignored, set_valued=rules.set_valued)
    if raised is None and actual_status == status and not diffs:
        return None
    return Mismatch(
        media_type, body, image, stored, status, expected, error, actual_status, after, diffs,
        raised,
    )  # fmt: skip


def check(
    sut: SystemUnderTest,
    *,
    rules: Rules = IMS,
    admin: bool = False,
    max_examples: int = 200,
    seed: int | None = None,
    ignored: Collection[str] = DEFAULT_IGNORED,
    requests: st.SearchStrategy[Request] | None = None,
) -> Summary:
    """Check *sut* against the engine on generated requests; raise ``AssertionError`` if not.

    *rules* and *admin* are the settings the system is meant to implement.
    Up to *max_examples* requests are drawn (from *requests*, default
    :func:`conformance_requests`); on the first disagreement hypothesis
    shrinks the request and the ``AssertionError`` reports the smallest one
    found: media type, body, image, expected and actual status, and how the
    images differ.  *seed* makes a run repeatable (a random one is chosen and
    reported otherwise).  Returns a :class:`Summary` when all agree.
    """
    if seed is None:
        seed = random.SystemRandom().randrange(2**32)
    if requests is None:
        parts = conformance_requests(rules=rules, admin=admin)
    else:
        parts = [("requests", 1.0, requests)]
    budgets = _allot(max_examples, [share for _, share, _ in parts])
    statuses: Counter[int] = Counter()
    calls = [0]
    for (part, _, strategy), budget in zip(parts, budgets, strict=True):
        found = _run(sut, strategy, budget, seed, rules, admin, ignored, statuses, calls)
        if found is not None:
            mismatch, note = found
            where = part
            break
    else:
        return Summary(calls[0], seed, statuses)
    settings_text = f"rules {rules.name}, admin {'on' if admin else 'off'}, seed {seed}"
    head = (
        f"The system under test disagrees with imspatch ({settings_text}) after "
        f"{calls[0]} requests; the smallest failing request found among {where}{note}:"
    )
    raise NonConformance(f"{head}\n{mismatch.report()}", mismatch, seed, calls[0]) from None


def _allot(total: int, shares: list[float]) -> list[int]:
    """Split *total* examples by *shares* (largest remainders), at least one each."""
    weight = sum(shares)
    exact = [total * share / weight for share in shares]
    counts = [int(x) for x in exact]
    by_remainder = sorted(range(len(shares)), key=lambda i: counts[i] - exact[i])
    for i in by_remainder[: total - sum(counts)]:
        counts[i] += 1
    return [max(1, n) for n in counts]


def _run(
    sut: SystemUnderTest,
    strategy: st.SearchStrategy[Request],
    max_examples: int,
    seed: int,
    rules: Rules,
    admin: bool,
    ignored: Collection[str],
    statuses: Counter[int],
    calls: list[int],
) -> tuple[Mismatch, str] | None:
    """One hypothesis run; the shrunk mismatch and a note, or None if all agree."""

    @hypothesis_seed(seed)
    @settings(
        max_examples=max_examples,
        deadline=None,
        database=None,
        derandomize=False,
        report_multiple_bugs=False,
        verbosity=Verbosity.quiet,
        phases=(Phase.generate, Phase.shrink),
        suppress_health_check=list(HealthCheck),
    )
    @given(strategy)
    def conform(request: Request) -> None:
        calls[0] += 1
        mismatch = _judge(sut, request, rules, admin, ignored, statuses)
        if mismatch is not None:
            raise _Disagreement(mismatch)

    try:
        conform()
    except _Disagreement as exc:
        return exc.mismatch, ""
    except Flaky as exc:
        inner = [e for e in getattr(exc, "exceptions", ()) if isinstance(e, _Disagreement)]
        if not inner:
            raise
        return inner[0].mismatch, " (it did not fail again when retried: flaky)"
    return None


# --- HTTP -------------------------------------------------------------------------------


class HTTPError(Exception):
    """A request around the PATCH (create, read back, delete) did not work."""


class HTTPSystem:
    """A server at *base_url* as a system under test, one image per request.

    For each request: ``POST /v2/images`` the image (without the keys in
    *not_on_create*, and without null custom properties unless
    *keep_null_properties*), ``GET`` it back (that is the image the
    expectation is computed on), ``PATCH`` it with the request's media type
    and body, ``GET`` it again, and ``DELETE`` it.  *headers* go with every
    request (e.g. ``{"X-Auth-Token": ...}``).  Images that could not be
    deleted are listed in :attr:`leaked`.
    """

    def __init__(
        self,
        base_url: str,
        *,
        headers: Mapping[str, str] | None = None,
        timeout: float = 10.0,
        not_on_create: Collection[str] = NOT_ON_CREATE,
        keep_null_properties: bool = False,
    ) -> None:
        parts = urlsplit(base_url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"not an http(s) URL: {base_url!r}")
        self.base_url = base_url
        self._scheme, self._netloc = parts.scheme, parts.netloc
        prefix = parts.path.rstrip("/")
        self._images = (prefix if prefix.endswith("/v2") else prefix + "/v2") + "/images"
        self.headers = dict(headers or {})
        self.timeout = timeout
        self.not_on_create = frozenset(not_on_create)
        self.keep_null_properties = keep_null_properties
        self.leaked: list[str] = []

    def request(
        self, method: str, path: str, body: bytes | None = None, content_type: str | None = None
    ) -> tuple[int, bytes]:
        """One HTTP exchange on a fresh connection: ``(status, body)``."""
        cls = http.client.HTTPSConnection if self._scheme == "https" else http.client.HTTPConnection
        conn = cls(self._netloc, timeout=self.timeout)
        headers = dict(self.headers)
        if content_type is not None:
            headers["Content-Type"] = content_type
        try:
            conn.request(method, path, body=body, headers=headers)
            response = conn.getresponse()
            return response.status, response.read()
        finally:
            conn.close()

    def create(self, image: Mapping[str, Any]) -> str:
        """Create an image like *image*; return the id the server gave it."""
        doc = {
            k: v
            for k, v in image.items()
            if k not in self.not_on_create
            and (v is not None or self.keep_null_properties or k in GLANCE_WRITABLE)
        }
        status, body = self.request(
            "POST", self._images, json.dumps(doc).encode(), "application/json"
        )
        if status not in (200, 201):
            raise HTTPError(f"POST {self._images} answered {status}: {_text(body)[:300]}")
        try:
            image_id = json.loads(body)["id"]
        except (ValueError, KeyError, TypeError):
            raise HTTPError(
                f"POST {self._images} returned no image id: {_text(body)[:300]}"
            ) from None
        return str(image_id)

    def get(self, image_id: str) -> dict[str, Any]:
        """The image as the server shows it."""
        status, body = self.request("GET", f"{self._images}/{image_id}")
        if status != 200:
            raise HTTPError(f"GET {self._images}/{image_id} answered {status}: {_text(body)[:300]}")
        doc = json.loads(body)
        if not isinstance(doc, dict):
            raise HTTPError(f"GET {self._images}/{image_id} returned no image object")
        return doc

    def patch(self, image_id: str, media_type: str | None, body: bytes) -> int:
        """Send the PATCH; return the status."""
        return self.request("PATCH", f"{self._images}/{image_id}", body, media_type)[0]

    def delete(self, image_id: str) -> None:
        """Delete the image; remember it in :attr:`leaked` if that fails.

        A request may have made the image protected: then it is unprotected
        first (where the rules allow that).
        """
        path = f"{self._images}/{image_id}"
        unprotect = b'[{"op": "replace", "path": "/protected", "value": false}]'
        status = 0
        try:
            status = self.request("DELETE", path)[0]
            if status == 403:
                self.request("PATCH", path, unprotect, _V21)
                status = self.request("DELETE", path)[0]
        except (OSError, http.client.HTTPException):
            pass
        if status not in (200, 202, 204):
            self.leaked.append(image_id)

    def __call__(
        self, media_type: str | None, body: bytes, image: dict[str, Any]
    ) -> tuple[int, dict[str, Any], dict[str, Any]]:
        image_id = self.create(image)
        try:
            stored = self.get(image_id)
            status = self.patch(image_id, media_type, body)
            return status, self.get(image_id), stored
        finally:
            self.delete(image_id)

    def probe(self) -> None:
        """Create, read and delete one small image; raise ``HTTPError``/``OSError`` if not."""
        image_id = self.create({"name": "imspatch-conform-probe"})
        try:
            self.get(image_id)
        finally:
            self.delete(image_id)


# --- command line -----------------------------------------------------------------------


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="imspatch conform",
        description=(
            "Check that the image service at URL answers PATCH /v2/images/{id} as the "
            "imspatch engine does, on generated requests. Each request creates an image "
            "(POST /v2/images), patches it, reads it back and deletes it. Prints the "
            "smallest failing request found."
        ),
        epilog="Exit status: 0 the server agrees, 1 it does not, 2 it could not be tested.",
    )
    parser.add_argument(
        "url", metavar="URL", help="base URL of the service, e.g. http://127.0.0.1:9292"
    )
    parser.add_argument("--rules", choices=("ims", "glance"), default="ims",
                        help="the rule set the server implements (default: ims)")  # fmt: skip
    parser.add_argument("--admin", action="store_true",
                        help="the server treats the caller as an admin")  # fmt: skip
    parser.add_argument("--max-examples", type=int, default=200, metavar="N",
                        help="requests to generate (default: 200)")  # fmt: skip
    parser.add_argument("--seed", type=int, default=None, metavar="N",
                        help="seed, for a repeatable run (default: random; printed)")  # fmt: skip
    parser.add_argument("-H", "--header", action="append", default=[], metavar="'NAME: VALUE'",
                        help="send this header with every request (repeatable)")  # fmt: skip
    parser.add_argument("--ignore", action="append", default=[], metavar="KEY",
                        help="also ignore this image key when comparing (repeatable)")  # fmt: skip
    parser.add_argument("--timeout", type=float, default=10.0, metavar="SECONDS",
                        help="per HTTP request (default: 10)")  # fmt: skip
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """``imspatch conform URL [--rules ims|glance] [--admin] [--max-examples N] [--seed N]``."""
    try:
        args = _parser().parse_args(argv)
    except SystemExit as exc:  # --help, or a usage error (already printed)
        return exc.code if isinstance(exc.code, int) else 2
    headers = {}
    for header in args.header:
        name, sep, value = header.partition(":")
        if not sep or not name.strip():
            print(f"imspatch conform: not a header: {header!r}", file=sys.stderr)
            return 2
        headers[name.strip()] = value.strip()
    rules = GLANCE if args.rules == "glance" else IMS
    try:
        system = HTTPSystem(args.url, headers=headers, timeout=args.timeout)
        system.probe()
    except (ValueError, HTTPError, OSError, http.client.HTTPException) as exc:
        print(f"imspatch conform: cannot test {args.url}: {exc}", file=sys.stderr)
        return 2
    try:
        summary = check(
            system,
            rules=rules,
            admin=args.admin,
            max_examples=args.max_examples,
            seed=args.seed,
            ignored=DEFAULT_IGNORED | set(args.ignore),
        )
    except NonConformance as exc:
        print(f"FAIL {args.url}\n{exc}")
        print(
            f"repeat with: imspatch conform {args.url} --rules {rules.name}"
            f"{' --admin' if args.admin else ''} --max-examples {args.max_examples}"
            f" --seed {exc.seed}"
        )
        return 1
    finally:
        if system.leaked:
            print(f"note: {len(system.leaked)} image(s) could not be deleted: "
                  f"{', '.join(system.leaked[:5])}", file=sys.stderr)  # fmt: skip
    admin = ", admin" if args.admin else ""
    print(f"OK {args.url} agrees with imspatch (rules {rules.name}{admin}): {summary}")
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main(sys.argv[1:]))
