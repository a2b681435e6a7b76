#!/usr/bin/env bash
# npm run bench: setup (incl. redis-server and redis-benchmark), then the benchmarks.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh --test
exec node dist/bench/run.js "$@"
