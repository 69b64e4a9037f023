"""Dialect-neutral operations: frozen ``Add``, ``Remove`` and ``Replace``.

Both media types parse into these.  The one real semantic difference between
the dialects is kept as data: a v2.0 ``add`` is ``Add(..., if_absent=True)``
(409 when the name exists), a v2.1 ``add`` sets or overwrites.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal, TypeAlias

from ._pointer import Pointer

__all__ = ["Add", "Operation", "Pointer", "Remove", "Replace"]


@dataclass(frozen=True, slots=True)
class Add:
    """Set *value* at *path*; with ``if_absent`` (v2.0), only if it is absent."""

    op: ClassVar[Literal["add"]] = "add"
    path: Pointer
    value: Any = field(hash=False)
    if_absent: bool = False


@dataclass(frozen=True, slots=True)
class Remove:
    """Delete the custom property at *path*."""

    op: ClassVar[Literal["remove"]] = "remove"
    path: Pointer


@dataclass(frozen=True, slots=True)
class Replace:
    """Set *value* at *path*, which must exist."""

    op: ClassVar[Literal["replace"]] = "replace"
    path: Pointer
    value: Any = field(hash=False)


Operation: TypeAlias = Add | Remove | Replace
