#!/usr/bin/env bash
# The pre-commit hook of this checkout, as a repository using it would run it:
# `pre-commit try-repo` installs the package from here and runs `imspatch-check`
# on a valid and an invalid patch file in a scratch git repository.
#   bash scripts/check-pre-commit-hook.sh        (CI: .ci/run; needs git and PyPI)
set -euo pipefail
PRE_COMMIT_VERSION=4.7.0 # pinned: a new release must not change CI on its own
repo="$(cd "$(dirname "$0")/.." && pwd)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
python3 -m venv "$work/venv"
"$work/venv/bin/pip" install -q "pre-commit==$PRE_COMMIT_VERSION"
export PRE_COMMIT_HOME="$work/cache"
git init -q "$work/target"
cd "$work/target"
mkdir patches
printf '[{"op": "replace", "path": "/name", "value": "web-01"}]\n' > patches/good.json
printf '[{"op": "remove", "path": "/name"}]\n' > patches/bad.json
printf '[{"op": "replace", "path": "/backup", "value": "daily"}]\n' > patches/warn.json
git add patches
try() { "$work/venv/bin/pre-commit" try-repo "$repo" imspatch-check --verbose "$@" 2>&1; }

out="$(try --files patches/good.json patches/warn.json)" || { echo "$out"; echo "FAIL: valid files rejected"; exit 1; }
grep -q 'patches/warn.json:0:/backup: warning 409 no_such_property' <<<"$out" || { echo "$out"; echo "FAIL: no warning shown"; exit 1; }
if out="$(try --files patches/bad.json)"; then echo "$out"; echo "FAIL: invalid file passed"; exit 1; fi
grep -q 'patches/bad.json:0:/name: 403 not_removable Property name may not be removed.' <<<"$out" || { echo "$out"; echo "FAIL: error line missing"; exit 1; }
echo "pre-commit $PRE_COMMIT_VERSION try-repo: imspatch-check passes good.json, warns on warn.json, fails bad.json"
