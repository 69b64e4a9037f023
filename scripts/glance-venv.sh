#!/usr/bin/env bash
# Builds (on first use) or reuses the virtual environment with upstream
# glance==33.0.0 that the differential suite (tests/differential/run.sh) and
# the real glance-api launcher (scripts/glance-api.sh) share, so CI builds
# Glance once.  Prints the venv's directory on standard output; progress goes
# to standard error.
#
# A venv that already holds glance 33.0.0 is reused as it is; only what is
# missing from the launcher's extras (the WSGI server) is added to it.
# With --check it builds nothing: it exits 1 unless the venv is complete.
#
# Environment:
#   IMSPATCH_GLANCE_VENV         where the venv lives         [<root>/.venv-glance]
#   IMSPATCH_GLANCE_BASE_PYTHON  interpreter that creates it  [python3]
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
venv=${IMSPATCH_GLANCE_VENV:-$root/.venv-glance}
base_python=${IMSPATCH_GLANCE_BASE_PYTHON:-python3}

# Libraries whose behaviour shows in a PATCH answer, at the versions the
# differential suite was validated with, and the WSGI server that runs
# glance-api; the rest resolves freely.
constraints='glance_store==5.7.0
jsonschema==4.26.0
oslo.config==10.7.0
oslo.db==18.1.1
oslo.policy==6.0.1
oslo.utils==10.2.0
SQLAlchemy==2.1.9
WebOb==1.8.11
WSME==0.13.0
waitress==3.0.2'
# Installed into the venv: Glance itself and the WSGI server.
requirements=(glance==33.0.0 waitress==3.0.2)

missing() {
    # Prints each requirement the venv lacks at exactly its pinned version.
    "$venv/bin/python" - "${requirements[@]}" <<'EOF' 2>/dev/null || printf '%s\n' "${requirements[@]}"
import importlib.metadata
import sys

for requirement in sys.argv[1:]:
    name, version = requirement.split("==")
    try:
        found = importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        found = None
    if found != version:
        print(requirement)
EOF
}

install() {
    printf '%s\n' "$constraints" >"$venv/constraints.txt"
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check \
        --constraint "$venv/constraints.txt" "$@" >&2
}

absent=$(missing)
if [ "${1:-}" = --check ]; then
    [ -z "$absent" ] || exit 1
    printf '%s\n' "$venv"
    exit 0
fi
if grep -qx 'glance==.*' <<<"$absent"; then
    echo "glance-venv.sh: building $venv with ${requirements[*]} (about 6 minutes)" >&2
    "$base_python" -m venv --clear "$venv"
    install "${requirements[@]}"
elif [ -n "$absent" ]; then
    echo "glance-venv.sh: adding" $absent "to $venv" >&2
    install $absent
fi

absent=$(missing)
if [ -n "$absent" ]; then
    echo "glance-venv.sh: $venv still lacks" $absent >&2
    exit 1
fi
printf '%s\n' "$venv"
