"""Byte-level mutators that turn a valid body into a hostile one (stdlib only).

Each mutator takes the body and a ``random.Random`` and returns a new body.
They aim at the places where two JSON readers disagree or where cost can
grow: duplicate keys, escapes, deep nesting, huge numbers, lone surrogates,
BOMs, NaN, whitespace in pointers, flipped bytes.
"""

from __future__ import annotations

import random
from collections.abc import Callable

Mutator = Callable[[bytes, random.Random], bytes]

#: Fragments worth splicing into JSON text.
TOKENS: tuple[bytes, ...] = (
    b"NaN",
    b"-Infinity",
    b"Infinity",
    b"1e400",
    b"-1e400",
    b"-0",
    b"1.0e-400",
    b"123456789012345678901234567890",
    b"9" * 4301,
    b"-" + b"9" * 4300,
    b"0." + b"1" * 5000,
    b"2147483648",
    b"-1",
    b'"\\ud800"',
    b'"\\udc00x"',
    b'"\\ud83d\\ude00"',
    b'"\\u0000"',
    b'"\xf0\x9f\x98\x80"',
    b'"\xed\xa0\x80"',  # a surrogate encoded as UTF-8: invalid
    b'"\\/"',
    b"null",
    b"true",
    b"[]",
    b"{}",
    b'{"op":"remove","path":"/x"}',
    b'{"remove":"/x"}',
    b'"/ name"',
    b'"//name"',
    b'"/\\u00a0name"',
    b'"/\\u3000"',
    b'"/~01"',
    b'"/~2"',
    b'"/a~"',
    b'"/locations/-"',
    b'"/os_glance_x"',
    b'"/__description"',
    b'"/id"',
)
#: Members worth duplicating or adding to an operation object.
MEMBERS: tuple[bytes, ...] = (
    b'"op":"add",',
    b'"op":"remove",',
    b'"op":null,',
    b'"path":"/name",',
    b'"path":"/ tags",',
    b'"path":1,',
    b'"value":NaN,',
    b'"value":"x",',
    b'"add":"/name",',
    b'"remove":"/name",',
    b'"replace":"/visibility",',
    b'"from":"/id",',
    b'"\\u006fp":"remove",',  # "op" spelt with an escape
    b'"op\\u0000":"add",',
)


def flip(body: bytes, rnd: random.Random) -> bytes:
    """Flip one to four bits somewhere."""
    if not body:
        return bytes([rnd.randrange(256)])
    data = bytearray(body)
    for _ in range(rnd.randint(1, 4)):
        data[rnd.randrange(len(data))] ^= 1 << rnd.randrange(8)
    return bytes(data)


def splice(body: bytes, rnd: random.Random) -> bytes:
    """Insert a hostile token at a random place, or replace a slice with it."""
    token = rnd.choice(TOKENS)
    at = rnd.randint(0, len(body))
    end = at if rnd.random() < 0.5 else min(len(body), at + rnd.randint(1, 8))
    return body[:at] + token + body[end:]


def duplicate_member(body: bytes, rnd: random.Random) -> bytes:
    """Add a member (often one already present) just after an opening brace."""
    braces = [i for i, b in enumerate(body) if b == 0x7B]
    if not braces:
        return body
    at = rnd.choice(braces) + 1
    return body[:at] + rnd.choice(MEMBERS) + body[at:]


def escape(body: bytes, rnd: random.Random) -> bytes:
    r"""Spell one ASCII letter inside the text as ``\u00XX``, or insert an escape."""
    letters = [i for i, b in enumerate(body) if 0x61 <= b <= 0x7A]
    if letters and rnd.random() < 0.7:
        at = rnd.choice(letters)
        return body[:at] + b"\\u%04x" % body[at] + body[at + 1 :]
    quotes = [i for i, b in enumerate(body) if b == 0x22]
    if not quotes:
        return body
    at = rnd.choice(quotes) + 1
    insert = rnd.choice(
        (b"\\ud800", b"\\udfff", b"\\u0000", b"\\n", b"~1", b"~0", b"~", b" ", b"\t")
    )
    return body[:at] + insert + body[at:]


def nest(body: bytes, rnd: random.Random) -> bytes:
    """Wrap a value (after a colon) in many brackets, around the depth limit or far beyond."""
    depth = rnd.choice((30, 31, 32, 33, 100, 1000, 5000))
    colons = [i for i, b in enumerate(body) if b == 0x3A]
    opener, closer = (b"[", b"]") if rnd.random() < 0.7 else (b'{"a":', b"}")
    if not colons:
        return opener * depth + body + closer * depth
    at = rnd.choice(colons) + 1
    end = body.find(b"}", at)
    if end < 0:
        end = len(body)
    closing = b"" if rnd.random() < 0.1 else closer * depth
    return body[:at] + opener * depth + body[at:end] + closing + body[end:]


def bom(body: bytes, rnd: random.Random) -> bytes:
    """A BOM in front, or the body in another Unicode encoding."""
    choice = rnd.randrange(4)
    if choice == 0:
        return b"\xef\xbb\xbf" + body
    text = body.decode("utf-8", "replace")
    if choice == 1:
        return text.encode("utf-16")
    if choice == 2:
        return text.encode("utf-32-le")
    return body + b"\xef\xbb\xbf"


def whitespace(body: bytes, rnd: random.Random) -> bytes:
    """Whitespace around pointers' slashes, or a doubled leading slash."""
    slashes = [i for i, b in enumerate(body) if b == 0x2F]
    if not slashes:
        return body
    at = rnd.choice(slashes) + 1
    insert = rnd.choice(
        (b" ", b"\\t", b"\\u00a0", b"\\u2003", b"\\u200b", b"/", b"\\u001f", b"\\u0085")
    )
    return body[:at] + insert + body[at:]


def truncate(body: bytes, rnd: random.Random) -> bytes:
    """Cut the body short, or repeat a slice of it."""
    if not body:
        return body
    at = rnd.randrange(len(body))
    if rnd.random() < 0.5:
        return body[:at]
    end = min(len(body), at + rnd.randint(1, 32))
    return body[:end] + body[at:end] * rnd.randint(1, 50) + body[end:]


MUTATORS: tuple[Mutator, ...] = (
    flip,
    splice,
    duplicate_member,
    escape,
    nest,
    bom,
    whitespace,
    truncate,
)


def mutate(body: bytes, rnd: random.Random, rounds: int | None = None) -> bytes:
    """Apply one to three random mutators."""
    for _ in range(rounds if rounds is not None else rnd.randint(1, 3)):
        body = rnd.choice(MUTATORS)(body, rnd)
    return body
