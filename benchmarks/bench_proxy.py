"""Benchmark of ``imspatch proxy``: what it adds over going to the upstream directly.

    python benchmarks/bench_proxy.py [--clients 1,50] [--seconds 3] [--rounds 3]
                                     [--upload-mib 1024] [--upstream stub|example|glance]

Three processes: the upstream (``stub``: a minimal aiohttp image service that
answers ``GET``/``PATCH /v2/images/{id}`` with the IMS sample image and swallows
uploads; ``example``: ``examples/server.py``; ``glance``: the real glance-api of
``scripts/glance-api.sh``, which needs its venv), ``imspatch proxy -q`` in front of it
(``--rules ims``; ``--rules glance --admin-header X-Roles`` in front of glance-api),
and this one, which drives both with each number of ``--clients`` concurrent keep-alive
clients (aiohttp) for ``--seconds`` per scenario (one client shows the latency the
proxy adds to a request, fifty its throughput under load):

* ``GET`` of the image (relayed),
* a valid PATCH (``replace /name``: the proxy GETs the image, judges, forwards),
* a PATCH refused on the image (``remove /nope``, 409: the proxy GETs the image,
  judges and answers itself),
* a PATCH refused on its body (``replace /status``, read-only, 403: the proxy answers
  before any GET).

Directly, the stub answers 200 to every PATCH; the example server and glance-api
answer as the proxy does.

Direct and proxied runs alternate, ``--rounds`` times; each line gives requests/s
and p50/p99 latency, and the proxy's line what it adds (ms) and its throughput as
a share of direct.  Then ``--upload-mib`` of image data is PUT directly and through
the proxy (interleaved, twice each): MiB/s, and the proxy's peak resident memory
before and after (``VmHWM``).

Not a timed test: numbers depend on the machine (and on a 2-core machine, the load
generator competes with the proxy and the upstream for the CPU).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = json.loads((ROOT / "examples" / "ims-sample-image.json").read_text())
IMAGE = f"/v2/images/{SAMPLE['id']}"
V21 = "application/openstack-images-v2.1-json-patch"
VALID = json.dumps([{"op": "replace", "path": "/name", "value": "bench"}]).encode()
CONFLICT = json.dumps([{"op": "remove", "path": "/nope"}]).encode()
READ_ONLY = json.dumps([{"op": "replace", "path": "/status", "value": "active"}]).encode()
HEADERS = {"Content-Type": V21, "X-Auth-Token": "bench"}


# --- the stub upstream (run as a subprocess: --serve-stub) ---------------------------------


def serve_stub() -> None:
    from aiohttp import web  # noqa: PLC0415

    image = json.dumps(SAMPLE).encode()

    async def show(request: web.Request) -> web.Response:
        if request.method == "PATCH":
            await request.read()
        return web.Response(body=image, content_type="application/json")

    async def upload(request: web.Request) -> web.Response:
        async for _ in request.content.iter_chunked(1 << 20):
            pass
        return web.Response(status=204)

    app = web.Application()
    app.router.add_route("GET", "/v2/images/{id}", show)
    app.router.add_route("PATCH", "/v2/images/{id}", show)
    app.router.add_route("PUT", "/v2/images/{id}/file", upload)

    async def main() -> None:
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        print(f"listening on http://127.0.0.1:{runner.addresses[0][1]}", flush=True)
        await asyncio.Event().wait()

    asyncio.run(main())


# --- processes -------------------------------------------------------------------------------


def start(args: list[str]) -> tuple[subprocess.Popen[str], str]:
    process = subprocess.Popen(
        args, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL, text=True
    )
    assert process.stdout is not None
    line = process.stdout.readline()
    if not line.startswith("listening on "):
        process.kill()
        raise SystemExit(f"{args[:3]} did not start: {line!r}")
    return process, line.split()[-1]


def vm(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) // 1024
    return -1


# --- load -----------------------------------------------------------------------------------


async def load(
    url: str, method: str, body: bytes | None, clients: int, seconds: float, headers: dict
):
    import aiohttp  # noqa: PLC0415

    latencies: list[float] = []
    statuses: dict[int, int] = {}
    deadline = time.perf_counter() + seconds
    connector = aiohttp.TCPConnector(limit=clients)
    async with aiohttp.ClientSession(connector=connector) as session:

        async def client() -> None:
            while time.perf_counter() < deadline:
                started = time.perf_counter()
                async with session.request(method, url, data=body, headers=headers) as r:
                    await r.read()
                latencies.append(time.perf_counter() - started)
                statuses[r.status] = statuses.get(r.status, 0) + 1

        began = time.perf_counter()
        await asyncio.gather(*(client() for _ in range(clients)))
        elapsed = time.perf_counter() - began
    latencies.sort()
    return {
        "rps": len(latencies) / elapsed,
        "p50": latencies[len(latencies) // 2] * 1000,
        "p99": latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))] * 1000,
        "statuses": statuses,
    }


async def upload(url: str, mib: int) -> float:
    import aiohttp  # noqa: PLC0415

    block = bytes(1 << 20)

    async def data():
        for _ in range(mib):
            yield block

    headers = {"Content-Type": "application/octet-stream", "Content-Length": str(mib << 20)}
    started = time.perf_counter()
    async with (
        aiohttp.ClientSession() as session,
        session.put(url + "/file", data=data(), headers=headers) as r,
    ):
        await r.read()
        assert r.status == 204, r.status
    return mib / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", default="1,50", help="comma-separated (default: 1,50)")
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--upload-mib", type=int, default=1024)
    parser.add_argument("--upstream", choices=("stub", "example", "glance"), default="stub")
    parser.add_argument("--serve-stub", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_stub:
        serve_stub()
        return

    with contextlib.ExitStack() as stack:
        if args.upstream == "glance":
            sys.path.insert(0, str(ROOT))
            from tests.glance_api import OWNER, glance_api, identity  # noqa: PLC0415

            api = stack.enter_context(glance_api())
            up_url, path = api.url, f"/v2/images/{api.create_image(OWNER, name='bench')['id']}"
            headers = {**identity(OWNER), "Content-Type": V21}
            rules = ["--rules", "glance", "--admin-header", "X-Roles"]
        else:
            if args.upstream == "stub":
                command = [sys.executable, __file__, "--serve-stub"]
            else:
                seed = str(ROOT / "examples" / "ims-sample-image.json")
                command = [sys.executable, str(ROOT / "examples" / "server.py"), "0",
                           "--seed", seed]  # fmt: skip
            upstream, up_url = start(command)
            stack.callback(stop, upstream)
            path, headers, rules = IMAGE, HEADERS, []
        proxy, px_url = start([sys.executable, "-m", "imspatch", "proxy", "--upstream", up_url,
                               "--listen", "127.0.0.1:0", "-q", *rules])  # fmt: skip
        stack.callback(stop, proxy)
        run_all(args, up_url, px_url, path, headers, proxy.pid)


def stop(process: subprocess.Popen[str]) -> None:
    process.terminate()
    process.wait(10)


def run_all(args, up_url, px_url, path, headers, proxy_pid) -> None:
    counts = [int(n) for n in args.clients.split(",")]
    print(f"upstream {args.upstream}, {args.seconds:g} s per run, {args.rounds} rounds, "
          f"Python {sys.version.split()[0]}, {os.cpu_count()} CPUs")  # fmt: skip
    scenarios = {
        "GET image": ("GET", None),
        "valid PATCH": ("PATCH", VALID),
        "409 on image": ("PATCH", CONFLICT),
        "403 on body": ("PATCH", READ_ONLY),
    }
    results: dict[tuple[int, str, str], list[dict]] = {}
    for _ in range(args.rounds):
        for clients in counts:
            for name, (method, body) in scenarios.items():
                for where, url in (("direct", up_url), ("proxy", px_url)):
                    run = asyncio.run(
                        load(url + path, method, body, clients, args.seconds, headers)
                    )
                    results.setdefault((clients, name, where), []).append(run)
    print(f"\n{'clients':>7} {'scenario':<14} {'via':<7} {'req/s':>7} {'p50 ms':>7} "
          f"{'p99 ms':>7}   added p50 / p99, req/s vs direct   statuses")  # fmt: skip
    for clients in counts:
        for name in scenarios:
            med = {}
            for where in ("direct", "proxy"):
                runs = results[(clients, name, where)]
                med[where] = {k: statistics.median(r[k] for r in runs)
                              for k in ("rps", "p50", "p99")}  # fmt: skip
                extra = ""
                if where == "proxy":
                    d, p = med["direct"], med["proxy"]
                    extra = (f"{p['p50'] - d['p50']:+.2f} / {p['p99'] - d['p99']:+.2f} ms, "
                             f"{p['rps'] / d['rps']:.0%}")  # fmt: skip
                m = med[where]
                print(f"{clients:>7} {name:<14} {where:<7} {m['rps']:>7.0f} {m['p50']:>7.2f} "
                      f"{m['p99']:>7.2f}   {extra:<32} {runs[-1]['statuses']}")  # fmt: skip

    if args.upload_mib and args.upstream == "stub":
        before = vm(proxy_pid, "VmHWM")
        speeds: dict[str, list[float]] = {"direct": [], "proxy": []}
        for _ in range(2):
            for where, url in (("direct", up_url), ("proxy", px_url)):
                speeds[where].append(asyncio.run(upload(url + path, args.upload_mib)))
        after = vm(proxy_pid, "VmHWM")
        d, p = max(speeds["direct"]), max(speeds["proxy"])
        print(f"\nupload of {args.upload_mib} MiB: direct {d:.0f} MiB/s, through the proxy "
              f"{p:.0f} MiB/s ({p / d:.0%}); proxy peak RSS {before} MiB before, "
              f"{after} MiB after")  # fmt: skip


if __name__ == "__main__":
    main()
