#!/usr/bin/env bash
# Creates or updates ./.venv with liftmeter installed (editable). Skips pip when pyproject.toml
# has not changed since the last install. usage: scripts/bootstrap.sh [dev]
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
extras=${1:-}
PY=${PYTHON:-python3}
"$PY" -c 'import sys; sys.exit(sys.version_info < (3, 11))' \
  || { echo "liftmeter needs Python >= 3.11 (found $("$PY" --version 2>&1))" >&2; exit 1; }
[ -x .venv/bin/python ] || "$PY" -m venv .venv
spec=.; [ "$extras" = dev ] && spec=".[dev]"
stamp=.venv/.liftmeter-install
want="$(sha256sum pyproject.toml | cut -d' ' -f1) $spec"
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  echo "[bootstrap] installing liftmeter ($spec) into .venv" >&2
  .venv/bin/python -m pip install -q --upgrade pip
  # compat mode puts the checkout itself on sys.path, so new top-level packages need no reinstall
  .venv/bin/python -m pip install -q -e "$spec" --config-settings editable_mode=compat
  echo "$want" >"$stamp"
fi
