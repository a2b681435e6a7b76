#!/usr/bin/env bash
# Builds the go-redis ClusterClient check (tools/go-cluster-check, a Go module
# of the project's own) that test/integration/cluster-clients runs, once into
# a cache outside the repository (scripts/lib/go-cached-build.sh). Prints the
# bin directory last.
#
#   scripts/go-cluster-check.sh         build if needed, print the bin dir
#   IRIS_GO_CHECK_CACHE=DIR             override the cache root
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
mod="$repo/tools/go-cluster-check"
. "$repo/scripts/lib/go-cached-build.sh"

cache_root="${IRIS_GO_CHECK_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/irisdb}"
go_cached_build go-cluster-check "$mod" "$cache_root/go-cluster-check" go-cluster-check . "$mod/main.go"
