#!/usr/bin/env bash
# Debian's Chromium for the browser tests (tests/dashboards/test_browser.py).
# Playwright drives it through `executable_path`; Playwright's own browser download is
# never used (it needs the internet). Idempotent: does nothing when the binary exists.
#
# usage: scripts/chromium.sh
# Environment: LIFTMETER_TEST_CHROMIUM (default /usr/bin/chromium): the binary to check.
set -euo pipefail

CHROMIUM=${LIFTMETER_TEST_CHROMIUM:-/usr/bin/chromium}

log() { printf '[chromium] %s\n' "$*" >&2; }

if [ -x "$CHROMIUM" ]; then
  log "present: $("$CHROMIUM" --version 2>/dev/null || echo "$CHROMIUM")"
  exit 0
fi

SUDO=()
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || { log "error: not root and no sudo to install chromium"; exit 1; }
  SUDO=(sudo)
fi

log "installing Debian's chromium"
if ! "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive \
    apt-get install -y -q --no-install-recommends chromium >/dev/null 2>&1; then
  "${SUDO[@]}" apt-get update -q >/dev/null
  "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive \
    apt-get install -y -q --no-install-recommends chromium >/dev/null
fi

[ -x "$CHROMIUM" ] || { log "error: $CHROMIUM still missing after the install"; exit 1; }
log "installed: $("$CHROMIUM" --version 2>/dev/null || echo "$CHROMIUM")"
