"""Every ``patch_image`` of the test suite runs both ways (issue 11, point 2).

:func:`install` replaces the engine's one-pass loop (``imspatch._patch.patch``,
which ``patch_image`` calls) by a wrapper that runs it first with the fast
path switched off, then on, and fails the test unless both give the same
result (same keys in the same order, same values of the same types) or the
same error (class, status, code, index, pointer, message).  It returns or
raises what the fast path gave.  The general run goes first, so the plans it
remembers put even a test's first request through the fast path.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from imspatch import PatchError, _api, _patch
from imspatch.rules import json_equal

#: Calls compared so far.
COUNTS = {"compared": 0}


def _outcome(call: Callable[[], Any]) -> tuple[Any, ...]:
    try:
        result = call()
    except PatchError as exc:
        return ("error", type(exc), exc.status, exc.code, exc.index, exc.pointer, exc.message), exc
    return ("ok", list(result), [type(v) for v in result.values()], _Same(result)), result


class _Same:
    """Compares equal to a value equal to its own as JSON (at any depth, no recursion)."""

    def __init__(self, value: Any) -> None:
        self.value = value

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _Same) and json_equal(self.value, other.value)

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"<{len(self.value)} keys>"


def _both_ways(*args: Any) -> dict[str, Any]:
    _patch.FAST_PATH = False
    try:
        general, _ = _outcome(lambda: _ORIGINAL(*args))
    finally:
        _patch.FAST_PATH = True
    fast, raw = _outcome(lambda: _ORIGINAL(*args))
    assert fast == general, ("the fast path and the general path disagree", fast, general)
    COUNTS["compared"] += 1
    if isinstance(raw, PatchError):
        raise raw
    return raw  # type: ignore[no-any-return]


_ORIGINAL = _patch.patch


def install() -> None:
    _api.patch = _both_ways  # type: ignore[assignment]


def uninstall() -> None:
    _api.patch = _ORIGINAL


@contextmanager
def one_way() -> Iterator[None]:
    """The engine alone, for a test that measures its cost."""
    uninstall()
    try:
        yield
    finally:
        install()
