#!/usr/bin/env bash
# Differential suite: imspatch (rules=GLANCE) against real upstream Glance 33.
#
# Builds a separate virtual environment with glance==33.0.0 (default
# .venv-glance in the repository root; reused while it holds that version;
# scripts/glance-venv.sh builds it, for this suite and scripts/glance-api.sh),
# then runs `pytest -m differential tests/differential` with the project's
# test interpreter, pointing the suite at the Glance one.  Extra arguments go
# to pytest.
#
# Environment:
#   IMSPATCH_GLANCE_VENV            where to build the Glance venv  [<root>/.venv-glance]
#   IMSPATCH_GLANCE_BASE_PYTHON     interpreter that creates it     [python3]
#   IMSPATCH_TEST_PYTHON            interpreter with imspatch, pytest and hypothesis [python3]
#   IMSPATCH_DIFFERENTIAL_EXAMPLES  hypothesis examples             [2000]
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
test_python=${IMSPATCH_TEST_PYTHON:-python3}
venv=$(bash "$root/scripts/glance-venv.sh")

export IMSPATCH_GLANCE_PYTHON="$venv/bin/python"
cd "$root"
exec "$test_python" -m pytest -m differential tests/differential "$@"
