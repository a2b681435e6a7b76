#!/usr/bin/env bash
# Builds cert-manager's certificate and issuer controllers (tools/cert-manager,
# a small main over the published github.com/cert-manager/cert-manager module)
# and copies that module's CRDs, into a cache OUTSIDE the repository, for the
# e2e tests of spec.tls.certManager (test/support/kube/cert-manager.ts).
# Only the one controller binary, -trimpath, no cgo, stripped.
#
# Idempotent: a stamp holds the hash of everything the build depends on; when
# it matches, the script only prints the directory. Prints the output
# directory (bin/cert-manager-controller, crds/*.yaml) as its last line on
# stdout (everything else goes to stderr).
#
#   scripts/cert-manager.sh             build if needed, print the dir
#   IRIS_KUBE_CACHE=DIR                 override the cache root
#   IRIS_KUBE_BUILD_JOBS=N              go build -p N (default: all cores)
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
mod="$repo/tools/cert-manager"

log() { printf '[cert-manager] %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

command -v go >/dev/null || die "go is not installed (needed to build cert-manager's controller; Debian: golang-go >= 1.26)"
version="$(awk '$1 == "github.com/cert-manager/cert-manager" && $2 ~ /^v/ { print $2; exit }' "$mod/go.mod")"
[ -n "$version" ] || die "cannot read the pinned cert-manager version from $mod/go.mod"

cache_root="${IRIS_KUBE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/irisdb}"
out="$cache_root/cert-manager-$version"
# One build at a time (setup.sh may build it in the background while a test
# asks for it): a second run waits for the lock, then finds the stamp.
. "$(dirname "$0")/lib/build-lock.sh"
build_lock cert-manager "$out"
stamp_want="$( { cat "$mod/go.mod" "$mod/go.sum" "$mod/main.go" "$0"; go version; } | sha256sum | cut -d' ' -f1)"
stamp="$out/.stamp"
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$stamp_want" ] && [ -x "$out/bin/cert-manager-controller" ] \
  && [ -f "$out/crds/cert-manager.io_certificates.yaml" ]; then
  log "up to date: cert-manager $version in $out"
  echo "$out"
  exit 0
fi

start=$(date +%s)
mkdir -p "$out"
tmp="$(mktemp -d "$out/.build.XXXXXX")"
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/bin" "$tmp/crds"
log "building cert-manager $version's controller into $out (cold: a few minutes on 2 cores)"
(cd "$mod" && GOFLAGS="-mod=readonly -buildvcs=false" CGO_ENABLED=0 nice go build -p "${IRIS_KUBE_BUILD_JOBS:-$(nproc)}" -trimpath \
  -ldflags "-s -w -X github.com/cert-manager/cert-manager/pkg/util.AppVersion=$version" -o "$tmp/bin/cert-manager-controller" .)
src="$(cd "$mod" && go list -m -f '{{.Dir}}' github.com/cert-manager/cert-manager)"
[ -d "$src/deploy/crds" ] || die "no deploy/crds in $src"
# Only the cert-manager.io kinds (the ACME ones need the acme controllers, not built).
cp "$src"/deploy/crds/cert-manager.io_*.yaml "$tmp/crds/"
chmod -R u+w "$tmp"
[ -x "$tmp/bin/cert-manager-controller" ] || die "cert-manager-controller was not produced"

rm -rf "$out/bin" "$out/crds"
mv "$tmp/bin" "$tmp/crds" "$out/"
echo "$stamp_want" > "$stamp"
log "done in $(( $(date +%s) - start )) s: $out"
echo "$out"
