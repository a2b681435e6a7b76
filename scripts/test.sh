#!/usr/bin/env bash
# The whole test suite on a fresh machine: setup (Debian packages, npm deps,
# the Go test programs), build, then unit, integration and e2e tests with
# coverage. Prints "N passed, N failed, N skipped" last.
# Arguments, if any, replace the default spec list (e.g. one compiled test file).
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "$#" -eq 0 ]; then
  # The whole suite: the late Go test programs (Porcupine, the Collector, the
  # Kubernetes control plane, ...) go on building while the unit and
  # integration tests run; a test that needs one waits on its build lock.
  bash scripts/setup.sh --test --go-background
  set -- 'dist/test/unit/**/*.test.js' 'dist/test/integration/**/*.test.js' 'dist/test/e2e/**/*.test.js'
else
  bash scripts/setup.sh --test
fi
# A run that ends before test/e2e needed the background build stops it (builds land by rename: the cache stays consistent).
stop_background_build() {
  local pidfile pgid
  pidfile="${XDG_CACHE_HOME:-$HOME/.cache}/irisdb/go-tools-late.pid"
  [ -f "$pidfile" ] || return 0
  pgid="$(cat "$pidfile")"
  rm -f "$pidfile"
  if ps -o args= -p "$pgid" 2>/dev/null | grep -q 'go-tools.sh late'; then kill -- "-$pgid" 2>/dev/null || true; fi
}
trap stop_background_build EXIT
# --merge-async: ~1,200 processes leave ~3 GB of raw V8 coverage; merging it all in memory at once ran
# the report out of heap (4 GB) in CI on 2026-12-06; merged incrementally it peaks near 0.5 GB.
npx --no-install c8 --merge-async --reporter=text-summary --reporter=html --report-dir=coverage \
  --exclude='dist/test/**' --exclude='dist/bench/**' \
  mocha "$@"
