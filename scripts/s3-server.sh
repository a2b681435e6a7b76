#!/usr/bin/env bash
# Builds the S3-compatible server the backup tests run against: SeaweedFS's
# `weed` (Apache-2.0), pinned in tools/s3 (a Go module of the project's own),
# once into a cache outside the repository (scripts/lib/go-cached-build.sh;
# cold: several minutes on 2 cores). Prints the bin directory last.
#
#   scripts/s3-server.sh                build if needed, print the bin dir
#   IRIS_S3_CACHE=DIR                   override the cache root
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
mod="$repo/tools/s3"
. "$repo/scripts/lib/go-cached-build.sh"

version="$(awk '$1 == "github.com/seaweedfs/seaweedfs" && $2 ~ /^v/ { print $2; exit }' "$mod/go.mod")"
[ -n "$version" ] || { echo "[s3-server] error: cannot read the pinned SeaweedFS version from $mod/go.mod" >&2; exit 1; }

cache_root="${IRIS_S3_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/irisdb}"
go_cached_build s3-server "$mod" "$cache_root/seaweedfs-$version" weed github.com/seaweedfs/seaweedfs/weed
