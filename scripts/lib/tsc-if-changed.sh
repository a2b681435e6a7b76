#!/usr/bin/env bash
# The TypeScript build of setup.sh, skipped when no file it compiles changed
# since the last build that succeeded. A no-op `tsc -p tsconfig.json` still
# parses and checks everything (~9 s of CPU); `npm start` runs setup every
# time, so a second start with nothing edited (and the npm start test, twice
# per suite run) paid it for nothing.
#
# dist/.tsc-stamp's mtime is taken just BEFORE the build reads any source, so
# a file saved while tsc runs is newer than the stamp and rebuilds next time.
# To force a build: rm dist/.tsc-stamp (or run `npx tsc -p tsconfig.json`).
set -euo pipefail
cd "$(dirname "$0")/../.."

stamp=dist/.tsc-stamp
# What tsconfig.json includes, the JSON it imports, and what changes the types (tsconfig, the lock file).
inputs=(common node operator test bench clients/ts/src tsconfig.json package-lock.json)
changed() {
  [ -f "$stamp" ] || return 0
  [ -n "$(find "${inputs[@]}" -newer "$stamp" \( -name '*.ts' -o -name '*.json' \) -print -quit 2>/dev/null)" ]
}

if ! changed; then
  printf '[setup] TypeScript build up to date (no source newer than %s)\n' "$stamp" >&2
  exit 0
fi
printf '[setup] building TypeScript\n' >&2
mkdir -p dist
next="$(mktemp dist/.tsc-stamp.XXXXXX)"
trap 'rm -f "$next"' EXIT
npx --no-install tsc -p tsconfig.json
mv -f "$next" "$stamp"
