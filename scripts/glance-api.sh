#!/usr/bin/env bash
# Starts upstream glance-api (glance==33.0.0) on 127.0.0.1:PORT for tests
# (`0` picks a free port): SQLite and file stores in a temporary directory,
# no Keystone (the caller comes from X-Identity-Status / X-Project-Id /
# X-User-Id / X-Roles headers), the deployment imspatch's GLANCE rules model.
#
#   bash scripts/glance-api.sh 0
#   -> listening on http://127.0.0.1:PORT      (first line of stdout, once it answers)
#
# SIGTERM or Ctrl-C stops it and removes the temporary directory.  The Glance
# venv is built on first use and shared with tests/differential/run.sh
# (scripts/glance-venv.sh; IMSPATCH_GLANCE_VENV says where).  The server is
# scripts/glance_api_server.py, whose docstring describes the deployment.
set -euo pipefail

if [ $# != 1 ]; then
    echo "usage: bash scripts/glance-api.sh PORT   (0 picks a free port)" >&2
    exit 2
fi
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
venv=$(bash "$here/glance-venv.sh")
exec "$venv/bin/python" "$here/glance_api_server.py" "$1"
