#!/usr/bin/env bash
# Starts a local IrisDB cluster in the foreground (3 shards × 1 replica by
# default): `irisctl local up`. Its data stays in ./.irisdb and the next
# start resumes it; Ctrl-C stops it gracefully. Extra arguments go to
# `irisctl local up` (e.g. `npm start -- --shards 4 --base-port 8000`).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh --start
exec node dist/operator/cli/irisctl.js local up "$@"
