"""The ``imspatch`` command: check, apply, convert and diff image patches.

``run(argv, stdin=..., stdout=..., stderr=...)`` is the whole tool and returns
the exit status; ``main()`` is the console-script entry point around it.

Exit status: 0 all inputs valid (or the command succeeded), 1 an input is
invalid or the command could not be carried out (standard output closed or
full included), 2 the command line itself is wrong.  No traceback is ever
printed: an unexpected exception while checking one file becomes that
file's ``internal_error`` line.

Error lines have one shape everywhere; a warning (``check`` without
``--image``: a failure on some images only) says so and names the condition::

    FILE:INDEX:POINTER: STATUS CODE message
    FILE:INDEX:POINTER: warning STATUS CODE message (if CONDITION)

``INDEX`` is the 0-based operation position and ``POINTER`` the raw path text
(``-`` when the error is about the whole body or file; a pointer that holds
whitespace, ``:`` or a control character is shown as a JSON string).
``STATUS`` is the HTTP status a server would answer, or ``-`` for problems the
tool found before there was a request to judge (``not_found``,
``unreadable``, ``symlink_loop``, ``is_directory``, ``too_large``,
``not_utf8``, ``not_json``, ``no_files``, ``unknown_dialect``,
``mixed_dialects``, ``ambiguous_dialect``, ``invalid_image``, ``ambiguous``,
``internal_error``).  ``--format json`` documents follow
``schemas/cli-output.json``.

The library is imported only by the subcommands, so ``imspatch --help`` costs
little more than the interpreter's own start-up.
"""

from __future__ import annotations

import argparse
import contextlib
import io
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
        "FILE:INDEX:POINTER: STATUS CODE message. Without --image, an apply or finish "
        "error that every image gets is an error, one that some images get a warning "
        "naming the condition (exit status 0 unless --strict). Directories are walked "
        "(files named *.json, sorted); '-' is standard input.",
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


def _build_parser(
    stdout: IO[str], stderr: IO[str], argv: Sequence[str] = ()
) -> tuple[_Parser, dict[str, _Parser]]:
    """The parser and its subcommands' parsers; only the one named in *argv* gets arguments.

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
    commands = {}
    for name, (summary, description) in _COMMANDS.items():
        command = sub.add_parser(name, help=summary, description=description, **streams)
        commands[name] = command
        if name == wanted:
            _ARGUMENTS[name](command)
    return parser, commands


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
    p.add_argument(
        "--format",
        choices=("text", "json", "github", "gitlab"),
        default="text",
        help="text (default); json (schemas/cli-output.json); github (workflow commands that "
        "annotate a pull request); gitlab (a Code Quality report)",
    )
    p.add_argument(
        "--strict", action="store_true", help="a file with warnings is invalid too (exit status 1)"
    )
    p.add_argument(
        "--ignore-warning",
        type=_codes,
        action="extend",
        default=[],
        metavar="CODE[,CODE]",
        help="do not report warnings with these codes (e.g. too_many_properties, which "
        "every property add gets); errors are always reported",
    )
    p.add_argument(
        "-j",
        "--jobs",
        type=_jobs,
        default=1,
        metavar="N",
        help="check files in N processes (0: one per CPU; default 1); the output is the same",
    )
    p.add_argument(
        "-q",
        "--quiet",
        action="store_true",
        help="print only errors and warnings, no 'ok' lines or summary",
    )
    p.add_argument("--no-progress", action="store_true", help="never show a progress bar on stderr")


def _codes(text: str) -> list[str]:
    from imspatch import ERROR_CODES  # noqa: PLC0415

    codes = [code.strip() for code in text.split(",") if code.strip()]
    unknown = [code for code in codes if code not in ERROR_CODES]
    if unknown or not codes:
        msg = f"unknown error code {(unknown or [text])[0]!r} (the README lists them)"
        raise argparse.ArgumentTypeError(msg)
    return codes


def _jobs(text: str) -> int:
    try:
        number = int(text)
    except ValueError:
        number = -1
    if number < 0:
        msg = f"invalid number of jobs {text!r} (a whole number, 0 for one per CPU)"
        raise argparse.ArgumentTypeError(msg)
    return number or os.cpu_count() or 1


def _format(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--format",
        choices=("text", "json"),
        default="text",
        help="text (default) or json (schemas/cli-output.json), on standard output",
    )


def _apply_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--image", required=True, metavar="IMAGE", help="image JSON file")
    p.add_argument("patch", metavar="PATCH", help="patch file, or '-' for standard input")
    _common(p)
    _format(p)


def _convert_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("patch", metavar="PATCH", help="patch file, or '-' for standard input")
    p.add_argument("--to", required=True, choices=("v2.0", "v2.1"), help="target dialect")
    p.add_argument("--image", metavar="IMAGE", help="the image the patch is meant for")
    _common(p)
    _format(p)


def _diff_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("old", metavar="OLD", help="image JSON file")
    p.add_argument("new", metavar="NEW", help="image JSON file")
    p.add_argument("--to", choices=("v2.0", "v2.1"), default="v2.1", help="dialect (default: v2.1)")
    _common(p, media=False)
    _format(p)


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
    # Started without standard error (``2>&-``): what would go there is lost.
    err = (sys.stderr if stderr is None else stderr) or io.StringIO()
    inp = sys.stdin if stdin is None else stdin
    if out is None:  # started with standard output closed (``>&-``)
        err.write("imspatch: cannot write the output: standard output is closed\n")
        return 1
    arguments = list(sys.argv[1:] if argv is None else argv)
    if arguments[:1] == ["conform"]:  # its own parser, in imspatch.conformance
        return _conform(arguments[1:], out, err)
    if arguments[:1] == ["proxy"]:  # its own parser, in imspatch.proxy
        return _proxy(arguments[1:], err)
    parser, commands = _build_parser(out, err, arguments)
    try:
        args, unknown = parser.parse_known_args(arguments)
        if unknown:  # the subcommand's usage, not the top level's
            commands[args.command].error("unrecognized arguments: " + " ".join(unknown))
        tool = _Tool(args, inp, out, err)
        status = getattr(tool, args.command)()
        out.flush()
    except _Exit as exc:
        return exc.status
    except BrokenPipeError:
        raise  # main() stops quietly
    except OSError as exc:  # writing the output failed; inputs are reported per file
        err.write(f"imspatch: cannot write the output: {exc.strerror or exc}\n")
        return 1
    except _Failed as exc:
        err.write(f"imspatch: {exc}\n")
        return 1
    return int(status)


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
        status = run()
    except KeyboardInterrupt:
        if sys.stderr is not None:
            sys.stderr.write("\n")
        return 130
    except BrokenPipeError:
        # The reader went away (``imspatch check ... | head``): stop quietly.
        _discard_stdout()
        return 1
    if status and sys.stdout is not None:
        # run() reported a failed write; what is still buffered would fail
        # again, with a traceback, when the interpreter exits.
        try:
            sys.stdout.flush()
        except OSError:
            _discard_stdout()
    return status


def _discard_stdout() -> None:
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())


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

    def __reduce__(self) -> tuple[Any, ...]:  # --jobs sends problems to the workers
        return (_problem, (self.code, self.message, self.index, self.pointer))

    def to_dict(self) -> dict[str, Any]:
        return {
            "status": None,
            "code": self.code,
            "message": self.message,
            "index": self.index,
            "pointer": self.pointer,
        }


def _problem(code: str, message: str, index: int | None, pointer: str | None) -> _Problem:
    return _Problem(code, message, index=index, pointer=pointer)


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
        index = first["both"]
        msg = (
            f"Every operation fits both v2.0 and v2.1 ({_seen(index, doc[index])}); "
            "give --media-type."
        )
        raise _Problem("ambiguous_dialect", msg)
    seen = "; ".join(_seen(index, op) for index, op in enumerate(doc[:_SHOWN_OPS]))
    more = len(doc) - _SHOWN_OPS
    if more > 0:
        seen += f"; {more} more"
    msg = (
        f"No operation has the shape of v2.0 or v2.1: {seen}. Give --media-type to parse it as one."
    )
    raise _Problem("unknown_dialect", msg)


#: Operations described in an ``unknown_dialect`` message.
_SHOWN_OPS = 3
_JSON_TYPE_NAMES = {
    list: "an array", str: "a string", int: "a number", float: "a number",
    bool: "a boolean", type(None): "null",
}  # fmt: skip


def _members(names: Sequence[str]) -> str:
    from .errors import excerpt  # noqa: PLC0415

    shown = ", ".join(excerpt(name, 20) for name in names[:5])
    return shown + (", ..." if len(names) > 5 else "")


def _seen(index: int, op: object) -> str:
    """What operation *index* shows, as far as the dialect goes."""
    if not isinstance(op, dict):
        return f"operation {index} is {_JSON_TYPE_NAMES.get(type(op), 'not an object')}"
    verbs = [key for key in _OP_KEYS if key in op]
    v21 = [key for key in ("op", "path") if key in op]
    if v21 and len(verbs) == 1:
        return f"operation {index} has {_members(v21)} and {_members(verbs)}"
    if len(verbs) > 1:
        return f"operation {index} has several of add, remove, replace ({_members(verbs)})"
    if not op:
        return f"operation {index} is an empty object"
    return (
        f"operation {index} has none of op, path, add, remove, replace "
        f"(its members: {_members(list(op))})"
    )


def _load_image(path: str, stdin: IO[Any]) -> dict[str, Any]:
    """An image file: strict JSON, as a patch body is.

    ``NaN``, ``Infinity``, numbers beyond double range and duplicate member
    names are not JSON: an image holding them could be printed by ``apply``
    in a form that ``diff`` (or any JSON reader) then rejects.
    """
    import json  # noqa: PLC0415

    data = _read_stream(stdin) if path == "-" else _read_path(path)
    text, _ = _decode(data)
    try:
        doc = json.loads(
            text,
            object_pairs_hook=_no_duplicates,
            parse_constant=_not_a_number,
            parse_float=_finite,
        )
    except RecursionError:
        raise _Problem("not_json", "Not JSON: nested too deeply.") from None
    if not isinstance(doc, dict):
        raise _Problem("invalid_image", "An image must be a JSON object.")
    return doc


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    doc = dict(pairs)
    if len(doc) != len(pairs):
        from .errors import excerpt  # noqa: PLC0415

        seen: set[str] = set()
        for name, _ in pairs:
            if name in seen:
                raise _Problem("not_json", f"Not JSON: duplicate member name {excerpt(name)}.")
            seen.add(name)
    return doc


def _not_a_number(text: str) -> NoReturn:
    raise _Problem("not_json", f"Not JSON: {text} is not a JSON number.")


def _finite(text: str) -> float:
    value = float(text)
    if value in (float("inf"), float("-inf")):
        raise _Problem("not_json", f"Not JSON: {text[:20]} is beyond the range of a double.")
    return value


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
    """``FILE:INDEX:POINTER: STATUS CODE message`` for one error dict.

    A warning (a dict with a ``condition``) reads ``FILE:INDEX:POINTER:
    warning STATUS CODE message (if CONDITION)``.
    """
    index = error["index"]
    status = error["status"]
    level = "" if error.get("condition") is None else "warning "
    return (
        f"{_display(name)}:{'-' if index is None else index}:{_field(error['pointer'])}: "
        f"{level}{'-' if status is None else status} {error['code']} {_sentence(error)}"
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
    """The files to check, each once (the first time it is named or walked)."""
    seen: set[tuple[bool, str]] = set()

    def first(path: str, *, directory: bool = False) -> bool:
        key = (directory, path if path == "-" else os.path.normpath(os.path.abspath(path)))
        if key in seen:
            return False
        seen.add(key)
        return True

    import stat  # noqa: PLC0415

    for path in paths:
        if path == "-":
            if first(path):
                yield ("-", None, None)
            continue
        try:
            st = os.stat(path)
        except OSError as exc:
            if first(path):
                yield (path, path, _os_problem(exc))
            continue
        if not stat.S_ISDIR(st.st_mode):
            if first(path):
                yield (path, path, None)
            continue
        if not first(path, directory=True):
            continue
        found = False
        for target in _walk(path, {(st.st_dev, st.st_ino): path}):
            found = True
            if first(target[0]):
                yield target
        if not found:  # a typo in a CI configuration must not pass silently
            yield (path, path, _Problem("no_files", "No *.json files in this directory."))


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


# --- checking one file (in this process, or in a --jobs worker) --------------------------

if TYPE_CHECKING:
    #: A file to check, as the workers get it: name, path, problem found, data read already.
    _Job = tuple[str, str | None, _Problem | None, bytes | None]
    #: One file's result: (shown name, dialect, errors, warnings); each finding a plain dict.
    _Record = tuple[str, str | None, list[dict[str, Any]], list[dict[str, Any]]]


class _Checker:
    """Everything that checking one file needs, as plain data (``--jobs`` pickles it)."""

    def __init__(
        self,
        rules: str,
        admin: bool,
        media_type: str | None,
        image: dict[str, Any] | None,
        *,
        lines: bool,
        ignored: frozenset[str] = frozenset(),
    ) -> None:
        self.rules = rules
        self.admin = admin
        self.media_type = media_type
        self.image = image
        #: codes of warnings not to report (--ignore-warning)
        self.ignored = ignored
        #: add each finding's line in the file (for --format github/gitlab)
        self.lines = lines

    def __call__(self, job: _Job) -> _Record:
        name, path, found, data = job
        dialect: str | None = None
        warnings: list[dict[str, Any]] = []
        if found is not None:
            errors = [found.to_dict()]
        else:
            try:
                if data is None:
                    data = _read_path(str(path))
                dialect, errors, warnings = self.body(data)
            except _Problem as exc:
                errors = [exc.to_dict()]
            except Exception as exc:  # a bug must not end the run
                message = f"{type(exc).__name__}: {exc} (please report this bug)"
                errors = [_Problem("internal_error", message).to_dict()]
        return _display(name), dialect, errors, warnings

    def body(self, data: bytes) -> tuple[str | None, list[dict[str, Any]], list[dict[str, Any]]]:
        """One body -> (dialect, errors, warnings)."""
        import imspatch  # noqa: PLC0415
        from imspatch import offline  # noqa: PLC0415

        rules = imspatch.GLANCE if self.rules == "glance" else imspatch.IMS
        text, doc = _decode(data)
        dialect: str | None
        if self.media_type is not None:
            media_type, dialect = self.media_type, _DIALECT_OF[self.media_type]
        else:
            try:
                dialect = detect_dialect(doc)
            except _Problem as problem:
                agreed = None
                if problem.code != "mixed_dialects":
                    agreed = self._in_either_dialect(text, rules)
                if agreed is None:
                    raise
                return None, agreed, []
            media_type = V21 if dialect is None else _MEDIA_TYPES[dialect]
        warnings: list[dict[str, Any]] = []
        if self.image is not None:
            errors = [
                exc.to_dict()
                for exc in imspatch.iter_errors(
                    text, media_type=media_type, rules=rules, image=self.image, admin=self.admin
                )
            ]
        else:
            review = offline.review(text, media_type=media_type, rules=rules, admin=self.admin)
            errors = [exc.to_dict() for exc in review.errors]
            warnings = [
                finding.to_dict()
                for finding in review.warnings
                if finding.error.code not in self.ignored
            ]
        if self.lines and (errors or warnings):
            _add_lines(text, errors + warnings)
        return dialect, errors, warnings

    def _in_either_dialect(self, text: str, rules: Rules) -> list[dict[str, Any]] | None:
        """The errors of a body whose dialect is unclear, if both dialects see the same ones.

        A duplicate member name, ``NaN`` or an operation that is not an object
        is the same error whatever the dialect: say that, not "unknown dialect".
        """
        import imspatch  # noqa: PLC0415

        found = [
            [
                exc.to_dict()
                for exc in imspatch.iter_errors(
                    text, media_type=media_type, rules=rules, image=self.image, admin=self.admin
                )
            ]
            for media_type in (V20, V21)
        ]
        return found[0] if found[0] and found[0] == found[1] else None


def _add_lines(text: str, findings: list[dict[str, Any]]) -> None:
    """Give each finding the line of its operation in *text* (1 for the whole body)."""
    starts = _operation_starts(text)
    for finding in findings:
        index = finding["index"]
        start = starts[index] if index is not None and index < len(starts) else 0
        finding["line"] = text.count("\n", 0, start) + 1


def _operation_starts(text: str) -> list[int]:
    """Where each element of the top-level array starts (as far as it parses)."""
    import json  # noqa: PLC0415
    import re  # noqa: PLC0415

    space = re.compile(r"[ \t\n\r]*")
    decoder = json.JSONDecoder()
    pos = space.match(text).end()  # type: ignore[union-attr]
    starts: list[int] = []
    if not text.startswith("[", pos):
        return starts
    pos = space.match(text, pos + 1).end()  # type: ignore[union-attr]
    while pos < len(text) and text[pos] != "]":
        starts.append(pos)
        try:
            _, pos = decoder.raw_decode(text, pos)
        except (ValueError, RecursionError):
            break
        pos = space.match(text, pos).end()  # type: ignore[union-attr]
        if not text.startswith(",", pos):
            break
        pos = space.match(text, pos + 1).end()  # type: ignore[union-attr]
    return starts


_WORKER: _Checker | None = None


def _start_worker(checker: _Checker) -> None:
    global _WORKER  # noqa: PLW0603 - one checker per worker process
    _WORKER = checker


def _check_chunk(jobs: list[_Job]) -> list[_Record]:
    assert _WORKER is not None
    return [_WORKER(job) for job in jobs]


def _records(jobs: list[_Job], checker: _Checker, processes: int) -> Iterator[_Record]:
    """Each job's record, in the order of *jobs* whatever the number of processes."""
    if processes <= 1 or len(jobs) < 2:
        for job in jobs:
            yield checker(job)
        return
    import multiprocessing  # noqa: PLC0415
    from concurrent.futures import ProcessPoolExecutor  # noqa: PLC0415
    from concurrent.futures.process import BrokenProcessPool  # noqa: PLC0415

    # forkserver: no fork of a process that may run threads; workers start
    # from a server that has imported the engine once.
    method = "forkserver" if "forkserver" in multiprocessing.get_all_start_methods() else "spawn"
    context = multiprocessing.get_context(method)
    if method == "forkserver":
        context.set_forkserver_preload(["imspatch.cli", "imspatch._api", "imspatch.offline"])
    size = min(256, max(16, len(jobs) // (processes * 8)))
    chunks = [jobs[i : i + size] for i in range(0, len(jobs), size)]
    try:
        with ProcessPoolExecutor(
            max_workers=processes,
            mp_context=context,
            initializer=_start_worker,
            initargs=(checker,),
        ) as pool:
            for records in pool.map(_check_chunk, chunks):
                yield from records
    except BrokenProcessPool as exc:
        raise _Failed(f"--jobs: a worker process ended abruptly ({exc})") from None


class _Failed(Exception):
    """The command cannot go on: one line on stderr, exit status 1."""


# --- reports: one class per --format -------------------------------------------------------


class _Report:
    """Writes each file's record as it comes and counts; ``close()`` ends the output."""

    def __init__(self, tool: _Tool) -> None:
        self.tool = tool
        self.out = tool.out
        self.quiet: bool = tool.args.quiet
        self.strict: bool = tool.args.strict
        self.counts = {"files": 0, "valid": 0, "invalid": 0, "errors": 0, "warnings": 0}
        self.pending: list[str] = []

    def add(self, record: _Record) -> None:
        _, _, errors, warnings = record
        valid = not errors and not (self.strict and warnings)
        counts = self.counts
        counts["files"] += 1
        counts["valid" if valid else "invalid"] += 1
        counts["errors"] += len(errors)
        counts["warnings"] += len(warnings)
        self.write(record, valid)
        if len(self.pending) >= 256:
            self.flush()

    def write(self, record: _Record, valid: bool) -> None:
        raise NotImplementedError

    def flush(self) -> None:
        if self.pending:
            self.out.write("".join(self.pending))
            self.pending.clear()

    def close(self) -> None:
        self.flush()
        if self.quiet:
            return
        counts = self.counts
        warnings = counts["warnings"]
        self.tool.err.write(
            f"{counts['files']} file{'s' * (counts['files'] != 1)} checked: "
            f"{counts['valid']} valid, {counts['invalid']} invalid, "
            f"{counts['errors']} error{'s' * (counts['errors'] != 1)}"
            + (f", {warnings} warning{'s' * (warnings != 1)}" if warnings else "")
            + "\n"
        )


class _TextReport(_Report):
    def write(self, record: _Record, valid: bool) -> None:
        name, dialect, errors, warnings = record
        self.pending.extend(format_line(name, error) + "\n" for error in errors)
        self.pending.extend(format_line(name, warning) + "\n" for warning in warnings)
        if not (errors or warnings or self.quiet):
            self.pending.append(f"{name}: ok {dialect or 'v2.0/v2.1 (empty patch)'}\n")


class _JSONReport(_Report):
    def __init__(self, tool: _Tool) -> None:
        super().__init__(tool)
        self.pending.append('{"files": [')
        self.quiet = True  # no summary on stderr: it is in the document

    def write(self, record: _Record, valid: bool) -> None:
        name, dialect, errors, warnings = record
        doc = {"file": name, "dialect": dialect, "valid": valid, "errors": errors}
        doc["warnings"] = warnings
        separator = "\n  " if self.counts["files"] == 1 else ",\n  "
        self.pending.append(separator + self.tool._json(doc, indent=None))

    def close(self) -> None:
        self.pending.append('\n], "summary": ' + self.tool._json(self.counts, indent=None) + "}\n")
        super().close()


class _GitHubReport(_Report):
    """GitHub Actions workflow commands: one ``::error``/``::warning`` line per finding."""

    def write(self, record: _Record, valid: bool) -> None:
        name, _, errors, warnings = record
        for level, findings in (("error", errors), ("warning", warnings)):
            for finding in findings:
                self.pending.append(github_command(level, name, finding) + "\n")


class _GitLabReport(_Report):
    """A GitLab Code Quality report: a JSON array of issues (``artifacts:reports:codequality``)."""

    def __init__(self, tool: _Tool) -> None:
        super().__init__(tool)
        self.pending.append("[")
        self.issues = 0

    def write(self, record: _Record, valid: bool) -> None:
        name, _, errors, warnings = record
        seen: dict[str, int] = {}  # a finding repeated in one file gets its own fingerprint
        for severity, findings in (("major", errors), ("minor", warnings)):
            for finding in findings:
                issue = gitlab_issue(severity, name, finding, seen)
                self.pending.append(("\n  " if not self.issues else ",\n  ") + json_line(issue))
                self.issues += 1

    def close(self) -> None:
        self.pending.append("\n]\n" if self.issues else "]\n")
        super().close()


_REPORTS: dict[str, type[_Report]] = {
    "text": _TextReport,
    "json": _JSONReport,
    "github": _GitHubReport,
    "gitlab": _GitLabReport,
}


def json_line(doc: object) -> str:
    import json  # noqa: PLC0415

    return json.dumps(doc, ensure_ascii=True)


def _title(finding: Mapping[str, Any]) -> str:
    status = finding["status"]
    return f"imspatch {'-' if status is None else status} {finding['code']}"


def _sentence(finding: Mapping[str, Any]) -> str:
    """The message, and a warning's condition."""
    message = " ".join(str(finding["message"]).split())
    condition = finding.get("condition")
    return message if condition is None else f"{message} (if {condition})"


def _where(finding: Mapping[str, Any]) -> str:
    index, pointer = finding["index"], finding["pointer"]
    if index is None:
        return ""
    return f"operation {index}" + ("" if pointer is None else f" ({_field(pointer)})") + ": "


def github_command(level: str, name: str, finding: Mapping[str, Any]) -> str:
    """``::error file=...,line=...,title=...::message``, escaped as GitHub documents.

    Data escapes ``%``, CR and LF; property values also ``:`` and ``,``
    (actions/toolkit ``escapeData`` / ``escapeProperty``).
    """
    properties = {"file": name, "line": str(finding.get("line", 1)), "title": _title(finding)}
    shown = ",".join(f"{key}={_escape_property(value)}" for key, value in properties.items())
    return f"::{level} {shown}::{_escape_data(_where(finding) + _sentence(finding))}"


def _escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(text: str) -> str:
    return _escape_data(text).replace(":", "%3A").replace(",", "%2C")


def gitlab_issue(
    severity: str, name: str, finding: Mapping[str, Any], seen: dict[str, int]
) -> dict[str, Any]:
    """One Code Quality issue.  The fingerprint names the file, code, pointer and
    message (not the index, which moves when an operation is inserted before)."""
    import hashlib  # noqa: PLC0415

    key = "\0".join((name, str(finding["code"]), str(finding["pointer"]), str(finding["message"])))
    seen[key] = seen.get(key, 0) + 1
    key += f"\0{seen[key]}"
    return {
        "description": f"{_title(finding)}: {_where(finding)}{_sentence(finding)}",
        "check_name": f"imspatch/{finding['code']}",
        "fingerprint": hashlib.sha256(key.encode("utf-8", "surrogateescape")).hexdigest(),
        "severity": severity,
        "location": {"path": name, "lines": {"begin": finding.get("line", 1)}},
    }


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

    def _result(
        self, problems: Sequence[tuple[str, _Problem | PatchError]], key: str, value: Any
    ) -> int:
        """The end of apply, convert and diff: *value* (the image or patch), or the problems.

        Text: the value on stdout, or one line per problem on stderr.  JSON: one
        document on stdout, ``{"valid", "errors", KEY}`` (schemas/cli-output.json).
        """
        if self.args.format == "json":
            errors = [{"file": _display(name), **item.to_dict()} for name, item in problems]
            doc = {"valid": not problems, "errors": errors, key: None if problems else value}
            self.out.write(self._json(doc) + "\n")
        elif problems:
            for name, item in problems:
                self._fail(name, item)
        elif key == "image":
            self.out.write(self._json(value) + "\n")
        else:
            self.out.write(self._patch(value) + "\n")
        return 1 if problems else 0

    # check

    def _job(self, target: _Target) -> _Job:
        name, path, found = target
        data = None
        if path is None and found is None:  # standard input: read here, not in a worker
            try:
                data = _read_stream(self.stdin)
            except _Problem as problem:
                found = problem
        return name, path, found, data

    def check(self) -> int:
        args = self.args
        image = None
        if args.image is not None:
            try:
                image = self._image(args.image)
            except _Problem as problem:
                return self._fail(args.image, problem)
        jobs = [self._job(target) for target in _targets(args.paths)]
        lines = args.format in ("github", "gitlab")
        ignored = frozenset(args.ignore_warning)
        checker = _Checker(
            args.rules, args.admin, self.media_type, image, lines=lines, ignored=ignored
        )
        report = _REPORTS[args.format](self)
        progress = _Progress(self.err, len(jobs), enabled=not (args.no_progress or args.quiet))
        for number, record in enumerate(_records(jobs, checker, args.jobs), 1):
            report.add(record)
            if progress.enabled and not number % 64:
                progress.update(number)
        progress.close()
        report.close()
        return 1 if report.counts["invalid"] else 0

    # apply

    def apply(self) -> int:
        args = self.args
        try:
            image = self._image(args.image)
        except _Problem as problem:
            return self._result([(args.image, problem)], "image", None)
        try:
            text, doc = _decode(self._read(args.patch))
            media_type, _ = self._media_type_of(doc)
            result = self.lib.patch_image(
                image, text, media_type=media_type, rules=self.rules, admin=args.admin
            )
        except (_Problem, self.lib.PatchError) as problem:
            return self._result([(args.patch, problem)], "image", None)
        return self._result([], "image", result)

    # convert

    def convert(self) -> int:
        args = self.args
        image = None
        if args.image is not None:
            try:
                image = self._image(args.image)
            except _Problem as problem:
                return self._result([(args.image, problem)], "patch", None)
        try:
            text, doc = _decode(self._read(args.patch))
            media_type, _ = self._media_type_of(doc)
        except _Problem as problem:
            return self._result([(args.patch, problem)], "patch", None)
        errors = list(self.lib.iter_errors(text, media_type=media_type, rules=self.rules))
        if errors:
            return self._result([(args.patch, exc) for exc in errors], "patch", None)
        ops = self.lib.parse_patch(text, media_type=media_type, rules=self.rules)
        if image is not None:
            try:
                self.lib.apply_patch(image, ops, rules=self.rules, admin=args.admin)
            except self.lib.PatchError as exc:
                return self._result([(args.patch, exc)], "patch", None)
        converted, problems = convert_operations(ops, to=args.to, image=image, rules=self.rules)
        if problems:
            return self._result([(args.patch, item) for item in problems], "patch", None)
        body = self.lib.dump_patch(converted, media_type=_MEDIA_TYPES[args.to])
        return self._result([], "patch", self._patch_value(body))

    def _patch_value(self, body: bytes) -> Any:
        """What _result shows of a patch: the body (text) or its operations (JSON)."""
        import json  # noqa: PLC0415

        return json.loads(body) if self.args.format == "json" else body

    # diff

    def diff(self) -> int:
        from ._diff import diff_images, iter_diff_errors  # noqa: PLC0415

        args = self.args
        images = []
        for path in (args.old, args.new):
            try:
                images.append(self._image(path))
            except _Problem as problem:
                return self._result([(path, problem)], "patch", None)
        old, new = images
        media_type = _MEDIA_TYPES[args.to]
        options: dict[str, Any] = {
            "rules": self.rules,
            "media_type": media_type,
            "admin": args.admin,
        }
        errors = list(iter_diff_errors(old, new, **options))
        if errors:
            return self._result([(args.new, exc) for exc in errors], "patch", None)
        ops = diff_images(old, new, **options)
        body = self.lib.dump_patch(ops, media_type=media_type)
        return self._result([], "patch", self._patch_value(body))


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
