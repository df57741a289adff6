#!/usr/bin/env bash
# The test command: sets up .venv with the dev extras, installs and starts real PostgreSQL and
# a real Kafka broker on 127.0.0.1, Debian's Chromium for the browser tests, lints, runs pytest, and stops the services it started.
# usage: scripts/test.sh [pytest arguments]
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
scripts/bootstrap.sh dev || exit 1

export LIFTMETER_PG_PORT=${LIFTMETER_PG_PORT:-5544}
export LIFTMETER_KAFKA_PORT=${LIFTMETER_KAFKA_PORT:-19092}
started=()
status=$(scripts/services.sh status)
for svc in postgres kafka; do
  grep -q "^$svc: up" <<<"$status" || started+=("$svc")
done
stop_started() { for svc in "${started[@]+"${started[@]}"}"; do scripts/services.sh down "$svc"; done; }
trap stop_started EXIT
scripts/services.sh up all || exit 1
scripts/chromium.sh || exit 1

export LIFTMETER_TEST_REQUIRE_SERVICES=1
export LIFTMETER_TEST_PG_URL="postgresql+psycopg://postgres@127.0.0.1:$LIFTMETER_PG_PORT/postgres"
export LIFTMETER_TEST_KAFKA_SERVERS="127.0.0.1:$LIFTMETER_KAFKA_PORT"

echo "[test] ruff" >&2
.venv/bin/ruff check . || exit 1
echo "[test] mypy --strict" >&2
.venv/bin/mypy || exit 1
echo "[test] pytest" >&2
.venv/bin/python -m pytest "$@"
rc=$?
if [ "$rc" -eq 5 ]; then echo "[test] pytest collected no tests: failing" >&2; rc=1; fi
exit "$rc"
