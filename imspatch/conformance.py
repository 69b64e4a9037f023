"""Conformance testing: does a server answer ``PATCH /v2/images/{id}`` as the engine does?

Needs the optional dependency ``hypothesis`` (``pip install 'imspatch[hypothesis]'``).

A *system under test* is any callable ``sut(media_type, body, image)`` that
applies one PATCH request to *image* and returns ``(status, image_after)``:
the HTTP status it answered and the image as it is afterwards (``None`` if it
cannot tell).  A system that had to store the image first (a real server
assigns its own id, timestamps and status) returns ``(status, image_after,
stored)``: the expectation is then computed on *stored*, the image as the
system held it before the request.  A system that cannot build an image at
all raises :class:`Unbuildable`: the request is counted, not judged.  A
system may name keys it computes itself in an attribute ``server_owned``
(:class:`HTTPSystem` does): they are ignored like :data:`DEFAULT_IGNORED`.

:func:`check` first runs a deterministic *sweep* derived from the rule set
(:func:`sweep`: both sides of every limit, every name class, every error
code a request can produce, the requests that must succeed), then draws
random requests (valid ones that succeed, parse-valid ones the apply phase
may refuse, invalid ones of every kind, see :mod:`imspatch.strategies`).  For
each it asks the engine (:func:`imspatch.patch_image`) what must happen and
compares the status and, where the system reports one, the resulting image:
on success the engine's result, on failure the image unchanged (all or
nothing).  Keys a server legitimately owns (``updated_at``, ``id``, ``self``,
...; :data:`DEFAULT_IGNORED`) are left out, and ``tags`` compare as sets.
On a disagreement :func:`check` raises :class:`NonConformance` (an
``AssertionError``) naming the rule exercised, with the smallest failing
request (hypothesis shrinks a random one) and how to repeat it::

    from imspatch import conformance

    def test_my_handler_conforms():
        conformance.check(my_sut, rules=imspatch.IMS, max_examples=200)

``profile="upstream"`` also accepts upstream Glance's answer where imspatch
deliberately differs from it (SPEC 8: strict JSON, limits, 400 instead of
500, media-type case, ``add /owner``, ...) and counts those requests.

:class:`HTTPSystem` makes a system under test of a server that offers
``POST /v2/images``, ``GET``, ``PATCH`` and ``DELETE /v2/images/{id}`` (and,
to build active images, ``PUT /v2/images/{id}/file``), and :func:`main` is
``imspatch conform URL``.
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import http.client
import json
import random
import sys
from collections import Counter
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from hypothesis import HealthCheck, Phase, Verbosity, given, settings
from hypothesis import seed as hypothesis_seed
from hypothesis import strategies as st
from hypothesis.errors import Flaky

from . import DEFAULT_LIMITS, Limits, _upstream, patch_image
from . import strategies as ims_st
from ._sweep import Case, base_image, sweep
from ._upstream import Answer, upstream_answer
from .errors import PatchError
from .rules import GLANCE, IMS, Rules, json_equal

__all__ = [
    "DEFAULT_IGNORED",
    "DIFFERENCES",
    "PROFILES",
    "RULE_OF_CODE",
    "Answer",
    "Case",
    "HTTPError",
    "HTTPSystem",
    "Mismatch",
    "NonConformance",
    "NotTested",
    "Summary",
    "SystemUnderTest",
    "Unbuildable",
    "base_image",
    "check",
    "conformance_requests",
    "differences",
    "main",
    "sweep",
    "upstream_answer",
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

#: The deliberate differences from upstream Glance 33 (SPEC 8 and the README's
#: list), by name: where ``profile="upstream"`` accepts upstream's answer too.
DIFFERENCES: dict[str, str] = _upstream.DIFFERENCES

#: ``imspatch``: judge by imspatch's rules only; ``upstream``: also accept upstream
#: Glance's answer where imspatch deliberately differs (:data:`DIFFERENCES`).
PROFILES = ("imspatch", "upstream")

#: The rule behind each error code, for reports: "IMS name length ... must be 400 IMG.0002".
RULE_OF_CODE: dict[str, str] = {
    "unsupported_media_type": "media type",
    "empty_body": "body presence",
    "invalid_utf8": "UTF-8 body",
    "invalid_json": "JSON syntax",
    "duplicate_member": "strict JSON: duplicate member names",
    "invalid_number": "strict JSON: numbers",
    "lone_surrogate": "strict JSON: lone surrogates",
    "too_deep": "request limits: nesting depth",
    "not_json": "JSON values",
    "unexpected_body_type": "body is an array",
    "not_an_array": "body is an array",
    "operation_not_object": "operations are objects",
    "body_too_large": "request limits: body size",
    "too_many_operations": "request limits: operations",
    "string_too_long": "request limits: string length",
    "pointer_too_long": "request limits: path length",
    "too_many_members": "request limits: members of an object",
    "too_many_tags": "tag quota",
    "too_many_properties": "property quota",
    "missing_op": "operation member",
    "invalid_op": "operation member",
    "several_ops": "operation member",
    "missing_path": "operation path",
    "path_not_string": "operation path",
    "missing_value": "value presence",
    "invalid_operation": "operation objects",
    "pointer_no_slash": "pointer syntax",
    "pointer_adjacent_slash": "pointer syntax",
    "pointer_trailing_slash": "pointer syntax",
    "pointer_no_token": "pointer syntax",
    "pointer_bad_escape": "pointer syntax",
    "invalid_path": "pointer depth",
    "invalid_value": "value rules",
    "property_name_too_long": "custom property name length",
    "IMG.0002": "name length",
    "IMG.0003": "name format",
    "IMG.0004": "description length",
    "IMG.0054": "description format",
    "negative_value": "non-negative integers",
    "out_of_range": "integer ranges",
    "four_byte_unicode": "4-byte characters",
    "read_only": "read-only names",
    "reserved": "reserved names",
    "not_removable": "core attributes cannot be removed",
    "owner_admin_only": "owner is admin only",
    "format_not_queued": "formats only on a queued image",
    "locations_hidden": "hidden locations",
    "locations_empty": "hidden locations",
    "protected": "protected attributes",
    "phantom_attribute": "phantom attributes",
    "no_such_property": "existence",
    "already_present": "v2.0 add of an existing name",
    "invalid_image": "the image",
    "not_expressible": "dialects",
}

_V21 = "application/openstack-images-v2.1-json-patch"

#: Keys :class:`HTTPSystem` does not send when it creates an image: the server's own
#: (read-only and reserved names), and ``protected`` (set afterwards with a PATCH, so
#: that the create cannot fail on it).
NOT_ON_CREATE: frozenset[str] = frozenset(
    {
        "id", "created_at", "updated_at", "status", "checksum", "size", "virtual_size",
        "direct_url", "self", "file", "schema", "os_hash_algo", "os_hash_value",
        "protected", "locations", *GLANCE.reserved,
    }
)  # fmt: skip


def conformance_requests(
    *, rules: Rules = IMS, admin: bool = False
) -> list[tuple[str, float, st.SearchStrategy[Request]]]:
    """The random requests :func:`check` draws, in parts: ``(name, share, strategy)``.

    Each part gets its *share* of the examples, so that every kind of request
    is sent whatever the seed: invalid ones of each group of
    :func:`~imspatch.strategies.labelled_errors` (wrong media type, bad body,
    parse-time, apply-time and finishing errors), requests that succeed, and
    parse-valid requests whose first doubtful operation decides the outcome,
    all of them now and then spelled another way that means the same
    (``spellings=True``).  (The request limits are the sweep's: their bodies
    are large.)
    """

    def invalid(group: str) -> st.SearchStrategy[Request]:
        labelled = ims_st.labelled_errors(rules=rules, admin=admin, groups=(group,), spellings=True)
        return labelled.map(lambda r: (r[0], r[1], r[2]))

    return [
        ("wrong media types", 0.05, invalid("media_type")),
        ("malformed bodies", 0.05, invalid("body")),
        ("operations refused at parse time", 0.15, invalid("parse")),
        (
            "requests that succeed",
            0.25,
            ims_st.requests(
                rules=rules, admin=admin, applicable=True, min_size=1, max_size=4, spellings=True
            ),
        ),
        ("operations refused in the apply phase", 0.15, invalid("apply")),
        ("requests refused by the finishing checks", 0.1, invalid("finish")),
        (
            "parse-valid requests",
            0.25,
            ims_st.requests(rules=rules, admin=admin, max_size=4, spellings=True),
        ),
    ]


@dataclass
class Summary:
    """What :func:`check` did: requests sent and judged, by rule group, status, difference."""

    examples: int
    seed: int
    statuses: Counter[int] = field(default_factory=Counter)
    #: requests per rule group: the sweep's groups, then the random parts
    groups: Counter[str] = field(default_factory=Counter)
    #: sweep cases sent (the rest were random)
    swept: int = 0
    profile: str = "imspatch"
    #: profile "upstream": requests under each deliberate difference ...
    differences: Counter[str] = field(default_factory=Counter)
    #: ... and how many of them the system answered as upstream does
    upstream: Counter[str] = field(default_factory=Counter)
    #: kinds of image the system could not build as asked
    unbuilt: Counter[str] = field(default_factory=Counter)
    #: requests not judged because the system could not build their image at all
    skipped: int = 0
    #: keys the system says are its own (``sut.server_owned``), ignored like *ignored*
    server_owned: list[str] = field(default_factory=list)

    def __str__(self) -> str:
        counts = ", ".join(f"{s} x{n}" for s, n in sorted(self.statuses.items()))
        random_part = self.examples - self.swept
        head = (
            f"{self.examples} requests (seed {self.seed}): {self.swept} in the deterministic "
            f"sweep, {random_part} random; expected statuses: {counts}"
        )
        lines = [head, "covered, by rule group:"]
        lines += [f"  {group}: {n}" for group, n in self.groups.items()]
        if self.profile == "upstream":
            lines.append("deliberate differences from upstream Glance (profile upstream):")
            if not self.differences:
                lines.append("  none met")
            for name, n in sorted(self.differences.items()):
                lines.append(f"  {name}: {n} (answered as upstream: {self.upstream[name]})")
        if self.server_owned:
            lines.append(
                f"keys the server adds on its own, ignored: {', '.join(self.server_owned)}"
            )
        if self.unbuilt or self.skipped:
            lines.append("images the system could not build as asked (judged as it stored them):")
            lines += [f"  {kind}: {n}" for kind, n in sorted(self.unbuilt.items())]
            if self.skipped:
                lines.append(f"  not built at all, not judged: {self.skipped}")
        return "\n".join(lines)


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
    #: the rule exercised, e.g. "IMS name length: 129 characters"
    rule: str = ""
    #: the sweep case's id (None for a random request)
    case: str | None = None
    #: a description of a body too large to print
    shown: str | None = None
    #: profile "upstream": the deliberate difference and upstream's status, if one applies
    upstream: tuple[str, int] | None = None
    #: the rule group the summary counts the request under
    group: str = ""

    @property
    def verdict(self) -> str:
        """The rule and what it demands: "IMS name length: 129 characters must be 400 IMG.0002"."""
        error = self.expected_error
        code = "" if error is None else f" {error.code}"
        return f"{self.rule} must be {self.expected_status}{code}"

    def report(self) -> str:
        """The mismatch as text: the rule, the request, then expected against actual."""
        lines = [
            f"rule:     {self.verdict}",
            f"  media type: {self.media_type!r}",
            f"  body:       {self.shown or _shown_body(self.body)}",
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
        if self.upstream is not None:
            name, status = self.upstream
            lines.append(f"          or, as upstream Glance ({name}), {status}")
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
    """Raised by :func:`check`: the report as message, and the data behind it.

    ``report`` is the message without its last line, which says how to
    repeat the run from Python; ``repeat`` holds the arguments to
    :func:`check` that send the failing request again: ``{"only": case_id}``
    for a sweep case, ``{"seed": ..., "max_examples": ..., "swept": False}``
    for a random one; ``others`` the other sweep mismatches.
    """

    def __init__(
        self,
        report: str,
        mismatch: Mismatch,
        seed: int,
        examples: int,
        repeat: dict[str, Any] | None = None,
        others: Sequence[Mismatch] = (),
    ) -> None:
        self.report, self.mismatch, self.seed, self.examples = report, mismatch, seed, examples
        self.repeat = repeat or {"seed": seed}
        self.others = list(others)
        arguments = ", ".join(f"{k}={v!r}" for k, v in self.repeat.items())
        super().__init__(
            f"{report}\nrepeat with: check(<the same system and settings>, {arguments})"
        )


class NotTested(RuntimeError):
    """Raised by :func:`check` when no request at all could be judged."""


class Unbuildable(Exception):
    """Raised by a system under test that cannot build the image a request needs.

    The message says which kind of image; the request is counted, not judged.
    """


class _Disagreement(Exception):
    def __init__(self, mismatch: Mismatch) -> None:
        super().__init__(mismatch.report())
        self.mismatch = mismatch


def _text(body: bytes) -> str:
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError:
        return repr(body)


def _shown_body(body: bytes, limit: int = 600) -> str:
    text = _text(body)
    if len(text) <= limit:
        return text
    return f"{text[: limit // 2]} ... ({len(body)} bytes) ... {text[-limit // 4 :]}"


def _json(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False, default=repr)
    return text if len(text) <= 2000 else text[:1000] + f" ... ({len(text)} characters)"


def differences(
    expected: Mapping[str, Any],
    actual: Mapping[str, Any],
    *,
    ignored: Collection[str] = DEFAULT_IGNORED,
    set_valued: Collection[str] = ("tags",),
) -> list[str]:
    """How *actual* differs from *expected*, one line per key; ``[]`` if they agree.

    Keys in *ignored* are left out; *set_valued* keys compare as sets (a
    repeated item in *actual* that *expected* does not repeat differs); other
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
            same = _as_set(want) == _as_set(got) and len(got) <= len(want)
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


def _label(rules: Rules) -> str:
    return rules.name.upper() if len(rules.name) <= 6 else rules.name


def _unbuilt_kinds(
    wanted: Mapping[str, Any], stored: Mapping[str, Any], ignored: Collection[str]
) -> list[str]:
    """What of *wanted* the system did not store: "status active", "protected", ..."""
    kinds = []
    for key, want in wanted.items():
        if key in ignored or key == "owner" or (key == "status" and stored.get(key) == want):
            continue  # the owner is the caller's (HTTPSystem.owner)
        got = stored.get(key, _ABSENT)
        if key == "status":
            kinds.append(f"status {want}")
        elif want is None and got is _ABSENT:
            kinds.append("a null custom property")
        elif got is _ABSENT or not json_equal(want, got):
            if key in ("tags",) and isinstance(got, list) and _as_set(want) == _as_set(got):
                continue
            kinds.append(key if len(key) <= 40 else "a long name")
    return sorted(set(kinds))


class _Judge:
    """Sends requests and compares; keeps the counts a :class:`Summary` reports."""

    def __init__(
        self,
        sut: SystemUnderTest,
        rules: Rules,
        admin: bool,
        limits: Limits,
        ignored: Collection[str],
        profile: str,
        seed: int,
    ) -> None:
        self.sut, self.rules, self.admin, self.limits = sut, rules, admin, limits
        self.ignored, self.profile = ignored, profile
        self.summary = Summary(0, seed, profile=profile)
        self.label = _label(rules)

    def expect(
        self, media_type: str | None, body: bytes, before: dict[str, Any]
    ) -> tuple[Answer, PatchError | None]:
        try:
            result = patch_image(before, body, media_type=media_type, rules=self.rules,
                                 admin=self.admin, limits=self.limits)  # fmt: skip
        except PatchError as exc:
            return Answer(exc.status, dict(before)), exc
        return Answer(200, result), None

    def __call__(self, request: Request, group: str, case: Case | None = None) -> Mismatch | None:
        """Send one request to the system, ask the engine, compare.  Counts it."""
        media_type, body, image = request
        raised: str | None = None
        actual_status: int | None = None
        after: dict[str, Any] | None = None
        stored: dict[str, Any] | None = None
        try:  # a copy: a system that changes the image it is given is judged all the same
            result = self.sut(media_type, body, copy.deepcopy(image))
            actual_status, after = result[0], result[1]
            if len(result) > 2:
                stored = result[2]
        except Unbuildable as exc:
            self.summary.skipped += 1
            self.summary.unbuilt[f"not built: {exc}"] += 1
            return None
        except Exception as exc:  # anything the system does is a finding, not a crash
            raised = f"{type(exc).__name__}: {exc}"
        self.summary.examples += 1
        self.summary.groups[group] += 1
        if case is not None:
            self.summary.swept += 1
        before = image if stored is None else stored
        if stored is not None:
            for kind in _unbuilt_kinds(image, stored, self.ignored):
                self.summary.unbuilt[kind] += 1
        (status, expected), error = self.expect(media_type, body, before)
        self.summary.statuses[status] += 1
        accepted = [Answer(status, expected)]
        under: tuple[str, int] | None = None
        if self.profile == "upstream":
            ours = Answer(status, expected)
            found = upstream_answer(
                media_type, body, before, ours, error, rules=self.rules, admin=self.admin
            )
            if found is not None:
                name, theirs = found
                self.summary.differences[name] += 1
                accepted.append(theirs)
                under = (name, theirs.status)
        if raised is None:
            for n, answer in enumerate(accepted):
                if actual_status == answer.status and (
                    after is None or not self._differ(answer.image, after)
                ):
                    if n and under is not None:
                        self.summary.upstream[under[0]] += 1
                    return None
        diffs = [] if raised is not None or after is None else self._differ(expected, after)
        if case is not None:
            rule = case.rule
        elif error is None:
            rule = f"{self.label} a request that must succeed"
        else:
            rule = f"{self.label} {RULE_OF_CODE.get(error.code, error.code)}"
        return Mismatch(
            media_type, body, image, stored, status, expected, error, actual_status, after,
            diffs, raised, rule, None if case is None else case.id,
            None if case is None else case.shown, under, group,
        )  # fmt: skip

    def _differ(self, expected: Mapping[str, Any], actual: Mapping[str, Any]) -> list[str]:
        owned: Collection[str] = getattr(self.sut, "server_owned", ())
        if owned:
            self.summary.server_owned = sorted(owned)
        return differences(expected, actual, ignored={*self.ignored, *owned},
                           set_valued=self.rules.set_valued)  # fmt: skip


def check(
    sut: SystemUnderTest,
    *,
    rules: Rules = IMS,
    admin: bool = False,
    max_examples: int = 200,
    seed: int | None = None,
    ignored: Collection[str] = DEFAULT_IGNORED,
    requests: st.SearchStrategy[Request] | None = None,
    limits: Limits = DEFAULT_LIMITS,
    profile: str = "imspatch",
    swept: bool = True,
    only: str | None = None,
) -> Summary:
    """Check *sut* against the engine; raise :class:`NonConformance` if it disagrees.

    *rules*, *admin* and *limits* are the settings the system is meant to
    implement.  First every case of :func:`sweep` is sent (unless
    ``swept=False``): if any disagrees, the report shows the smallest and
    lists the rules of the others.  Then *max_examples* random requests are
    drawn (from *requests*, default :func:`conformance_requests`); on the
    first disagreement hypothesis shrinks the request and the report shows the
    smallest one found.  A report names the rule exercised, the request, the
    expected and actual status, how the images differ, and how to repeat it
    (``only=`` a case id or a rule group of the sweep sends just those; *seed*
    makes the random part repeatable: a random one is chosen and reported
    otherwise).  *profile* ``"upstream"`` also accepts upstream Glance's
    answer where imspatch deliberately differs (:data:`DIFFERENCES`).
    Returns a :class:`Summary` when all agree.
    """
    if profile not in PROFILES:
        raise ValueError(f"profile must be one of {PROFILES}, not {profile!r}")
    if only is None and max_examples < 1:
        raise ValueError(f"max_examples must be at least 1, not {max_examples}")
    if seed is None:
        seed = random.SystemRandom().randrange(2**32)
    judge = _Judge(sut, rules, admin, limits, ignored, profile, seed)
    settings_text = f"rules {rules.name}, admin {'on' if admin else 'off'}, seed {seed}" + (
        "" if profile == "imspatch" else f", profile {profile}"
    )
    if swept or only is not None:
        cases: Iterable[Case] = sweep(rules, admin=admin, limits=limits)
        if only is not None:
            cases = _only(cases, only, rules)
        found = [
            m
            for c in cases
            if (m := judge((c.media_type, c.body, c.image), c.group, c)) is not None
        ]
        if found:
            smallest = min(found, key=lambda m: (len(m.body), m.case or ""))
            head = (
                f"The system under test disagrees with imspatch ({settings_text}) on "
                f"{len(found)} of {judge.summary.swept} requests of the deterministic sweep; "
                "the smallest:"
            )
            others = _others(found, smallest)
            repeat = {"only": smallest.case}
            report = f"{head}\n{smallest.report()}{others}"
            raise NonConformance(report, smallest, seed, judge.summary.examples, repeat, found)
    if only is None:
        _random_part(judge, requests, max_examples, seed, settings_text)
    if judge.summary.examples == 0:
        raise NotTested(
            f"no request could be judged: the system built none of the images "
            f"({judge.summary.skipped} requests; {dict(judge.summary.unbuilt)})"
        )
    return judge.summary


def _only(cases: Iterable[Case], only: str, rules: Rules) -> list[Case]:
    chosen = [c for c in cases if only in (c.id, c.group)]
    if not chosen:
        raise ValueError(f"no case or rule group {only!r} in the sweep of the {rules.name} rules")
    return chosen


def _others(found: Sequence[Mismatch], smallest: Mismatch) -> str:
    """The other sweep mismatches, by rule group: how many, and the first of each."""
    rest = [m for m in found if m is not smallest]
    if not rest:
        return ""
    by_group: dict[str, list[Mismatch]] = {}
    for m in rest:
        by_group.setdefault(m.group, []).append(m)
    lines = [f"\nit also disagrees on {len(rest)} more request(s) of the sweep, by rule group:"]
    for group, mismatches in by_group.items():
        m = mismatches[0]
        lines.append(f"  {group}: {len(mismatches)}, e.g. {m.verdict} ({_got(m)}; --case {m.case})")
    return "\n".join(lines)


def _got(m: Mismatch) -> str:
    """What the system did instead, in a few words."""
    if m.raised is not None:
        return "it raised"
    if m.actual_status == m.expected_status:
        return f"got {m.actual_status}, with another image"
    return f"got {m.actual_status}"


def _random_part(
    judge: _Judge,
    requests: st.SearchStrategy[Request] | None,
    max_examples: int,
    seed: int,
    settings_text: str,
) -> None:
    if requests is None:
        parts = conformance_requests(rules=judge.rules, admin=judge.admin)
    else:
        parts = [("requests", 1.0, requests)]
    budgets = _allot(max_examples, [share for _, share, _ in parts])
    for (part, _, strategy), budget in zip(parts, budgets, strict=True):
        found = _run(judge, f"random: {part}", strategy, budget, seed)
        if found is not None:
            mismatch, note = found
            head = (
                f"The system under test disagrees with imspatch ({settings_text}) after "
                f"{judge.summary.examples} requests; the smallest failing request found "
                f"among {part}{note}:"
            )
            repeat = {"seed": seed, "max_examples": max_examples, "swept": False}
            raise NonConformance(
                f"{head}\n{mismatch.report()}", mismatch, seed, judge.summary.examples, repeat
            ) from None


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
    judge: _Judge, part: str, strategy: st.SearchStrategy[Request], max_examples: int, seed: int
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
        mismatch = judge(request, part)
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


#: Keys :class:`HTTPSystem` knows for image attributes; others a server adds
#: to a new image itself are left out (see :meth:`HTTPSystem.__call__`).
_KNOWN = frozenset({*GLANCE.core, *GLANCE.read_only, *NOT_ON_CREATE})


def _project_of(headers: Mapping[str, str]) -> str | None:
    for name, value in headers.items():
        if name.lower() in ("x-project-id", "x-tenant-id"):
            return value
    return None


#: Statuses a real Glance reaches only with data: upload it (and deactivate after).
_WITH_DATA = {"active": (), "deactivated": ("deactivate",)}


class HTTPSystem:
    """A server at *base_url* as a system under test, one image per request.

    For each request it builds the image through the API, as a user would:
    ``POST /v2/images`` with what a user may set on create (not the keys in
    *not_on_create* or with a reserved prefix, and no null custom properties unless
    *keep_null_properties*), then ``PUT .../file`` with a few bytes where
    the image must be ``active`` (``deactivated``: also ``POST
    .../actions/deactivate``), and ``replace /protected`` where it must be
    protected.  It reads the image back (that is the image the expectation is
    computed on), sends the ``PATCH`` with the request's media type and body,
    reads the image again, and deletes it.  What it could not build as asked
    (a status the API cannot reach, a name the server refuses on create) is
    reported in the summary, not held against the server; a create the
    server refuses raises :class:`Unbuildable`.  An image the request left
    unchanged is kept for the next request that needs the same one (unless
    ``reuse=False``); :meth:`close` (or ``with``) deletes what is kept.  An
    image the caller cannot read after the PATCH counts as unknown: only the
    status is compared.  Keys the server adds to a new image on its own that
    are no image attribute (Glance's computed ``stores``) are the server's:
    they go into :attr:`server_owned`, are left out of both images, and
    :func:`check` ignores them, as it does :data:`DEFAULT_IGNORED`.  *headers* go with every
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
        upload: bool = True,
        reuse: bool = True,
        owner: str | None = None,
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
        self.upload = upload
        self.leaked: list[str] = []
        self.reuse = reuse
        #: The owner of the images it creates: *owner*, else the project the
        #: headers name (``X-Project-Id``, as Keystone sets it), else none.
        self.owner = owner if owner is not None else _project_of(self.headers)
        self._kept: dict[str, tuple[str, dict[str, Any]]] = {}
        #: Keys the server added to images on its own (see above), as found so far.
        self.server_owned: set[str] = set()

    def request(
        self,
        method: str,
        path: str,
        body: bytes | None = None,
        content_type: str | None = None,
    ) -> tuple[int, bytes]:
        """One HTTP exchange on a fresh connection: ``(status, body)``.

        A server may answer (413, say) and close before it has read a large
        body: the answer is still read.
        """
        cls = http.client.HTTPSConnection if self._scheme == "https" else http.client.HTTPConnection
        conn = cls(self._netloc, timeout=self.timeout)
        headers = dict(self.headers)
        if content_type is not None:
            headers["Content-Type"] = content_type
        try:
            with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                # a server that stops reading may have answered all the same
                conn.request(method, path, body=body, headers=headers)
            try:
                response = conn.getresponse()
            except (OSError, http.client.HTTPException) as exc:
                size = 0 if body is None else len(body)
                raise HTTPError(
                    f"{method} {path}: no answer ({type(exc).__name__}) after a body of "
                    f"{size} bytes"
                ) from None
            return response.status, response.read()
        finally:
            conn.close()

    def create(self, image: Mapping[str, Any]) -> str:
        """Create an image like *image*; return the id the server gave it.

        The owner is :attr:`owner` (not sent if None): who may patch an image
        is the server's business, so the caller owns every image it tests.
        """
        doc = {
            k: v
            for k, v in image.items()
            if k not in self.not_on_create
            and not k.startswith(GLANCE.reserved_prefixes)  # os_glance_*: the server's
            and (v is not None or self.keep_null_properties or k in GLANCE.core)
        }
        doc.pop("owner", None)
        if self.owner is not None:
            doc["owner"] = self.owner
        status, body = self.request(
            "POST", self._images, json.dumps(doc).encode(), "application/json"
        )
        if 400 <= status < 500:
            raise Unbuildable(f"the server refused to create it ({status})")
        if status not in (200, 201):
            raise HTTPError(f"POST {self._images} answered {status}: {_text(body)[:300]}")
        try:
            image_id = json.loads(body)["id"]
        except (ValueError, KeyError, TypeError):
            raise HTTPError(
                f"POST {self._images} returned no image id: {_text(body)[:300]}"
            ) from None
        return str(image_id)

    def build(self, image: Mapping[str, Any]) -> tuple[str, dict[str, Any]]:
        """Create *image* as far as the API allows; return its id and the image stored."""
        image_id = self.create(image)
        try:
            path = f"{self._images}/{image_id}"
            actions = _WITH_DATA.get(str(image.get("status")))
            if actions is not None and self.upload:
                status, _ = self.request(
                    "PUT", path + "/file", b"imspatch", "application/octet-stream"
                )
                if status in (200, 201, 204):
                    for action in actions:
                        self.request("POST", f"{path}/actions/{action}")
            if image.get("protected") is True:
                protect = b'[{"op": "replace", "path": "/protected", "value": true}]'
                self.request("PATCH", path, protect, _V21)
            return image_id, self.get(image_id)
        except BaseException:
            self.delete(image_id)
            raise

    def get(self, image_id: str) -> dict[str, Any]:
        """The image as the server shows it."""
        doc = self._read(image_id)
        if doc is None:
            raise HTTPError(f"GET {self._images}/{image_id} answered 404")
        return doc

    def _read(self, image_id: str) -> dict[str, Any] | None:
        """The image as the server shows it, None if it answers 404."""
        status, body = self.request("GET", f"{self._images}/{image_id}")
        if status == 404:
            return None  # e.g. given away to another project by the request
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
        except (OSError, http.client.HTTPException, HTTPError):
            pass
        if status not in (200, 202, 204):
            self.leaked.append(image_id)

    def __call__(
        self, media_type: str | None, body: bytes, image: dict[str, Any]
    ) -> tuple[int, dict[str, Any] | None, dict[str, Any]]:
        key = json.dumps(image, sort_keys=True, default=repr)
        kept = self._kept.pop(key, None)
        image_id, stored = kept if kept is not None else self.build(image)
        after: dict[str, Any] | None = None
        try:
            status = self.patch(image_id, media_type, body)
            after = self._read(image_id)
        finally:
            if after is not None and self.reuse and not differences(stored, after):
                self._kept[key] = image_id, stored  # unchanged: good for the next request
            else:
                self.delete(image_id)
        # Keys the server added on its own that are no attribute (Glance's computed
        # "stores") are the server's: the engine must not take them for properties.
        self.server_owned |= {k for k in stored if k not in image and k not in _KNOWN}
        if self.server_owned:
            stored = self._without_server_owned(stored)
            after = None if after is None else self._without_server_owned(after)
        return status, after, stored

    def _without_server_owned(self, image: Mapping[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in image.items() if k not in self.server_owned}

    def close(self) -> None:
        """Delete the images kept for reuse."""
        while self._kept:
            _, (image_id, _) = self._kept.popitem()
            self.delete(image_id)

    def __enter__(self) -> HTTPSystem:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def probe(self) -> None:
        """Create, read and delete one small image; raise ``HTTPError``/``OSError`` if not."""
        try:
            image_id = self.create({"name": "imspatch-conform-probe"})
        except Unbuildable as exc:
            raise HTTPError(f"POST {self._images}: {exc}") from None
        try:
            self.get(image_id)
        finally:
            self.delete(image_id)


# --- command line -----------------------------------------------------------------------


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an integer: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, not {value}")
    return value


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="imspatch conform",
        description=(
            "Check that the image service at URL answers PATCH /v2/images/{id} as the "
            "imspatch engine does: first a deterministic sweep of every rule of the rule "
            "set, then generated requests. Each request creates an image (POST /v2/images, "
            "with its data where it must be active), patches it, reads it back and deletes "
            "it. Prints the rule, the smallest failing request found and how to repeat it."
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
    parser.add_argument("--profile", choices=PROFILES, default="imspatch",
                        help="upstream: also accept upstream Glance's answer where imspatch "
                             "deliberately differs from it (default: imspatch)")  # fmt: skip
    parser.add_argument("--max-examples", type=_positive, default=200, metavar="N",
                        help="random requests after the sweep (default: 200)")  # fmt: skip
    parser.add_argument("--seed", type=int, default=None, metavar="N",
                        help="seed, for a repeatable run (default: random; printed)")  # fmt: skip
    parser.add_argument("--case", default=None, metavar="ID",
                        help="send only this case (or rule group) of the sweep")  # fmt: skip
    parser.add_argument("--no-sweep", action="store_true",
                        help="skip the deterministic sweep")  # fmt: skip
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
    command = f"imspatch conform {args.url} --rules {rules.name}"
    command += " --admin" if args.admin else ""
    command += "" if args.profile == "imspatch" else f" --profile {args.profile}"
    command += "".join(f" -H '{h}'" for h in args.header)
    try:
        summary = check(
            system,
            rules=rules,
            admin=args.admin,
            max_examples=args.max_examples,
            seed=args.seed,
            ignored=DEFAULT_IGNORED | set(args.ignore),
            profile=args.profile,
            swept=not args.no_sweep,
            only=args.case,
        )
    except NonConformance as exc:
        print(f"FAIL {args.url}\n{exc.report}")
        if "only" in exc.repeat:
            print(f"repeat with: {command} --case '{exc.repeat['only']}'")
        else:
            print(f"repeat with: {command} --no-sweep --max-examples {args.max_examples} "
                  f"--seed {exc.seed}")  # fmt: skip
        return 1
    except (ValueError, NotTested) as exc:
        print(f"imspatch conform: cannot test {args.url}: {exc}", file=sys.stderr)
        return 2
    finally:
        system.close()
        if system.leaked:
            print(f"note: {len(system.leaked)} image(s) could not be deleted (a request may "
                  f"have given them to another owner): "
                  f"{', '.join(system.leaked[:5])}", file=sys.stderr)  # fmt: skip
    admin = ", admin" if args.admin else ""
    print(f"OK {args.url} agrees with imspatch (rules {rules.name}{admin}): {summary}")
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main(sys.argv[1:]))
