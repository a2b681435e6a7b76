#!/usr/bin/env bash
# Builds the Go programs the test suite runs, each into its cache outside the
# repository by its own script (stamped: a second run is a no-op; locked by
# scripts/lib/build-lock.sh: a run that finds a build under way waits for it).
# Two groups, by when the suite (mocha: unit, integration, e2e, each
# alphabetically) first needs them; each builds one program after the other,
# in the order the suite needs them, and goes on past a failure (the test
# that needs the program then builds it itself and shows the error):
#   early  the SeaweedFS S3 server (backup-*-s3, 2-3 minutes into the suite:
#          setup.sh waits for it)
#   late   the Go client's tests (clients-go), the go-redis check
#          (cluster-clients), Porcupine (linearizability-*, ~10 min in), the
#          OpenTelemetry Collector (tracing-*, ~22 min in), the Kubernetes
#          control plane (test/e2e, ~25 min in; kubectl and helm come from an
#          npm package, so this group needs node_modules), cert-manager
#
#   scripts/go-tools.sh early|late|all
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
log() { printf '[go-tools] %s\n' "$*" >&2; }

early=(scripts/s3-server.sh)
late=(clients/go/test-binary.sh scripts/go-cluster-check.sh scripts/porcupine.sh scripts/otel-collector.sh
  scripts/kube-binaries.sh scripts/cert-manager.sh)

case "${1:-all}" in
  early) scripts=("${early[@]}") ;;
  late) scripts=("${late[@]}") ;;
  all) scripts=("${early[@]}" "${late[@]}") ;;
  *) echo "go-tools.sh: unknown group $1 (early, late or all)" >&2; exit 2 ;;
esac

failed=()
for s in "${scripts[@]}"; do
  t0=$(date +%s)
  if bash "$repo/$s" >/dev/null; then
    log "$s: $(( $(date +%s) - t0 )) s (load average $(cut -d' ' -f1-3 /proc/loadavg))"
  else
    log "$s failed after $(( $(date +%s) - t0 )) s"
    failed+=("$s")
  fi
done
[ "${#failed[@]}" = 0 ] || { log "failed: ${failed[*]}"; exit 1; }
