#!/usr/bin/env bash
# The whole test suite on a fresh machine: setup, build, unit + integration
# tests with coverage. Prints "N passed, N failed, N skipped" last.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh --test
exec npx --no-install c8 --reporter=text-summary --reporter=html --report-dir=coverage \
  --exclude='dist/test/**' --exclude='dist/bench/**' \
  mocha "$@"
