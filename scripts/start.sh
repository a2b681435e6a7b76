#!/usr/bin/env bash
# Starts IrisDB locally in the foreground; data stays in ./.irisdb and the
# next start resumes it. Ctrl-C stops it gracefully.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec node dist/node/main.js --data-dir "${IRIS_DATA_DIR:-.irisdb/node-0}" "$@"
