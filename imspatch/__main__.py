"""``python -m imspatch``: the ``imspatch`` command."""

from imspatch.cli import main

raise SystemExit(main())
