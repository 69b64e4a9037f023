"""Dialect-neutral operations: frozen ``Add``, ``Remove`` and ``Replace``.

Both media types parse into these.  The one real semantic difference between
the dialects is kept as data: a v2.0 ``add`` is ``Add(..., if_absent=True)``
(409 when the name exists), a v2.1 ``add`` sets or overwrites.
"""

from __future__ import annotations

from ._frozen import Frozen, set_field
from ._pointer import Pointer

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, ClassVar, Literal, TypeAlias

__all__ = ["Add", "Operation", "Pointer", "Remove", "Replace"]


class Add(Frozen):
    """Set *value* at *path*; with ``if_absent`` (v2.0), only if it is absent."""

    op: ClassVar[Literal["add"]] = "add"
    __slots__ = __match_args__ = ("path", "value", "if_absent")
    _hashed = ("path", "if_absent")  # values need not be hashable
    path: Pointer
    value: Any
    if_absent: bool

    def __init__(self, path: Pointer, value: Any, if_absent: bool = False) -> None:
        set_field(self, "path", path)
        set_field(self, "value", value)
        set_field(self, "if_absent", if_absent)


class Remove(Frozen):
    """Delete the custom property at *path*."""

    op: ClassVar[Literal["remove"]] = "remove"
    __slots__ = __match_args__ = ("path",)
    path: Pointer

    def __init__(self, path: Pointer) -> None:
        set_field(self, "path", path)


class Replace(Frozen):
    """Set *value* at *path*, which must exist."""

    op: ClassVar[Literal["replace"]] = "replace"
    __slots__ = __match_args__ = ("path", "value")
    _hashed = ("path",)  # values need not be hashable
    path: Pointer
    value: Any

    def __init__(self, path: Pointer, value: Any) -> None:
        set_field(self, "path", path)
        set_field(self, "value", value)


Operation: TypeAlias = Add | Remove | Replace
