#!/usr/bin/env bash
# The main job on embedded defaults (SQLite, embedded event log, local model): no services.
# usage: scripts/demo.sh [liftmeter demo options]   (see `liftmeter demo --help`)
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
scripts/bootstrap.sh
exec .venv/bin/liftmeter demo "$@"
