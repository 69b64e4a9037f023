"""The ``imspatch`` command: check, apply, convert and diff image patches.

``run(argv, stdin=..., stdout=..., stderr=...)`` is the whole tool and returns
the exit status; ``main()`` is the console-script entry point around it.

Exit status: 0 all inputs valid (or the command succeeded), 1 an input is
invalid or the command could not be carried out, 2 the command line itself is
wrong.  No traceback is ever printed: an unexpected exception while checking
one file becomes that file's ``internal_error`` line.

Error lines have one shape everywhere::

    FILE:INDEX:POINTER: STATUS CODE message

``INDEX`` is the 0-based operation position and ``POINTER`` the raw path text
(``-`` when the error is about the whole body or file; a pointer that holds
whitespace, ``:`` or a control character is shown as a JSON string).
``STATUS`` is the HTTP status a server would answer, or ``-`` for problems the
tool found before there was a request to judge (``not_found``,
``unreadable``, ``symlink_loop``, ``is_directory``, ``too_large``,
``not_utf8``, ``not_json``, ``unknown_dialect``, ``mixed_dialects``,
``ambiguous_dialect``, ``invalid_image``, ``ambiguous``, ``internal_error``).

The library is imported only by the subcommands, so ``imspatch --help`` costs
little more than the interpreter's own start-up.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterator, Mapping, Sequence
    from typing import IO, Any, NoReturn

    from .errors import PatchError
    from .operations import Operation
    from .rules import Rules

__all__ = ["main", "run"]

V20 = "application/openstack-images-v2.0-json-patch"
V21 = "application/openstack-images-v2.1-json-patch"
_MEDIA_TYPES = {"v2.0": V20, "v2.1": V21}
_DIALECT_OF = {V20: "v2.0", V21: "v2.1"}
_OP_KEYS = ("add", "remove", "replace")
#: Files larger than this are ``too_large`` (the library's default body limit).
MAX_FILE_BYTES = 16 * 1024 * 1024
#: Runs shorter than this show no progress bar.
_PROGRESS_DELAY = 0.5

# --- command line ------------------------------------------------------------


class _Exit(Exception):
    def __init__(self, status: int) -> None:
        super().__init__(status)
        self.status = status


class _Parser(argparse.ArgumentParser):
    """An ArgumentParser that writes to the given streams and never exits."""

    def __init__(self, *args: Any, stdout: IO[str], stderr: IO[str], **kwargs: Any) -> None:
        kwargs.setdefault("formatter_class", _formatter)
        super().__init__(*args, **kwargs)
        self._out = stdout
        self._err = stderr

    def _print_message(self, message: str, file: Any = None) -> None:
        if message:
            (self._err if file is sys.stderr else self._out).write(message)

    def exit(self, status: int = 0, message: str | None = None) -> NoReturn:
        if message:
            self._err.write(message)
        raise _Exit(status)


def _formatter(prog: str) -> argparse.HelpFormatter:
    """argparse's formatter with the width worked out without importing shutil.

    argparse builds a formatter for every ``add_argument`` and, left alone,
    imports shutil (and with it zlib, bz2, lzma) to ask for the terminal width.
    """
    try:
        columns = int(os.environ.get("COLUMNS", "0")) or os.get_terminal_size().columns
    except (ValueError, OSError):
        columns = 80
    return argparse.HelpFormatter(prog, width=max(columns, 40) - 2)


def _media_type(text: str) -> str | None:
    """``auto`` -> None; ``v2.0``/``v2.1`` or a full media type -> the media type."""
    if text == "auto":
        return None
    if text in _MEDIA_TYPES:
        return _MEDIA_TYPES[text]
    full = text.partition(";")[0].strip().lower()
    if full in _DIALECT_OF:
        return full
    msg = f"invalid media type {text!r} (choose from auto, v2.0, v2.1)"
    raise argparse.ArgumentTypeError(msg)


_COMMANDS = {
    "check": (
        "validate patch files",
        "Validate patch files and report every error, one line each: "
        "FILE:INDEX:POINTER: STATUS CODE message. Directories are walked (files "
        "named *.json, sorted); '-' is standard input.",
    ),
    "apply": (
        "apply a patch to an image and print the new image",
        "Apply PATCH to IMAGE and print the new image as JSON, or the error (exit status 1).",
    ),
    "convert": (
        "rewrite a patch in the other dialect",
        "Rewrite PATCH in dialect --to. A v2.1 'add' of a name that may exist, and a v2.0 "
        "'add' (fails with 409 if the name exists), have no exact spelling in the other "
        "dialect: give --image to decide them, or they are reported and nothing is written.",
    ),
    "conform": (
        "check a running server against the engine (needs hypothesis)",
        "Send generated requests to a server offering POST /v2/images and "
        "GET/PATCH/DELETE /v2/images/{id}; report the smallest request it answers "
        "differently from imspatch. 'imspatch conform --help' lists the options.",
    ),
    "proxy": (
        "serve a validating gateway in front of an image service (needs aiohttp)",
        "Relay requests to the image service at --upstream; refuse the PATCH requests "
        "the engine refuses. 'imspatch proxy --help' lists the options.",
    ),
    "diff": (
        "print the smallest patch that turns image OLD into NEW",
        "Print the smallest patch that turns image OLD into NEW using only changes the rule "
        "set allows; if NEW differs in something the rules do not let a user change, name "
        "each such attribute and exit 1.",
    ),
}


def _build_parser(stdout: IO[str], stderr: IO[str], argv: Sequence[str] = ()) -> _Parser:
    """The parser; only the subcommand named in *argv* gets its arguments.

    Adding arguments is most of argparse's cost, and a run needs one
    subcommand: ``imspatch --help`` then costs little more than argparse.
    """
    streams: dict[str, Any] = {"stdout": stdout, "stderr": stderr}
    parser = _Parser(
        prog="imspatch",
        description="Check, apply, convert and diff PATCH /v2/images/{image_id} bodies "
        "(OpenStack Glance / Huawei IMS JSON patch, v2.0 and v2.1 dialects).",
        epilog="Exit status: 0 valid / done, 1 invalid input or failed patch, 2 usage error.",
        **streams,
    )
    parser.add_argument("--version", action=_VersionAction)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    wanted = next((arg for arg in argv if not arg.startswith("-")), None)
    for name, (summary, description) in _COMMANDS.items():
        command = sub.add_parser(name, help=summary, description=description, **streams)
        if name == wanted:
            _ARGUMENTS[name](command)
    return parser


def _common(p: argparse.ArgumentParser, *, media: bool = True) -> None:
    if media:
        p.add_argument(
            "--media-type",
            type=_media_type,
            default=None,
            metavar="{auto,v2.0,v2.1}",
            help="dialect of the patch (default: auto, recognised from the content)",
        )
    p.add_argument(
        "--rules", choices=("ims", "glance"), default="ims", help="rule set (default: ims)"
    )
    p.add_argument("--admin", action="store_true", help="the caller is an admin")


def _check_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("paths", nargs="+", metavar="PATH", help="file, directory or '-'")
    _common(p)
    p.add_argument(
        "--image",
        metavar="IMAGE.json",
        help="also report apply and finish errors (409, 413, ...) against this image",
    )
    p.add_argument("--format", choices=("text", "json"), default="text", help="output format")
    p.add_argument(
        "-q", "--quiet", action="store_true", help="print only errors, no 'ok' lines or summary"
    )
    p.add_argument("--no-progress", action="store_true", help="never show a progress bar on stderr")


def _apply_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--image", required=True, metavar="IMAGE", help="image JSON file")
    p.add_argument("patch", metavar="PATCH", help="patch file, or '-' for standard input")
    _common(p)


def _convert_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("patch", metavar="PATCH", help="patch file, or '-' for standard input")
    p.add_argument("--to", required=True, choices=("v2.0", "v2.1"), help="target dialect")
    p.add_argument("--image", metavar="IMAGE", help="the image the patch is meant for")
    _common(p)


def _diff_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("old", metavar="OLD", help="image JSON file")
    p.add_argument("new", metavar="NEW", help="image JSON file")
    p.add_argument("--to", choices=("v2.0", "v2.1"), default="v2.1", help="dialect (default: v2.1)")
    _common(p, media=False)


def _conform_arguments(p: argparse.ArgumentParser) -> None:  # pragma: no cover - see run()
    p.add_argument("rest", nargs=argparse.REMAINDER, help="URL and options")


_ARGUMENTS = {
    "conform": _conform_arguments,
    "proxy": _conform_arguments,
    "check": _check_arguments,
    "apply": _apply_arguments,
    "convert": _convert_arguments,
    "diff": _diff_arguments,
}


class _VersionAction(argparse.Action):
    """``--version``, importing the package only when asked."""

    def __init__(self, option_strings: Sequence[str], dest: str, **kwargs: Any) -> None:
        kwargs.update(nargs=0, default=argparse.SUPPRESS)
        super().__init__(option_strings, dest, help="print the version and exit", **kwargs)

    def __call__(self, parser: argparse.ArgumentParser, *args: object, **kwargs: object) -> None:
        from imspatch import __version__  # noqa: PLC0415

        parser._print_message(f"imspatch {__version__}\n", sys.stdout)
        parser.exit()


# --- entry points --------------------------------------------------------------


def run(
    argv: Sequence[str] | None = None,
    *,
    stdin: IO[Any] | None = None,
    stdout: IO[str] | None = None,
    stderr: IO[str] | None = None,
) -> int:
    """Run the tool with *argv* (without the program name); return the exit status.

    *stdin* may be a text or a binary stream (``sys.stdin``, ``io.BytesIO``,
    ``io.StringIO``); nothing is read from it unless a path is ``-``.
    """
    out = sys.stdout if stdout is None else stdout
    err = sys.stderr if stderr is None else stderr
    inp = sys.stdin if stdin is None else stdin
    arguments = list(sys.argv[1:] if argv is None else argv)
    if arguments[:1] == ["conform"]:  # its own parser, in imspatch.conformance
        return _conform(arguments[1:], out, err)
    if arguments[:1] == ["proxy"]:  # its own parser, in imspatch.proxy
        return _proxy(arguments[1:], err)
    parser = _build_parser(out, err, arguments)
    try:
        args = parser.parse_args(arguments)
        tool = _Tool(args, inp, out, err)
        command = args.command
        if command == "check":
            return tool.check()
        if command == "apply":
            return tool.apply()
        if command == "convert":
            return tool.convert()
        return tool.diff()
    except _Exit as exc:
        return exc.status


def _conform(argv: list[str], out: IO[str], err: IO[str]) -> int:
    try:
        from imspatch import conformance  # noqa: PLC0415 - needs the optional hypothesis
    except ImportError:
        err.write("imspatch conform needs hypothesis: pip install 'imspatch[hypothesis]'\n")
        return 2
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        return conformance.main(argv)


def _proxy(argv: list[str], err: IO[str]) -> int:
    try:
        from imspatch import proxy  # noqa: PLC0415 - needs the optional aiohttp and WebOb
    except ImportError:
        err.write("imspatch proxy needs aiohttp and WebOb: pip install 'imspatch[proxy]'\n")
        return 2
    return proxy.main(argv)


def main() -> int:
    """Console-script entry point: ``run()`` on the process's own streams."""
    for stream in (sys.stdout, sys.stderr):
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is not None:
            reconfigure(errors="backslashreplace")
    try:
        return run()
    except KeyboardInterrupt:
        sys.stderr.write("\n")
        return 130
    except BrokenPipeError:
        # The reader went away (``imspatch check ... | head``): stop quietly.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 1


# --- reading inputs --------------------------------------------------------------


class _Problem(Exception):
    """A problem the tool reports itself (status ``-``): file I/O, dialect, ..."""

    def __init__(
        self,
        code: str,
        message: str,
        *,
        index: int | None = None,
        pointer: str | None = None,
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.index = index
        self.pointer = pointer

    def to_dict(self) -> dict[str, Any]:
        return {
            "status": None,
            "code": self.code,
            "message": self.message,
            "index": self.index,
            "pointer": self.pointer,
        }


_ERRNO_CODES = {
    "ENOENT": "not_found",
    "ENOTDIR": "not_found",
    "ELOOP": "symlink_loop",
    "EISDIR": "is_directory",
}


def _os_problem(exc: OSError) -> _Problem:
    import errno  # noqa: PLC0415 - rare path

    name = errno.errorcode.get(exc.errno or 0, "")
    code = _ERRNO_CODES.get(name, "unreadable")
    return _Problem(code, exc.strerror or str(exc))


_O_FLAGS = os.O_RDONLY | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_BINARY", 0)


def _read_path(path: str) -> bytes:
    """The bytes of *path*, at most ``MAX_FILE_BYTES`` of them.

    Plain ``os.read`` calls sized from ``fstat``: a regular file costs one
    ``open``, ``fstat``, two ``read`` and a ``close``, and no buffer is
    allocated for the limit.  Pipes and files that grow are read in chunks.
    """
    limit = MAX_FILE_BYTES
    try:
        fd = os.open(path, _O_FLAGS)
    except OSError as exc:
        raise _os_problem(exc) from None
    try:
        size = os.fstat(fd).st_size
        if size > limit:
            raise _Problem("too_large", f"File is larger than {limit} bytes.")
        chunks = []
        total = 0
        want = size + 1
        while True:
            chunk = os.read(fd, want)
            if not chunk:
                break
            chunks.append(chunk)
            total += len(chunk)
            if total > limit:
                raise _Problem("too_large", f"File is larger than {limit} bytes.")
            want = min(max(want, 65536), limit + 1 - total)
    except OSError as exc:
        raise _os_problem(exc) from None
    finally:
        os.close(fd)
    return chunks[0] if len(chunks) == 1 else b"".join(chunks)


def _read_stream(stream: IO[Any]) -> bytes:
    limit = MAX_FILE_BYTES
    source = getattr(stream, "buffer", stream)
    try:
        data = source.read(limit + 1)
    except OSError as exc:
        raise _os_problem(exc) from None
    except UnicodeDecodeError as exc:  # a text stream that is not UTF-8
        msg = f"Not UTF-8: invalid byte at position {exc.start}."
        raise _Problem("not_utf8", msg) from None
    if isinstance(data, str):
        data = data.encode("utf-8", "surrogateescape")
    if len(data) > limit:
        raise _Problem("too_large", f"Input is larger than {limit} bytes.")
    return bytes(data)


def _decode(data: bytes) -> tuple[str, Any]:
    """Bytes -> (text, JSON document); ``None`` document if too deep to tell."""
    import json  # noqa: PLC0415

    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise _Problem("not_utf8", f"Not UTF-8: invalid byte at position {exc.start}.") from None
    if text.startswith("\ufeff"):
        raise _Problem("not_json", "Not JSON: the file starts with a byte order mark.")
    if not text or text.isspace():
        raise _Problem("not_json", "Not JSON: the file is empty.")
    try:
        return text, json.loads(text)
    except RecursionError:
        return text, None  # nested too deeply: the library says so, in either dialect
    except json.JSONDecodeError as exc:
        msg = f"Not JSON: {exc.msg} at line {exc.lineno} column {exc.colno}."
        raise _Problem("not_json", msg) from None
    except ValueError as exc:  # e.g. an integer with too many digits
        raise _Problem("not_json", f"Not JSON: {exc}.") from None


def _shape(op: object) -> str:
    """Which dialect's shape one operation object has: v2.0, v2.1, both or none."""
    if op.__class__ is not dict:
        return "none"
    assert isinstance(op, dict)
    fits21 = "op" in op or "path" in op
    fits20 = sum(key in op for key in _OP_KEYS) == 1
    if fits20 and fits21:
        return "both"
    return "v2.0" if fits20 else "v2.1" if fits21 else "none"


def detect_dialect(doc: object) -> str | None:
    """The dialect of a decoded body: ``"v2.0"``, ``"v2.1"`` or ``None`` (either).

    An operation with exactly one of the members ``add``/``remove``/``replace``
    has the v2.0 shape; one with ``op`` or ``path`` the v2.1 shape.  Operations
    of one shape only decide; operations that fit no shape are malformed in
    either dialect and are reported by the library under the decided one.
    ``None`` means the dialect does not matter: not an array, or ``[]``.
    Raises ``_Problem`` when operations of both shapes are mixed
    (``mixed_dialects``), when every operation fits both (``ambiguous_dialect``)
    or none (``unknown_dialect``).
    """
    if doc.__class__ is not list or not doc:
        return None
    assert isinstance(doc, list)
    first: dict[str, int] = {}
    for index, op in enumerate(doc):
        first.setdefault(_shape(op), index)
    if "v2.0" in first and "v2.1" in first:
        i20, i21 = first["v2.0"], first["v2.1"]
        msg = f"Mixed dialects: operation {i20} is v2.0, operation {i21} is v2.1."
        raise _Problem("mixed_dialects", msg, index=max(i20, i21))
    if "v2.0" in first:
        return "v2.0"
    if "v2.1" in first:
        return "v2.1"
    if "both" in first:
        msg = "Every operation fits both v2.0 and v2.1; give --media-type."
        raise _Problem("ambiguous_dialect", msg)
    msg = "No operation has the shape of v2.0 or v2.1; give --media-type to see why."
    raise _Problem("unknown_dialect", msg)


def _load_image(path: str, stdin: IO[Any]) -> dict[str, Any]:
    data = _read_stream(stdin) if path == "-" else _read_path(path)
    _, doc = _decode(data)
    if not isinstance(doc, dict):
        raise _Problem("invalid_image", "An image must be a JSON object.")
    return doc


# --- output ------------------------------------------------------------------------


def _display(name: str) -> str:
    """A file name safe to print (undecodable bytes shown as escapes)."""
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        return name.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
    return name


def _field(text: str | None) -> str:
    if text is None:
        return "-"
    if text and text != "-" and text.isprintable() and ":" not in text and " " not in text:
        return text
    import json  # noqa: PLC0415

    return json.dumps(text)


def format_line(name: str, error: Mapping[str, Any]) -> str:
    """``FILE:INDEX:POINTER: STATUS CODE message`` for one error dict."""
    index = error["index"]
    status = error["status"]
    message = " ".join(str(error["message"]).split())
    return (
        f"{_display(name)}:{'-' if index is None else index}:{_field(error['pointer'])}: "
        f"{'-' if status is None else status} {error['code']} {message}"
    )


class _Progress:
    """A one-line progress bar on a terminal, shown only for long runs."""

    def __init__(self, stream: IO[str], total: int, *, enabled: bool) -> None:
        import time  # noqa: PLC0415

        self._clock = time.monotonic
        self._stream = stream
        self._total = total
        self._start = self._clock()
        self._next = self._start + _PROGRESS_DELAY
        self._shown = False
        self.enabled = enabled and total > 1 and _isatty(stream)

    def update(self, done: int) -> None:
        now = self._clock()
        if now < self._next:
            return
        self._next = now + 0.1
        width = 30
        filled = width * done // self._total
        rate = done / max(now - self._start, 1e-9)
        self._stream.write(
            f"\r[{'#' * filled}{'.' * (width - filled)}] {done}/{self._total} files {rate:,.0f}/s"
        )
        self._stream.flush()
        self._shown = True

    def close(self) -> None:
        if self._shown:
            self._stream.write("\r\x1b[K")
            self._stream.flush()


def _isatty(stream: IO[str]) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError, OSError):
        return False


# --- walking -----------------------------------------------------------------------

#: A file to check: (shown name, path or None for stdin, problem found while walking).
_Target = tuple[str, "str | None", "_Problem | None"]


def _targets(paths: Sequence[str]) -> Iterator[_Target]:
    for path in paths:
        if path == "-":
            yield ("-", None, None)
            continue
        try:
            st = os.stat(path)
        except OSError as exc:
            yield (path, path, _os_problem(exc))
            continue
        import stat  # noqa: PLC0415

        if stat.S_ISDIR(st.st_mode):
            yield from _walk(path, {(st.st_dev, st.st_ino): path})
        else:
            yield (path, path, None)


def _walk(top: str, ancestors: dict[tuple[int, int], str]) -> Iterator[_Target]:
    """Files named ``*.json`` under *top*, sorted, following symlinks, no cycles."""
    try:
        with os.scandir(top) as scan:
            entries = sorted(scan, key=lambda e: e.name)
    except OSError as exc:
        yield (top, top, _os_problem(exc))
        return
    for entry in entries:
        path = entry.path
        is_json = entry.name.lower().endswith(".json")
        try:
            if entry.is_symlink() or entry.is_dir():
                st = os.stat(path)
                import stat  # noqa: PLC0415

                if stat.S_ISDIR(st.st_mode):
                    key = (st.st_dev, st.st_ino)
                    if key in ancestors:
                        msg = f"Directory cycle: this is {_display(ancestors[key])} again."
                        yield (path, path, _Problem("symlink_loop", msg))
                    else:
                        yield from _walk(path, {**ancestors, key: path})
                    continue
                if is_json and stat.S_ISREG(st.st_mode):
                    yield (path, path, None)
                continue
            if is_json and entry.is_file():
                yield (path, path, None)
        except OSError as exc:
            problem = _os_problem(exc)
            if is_json or problem.code == "symlink_loop":
                yield (path, path, problem)


# --- the commands ------------------------------------------------------------------


class _Tool:
    def __init__(
        self, args: argparse.Namespace, stdin: IO[Any], out: IO[str], err: IO[str]
    ) -> None:
        import imspatch  # noqa: PLC0415 - lazy: keeps --help fast

        self.lib = imspatch
        self.args = args
        self.stdin = stdin
        self.out = out
        self.err = err
        self.rules: Rules = imspatch.GLANCE if args.rules == "glance" else imspatch.IMS
        self.media_type: str | None = getattr(args, "media_type", None)

    # shared helpers

    def _fail(self, name: str, problem: _Problem | PatchError) -> int:
        self.err.write(format_line(name, problem.to_dict()) + "\n")
        return 1

    def _read(self, path: str) -> bytes:
        return _read_stream(self.stdin) if path == "-" else _read_path(path)

    def _image(self, path: str) -> dict[str, Any]:
        return _load_image(path, self.stdin)

    def _media_type_of(self, doc: object) -> tuple[str, str | None]:
        """(media type to parse with, dialect to report); auto-detects if needed."""
        if self.media_type is not None:
            return self.media_type, _DIALECT_OF[self.media_type]
        dialect = detect_dialect(doc)
        return (V21 if dialect is None else _MEDIA_TYPES[dialect]), dialect

    def _patch(self, body: bytes) -> str:
        """A patch body for people: one operation per line."""
        import json  # noqa: PLC0415

        ops = json.loads(body)
        if not ops:
            return "[]"
        return "[\n" + ",\n".join("  " + self._json(op, indent=None) for op in ops) + "\n]"

    def _json(self, doc: object, *, indent: int | None = 2) -> str:
        import json  # noqa: PLC0415

        encoding = (getattr(self.out, "encoding", None) or "utf-8").lower().replace("-", "")
        return json.dumps(doc, indent=indent, ensure_ascii=encoding != "utf8")

    # check

    def check_data(
        self, data: bytes, image: Mapping[str, Any] | None
    ) -> tuple[str | None, list[dict[str, Any]]]:
        """One body -> (dialect, error dicts)."""
        try:
            text, doc = _decode(data)
            media_type, dialect = self._media_type_of(doc)
        except _Problem as problem:
            return None, [problem.to_dict()]
        errors = [
            exc.to_dict()
            for exc in self.lib.iter_errors(
                text,
                media_type=media_type,
                rules=self.rules,
                image=image,
                admin=self.args.admin,
            )
        ]
        return dialect, errors

    def check(self) -> int:
        args = self.args
        image = None
        if args.image is not None:
            try:
                image = self._image(args.image)
            except _Problem as problem:
                return self._fail(args.image, problem)
        as_json = args.format == "json"
        targets = list(_targets(args.paths))
        progress = _Progress(self.err, len(targets), enabled=not (args.no_progress or args.quiet))
        out = self.out
        pending: list[str] = []
        counts = {"files": 0, "valid": 0, "invalid": 0, "errors": 0}
        if as_json:
            pending.append('{"files": [')
        for number, (name, path, found) in enumerate(targets, 1):
            dialect: str | None = None
            if found is not None:
                errors = [found.to_dict()]
            else:
                try:
                    data = _read_stream(self.stdin) if path is None else _read_path(path)
                    dialect, errors = self.check_data(data, image)
                except _Problem as exc:
                    errors = [exc.to_dict()]
                except Exception as exc:  # a bug must not end the run
                    message = f"{type(exc).__name__}: {exc} (please report this bug)"
                    errors = [_Problem("internal_error", message).to_dict()]
            counts["files"] += 1
            counts["invalid" if errors else "valid"] += 1
            counts["errors"] += len(errors)
            if as_json:
                record = {
                    "file": _display(name),
                    "dialect": dialect,
                    "valid": not errors,
                    "errors": errors,
                }
                pending.append(
                    ("\n  " if number == 1 else ",\n  ") + self._json(record, indent=None)
                )
            elif errors:
                pending.extend(format_line(name, error) + "\n" for error in errors)
            elif not args.quiet:
                pending.append(f"{_display(name)}: ok {dialect or 'v2.0/v2.1 (empty patch)'}\n")
            if len(pending) >= 256:
                out.write("".join(pending))
                pending.clear()
            if progress.enabled and not number % 64:
                progress.update(number)
        progress.close()
        if as_json:
            pending.append('\n], "summary": ' + self._json(counts, indent=None) + "}\n")
        if pending:
            out.write("".join(pending))
        if not as_json and not args.quiet:
            self.err.write(
                f"{counts['files']} file{'s' * (counts['files'] != 1)} checked: "
                f"{counts['valid']} valid, {counts['invalid']} invalid, "
                f"{counts['errors']} error{'s' * (counts['errors'] != 1)}\n"
            )
        return 1 if counts["invalid"] else 0

    # apply

    def apply(self) -> int:
        args = self.args
        try:
            image = self._image(args.image)
        except _Problem as problem:
            return self._fail(args.image, problem)
        try:
            text, doc = _decode(self._read(args.patch))
            media_type, _ = self._media_type_of(doc)
        except _Problem as problem:
            return self._fail(args.patch, problem)
        try:
            result = self.lib.patch_image(
                image, text, media_type=media_type, rules=self.rules, admin=args.admin
            )
        except self.lib.PatchError as exc:
            return self._fail(args.patch, exc)
        self.out.write(self._json(result) + "\n")
        return 0

    # convert

    def convert(self) -> int:
        args = self.args
        image = None
        if args.image is not None:
            try:
                image = self._image(args.image)
            except _Problem as problem:
                return self._fail(args.image, problem)
        try:
            text, doc = _decode(self._read(args.patch))
            media_type, _ = self._media_type_of(doc)
        except _Problem as problem:
            return self._fail(args.patch, problem)
        errors = list(self.lib.iter_errors(text, media_type=media_type, rules=self.rules))
        if errors:
            for exc in errors:
                self._fail(args.patch, exc)
            return 1
        ops = self.lib.parse_patch(text, media_type=media_type, rules=self.rules)
        if image is not None:
            try:
                self.lib.apply_patch(image, ops, rules=self.rules, admin=args.admin)
            except self.lib.PatchError as exc:
                return self._fail(args.patch, exc)
        converted, problems = convert_operations(ops, to=args.to, image=image, rules=self.rules)
        if problems:
            for item in problems:
                self._fail(args.patch, item)
            return 1
        body = self.lib.dump_patch(converted, media_type=_MEDIA_TYPES[args.to])
        self.out.write(self._patch(body) + "\n")
        return 0

    # diff

    def diff(self) -> int:
        from ._diff import diff_images, iter_diff_errors  # noqa: PLC0415

        args = self.args
        images = []
        for path in (args.old, args.new):
            try:
                images.append(self._image(path))
            except _Problem as problem:
                return self._fail(path, problem)
        old, new = images
        media_type = _MEDIA_TYPES[args.to]
        options: dict[str, Any] = {
            "rules": self.rules,
            "media_type": media_type,
            "admin": args.admin,
        }
        errors = list(iter_diff_errors(old, new, **options))
        if errors:
            for exc in errors:
                self._fail(args.new, exc)
            return 1
        ops = diff_images(old, new, **options)
        body = self.lib.dump_patch(ops, media_type=media_type)
        self.out.write(self._patch(body) + "\n")
        return 0


def convert_operations(
    ops: Sequence[Operation],
    *,
    to: str,
    image: Mapping[str, Any] | None,
    rules: Rules,
) -> tuple[list[Operation], list[_Problem | PatchError]]:
    """Respell *ops* for dialect *to* ("v2.0" or "v2.1"); return (ops, problems).

    ``remove`` and ``replace`` mean the same in both dialects.  ``add`` does
    not: v2.1 ``add`` sets or overwrites, v2.0 ``add`` fails (409) when the
    name exists.  Whether a name exists is known for core attributes (always),
    for names an earlier operation of the same patch set or removed, and for
    everything when *image* is given (the patch must then apply to it);
    otherwise the operation is ``ambiguous``.  A v2.1 ``add`` of an existing
    name becomes a v2.0 ``replace``, of an absent one a v2.0 ``add``; a v2.0
    ``add`` of an absent name becomes a v2.1 ``add``, of an existing one is the
    409 it would answer.
    """
    from .errors import make_error  # noqa: PLC0415
    from .operations import Add, Replace  # noqa: PLC0415
    from .rules import Kind  # noqa: PLC0415

    to_v20 = to == "v2.0"
    known: dict[str, bool] = {}
    out: list[Operation] = []
    problems: list[_Problem | PatchError] = []
    for index, op in enumerate(ops):
        name = op.path.parts[0]
        if isinstance(op, Add) and op.if_absent != to_v20:
            exists = known.get(name)
            if exists is None and rules.info(name).kind is not Kind.EXTRA:
                exists = True  # core attributes are always present
            if exists is None and image is not None:
                exists = name in image
            pointer = op.path.text
            if exists is None:
                if op.if_absent:
                    msg = (
                        f"v2.0 'add' of {pointer} fails (409) if the name exists; a v2.1 "
                        "'add' would overwrite it. Give --image to decide."
                    )
                else:
                    msg = (
                        f"v2.1 'add' of {pointer} sets or overwrites; v2.0 needs 'add' if "
                        "the name is absent, 'replace' if it exists. Give --image to decide."
                    )
                problems.append(_Problem("ambiguous", msg, index=index, pointer=pointer))
            elif op.if_absent and exists:
                msg = f"Property {name} already present."
                problems.append(make_error("already_present", msg, index=index, pointer=pointer))
            elif exists:
                op = Replace(op.path, op.value)  # noqa: PLW2901
            else:
                op = Add(op.path, op.value, if_absent=to_v20)  # noqa: PLW2901
        if len(op.path.parts) == 1:
            known[name] = op.op != "remove"
        out.append(op)
    return out, problems
