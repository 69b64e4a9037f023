#!/usr/bin/env bash
# Differential suite: imspatch (rules=GLANCE) against real upstream Glance 33.
#
# Builds a separate virtual environment with glance==33.0.0 (default
# .venv-glance in the repository root; reused while it holds that version),
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
venv=${IMSPATCH_GLANCE_VENV:-$root/.venv-glance}
base_python=${IMSPATCH_GLANCE_BASE_PYTHON:-python3}
test_python=${IMSPATCH_TEST_PYTHON:-python3}

has_glance() {
    "$venv/bin/python" - <<'EOF' 2>/dev/null
import importlib.metadata
import sys

sys.exit(importlib.metadata.version("glance") != "33.0.0")
EOF
}

if ! has_glance; then
    echo "run.sh: building $venv with glance==33.0.0" >&2
    "$base_python" -m venv --clear "$venv"
    # Libraries whose behaviour shows in a PATCH answer, at the versions the
    # suite was validated with; the rest resolves freely.
    cat >"$venv/constraints.txt" <<'EOF'
glance_store==5.7.0
jsonschema==4.26.0
oslo.config==10.7.0
oslo.db==18.1.1
oslo.policy==6.0.1
oslo.utils==10.2.0
SQLAlchemy==2.1.9
WebOb==1.8.11
WSME==0.13.0
EOF
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check \
        --constraint "$venv/constraints.txt" "glance==33.0.0"
    has_glance
fi

export IMSPATCH_GLANCE_PYTHON="$venv/bin/python"
cd "$root"
exec "$test_python" -m pytest -m differential tests/differential "$@"
