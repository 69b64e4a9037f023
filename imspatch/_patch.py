"""One pass over a decoded body: parse each operation and apply it (SPEC 4-6).

Upstream deserialises the whole request before its controller applies it, so
every parse error beats every apply error.  One pass keeps that order: each
operation is fully checked before the next is looked at, and applied at once
while nothing has failed; after the first apply error the loop only parses,
and that error is raised when no parse error turns up.  The finishing checks
run last.  All or nothing: the state is a copy, returned only on success.

The common operation, a flat object whose ``(op, path)`` was seen before, is
checked and applied inline; everything else goes through the full check
(``_parse.parse_one``) and the full apply (``_apply.apply_step``).
"""

from __future__ import annotations

from collections.abc import Mapping

from ._apply import apply_step, copy_image, finish
from ._decode import Limits, check_element, check_members
from ._parse import (
    CREATE_EXTRA,
    REMOVE_EXTRA,
    REPLACE_EXTRA,
    SET_CORE,
    SET_EXTRA,
    Step,
    parse_one,
    within,
)
from ._pointer import CACHED_KEY_MAX
from .errors import PatchError
from .rules import Rules

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from ._decode import Decoded

__all__ = ["run"]


_MISSING: Any = object()


def run(  # noqa: PLR0915 - one loop on purpose: a call per operation costs 10-20 %
    decoded: Decoded,
    v20: bool,
    rules: Rules,
    limits: Limits,
    image: object = None,
    admin: bool = False,
    errors: list[PatchError] | None = None,
    *,
    apply: bool = False,
) -> tuple[list[Step], dict[str, Any] | None]:
    """Parse every operation of *decoded*; with *apply*, apply them to *image* too.

    Without *apply*: ``(steps, None)``.  With it: ``([], new image)``.
    With *errors* given, errors are collected instead of raised, as
    ``iter_errors`` documents: each parse error, or else the first apply or
    finishing error; a body-level error replaces all the others.
    """
    doc, pending, text, astral = decoded
    steps: list[Step] = []
    state = (dict(image) if image.__class__ is dict else copy_image(image)) if apply else {}
    source: Mapping[str, Any] = image if apply else {}  # type: ignore[assignment]
    applying = apply  # until the first apply error
    failed: PatchError | None = None  # that error
    created: set[str] = set()  # custom properties set that the image did not have
    # name -> index of the last op writing it, for the finishing checks; a plain
    # write matters to them only if the body may hold a 4-byte character
    touched: dict[str, int] = {}
    plans = rules.plans(v20)
    max_pointer = limits.max_pointer_length
    longest = widest = None
    if pending is not None:
        _, longest, widest = pending
    # A flat operation has at most 3 members, and a cached path at most
    # CACHED_KEY_MAX characters: often no limit can bind, and none is checked.
    unlimited = (
        longest is None and (widest is None or widest >= 3) and max_pointer >= CACHED_KEY_MAX
    )
    op: Any
    path: Any
    for index, raw in enumerate(doc):
        # The common case: a flat object whose (op, path) was seen before.
        try:
            if v20:
                op = "replace" if "replace" in raw else "add" if "add" in raw else "remove"
                path = raw[op]
            else:
                op = raw["op"]
                path = raw["path"]
            cached = plans[op, path]
        except (KeyError, TypeError):  # unseen, absent or unhashable: the full check
            cached = None
        if cached is not None:  # raw is a dict: only a dict has string keys
            action, name, members, passes, accepts, plan = cached
            value = raw.get("value", _MISSING)
            cls = value.__class__
            if (
                len(raw) == members  # no other member
                and (unlimited or within(raw, path, value, longest, widest, max_pointer))
                and (
                    cls in passes  # and so not nested: depth is 2
                    or (
                        cls is not dict
                        and cls is not list
                        and value is not _MISSING
                        and accepts(value)
                    )
                )
            ):
                if not applying:
                    if not apply:
                        steps.append((plan, None if value is _MISSING else value))
                    continue  # after an apply error, only parse
                # apply_step's plain branches, inline: keep them in step
                if action == REPLACE_EXTRA:
                    if name in state:
                        state[name] = value
                        if astral:
                            touched[name] = index
                        continue
                elif action == SET_CORE:
                    state[name] = value
                    if astral:
                        touched[name] = index
                    continue
                elif action == SET_EXTRA:
                    if name not in state and name not in source:
                        created.add(name)
                    state[name] = value
                    if astral:
                        touched[name] = index
                    continue
                elif action == REMOVE_EXTRA:
                    if name in state:
                        del state[name]
                        continue
                elif action == CREATE_EXTRA and name not in state:
                    if name not in source:
                        created.add(name)
                    state[name] = value
                    if astral:
                        touched[name] = index
                    continue
                try:  # the rest, and every error, the long way
                    if value is _MISSING:
                        value = None
                    apply_step(state, source, plan, value, rules, admin, created, touched, index)
                except PatchError as exc:
                    failed = exc
                    applying = False
                    exc.index, exc.pointer = index, path
                continue
        if pending is not None:
            try:
                check_element(raw, pending)
            except PatchError as exc:  # body-level: only a duplicate member beats it
                problem = _unless_duplicate(exc, text)
                if errors is None:
                    raise problem from None
                errors[:] = [problem]
                return steps, None
        try:
            step = parse_one(raw, v20, rules, max_pointer, plans)
        except PatchError as exc:
            exc.index = index
            if errors is None:
                check_members(text)  # body-level errors still win
                if pending is not None:
                    for element in doc[index + 1 :]:
                        check_element(element, pending)
                raise
            errors.append(exc)
            continue
        if not applying:
            if not apply:
                steps.append(step)
            continue
        plan, value = step
        try:
            apply_step(state, source, plan, value, rules, admin, created, touched, index)
        except PatchError as exc:
            failed = exc
            applying = False
            exc.index, exc.pointer = index, plan[2]
    if errors is None:
        check_members(text, doc)  # every operation parsed, so each is an object
    else:
        try:
            check_members(text, None if errors else doc)
        except PatchError as exc:
            errors[:] = [exc]
            return steps, None
        if errors:
            return steps, None
    if failed is not None:
        if errors is None:
            raise failed
        errors.append(failed)
        return steps, None
    if apply and (created or touched):
        try:
            finish(state, source, rules, created, touched)
        except PatchError as exc:
            # A finishing error about one name points at the last op that wrote it.
            if exc.index is not None:
                exc.pointer = _path_of(doc[exc.index], v20)
            if errors is None:
                raise
            errors.append(exc)
            return steps, None
    return steps, state if apply else None


def _unless_duplicate(exc: PatchError, text: str | None) -> PatchError:
    """*exc*, a body-level error, unless a duplicate member name beats it."""
    try:
        check_members(text)
    except PatchError as duplicate:
        return duplicate
    return exc


def _path_of(raw: dict[str, Any], v20: bool) -> str:
    """The path text of an operation that parsed."""
    if not v20:
        return str(raw["path"])
    return str(next(raw[op] for op in ("add", "remove", "replace") if op in raw))
