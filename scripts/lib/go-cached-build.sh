# Sourced by the scripts that build a Go program the tests need (porcupine.sh,
# s3-server.sh, otel-collector.sh): builds it once into a cache OUTSIDE the
# repository, so a fresh clone (CI) reuses a previous build; Go's module and
# build caches are used as they are.
#
# Idempotent: a stamp holds the hash of everything the build depends on (the
# files given, the calling script, this file and the Go toolchain); when it
# matches, nothing is built. Prints the bin directory as its last line on
# stdout (everything else goes to stderr).
#
#   go_cached_build LABEL MODULE_DIR OUT_DIR BINARY TARGET [STAMP_FILE...]
#     LABEL       the log prefix and what the messages call the program
#     MODULE_DIR  the Go module of the project's own that pins it (tools/…)
#     OUT_DIR     the cache directory for this version; the binary lands in OUT_DIR/bin
#     BINARY      the file name of the binary
#     TARGET      the package to build ("." for the module's own main)
#     STAMP_FILE  more files whose content the build depends on (go.mod and go.sum are always in)
#   IRIS_GO_BUILD_JOBS=N   go build -p N (default: all cores)

. "$(dirname "${BASH_SOURCE[0]}")/build-lock.sh"

go_cached_build() {
  local label=$1 mod=$2 out=$3 binary=$4 target=$5
  shift 5
  local bin="$out/bin"
  local log_prefix="[$label]"
  command -v go >/dev/null || { printf '%s error: go is not installed (Debian: golang-go >= 1.26)\n' "$log_prefix" >&2; return 1; }

  build_lock "$label" "$out"
  local stamp_want
  stamp_want="$( {
    cat "$mod/go.mod" "$mod/go.sum" "$@" "$0" "${BASH_SOURCE[0]}"
    go version
  } | sha256sum | cut -d' ' -f1)"
  local stamp="$out/.stamp"
  if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$stamp_want" ] && [ -x "$bin/$binary" ]; then
    printf '%s up to date: %s\n' "$log_prefix" "$bin" >&2
    echo "$bin"
    return 0
  fi

  local start tmp jobs
  start=$(date +%s)
  mkdir -p "$out"
  tmp="$(mktemp -d "$out/.build.XXXXXX")"
  jobs="${IRIS_GO_BUILD_JOBS:-$(nproc)}"
  printf '%s building %s into %s\n' "$log_prefix" "$binary" "$bin" >&2
  if ! (cd "$mod" && GOFLAGS="-mod=readonly -buildvcs=false" CGO_ENABLED=0 nice go build -p "$jobs" -trimpath \
    -ldflags "-s -w" -o "$tmp/$binary" "$target") || [ ! -x "$tmp/$binary" ]; then
    rm -rf "$tmp"
    printf '%s error: %s was not produced\n' "$log_prefix" "$binary" >&2
    return 1
  fi
  rm -rf "$bin"
  chmod 755 "$tmp"
  mv "$tmp" "$bin"
  echo "$stamp_want" > "$stamp"
  printf '%s done in %s s: %s\n' "$log_prefix" "$(( $(date +%s) - start ))" "$bin" >&2
  echo "$bin"
}
