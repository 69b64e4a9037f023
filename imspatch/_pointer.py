"""Glance's restricted JSON pointer, quirks included (SPEC 5).

A proxy must read a path exactly as the backend does, so this reproduces
``RequestDeserializer._validate_json_pointer`` and ``_decode_json_pointer`` of
upstream Glance: the same checks in the same order, then strip leading
slashes, split, unescape (``~1`` then ``~0``) and ``str.strip()`` each token.
So ``/ name`` is ``name``, ``//x`` is ``x`` and ``/`` is the empty name.
"""

from __future__ import annotations

import re

from ._frozen import Frozen, set_field
from .errors import excerpt, make_error, shown_name

__all__ = ["CACHED_KEY_MAX", "CACHE_SIZE", "Pointer"]

_ADJACENT = re.compile(r"/\s*?/")
_BAD_TILDE = re.compile(r"~[^01]")
# Pointers that need none of the checks below: one plain token.
_SIMPLE = re.compile(r"/[A-Za-z0-9_.:-]+")


class Pointer(Frozen):
    """A decoded path: its tokens, and the text it was read from.

    Two pointers are equal when their tokens are, so ``/ name`` equals
    ``/name``; ``str()`` gives back the original text.
    """

    __slots__ = __match_args__ = ("parts", "text")
    _compared = ("parts",)
    parts: tuple[str, ...]
    text: str

    def __init__(self, parts: tuple[str, ...], text: str = "") -> None:
        if parts.__class__ is not tuple or not parts or any(p.__class__ is not str for p in parts):
            msg = "A pointer needs a non-empty tuple of string tokens."
            raise make_error("invalid_operation", msg)
        set_field(self, "parts", parts)
        set_field(self, "text", text or self.encode(parts))

    @property
    def name(self) -> str:
        """The first token: the attribute the operation addresses."""
        return self.parts[0]

    def __str__(self) -> str:
        return self.text

    @staticmethod
    def encode(parts: tuple[str, ...]) -> str:
        """The canonical RFC 6901 text for *parts*."""
        return "".join("/" + p.replace("~", "~0").replace("/", "~1") for p in parts)

    @classmethod
    def of(cls, *parts: str) -> Pointer:
        """A pointer to the given tokens, e.g. ``Pointer.of("name")``."""
        return cls(parts)

    @classmethod
    def parse(cls, text: str) -> Pointer:
        """Read *text* as Glance does, or raise a 400 ``MalformedPatch``."""
        cached = _CACHE.get(text)
        if cached is not None:
            return cached
        if _SIMPLE.fullmatch(text):
            pointer = cls((text[1:],), text)
        else:
            _validate(text)
            parts = tuple(
                p.replace("~1", "/").replace("~0", "~").strip() for p in text.lstrip("/").split("/")
            )
            pointer = cls(parts, text)
        if len(text) <= CACHED_KEY_MAX:
            if len(_CACHE) >= CACHE_SIZE:
                _CACHE.clear()
            _CACHE[text] = pointer
        return pointer


_CACHE: dict[str, Pointer] = {}
#: The caches of pointers, names and plans hold at most this many entries of
#: keys up to CACHED_KEY_MAX characters (a few MiB), then start again.
CACHE_SIZE = 4096
CACHED_KEY_MAX = 256


def _validate(text: str) -> None:
    # Upstream quotes the raw pointer in backticks; a long or unprintable one
    # is shown as its escaped excerpt instead.
    shown = f"`{text}`" if shown_name(text) is text else excerpt(text)
    if not text.startswith("/"):
        msg = f'Pointer {shown} does not start with "/".'
        raise make_error("pointer_no_slash", msg, pointer=text)
    if _ADJACENT.search(text, 1):
        msg = f'Pointer {shown} contains adjacent "/".'
        raise make_error("pointer_adjacent_slash", msg, pointer=text)
    if len(text) > 1 and text.endswith("/"):
        msg = f'Pointer {shown} end with "/".'
        raise make_error("pointer_trailing_slash", msg, pointer=text)
    if text[1:].strip() == "/":
        msg = f"Pointer {shown} does not contains valid token."
        raise make_error("pointer_no_token", msg, pointer=text)
    if _BAD_TILDE.search(text) or text.endswith("~"):
        msg = f'Pointer {shown} contains "~" not part of a recognized escape sequence.'
        raise make_error("pointer_bad_escape", msg, pointer=text)
