"""``imspatch proxy``: the command line, and serving until SIGTERM or Ctrl-C."""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import sys
from collections.abc import Callable, Iterable, Sequence

from aiohttp import web
from aiohttp.typedefs import Middleware

from .. import GLANCE, IMS
from ._gateway import Config, make_app

__all__ = ["main", "serve"]

#: Seconds given to requests in progress when the proxy is told to stop.
SHUTDOWN_GRACE = 10.0


def _listen(text: str) -> tuple[str, int]:
    """``HOST:PORT`` or ``[IPv6]:PORT``."""
    host, sep, port = text.rpartition(":")
    if not sep or not port.isdigit() or not host or int(port) > 65535:
        raise argparse.ArgumentTypeError(f"not HOST:PORT: {text!r}")
    return host.removeprefix("[").removesuffix("]"), int(port)


def _names(text: str) -> frozenset[str]:
    return frozenset(name.strip() for name in text.split(",") if name.strip())


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="imspatch proxy",
        description=(
            "A validating gateway in front of an OpenStack Glance or Huawei IMS image "
            "service: PATCH /v2/images/{id} is checked by the imspatch engine against the "
            "image as the upstream shows the caller, and refused here or forwarded "
            "unchanged; every other request passes through."
        ),
        epilog="Prints 'listening on http://HOST:PORT' first; stops on SIGTERM or Ctrl-C.",
    )
    parser.add_argument(
        "--upstream",
        required=True,
        metavar="URL",
        help="base URL of the image service, e.g. http://127.0.0.1:9292",
    )
    parser.add_argument(
        "--listen",
        type=_listen,
        default=("127.0.0.1", 9293),
        metavar="HOST:PORT",
        help="address to serve on (default 127.0.0.1:9293; port 0 picks one)",
    )
    parser.add_argument(
        "--rules",
        choices=("ims", "glance"),
        default="ims",
        help="rule set to enforce, and its error style (default: ims)",
    )
    parser.add_argument(
        "--admin-header",
        metavar="NAME",
        help="request header, set by a trusted layer in front, that marks "
        "an admin caller (an item 'admin' or 'true'); without it, requests "
        "whose verdict depends on being admin are left to the upstream",
    )
    parser.add_argument(
        "--view-keys",
        type=_names,
        default=frozenset({"stores"}),
        metavar="NAMES",
        help="comma-separated keys the upstream's image view may compute rather than "
        "store; a PATCH is judged with and without them (default: stores, which a "
        "multi-store Glance adds; '' for none)",
    )
    parser.add_argument(
        "--timeout",
        type=float,
        default=60.0,
        metavar="SECONDS",
        help="upstream silence before answering 504 (default: 60)",
    )
    parser.add_argument(
        "--connect-timeout",
        type=float,
        default=10.0,
        metavar="SECONDS",
        help="connecting to the upstream, before answering 502 (default: 10)",
    )
    parser.add_argument(
        "-q", "--quiet", action="store_true", help="no access log (one line per request on stderr)"
    )
    return parser


def _without_request_text(record: logging.LogRecord) -> bool:
    """aiohttp's own error lines, reduced to the kind of error.

    Its parser's errors quote the offending request line or header, value and
    all, and a value may be a credential: the line keeps the exception's class
    and drops its text and traceback.
    """
    if record.exc_info and record.exc_info[1] is not None:
        kind = type(record.exc_info[1]).__name__
        record.msg, record.args = "%s (%s)", (record.getMessage(), kind)
        record.exc_info = record.exc_text = None
    return True


async def serve(
    config: Config,
    host: str = "127.0.0.1",
    port: int = 0,
    *,
    ready: Callable[[str], None] = print,
    stop: asyncio.Event | None = None,
    middlewares: Iterable[Middleware] = (),
) -> None:
    """Serve *config* on *host*:*port* until *stop* is set (default: SIGTERM or SIGINT).

    *ready* gets ``listening on http://HOST:PORT`` once the socket is bound.
    """
    runner = web.AppRunner(
        make_app(config, middlewares=middlewares),
        handler_cancellation=True,  # a caller that goes away cancels its upstream request
        auto_decompress=False,  # bodies pass through as they were sent
        access_log=None,  # the gateway logs one line of its own, without headers or query
        shutdown_timeout=SHUTDOWN_GRACE,
    )
    server_log = logging.getLogger("aiohttp.server")
    if _without_request_text not in server_log.filters:
        server_log.addFilter(_without_request_text)
    await runner.setup()
    try:
        site = web.TCPSite(runner, host, port)
        await site.start()
        bound = runner.addresses[0]
        shown = f"[{bound[0]}]" if ":" in bound[0] else bound[0]
        ready(f"listening on http://{shown}:{bound[1]}")
        if stop is None:
            stop = asyncio.Event()
            loop = asyncio.get_running_loop()
            for signum in (signal.SIGTERM, signal.SIGINT):
                loop.add_signal_handler(signum, stop.set)
        await stop.wait()
    finally:
        await runner.cleanup()


def main(argv: Sequence[str] | None = None) -> int:
    """``imspatch proxy --upstream URL [--listen HOST:PORT] [--rules R] [--admin-header H]``."""
    try:
        args = _parser().parse_args(argv)
    except SystemExit as exc:  # --help, or a usage error (already printed)
        return exc.code if isinstance(exc.code, int) else 2
    try:
        config = Config(
            args.upstream,
            rules=GLANCE if args.rules == "glance" else IMS,
            admin_header=args.admin_header,
            view_keys=args.view_keys,
            timeout=args.timeout,
            connect_timeout=args.connect_timeout,
        )
    except ValueError as exc:
        print(f"imspatch proxy: {exc}", file=sys.stderr)
        return 2
    logging.basicConfig(
        level=logging.WARNING if args.quiet else logging.INFO,
        format="%(asctime)s %(name)s %(levelname)s %(message)s",
        stream=sys.stderr,
    )
    host, port = args.listen
    try:
        asyncio.run(serve(config, host, port, ready=lambda line: print(line, flush=True)))
    except OSError as exc:  # the address is taken or cannot be bound
        print(f"imspatch proxy: cannot listen on {host}:{port}: {exc.strerror}", file=sys.stderr)
        return 2
    return 0
