"""How far a reader walks through the core for one request (issue 11, point 5).

    python benchmarks/walk.py                 # workload b, v2.1, IMS, warm and cold
    python benchmarks/walk.py --tree /tmp/base --dialect v2.0 --calls

Follows one ``patch_image`` call with ``sys.setprofile`` and records, for each
Python function of the engine that runs, the module it lives in (frames of
the standard library are transparent: a stay in ``_decode`` that calls
``json`` and comes back is one stay).  From that sequence:

* **modules**: distinct engine modules the request runs code in;
* **stays**: maximal runs of consecutive events in one module;
* **climbs**: stays entered by a *return* (the reader climbs back up a layer
  to a caller in another module);
* **revisits**: stays in a module the walk had already left (stays - modules).

*warm* is a request whose rule set has seen these paths before (what a
server does all day), *cold* the first one on a fresh rule set.
"""

from __future__ import annotations

import argparse
import importlib.util
import sys
from pathlib import Path
from types import FrameType, ModuleType
from typing import Any, NamedTuple

import workloads as wl


class Walk(NamedTuple):
    """The module sequence of one traced call, and what is counted from it."""

    stays: list[tuple[str, str]]  # (module, "call" or "return") per stay
    calls: list[str]  # module.function of every engine call, in order

    @property
    def modules(self) -> int:
        return len({module for module, _ in self.stays})

    @property
    def climbs(self) -> int:
        return sum(1 for _, how in self.stays[1:] if how == "return")

    @property
    def revisits(self) -> int:
        return len(self.stays) - self.modules


def load_tree(root: Path) -> ModuleType:
    """The ``imspatch`` package of the checkout *root* (named ``imspatch``)."""
    package = root.resolve() / "imspatch"
    spec = importlib.util.spec_from_file_location(
        "imspatch", package / "__init__.py", submodule_search_locations=[str(package)]
    )
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["imspatch"] = module
    spec.loader.exec_module(module)
    return module


def trace(call: Any, package: str = "imspatch", *, first_reads: bool = False) -> Walk:
    """Run *call* under a profiler hook and return its walk through *package*.

    With *first_reads*, a call of a function the walk has already entered is
    skipped with everything it calls: the walk of a reader who reads each
    function once, where it is first called.
    """
    stays: list[tuple[str, str]] = []
    calls: list[str] = []
    stack: list[str | None] = []  # engine module of each Python frame, None elsewhere
    seen: set[object] = set()
    skipping = 0  # depth inside a call skipped as already read

    def current() -> str | None:
        return next((m for m in reversed(stack) if m is not None), None)

    def enter(module: str | None, how: str) -> None:
        if module is not None and (not stays or stays[-1][0] != module):
            stays.append((module, how))

    def hook(frame: FrameType, event: str, _arg: object) -> None:
        nonlocal skipping
        if skipping:
            skipping += 1 if event == "call" else -1 if event == "return" else 0
            return
        if event == "call":
            name = frame.f_globals.get("__name__", "")
            module = name if name == package or name.startswith(package + ".") else None
            if first_reads and module is not None:
                if frame.f_code in seen:
                    skipping = 1
                    return
                seen.add(frame.f_code)
            stack.append(module)
            if module is not None:
                calls.append(f"{module.removeprefix(package + '.')}.{frame.f_code.co_name}")
                enter(module, "call")
        elif event == "return" and stack:
            stack.pop()
            enter(current(), "return")

    sys.setprofile(hook)
    try:
        call()
    finally:
        sys.setprofile(None)
    # the walk starts in patch_image; the caller's frame is not part of it
    return Walk(stays, calls)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tree", type=Path, default=wl.ROOT, help="checkout to trace")
    parser.add_argument("--workload", default="b", choices=sorted(wl.WORKLOADS))
    parser.add_argument("--dialect", default="v2.1", choices=sorted(wl.MEDIA_TYPES))
    parser.add_argument("--rules", default="ims", choices=("ims", "glance"))
    parser.add_argument("--calls", action="store_true", help="also list the stays")
    args = parser.parse_args(argv)

    lib = load_tree(args.tree)
    case = next(wl.cases({args.workload: wl.WORKLOADS[args.workload]}, (0,)))
    body = case.bodies[args.dialect]
    media_type = wl.MEDIA_TYPES[args.dialect]
    base = getattr(lib, args.rules.upper())
    patch_image = lib.patch_image  # imported here: the walk is the request's, not the import's
    print(f"# {args.tree}: workload {args.workload}, {args.dialect}, {args.rules}")
    # cold first, before any request has filled a cache; the modules are imported already
    for label, fresh, first_reads in (
        ("reader", True, True),
        ("cold", True, False),
        ("warm", False, False),
    ):
        rules = base.replace() if fresh else base
        if not fresh:
            patch_image(case.image, body, media_type=media_type, rules=rules)

        def run(rules: Any = rules) -> None:
            assert patch_image(case.image, body, media_type=media_type, rules=rules) == (
                case.result
            )

        walk = trace(run, first_reads=first_reads)
        print(
            f"{label}: {walk.modules} modules, {len(walk.stays)} stays, "
            f"{walk.climbs} climbs back up, {walk.revisits} returns to a module already left; "
            f"{len(walk.calls)} engine calls"
        )
        if args.calls:
            print("  calls: " + " ".join(walk.calls))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
