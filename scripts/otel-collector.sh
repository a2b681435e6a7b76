#!/usr/bin/env bash
# Builds the OpenTelemetry Collector the tracing tests export to: the
# Collector's own Go modules with only the OTLP receiver and the file
# exporter (tools/otel, a Go module of the project's own), into a cache
# OUTSIDE the repository, so a fresh clone (CI) reuses a previous build.
# Go's module and build caches are used as they are.
#
# Idempotent: a stamp holds the hash of everything the build depends on; when
# it matches, the script only prints the directory. Prints the bin directory
# as its last line on stdout (everything else goes to stderr).
#
#   scripts/otel-collector.sh           build if needed, print the bin dir
#   IRIS_OTEL_CACHE=DIR                 override the cache root
#   IRIS_OTEL_BUILD_JOBS=N              go build -p N (default: all cores)
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
mod="$repo/tools/otel"

log() { printf '[otel-collector] %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

command -v go >/dev/null || die "go is not installed (needed to build the OpenTelemetry Collector; Debian: golang-go >= 1.26)"

version="$(awk '$1 == "go.opentelemetry.io/collector/otelcol" && $2 ~ /^v/ { print $2; exit }' "$mod/go.mod")"
[ -n "$version" ] || die "cannot read the pinned Collector version from $mod/go.mod"

cache_root="${IRIS_OTEL_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/irisdb}"
out="$cache_root/otelcol-$version"
bin="$out/bin"

stamp_want="$( {
  cat "$mod/go.mod" "$mod/go.sum" "$mod/main.go" "$0"
  go version
} | sha256sum | cut -d' ' -f1)"
stamp="$out/.stamp"
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$stamp_want" ] && [ -x "$bin/otelcol-irisdb" ]; then
  log "up to date: OpenTelemetry Collector $version in $bin"
  echo "$bin"
  exit 0
fi

start=$(date +%s)
mkdir -p "$out"
tmp="$(mktemp -d "$out/.build.XXXXXX")"
trap 'rm -rf "$tmp"' EXIT

jobs="${IRIS_OTEL_BUILD_JOBS:-$(nproc)}"
log "building the OpenTelemetry Collector $version (OTLP receiver, file exporter) into $bin (cold: a few minutes on 2 cores)"
(cd "$mod" && GOFLAGS="-mod=readonly -buildvcs=false" CGO_ENABLED=0 nice go build -p "$jobs" -trimpath \
  -ldflags "-s -w" -o "$tmp/otelcol-irisdb" .)
[ -x "$tmp/otelcol-irisdb" ] || die "otelcol-irisdb was not produced"
"$tmp/otelcol-irisdb" --version >&2

rm -rf "$bin"
chmod 755 "$tmp"
mv "$tmp" "$bin"
trap - EXIT
echo "$stamp_want" > "$stamp"
log "done in $(( $(date +%s) - start )) s: $bin"
echo "$bin"
