#!/usr/bin/env bash
# Idempotent setup for a fresh machine: Debian packages (with --test), npm
# dependencies (better-sqlite3 builds from source against the local Node
# headers), and the TypeScript build. A second run only rebuilds what changed.
#
# With --test it also builds the Go programs the tests run (scripts/go-tools.sh,
# cached outside the repository; cold, the longest part of a fresh machine's
# setup). They build in the background from the start, while apt, npm ci and
# tsc run (mostly single-threaded: a core would be idle), and setup waits for
# them at the end. With --go-background (scripts/test.sh, whole suite) it
# waits only for the early group (the S3 server, needed 2-3 minutes into the
# suite); the late group goes on building while the tests run, in the order
# the suite needs it, and a test that needs a program still being built waits
# on its build lock. The late group's process group id is written to
# ~/.cache/irisdb/go-tools-late.pid for test.sh to stop it if the run ends first.
set -euo pipefail
cd "$(dirname "$0")/.."

want_test=0
want_start=0
go_background=0
for arg in "$@"; do
  case "$arg" in
    --test) want_test=1 ;;
    --start) want_start=1 ;;
    --go-background) go_background=1 ;;
    *) echo "setup.sh: unknown argument $arg" >&2; exit 2 ;;
  esac
done

log() { printf '[setup] %s\n' "$*" >&2; }

# The Go test programs, built by scripts/go-tools.sh in the background.
go_logs="${XDG_CACHE_HOME:-$HOME/.cache}/irisdb"
declare -A go_pid=()
go_start() { # early|late
  mkdir -p "$go_logs"
  # The build scripts run go at nice +10: the early group stays there, ahead of the late group (+19), which
  # must not slow what setup waits for, nor the tests it runs beside. setsid: a process group of its own,
  # so that a failing setup (or test.sh) stops the whole build.
  local niceness=0
  if [ "$1" = late ]; then niceness=9; fi
  setsid nice -n "$niceness" bash scripts/go-tools.sh "$1" >"$go_logs/go-tools-$1.log" 2>&1 &
  go_pid[$1]=$!
  log "building the Go test programs ($1 group) in the background; log: $go_logs/go-tools-$1.log"
}
go_wait() { # early|late
  local t0
  t0=$(date +%s)
  if ! wait "${go_pid[$1]}"; then
    tail -n 40 "$go_logs/go-tools-$1.log" >&2
    log "error: building the Go test programs ($1 group) failed; log: $go_logs/go-tools-$1.log"
    exit 1
  fi
  unset "go_pid[$1]"
  log "Go test programs ($1 group) ready, waited $(( $(date +%s) - t0 )) s; log: $go_logs/go-tools-$1.log"
}
stop_go_tools() { local p; for p in "${go_pid[@]}"; do kill -- "-$p" 2>/dev/null || true; done; }
trap 'rc=$?; [ "$rc" = 0 ] || stop_go_tools' EXIT
if [ "$want_test" = 1 ]; then go_start early; fi

as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi
}

apt_install() {
  local missing=()
  for pkg in "$@"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || missing+=("$pkg")
  done
  if [ "${#missing[@]}" -gt 0 ]; then
    log "installing Debian packages: ${missing[*]}"
    as_root apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  fi
}

if [ "$want_test" = 1 ]; then
  # Reference implementations the tests and benchmarks compare against.
  apt_install redis-server redis-tools
  # A real browser for the dashboard test (driven by playwright-core, never its
  # own download) and a real Prometheus (server + promtool) for the alert rules.
  apt_install chromium prometheus
elif [ "$want_start" = 1 ]; then
  # redis-cli, which `npm start` tells the user to connect with; the cluster itself does not need it.
  apt_install redis-tools || log "could not install redis-tools (redis-cli); the cluster runs without it"
fi

# node-gyp must build native modules against the local headers: no internet.
if [ -z "${npm_config_nodedir:-}" ]; then
  npm_config_nodedir="$(dirname "$(dirname "$(command -v node)")")"
  export npm_config_nodedir
fi

lock_hash="$(sha256sum package-lock.json | cut -d' ' -f1)"
stamp=node_modules/.irisdb-lock-hash
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$lock_hash" ]; then
  log "installing npm dependencies (npm ci; better-sqlite3 compiles from source, ~90 s)"
  npm ci --no-audit --no-fund --loglevel=error
  echo "$lock_hash" > "$stamp"
fi

# The late group: the rest, the Kubernetes control plane last (it takes kubectl and helm from node_modules).
if [ "$want_test" = 1 ]; then go_start late; fi

bash scripts/lib/tsc-if-changed.sh

if [ "$want_test" = 1 ]; then
  go_wait early
  if [ "$go_background" = 1 ]; then
    echo "${go_pid[late]}" > "$go_logs/go-tools-late.pid"
    log "the late group goes on building in the background (a test that needs one of its programs waits for it); log: $go_logs/go-tools-late.log"
  else
    go_wait late
  fi
fi
