#!/usr/bin/env bash
# Builds the linearizability checker (tools/linearizability, a Go module of the
# project's own on Porcupine, MIT) into a cache OUTSIDE the repository, so a
# fresh clone (CI) reuses a previous build. Go's module and build caches are
# used as they are.
#
# Idempotent: a stamp holds the hash of everything the build depends on; when
# it matches, the script only prints the directory. Prints the bin directory
# as its last line on stdout (everything else goes to stderr).
#
#   scripts/porcupine.sh                build if needed, print the bin dir
#   IRIS_PORCUPINE_CACHE=DIR            override the cache root
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
mod="$repo/tools/linearizability"

log() { printf '[porcupine] %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

command -v go >/dev/null || die "go is not installed (needed to build the checker; Debian: golang-go >= 1.26)"

version="$(awk '{ for (i = 1; i < NF; i++) if ($i == "github.com/anishathalye/porcupine" && $(i + 1) ~ /^v/) { print $(i + 1); exit } }' "$mod/go.mod")"
[ -n "$version" ] || die "cannot read the pinned Porcupine version from $mod/go.mod"

cache_root="${IRIS_PORCUPINE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/irisdb}"
out="$cache_root/linearizability-$version"
bin="$out/bin"

stamp_want="$( {
  cat "$mod/go.mod" "$mod/go.sum" "$mod"/*.go "$0"
  go version
} | sha256sum | cut -d' ' -f1)"
stamp="$out/.stamp"
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$stamp_want" ] && [ -x "$bin/linearizability" ]; then
  log "up to date: checker on Porcupine $version in $bin"
  echo "$bin"
  exit 0
fi

start=$(date +%s)
mkdir -p "$out"
tmp="$(mktemp -d "$out/.build.XXXXXX")"
trap 'rm -rf "$tmp"' EXIT

log "building the checker on Porcupine $version into $bin"
(cd "$mod" && GOFLAGS="-mod=readonly -buildvcs=false" CGO_ENABLED=0 nice go build -trimpath \
  -ldflags "-s -w" -o "$tmp/linearizability" .)
[ -x "$tmp/linearizability" ] || die "the checker was not produced"

rm -rf "$bin"
chmod 755 "$tmp"
mv "$tmp" "$bin"
trap - EXIT
echo "$stamp_want" > "$stamp"
log "done in $(( $(date +%s) - start )) s: $bin"
echo "$bin"
