#!/usr/bin/env bash
# Builds (on first use) or reuses the virtual environment with upstream
# glance==33.0.0 that the differential suite (tests/differential/run.sh) and
# the real glance-api launcher (scripts/glance-api.sh) share, so CI builds
# Glance once.  Prints the venv's directory on standard output; progress goes
# to standard error.
#
# A venv that already holds glance 33.0.0 is reused; if it lacks one of the
# pins below (the WSGI server, say, in a venv built for the differential suite
# alone), the pins are installed into it.  With --check it builds nothing: it
# exits 1 unless the venv holds every pin.
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
constraints=(
    glance_store==5.7.0
    jsonschema==4.26.0
    oslo.config==10.7.0
    oslo.db==18.1.1
    oslo.policy==6.0.1
    oslo.utils==10.2.0
    SQLAlchemy==2.1.9
    WebOb==1.8.11
    WSME==0.13.0
    waitress==3.0.2
)
# Installed into the venv: Glance itself and the WSGI server.
requirements=(glance==33.0.0 waitress==3.0.2)

missing() {
    # Prints each pin the venv does not hold (all of them if it has no Python).
    "$venv/bin/python" - "${requirements[@]}" "${constraints[@]}" <<'EOF' 2>/dev/null \
        || printf '%s\n' "${requirements[@]}"
import importlib.metadata
import sys

for pin in dict.fromkeys(sys.argv[1:]):
    name, version = pin.split("==")
    try:
        found = importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        found = None
    if found != version:
        print(pin)
EOF
}

install() {
    printf '%s\n' "${constraints[@]}" >"$venv/constraints.txt"
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check \
        --constraint "$venv/constraints.txt" "${requirements[@]}" >&2
}

absent=$(missing)
if [ "${1:-}" = --check ]; then
    [ -z "$absent" ] || exit 1
elif grep -qx 'glance==.*' <<<"$absent"; then
    echo "glance-venv.sh: building $venv with ${requirements[*]} (a few minutes)" >&2
    "$base_python" -m venv --clear "$venv"
    install
elif [ -n "$absent" ]; then
    echo "glance-venv.sh: installing" $absent "into $venv" >&2
    install
fi

absent=$(missing)
if [ -n "$absent" ]; then
    echo "glance-venv.sh: $venv still lacks" $absent >&2
    exit 1
fi
printf '%s\n' "$venv"
