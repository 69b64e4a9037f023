"""Offline verdicts: what a parsed patch does to an image nobody has shown.

A patch that parses can still fail when it is applied or finished, and
whether it does may depend on the image.  :func:`analyse` runs the
operations over an *abstract* image, in the engine's order (SPEC 6,
reference 9-10).  Each name the patch addresses is, at any point, either the
image's own (unknown, but for what the earlier checks proved about it),
absent, or holding a value the patch wrote.  Each check of the engine then
has one of three answers:

- it passes on every image still possible: go on;
- it fails on every image still possible: an **error**.  The request fails
  on every image (an image meeting an earlier warning's condition fails
  there, earlier), and the analysis stops, as the engine does;
- it depends on the image: a **warning**, with the :class:`Condition` on
  the image under which it fails.  The analysis goes on with the images on
  which it passes: the condition's negation becomes a fact.

The facts are few, and each negation is one of them: whether a name is in
the image, a value it holds (JSON equality, or set equality for a
set-valued name), the values its ``status`` may have, and how many
properties it may have besides the ones the patch writes.  So every
condition is exact: on an image meeting none of the earlier findings'
conditions, the engine fails exactly as a finding says if and only if the
image meets its condition, and a patch with no finding succeeds on every
image.  The tests check this against :func:`imspatch.patch_image`.

Where a check reads only the rule set (:class:`~imspatch.rules.Rules` data)
and the patch, the answer is never a warning: a non-removable name, a
hidden attribute, the admin check, a negative ``min_ram``, a value beyond
the integer range, too many tags.

Errors and messages are the engine's own: each finding is confirmed by
running the engine (:func:`imspatch.apply_patch`) on a small *probe* image
built from the facts: the operation's name alone for an apply-phase
check, the whole patch for a finishing one.  A probe that does not fail as
predicted is a bug in this module and raises ``AssertionError``; a probe
on which the engine raises something other than a ``PatchError`` (a bug of
the engine's) ends the analysis there, with nothing said about it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from functools import partial

from ._api import apply_patch, iter_errors, parse_patch
from ._decode import DEFAULT_LIMITS, Limits
from .errors import PatchError, excerpt
from .operations import Add, Operation, Remove, Replace
from .rules import (
    IMS,
    INT32_MAX,
    STATUS_ATTRIBUTE,
    Kind,
    Rules,
    has_four_byte,
    json_equal,
    same_set,
)

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

__all__ = [
    "AllOf",
    "Condition",
    "Differs",
    "Finding",
    "Has",
    "Lacks",
    "LacksAny",
    "MoreProperties",
    "NotOneOf",
    "Review",
    "TagsLack",
    "analyse",
    "review",
]

#: At most this many names are listed in a condition's text.
_SHOWN = 5


class _Marker:
    __slots__ = ("_name",)

    def __init__(self, name: str) -> None:
        self._name = name

    def __repr__(self) -> str:
        return self._name


_ABSENT: Any = _Marker("<absent>")  # a name the patch removed
_UNSET: Any = _Marker("<unset>")  # no value known


def _q(name: str) -> str:
    return excerpt(name)


# --- conditions -----------------------------------------------------------------


class Condition:
    """A fact about the image *before* the patch, under which a warning's error follows.

    ``str()`` says it in words; :meth:`holds` decides it for one image.
    """

    __slots__ = ()

    def holds(self, image: Mapping[str, Any]) -> bool:
        """Whether *image* (as it is before the patch) meets this condition."""
        raise NotImplementedError

    def _fields(self) -> tuple[Any, ...]:
        names: tuple[str, ...] = self.__slots__
        return tuple(getattr(self, name) for name in names)

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, Condition)
            and type(other) is type(self)
            and (self._fields() == other._fields())
        )

    __hash__ = None  # type: ignore[assignment] # values need not be hashable

    def __repr__(self) -> str:
        args = ", ".join(repr(field) for field in self._fields())
        return f"{type(self).__name__}({args})"


class Lacks(Condition):
    """The image has no key *name*."""

    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        self.name = name

    def holds(self, image: Mapping[str, Any]) -> bool:
        return self.name not in image

    def __str__(self) -> str:
        return f"the image has no {_q(self.name)}"


class Has(Condition):
    """The image has a key *name*."""

    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        self.name = name

    def holds(self, image: Mapping[str, Any]) -> bool:
        return self.name in image

    def __str__(self) -> str:
        return f"the image has {_q(self.name)}"


class Differs(Condition):
    """The image has no *name*, or its value is not *value* (as a set if *as_set*)."""

    __slots__ = ("as_set", "name", "value")

    def __init__(self, name: str, value: Any, as_set: bool = False) -> None:
        self.name = name
        self.value = value
        self.as_set = as_set

    def holds(self, image: Mapping[str, Any]) -> bool:
        if self.name not in image:
            return True
        current = image[self.name]
        if self.as_set:
            return not same_set(self.value, current)
        return not json_equal(self.value, current)

    def __str__(self) -> str:
        what = "the set " if self.as_set else ""
        return f"the image's {_q(self.name)} is missing or not {what}{excerpt(self.value)}"


class NotOneOf(Condition):
    """The image's *name* (``None`` if missing) is none of *values*."""

    __slots__ = ("name", "values")

    def __init__(self, name: str, values: tuple[Any, ...]) -> None:
        self.name = name
        self.values = values

    def holds(self, image: Mapping[str, Any]) -> bool:
        return image.get(self.name) not in self.values

    def __str__(self) -> str:
        shown = " or ".join(excerpt(v) for v in self.values)
        return f"the image's {_q(self.name)} is not {shown}"


class LacksAny(Condition):
    """The image lacks at least one of *names*."""

    __slots__ = ("names",)

    def __init__(self, names: tuple[str, ...]) -> None:
        self.names = names

    def holds(self, image: Mapping[str, Any]) -> bool:
        return any(name not in image for name in self.names)

    def __str__(self) -> str:
        if len(self.names) == 1:
            return f"the image has no {_q(self.names[0])}"
        shown = ", ".join(_q(name) for name in self.names[:_SHOWN])
        more = len(self.names) - _SHOWN
        return f"the image lacks one of {shown}" + (f" (and {more} more)" if more > 0 else "")


class MoreProperties(Condition):
    """The image has more than *count* properties besides the names in *written*.

    Counted as the property quota counts (``Rules.is_counted``); *written*
    are the names the patch sets or removes, whose count in the result the
    patch alone decides.
    """

    __slots__ = ("count", "rules", "written")

    def __init__(self, count: int, written: frozenset[str], rules: Rules) -> None:
        self.count = count
        self.written = written
        self.rules = rules

    def holds(self, image: Mapping[str, Any]) -> bool:
        others = sum(
            1
            for key in image
            if key.__class__ is str and key not in self.written and self.rules.is_counted(key)
        )
        return others > self.count

    def __str__(self) -> str:
        other = " other" if self.written else ""
        return f"the image has more than {self.count}{other} properties"

    def __repr__(self) -> str:
        names = len(self.written)
        return f"MoreProperties({self.count!r}, <{names} names>, rules={self.rules.name})"


class TagsLack(Condition):
    """The image's *name* is not a list holding every one of *tags*."""

    __slots__ = ("name", "tags")

    def __init__(self, name: str, tags: tuple[str, ...]) -> None:
        self.name = name
        self.tags = tags

    def holds(self, image: Mapping[str, Any]) -> bool:
        old = image.get(self.name)
        return not (isinstance(old, list) and all(tag in old for tag in self.tags))

    def __str__(self) -> str:
        shown = ", ".join(excerpt(tag) for tag in self.tags[:_SHOWN])
        return f"the image's {_q(self.name)} do not already include {shown}"


class AllOf(Condition):
    """Every one of *parts*."""

    __slots__ = ("parts",)

    def __init__(self, parts: tuple[Condition, ...]) -> None:
        self.parts = parts

    def holds(self, image: Mapping[str, Any]) -> bool:
        return all(part.holds(image) for part in self.parts)

    def __str__(self) -> str:
        return " and ".join(map(str, self.parts))


# --- results ----------------------------------------------------------------------


class Finding:
    """One error or warning of :func:`analyse`.

    ``error`` is what the engine answers (class, status, code, message,
    index, pointer).  ``condition`` is ``None`` for an error: the request
    fails on every image (an image that meets an earlier warning's
    condition fails at that warning).  For a warning it is the condition on
    the image under which the request fails with ``error``, given that it
    meets no earlier warning's condition.
    """

    __slots__ = ("condition", "error")

    def __init__(self, error: PatchError, condition: Condition | None) -> None:
        self.error = error
        self.condition = condition

    @property
    def always(self) -> bool:
        """Whether this is an error: no image escapes it."""
        return self.condition is None

    def to_dict(self) -> dict[str, Any]:
        """``error.to_dict()`` with the condition's text (``None`` for an error)."""
        return {
            **self.error.to_dict(),
            "condition": None if self.condition is None else str(self.condition),
        }

    def __repr__(self) -> str:
        return f"Finding({self.error!r}, {self.condition!r})"


class Review:
    """The verdict on a body without an image: ``errors`` and ``warnings``.

    ``errors`` are what ``iter_errors(..., image=None)`` yields: every parse
    error, or else the one apply or finishing error every image gets (if
    any).  ``warnings`` are the findings that depend on the image, in order.
    """

    __slots__ = ("errors", "warnings")

    def __init__(self, errors: list[PatchError], warnings: list[Finding]) -> None:
        self.errors = errors
        self.warnings = warnings

    def __repr__(self) -> str:
        return f"Review(errors={self.errors!r}, warnings={self.warnings!r})"


def review(
    body: bytes | str | list[Any],
    *,
    media_type: str | None,
    rules: Rules = IMS,
    admin: bool = False,
    limits: Limits = DEFAULT_LIMITS,
) -> Review:
    """Errors and warnings of a body, without an image (what ``imspatch check`` reports)."""
    try:
        ops = parse_patch(body, media_type=media_type, rules=rules, limits=limits)
    except PatchError:
        return Review(
            list(iter_errors(body, media_type=media_type, rules=rules, limits=limits)), []
        )
    findings = analyse(ops, rules=rules, admin=admin)
    errors = [f.error for f in findings if f.always]
    return Review(errors, [f for f in findings if not f.always])


def analyse(
    ops: Sequence[Operation], *, rules: Rules = IMS, admin: bool = False, warnings: bool = True
) -> tuple[Finding, ...]:
    """The warnings, then at most one error, of parsed operations on an unknown image.

    *ops* are what :func:`imspatch.parse_patch` returned under the same
    *rules*.  The findings are in the order the engine meets them; the last
    one is an error (``finding.always``) if some check fails on every image.
    With ``warnings=False`` only that error is built (what ``iter_errors``
    needs): the conditions still shape the analysis, but no message is made.
    """
    run = _Run(ops, rules, admin, warnings)
    try:
        for index, op in enumerate(ops):
            run.step(index, op)
        run.finish()
    except _Stop:
        pass
    return tuple(run.findings)


# --- the abstract run ---------------------------------------------------------------


class _Stop(Exception):
    """The request fails on every image still possible: the analysis ends."""


class _Facts:
    """What the analysis knows about one name of the image before the patch."""

    __slots__ = ("one_of", "present", "value")

    def __init__(self) -> None:
        self.present: bool | None = None
        #: the image's value (the patch's value that proved equal), or _UNSET
        self.value: Any = _UNSET
        #: ``image.get(name)`` is one of these
        self.one_of: tuple[Any, ...] | None = None

    def presence(self) -> bool | None:
        if self.value is not _UNSET:
            return True
        if self.one_of is not None and None not in self.one_of:
            return True
        return self.present


_NO_FACTS = _Facts()
#: (rule set, properties counted) -> the engine's property-quota error, as
#: (class, message, style).
_QUOTA_ANSWERS: dict[tuple[Rules, int], tuple[type[PatchError], str, str]] = {}


class _Run:
    """The abstract state: ``written`` (what the patch did), ``facts`` (about the image)."""

    def __init__(self, ops: Sequence[Operation], rules: Rules, admin: bool, warnings: bool) -> None:
        self.ops = ops
        self.rules = rules
        self.admin = admin
        self.warnings = warnings
        #: name -> the value the patch wrote, or _ABSENT; a name not here is the image's own
        self.written: dict[str, Any] = {}
        self.facts: dict[str, _Facts] = {}
        #: name -> index of the last operation writing it (the finishing checks)
        self.touched: dict[str, int] = {}
        self.findings: list[Finding] = []

    # answers

    def _fail(self, index: int | None, code: str, probe: tuple[dict[str, Any], list[Any]]) -> None:
        """Every image still possible fails here: record the error and stop."""
        self.findings.append(Finding(self._confirm(index, code, probe), None))
        raise _Stop

    def _warn(
        self,
        index: int | None,
        code: str,
        condition: Condition,
        probe: Callable[[], tuple[dict[str, Any], list[Any]]],
    ) -> None:
        """A warning; *probe* builds the engine's input, only if warnings are wanted."""
        if self.warnings:
            self.findings.append(Finding(self._confirm(index, code, probe()), condition))

    def _confirm(
        self, index: int | None, code: str, probe: tuple[dict[str, Any], list[Any]]
    ) -> PatchError:
        """The engine's error on the probe, placed at *index* (None: where the engine says)."""
        image, ops = probe
        try:
            apply_patch(image, ops, rules=self.rules, admin=self.admin)
        except PatchError as exc:
            if exc.code == code:
                if index is not None:
                    exc.index, exc.pointer = index, self.ops[index].path.text
                return exc
            error: PatchError | None = exc
        except Exception:  # the engine's own bug: say nothing rather than guess
            raise _Stop from None
        else:
            error = None
        msg = f"imspatch.offline predicted {code} at {index}, the engine says {error!r} (a bug)"
        raise AssertionError(msg)

    # the image, as far as it is known

    def _facts(self, name: str) -> _Facts:
        facts = self.facts.get(name)
        if facts is None:
            facts = self.facts[name] = _Facts()
        return facts

    def _present(self, name: str) -> bool | None:
        """Whether *name* is in the state now (None: it depends on the image)."""
        if name in self.written:
            return self.written[name] is not _ABSENT
        return self.facts.get(name, _NO_FACTS).presence()

    def _state(self, name: str, fail: Condition | None = None) -> Any:
        """A value for *name* in a probe: the state now, on an image meeting *fail*."""
        if name in self.written:
            return self.written[name]
        return self._pick(name, fail)

    def _pick(self, name: str, fail: Condition | None) -> Any:
        """A value (or _ABSENT) of *name* in an image meeting the facts and *fail*.

        *fail* is the condition of the finding being probed, when it is about
        one name; the negations of the earlier findings' conditions are facts.
        """
        facts = self.facts.get(name, _NO_FACTS)
        present = facts.presence()
        if fail is not None and getattr(fail, "name", None) != name:
            fail = None
        if isinstance(fail, Lacks) or (isinstance(fail, (Differs, TagsLack)) and present is None):
            return _ABSENT
        if facts.value is not _UNSET:
            return facts.value
        if facts.one_of is not None:
            allowed = [v for v in facts.one_of if not (v is None and present is False)]
            if isinstance(fail, NotOneOf):
                allowed = [v for v in allowed if v not in fail.values]
            return allowed[0]
        if isinstance(fail, NotOneOf):
            if present is False:
                return _ABSENT
            return next(v for v in ("active", "killed", "x") if v not in fail.values)
        if isinstance(fail, Differs):
            candidates: tuple[Any, ...] = ("x", "y", [], 0)
            return next(v for v in candidates if fail.holds({name: v}))
        if isinstance(fail, TagsLack):
            return []
        if present or isinstance(fail, Has):
            return "x"
        return _ABSENT

    def _image(
        self, fail: Condition | None = None, *, absent: tuple[str, ...] = (), fillers: int = 0
    ) -> dict[str, Any]:
        """A whole image meeting the facts and *fail*, without the names *absent*,
        with *fillers* more counted properties."""
        image: dict[str, Any] = {}
        for name in self.facts:
            value = _ABSENT if name in absent else self._pick(name, fail)
            if value is not _ABSENT:
                image[name] = value
        number = 0
        while fillers:
            key = f"imspatch-probe-{number}"
            number += 1
            if key not in image and key not in self.written and self.rules.is_counted(key):
                image[key] = "x"
                fillers -= 1
        return image

    def _probe(
        self, name: str, op: Operation, fail: Condition | None
    ) -> tuple[dict[str, Any], list[Any]]:
        """The state of *name* (and the status) before *op*, and *op* alone."""
        image = {}
        for key in (name, STATUS_ATTRIBUTE):
            value = self._state(key, fail)
            if value is not _ABSENT:
                image[key] = value
        return image, [op]

    # the checks, each passing, failing or depending on the image

    def _require_present(self, index: int, name: str, op: Operation, code: str) -> None:
        present = self._present(name)
        if present:
            return
        if present is False:
            self._fail(index, code, self._probe(name, op, None))
        condition = Lacks(name)
        self._warn(index, code, condition, lambda: self._probe(name, op, condition))
        self._facts(name).present = True

    def _require_absent(self, index: int, name: str, op: Operation, code: str) -> None:
        present = self._present(name)
        if present is False:
            return
        if present:
            self._fail(index, code, self._probe(name, op, None))
        condition = Has(name)
        self._warn(index, code, condition, lambda: self._probe(name, op, condition))
        self._facts(name).present = False

    def _require_equal(self, index: int, name: str, op: Operation, value: Any) -> None:
        """IMS protection: add or replace only with the value the name has (SPEC 6.2)."""
        as_set = name in self.rules.set_valued
        same = partial(self.rules.same_value, name)
        if name in self.written:
            current = self.written[name]
            equal: bool | None = current is not _ABSENT and same(value, current)
        else:
            facts = self.facts.get(name, _NO_FACTS)
            if facts.value is not _UNSET:
                equal = bool(same(value, facts.value))
            elif facts.presence() is False or (
                facts.one_of is not None and not any(same(value, v) for v in facts.one_of)
            ):
                equal = False
            else:
                equal = None
        if equal:
            return
        if equal is False:
            self._fail(index, "protected", self._probe(name, op, None))
        condition = Differs(name, value, as_set)
        self._warn(index, "protected", condition, lambda: self._probe(name, op, condition))
        facts = self._facts(name)
        facts.value = value

    def _require_status(self, index: int, name: str, op: Operation, gate: tuple[Any, ...]) -> None:
        """A status-gated attribute (``disk_format``): the image's status must be in *gate*."""
        if STATUS_ATTRIBUTE in self.written:
            current = self.written[STATUS_ATTRIBUTE]
            inside: bool | None = (None if current is _ABSENT else current) in gate
        else:
            facts = self.facts.get(STATUS_ATTRIBUTE, _NO_FACTS)
            if facts.value is not _UNSET:
                inside = facts.value in gate
            elif facts.one_of is not None:
                kept = [v for v in facts.one_of if v in gate]
                inside = True if len(kept) == len(facts.one_of) else (None if kept else False)
            elif facts.present is False:
                inside = None in gate
            else:
                inside = None
        if inside:
            return
        if inside is False:
            self._fail(index, "format_not_queued", self._probe(name, op, None))
        condition = NotOneOf(STATUS_ATTRIBUTE, gate)
        self._warn(index, "format_not_queued", condition, lambda: self._probe(name, op, condition))
        facts = self._facts(STATUS_ATTRIBUTE)
        facts.one_of = tuple(v for v in (facts.one_of or gate) if v in gate)

    # apply: one operation, in the engine's order (reference 9)

    def step(self, index: int, op: Operation) -> None:
        rules = self.rules
        name = op.path.parts[0]
        info = rules.info(name)
        kind = info.kind
        removing = isinstance(op, Remove)
        if_absent = isinstance(op, Add) and op.if_absent
        value = None if isinstance(op, Remove) else op.value
        if kind is Kind.EXTRA and not info.protected:
            if removing or isinstance(op, Replace):
                self._require_present(index, name, op, "no_such_property")
            elif if_absent:
                self._require_absent(index, name, op, "already_present")
            self._write(index, name, _ABSENT if removing else value)
            return
        always = None
        if kind is Kind.READ_ONLY or kind is Kind.RESERVED:  # not parsed under these rules
            always = kind.value
        elif kind is Kind.HIDDEN:
            always = (
                "locations_empty" if isinstance(op, Replace) and not value else "locations_hidden"
            )
        elif not removing and name in rules.admin_only and not self.admin:
            always = "owner_admin_only"
        elif info.protected and removing:
            always = "protected"
        if always is not None:
            self._fail(index, always, self._probe(name, op, None))
        if info.protected:
            self._require_equal(index, name, op, value)
        if kind is Kind.EXTRA:  # protected, and present with this very value
            if if_absent:
                self._fail(index, "already_present", self._probe(name, op, None))
            self._write(index, name, value)
            return
        # a core attribute, or a phantom one: always present, never removable
        if removing:
            self._fail(index, "not_removable", self._probe(name, op, None))
        if if_absent:
            self._fail(index, "already_present", self._probe(name, op, None))
        if kind is Kind.PHANTOM:
            if name in rules.unsettable:
                self._fail(index, "phantom_attribute", self._probe(name, op, None))
            return  # upstream sets an attribute nobody sees
        self._set_core(index, name, op, value, protected=info.protected)

    def _set_core(
        self, index: int, name: str, op: Operation, value: Any, *, protected: bool
    ) -> None:
        """The domain setters (reference 9.4)."""
        rules = self.rules
        gate = rules.status_gated.get(name)
        if gate is not None:
            self._require_status(index, name, op, tuple(gate))
        if name in rules.non_negative and value and value < 0:
            self._fail(index, "negative_value", self._probe(name, op, None))
        if name in rules.set_valued:
            if 0 <= rules.tag_quota < len(value):
                self._fail(index, "too_many_tags", self._probe(name, op, None))
            if protected:  # the same set: the engine keeps the current list
                self.touched[name] = index
                return
            value = list(dict.fromkeys(value))
        self._write(index, name, value)

    def _write(self, index: int, name: str, value: Any) -> None:
        self.written[name] = value
        if value is not _ABSENT:
            self.touched[name] = index

    # finish: the whole-request checks, in the engine's order (reference 10)

    def finish(self) -> None:
        if not self.touched:
            return
        self._property_quota()
        self._four_byte()
        for name in self.rules.int32:
            if name in self.touched:
                value = self.written.get(name, self.facts.get(name, _NO_FACTS).value)
                if value is not _UNSET and value and value > INT32_MAX:
                    self._fail(None, "out_of_range", (self._image(), list(self.ops)))
        for name in self.rules.set_valued:
            if name in self.touched and name in self.written:
                self._new_astral_tags(name)

    def _property_quota(self) -> None:
        """413 when the result has too many properties, checked only if one is new."""
        rules = self.rules
        quota = rules.property_quota
        if quota < 0:
            return
        kept = [
            name
            for name, value in self.written.items()
            if value is not _ABSENT and rules.is_counted(name)
        ]
        # The check runs if the result holds a name the image lacks.
        unknown = tuple(name for name in kept if self._original_presence(name) is None)
        new_for_sure = any(self._original_presence(name) is False for name in kept)
        if not (new_for_sure or unknown):
            return
        over_for_sure = len(kept) > quota
        if new_for_sure and over_for_sure:
            self._fail(None, "too_many_properties", (self._image(), list(self.ops)))
        parts: list[Condition] = []
        if not new_for_sure:
            parts.append(LacksAny(unknown))
        fillers = 0
        if not over_for_sure:
            parts.append(MoreProperties(quota - len(kept), frozenset(self.written), rules))
            fillers = quota - len(kept) + 1
        condition = parts[0] if len(parts) == 1 else AllOf(tuple(parts))
        if self.warnings:
            absent = () if new_for_sure else unknown[:1]
            count = len(kept) if over_for_sure else quota + 1
            self._quota_warning(condition, count, absent, fillers)
        if over_for_sure:  # so the image has every one of them
            for name in unknown:
                self._facts(name).present = True
        # Otherwise the images escaping it are those with few other properties:
        # the probes below have none.

    def _quota_warning(
        self, condition: Condition, count: int, absent: tuple[str, ...], fillers: int
    ) -> None:
        """The property-quota warning, its message the engine's for *count* properties.

        That message depends on the rule set and the count alone, so the
        engine (a probe of ``count`` properties, the whole patch) is asked
        once per pair, not once per file that adds a property.
        """
        key = (self.rules, count)
        known = _QUOTA_ANSWERS.get(key)
        if known is None:
            image = self._image(absent=absent, fillers=fillers)
            self._warn(None, "too_many_properties", condition, lambda: (image, list(self.ops)))
            if len(_QUOTA_ANSWERS) >= 64:
                _QUOTA_ANSWERS.clear()
            error = self.findings[-1].error
            _QUOTA_ANSWERS[key] = (type(error), error.message, error.style)
        else:
            cls, message, style = known
            error = cls(message, code="too_many_properties", style=style)
            self.findings.append(Finding(error, condition))

    def _original_presence(self, name: str) -> bool | None:
        return self.facts.get(name, _NO_FACTS).presence()

    def _four_byte(self) -> None:
        """400 for a 4-byte character in a changed value or a new name (reference 10)."""
        rules = self.rules
        order = rules.four_byte_order
        suspects = [
            name
            for name in self.touched
            if name not in rules.set_valued
            and self.written.get(name, _ABSENT) is not _ABSENT
            and (has_four_byte(name) or has_four_byte(self.written[name]))
        ]
        suspects.sort(
            key=lambda name: (name not in order, order.index(name) if name in order else 0)
        )
        for name in suspects:
            self._four_byte_suspect(name)

    def _four_byte_suspect(self, name: str) -> None:
        """One changed value or new name with a 4-byte character: error, warning or nothing."""
        rules = self.rules
        order = rules.four_byte_order
        value = self.written[name]
        condition: Condition
        if has_four_byte(value) and (name in order or rules.is_counted(name)):
            condition = Differs(name, value)
        elif name not in order and rules.is_counted(name):
            condition = Lacks(name)
        else:
            return
        facts = self.facts.get(name, _NO_FACTS)
        fails: bool | None = None
        if isinstance(condition, Lacks):
            present = facts.presence()
            fails = None if present is None else not present
        elif facts.value is not _UNSET:
            fails = not json_equal(value, facts.value)
        elif facts.presence() is False:
            fails = True
        if fails is False:
            return
        index = self.touched[name]
        image = {}
        if isinstance(condition, Differs) and facts.presence() is True:
            image[name] = self._pick(name, condition)
        probe = (image, [Add(self.ops[index].path, value)])
        if fails:
            self._fail(index, "four_byte_unicode", probe)
        self._warn(index, "four_byte_unicode", condition, lambda: probe)
        facts = self._facts(name)
        facts.present = True
        if isinstance(condition, Differs):
            facts.value = value

    def _new_astral_tags(self, name: str) -> None:
        tags = tuple(tag for tag in self.written[name] if has_four_byte(tag))
        if not tags:
            return
        facts = self.facts.get(name, _NO_FACTS)
        if facts.value is not _UNSET:
            old = facts.value
            fails: bool | None = not (isinstance(old, list) and all(t in old for t in tags))
        elif facts.presence() is False:
            fails = True
        else:
            fails = None
        if fails is False:
            return
        if fails:
            self._fail(None, "four_byte_unicode", (self._image(), list(self.ops)))
        condition = TagsLack(name, tags)
        self._warn(
            None, "four_byte_unicode", condition, lambda: (self._image(condition), list(self.ops))
        )
