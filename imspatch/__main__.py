"""``python -m imspatch``: the ``imspatch`` command."""

from imspatch.cli import main

if __name__ == "__main__":  # not when ``check --jobs`` workers import it
    raise SystemExit(main())
