#!/usr/bin/env bash
# Builds the OpenTelemetry Collector the tracing tests export to: the
# Collector's own Go modules with only the OTLP receiver and the file exporter
# (tools/otel, a Go module of the project's own), once into a cache outside
# the repository (scripts/lib/go-cached-build.sh; cold: a few minutes on 2
# cores). Prints the bin directory last.
#
#   scripts/otel-collector.sh           build if needed, print the bin dir
#   IRIS_OTEL_CACHE=DIR                 override the cache root
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
mod="$repo/tools/otel"
. "$repo/scripts/lib/go-cached-build.sh"

version="$(awk '$1 == "go.opentelemetry.io/collector/otelcol" && $2 ~ /^v/ { print $2; exit }' "$mod/go.mod")"
[ -n "$version" ] || { echo "[otel-collector] error: cannot read the pinned Collector version from $mod/go.mod" >&2; exit 1; }

cache_root="${IRIS_OTEL_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/irisdb}"
go_cached_build otel-collector "$mod" "$cache_root/otelcol-$version" otelcol-irisdb . "$mod/main.go"
