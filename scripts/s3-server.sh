#!/usr/bin/env bash
# Builds the S3-compatible server the backup tests run against: SeaweedFS's
# `weed` (Apache-2.0), pinned in tools/s3 (a Go module of the project's own),
# into a cache OUTSIDE the repository, so a fresh clone (CI) reuses a previous
# build. Go's module and build caches are used as they are.
#
# Idempotent: a stamp holds the hash of everything the build depends on; when
# it matches, the script only prints the directory. Prints the bin directory
# as its last line on stdout (everything else goes to stderr).
#
#   scripts/s3-server.sh                build if needed, print the bin dir
#   IRIS_S3_CACHE=DIR                   override the cache root
#   IRIS_S3_BUILD_JOBS=N                go build -p N (default: all cores)
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
mod="$repo/tools/s3"

log() { printf '[s3-server] %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

command -v go >/dev/null || die "go is not installed (needed to build SeaweedFS; Debian: golang-go >= 1.26)"

version="$(awk '$1 == "github.com/seaweedfs/seaweedfs" && $2 ~ /^v/ { print $2; exit }' "$mod/go.mod")"
[ -n "$version" ] || die "cannot read the pinned SeaweedFS version from $mod/go.mod"

cache_root="${IRIS_S3_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/irisdb}"
out="$cache_root/seaweedfs-$version"
bin="$out/bin"

stamp_want="$( {
  cat "$mod/go.mod" "$mod/go.sum" "$0"
  go version
} | sha256sum | cut -d' ' -f1)"
stamp="$out/.stamp"
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$stamp_want" ] && [ -x "$bin/weed" ]; then
  log "up to date: SeaweedFS $version in $bin"
  echo "$bin"
  exit 0
fi

start=$(date +%s)
mkdir -p "$out"
tmp="$(mktemp -d "$out/.build.XXXXXX")"
trap 'rm -rf "$tmp"' EXIT

jobs="${IRIS_S3_BUILD_JOBS:-$(nproc)}"
log "building SeaweedFS $version into $bin (cold: several minutes on 2 cores)"
(cd "$mod" && GOFLAGS="-mod=readonly -buildvcs=false" CGO_ENABLED=0 nice go build -p "$jobs" -trimpath \
  -ldflags "-s -w" -o "$tmp/weed" github.com/seaweedfs/seaweedfs/weed)
[ -x "$tmp/weed" ] || die "weed was not produced"
"$tmp/weed" version >&2

rm -rf "$bin"
chmod 755 "$tmp"
mv "$tmp" "$bin"
trap - EXIT
echo "$stamp_want" > "$stamp"
log "done in $(( $(date +%s) - start )) s: $bin"
echo "$bin"
