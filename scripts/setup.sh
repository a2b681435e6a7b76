#!/usr/bin/env bash
# Idempotent setup for a fresh machine: Debian packages (with --test), npm
# dependencies (better-sqlite3 builds from source against the local Node
# headers), and the TypeScript build. A second run only rebuilds what changed.
set -euo pipefail
cd "$(dirname "$0")/.."

want_test=0
want_start=0
for arg in "$@"; do
  case "$arg" in
    --test) want_test=1 ;;
    --start) want_start=1 ;;
    *) echo "setup.sh: unknown argument $arg" >&2; exit 2 ;;
  esac
done

log() { printf '[setup] %s\n' "$*" >&2; }

as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi
}

apt_install() {
  local missing=()
  for pkg in "$@"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || missing+=("$pkg")
  done
  if [ "${#missing[@]}" -gt 0 ]; then
    log "installing Debian packages: ${missing[*]}"
    as_root apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  fi
}

if [ "$want_test" = 1 ]; then
  # Reference implementations the tests and benchmarks compare against.
  apt_install redis-server redis-tools
  # A real browser for the dashboard test (driven by playwright-core, never its
  # own download) and a real Prometheus (server + promtool) for the alert rules.
  apt_install chromium prometheus
elif [ "$want_start" = 1 ]; then
  # redis-cli, which `npm start` tells the user to connect with; the cluster itself does not need it.
  apt_install redis-tools || log "could not install redis-tools (redis-cli); the cluster runs without it"
fi

# node-gyp must build native modules against the local headers: no internet.
if [ -z "${npm_config_nodedir:-}" ]; then
  npm_config_nodedir="$(dirname "$(dirname "$(command -v node)")")"
  export npm_config_nodedir
fi

lock_hash="$(sha256sum package-lock.json | cut -d' ' -f1)"
stamp=node_modules/.irisdb-lock-hash
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$lock_hash" ]; then
  log "installing npm dependencies (npm ci; better-sqlite3 compiles from source, ~90 s)"
  npm ci --no-audit --no-fund --loglevel=error
  echo "$lock_hash" > "$stamp"
fi

if [ "$want_test" = 1 ]; then bash scripts/kube-binaries.sh >/dev/null; fi # Kubernetes control plane for test/e2e
if [ "$want_test" = 1 ]; then bash scripts/s3-server.sh >/dev/null; fi # SeaweedFS S3 server for the backup tests
if [ "$want_test" = 1 ]; then bash scripts/otel-collector.sh >/dev/null; fi # OpenTelemetry Collector for the tracing tests
if [ "$want_test" = 1 ]; then bash scripts/porcupine.sh >/dev/null; fi # linearizability checker (Porcupine) for test/integration/linearizability-*
if [ "$want_test" = 1 ]; then bash scripts/cert-manager.sh >/dev/null; fi # cert-manager's controller and CRDs for test/e2e/cert-manager-tls
if [ "$want_test" = 1 ]; then bash clients/go/test-binary.sh >/dev/null; fi # the Go client's test binary for test/integration/clients-go

log "building TypeScript"
npx --no-install tsc -p tsconfig.json
