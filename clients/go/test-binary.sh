#!/usr/bin/env bash
# Builds the Go client's test binary (`go test -c`) into a cache OUTSIDE the
# repository, keyed by a stamp of its sources, so test/integration/clients-go
# runs it without compiling (a second run is a no-op). Prints the binary's
# path as its last line on stdout (everything else goes to stderr).
#
#   clients/go/test-binary.sh           build if needed, print the path
#   IRIS_CLIENTS_GO_CACHE=DIR           override the cache root
set -euo pipefail
mod="$(cd "$(dirname "$0")" && pwd)"
. "$mod/../../scripts/lib/build-lock.sh"
log() { printf '[clients-go] %s\n' "$*" >&2; }
command -v go >/dev/null || { log "error: go is not installed (Debian: golang-go >= 1.26)"; exit 1; }

out="${IRIS_CLIENTS_GO_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/irisdb}/clients-go"
bin="$out/iris.test"
build_lock clients-go "$out"
stamp_want="$( { cat "$mod/go.mod" "$mod/go.sum" "$mod"/*.go "$0"; go version; } | sha256sum | cut -d' ' -f1)"
if [ -f "$out/.stamp" ] && [ "$(cat "$out/.stamp")" = "$stamp_want" ] && [ -x "$bin" ]; then
  log "up to date: $bin"
  echo "$bin"
  exit 0
fi
mkdir -p "$out"
log "building the Go client's tests into $bin"
(cd "$mod" && GOFLAGS="-mod=readonly -buildvcs=false" CGO_ENABLED=0 nice go test -c -o "$bin.tmp" .)
mv "$bin.tmp" "$bin"
echo "$stamp_want" > "$out/.stamp"
echo "$bin"
