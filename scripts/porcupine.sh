#!/usr/bin/env bash
# Builds the linearizability checker (tools/linearizability, a Go module of the
# project's own on Porcupine, MIT) once into a cache outside the repository
# (scripts/lib/go-cached-build.sh). Prints the bin directory last.
#
#   scripts/porcupine.sh                build if needed, print the bin dir
#   IRIS_PORCUPINE_CACHE=DIR            override the cache root
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
mod="$repo/tools/linearizability"
. "$repo/scripts/lib/go-cached-build.sh"

version="$(awk '{ for (i = 1; i < NF; i++) if ($i == "github.com/anishathalye/porcupine" && $(i + 1) ~ /^v/) { print $(i + 1); exit } }' "$mod/go.mod")"
[ -n "$version" ] || { echo "[porcupine] error: cannot read the pinned Porcupine version from $mod/go.mod" >&2; exit 1; }

cache_root="${IRIS_PORCUPINE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/irisdb}"
go_cached_build porcupine "$mod" "$cache_root/linearizability-$version" linearizability . "$mod"/*.go
