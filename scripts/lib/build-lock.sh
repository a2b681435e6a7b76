# Sourced by the scripts that build a program the tests need into a cache
# outside the repository (go-cached-build.sh, kube-binaries.sh,
# clients/go/test-binary.sh). setup.sh --test starts those builds in the
# background and a test may ask for the same program while it is still being
# built; the lock makes the second run wait and then find the stamp, instead
# of building the same thing a second time on the same two cores.
#
#   build_lock LABEL OUT_DIR
#     holds OUT_DIR.lock (a flock) until the calling script exits

build_lock() {
  local label=$1 out=$2
  mkdir -p "$(dirname "$out")"
  exec {build_lock_fd}>"$out.lock"
  if ! flock -n "$build_lock_fd"; then
    printf '[%s] waiting for the build already running (lock %s)\n' "$label" "$out.lock" >&2
    flock "$build_lock_fd"
  fi
}
