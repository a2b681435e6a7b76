#!/usr/bin/env bash
# The whole test suite on a fresh machine: setup (Debian packages, npm deps,
# Kubernetes test binaries), build, then unit, integration and e2e tests with
# coverage. Prints "N passed, N failed, N skipped" last.
# Arguments, if any, replace the default spec list (e.g. one compiled test file).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh --test
if [ "$#" -eq 0 ]; then
  set -- 'dist/test/unit/**/*.test.js' 'dist/test/integration/**/*.test.js' 'dist/test/e2e/**/*.test.js'
fi
exec npx --no-install c8 --reporter=text-summary --reporter=html --report-dir=coverage \
  --exclude='dist/test/**' --exclude='dist/bench/**' \
  mocha "$@"
