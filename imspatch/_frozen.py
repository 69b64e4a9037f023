"""The base of imspatch's frozen value classes, written without ``dataclasses``.

``dataclasses`` costs more to import than the whole engine (it pulls in
``inspect``), and a server pays for every import at start-up.  So ``Limits``,
``Pointer``, the operations, ``Field`` and ``Rules`` are plain ``__slots__``
classes on :class:`Frozen`: each lists its fields once, in ``__match_args__``
(the constructor's parameters, in order), sets them in an explicit
``__init__``, and gets here what ``@dataclass(frozen=True)`` generated:
assignment and deletion refused, ``repr``, ``==`` and ``hash`` over the fields,
``__replace__`` (``copy.replace``) and pickling.
"""

from __future__ import annotations

from operator import attrgetter

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Mapping
    from typing import Any, ClassVar, TypeVar

    _F = TypeVar("_F", bound="Frozen")

__all__ = ["Frozen", "FrozenInstanceError", "set_field", "set_fields"]

#: Sets a field in ``__init__``, past the refusing ``__setattr__``.
set_field = object.__setattr__


def set_fields(obj: Frozen, values: Mapping[str, object]) -> None:
    """Set every field of *obj* from *values*: an ``__init__``'s ``locals()``."""
    for name in obj.__match_args__:
        set_field(obj, name, values[name])


class FrozenInstanceError(AttributeError):
    """Assigning to or deleting a field of a frozen imspatch object."""


class Frozen:
    """Fields set once in ``__init__``, then read-only.

    ``__match_args__`` names the fields, in constructor order: ``repr``,
    ``__replace__`` and pickling use all of them.  ``_compared`` (default: all)
    are the fields ``==`` compares, ``_hashed`` (default: ``_compared``) those
    ``hash`` combines, as ``field(compare=False)`` and ``field(hash=False)``
    did.  ``==`` holds only between instances of the same class.
    """

    __slots__ = ()
    __match_args__: ClassVar[tuple[str, ...]] = ()
    _compared: ClassVar[tuple[str, ...] | None] = None
    _hashed: ClassVar[tuple[str, ...] | None] = None
    # Getters of the compared and hashed fields, made once per class: == and
    # hash stay within 2x of @dataclass's generated methods (a loop would not).
    _compared_of: ClassVar[Callable[[object], object]]
    _hashed_of: ClassVar[Callable[[object], object]]

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        compared = cls._compared or cls.__match_args__
        cls._compared_of = attrgetter(*compared)
        cls._hashed_of = attrgetter(*(cls._hashed or compared))

    if not TYPE_CHECKING:  # hidden from type checkers: they would accept any attribute name

        def __setattr__(self, name: str, value: object) -> None:
            raise FrozenInstanceError(f"cannot assign to field {name!r}")

        def __delattr__(self, name: str) -> None:
            raise FrozenInstanceError(f"cannot delete field {name!r}")

    def __repr__(self) -> str:
        shown = ", ".join(f"{name}={getattr(self, name)!r}" for name in self.__match_args__)
        return f"{self.__class__.__qualname__}({shown})"

    def __eq__(self, other: object) -> bool:
        cls = self.__class__
        if other.__class__ is not cls:
            return NotImplemented
        return cls._compared_of(self) == cls._compared_of(other)

    def __hash__(self) -> int:
        return hash(self.__class__._hashed_of(self))

    def __replace__(self: _F, /, **changes: Any) -> _F:
        """A new instance with *changes* to some fields; unknown names raise ``TypeError``."""
        for name in self.__match_args__:
            if name not in changes:
                changes[name] = getattr(self, name)
        return self.__class__(**changes)

    def __reduce__(self) -> tuple[Any, ...]:
        return self.__class__, _values(self, self.__match_args__)


def _values(obj: object, names: tuple[str, ...]) -> tuple[Any, ...]:
    return tuple([getattr(obj, name) for name in names])
