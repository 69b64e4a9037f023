"""Coverage-guided fuzzing of imspatch with atheris (optional; ``pip install atheris``).

    python tests/fuzz/atheris_harness.py -max_total_time=60 /tmp/imspatch-corpus tests/corpus

libFuzzer writes new interesting inputs to the *first* corpus directory: give
it a scratch directory and copy worth-keeping finds (small ones) into
``tests/corpus`` as ``found-<name>``.  Each input is a selector byte (media
type, rule set, image, admin flag) followed by the body; half the time the
body is first put through the structured mutators of ``mutations.py``.
Every input runs :func:`target.check`: any exception other than
``PatchError`` from the public API, a mutated image, a long or raw message,
readers that disagree, or a CPU budget overrun is a crash.
"""

from __future__ import annotations

import random
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import atheris  # type: ignore[import-untyped,import-not-found,unused-ignore]

with atheris.instrument_imports():
    import imspatch  # noqa: F401
    from tests.fuzz import mutations, target

#: CPU seconds per input (libFuzzer's -max_len keeps inputs small).
CPU_BUDGET = 2.0


def test_one_input(data: bytes) -> None:
    request = target.split(data)
    target.check(request, cpu_budget=CPU_BUDGET)
    if len(data) > 2 and data[-1] & 1:
        hostile = mutations.mutate(request.body, random.Random(data[-2]))
        target.check(request._replace(body=hostile), cpu_budget=CPU_BUDGET)


def main(argv: list[str] | None = None) -> None:
    argv = list(sys.argv if argv is None else argv)
    if not any(arg.startswith("-max_len") for arg in argv):
        argv.insert(1, "-max_len=8192")
    atheris.Setup(argv, test_one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
