#!/usr/bin/env bash
# The TypeScript build of setup.sh, skipped when no file it compiles changed
# since the last build that succeeded. A no-op `tsc -p tsconfig.json` still
# parses and checks everything (~9 s of CPU); `npm start` runs setup every
# time, so a second start with nothing edited (and the npm start test, twice
# per suite run) paid it for nothing.
#
# dist/.tsc-stamp's mtime is taken just BEFORE the build reads any source, so
# a file saved while tsc runs is newer than the stamp and rebuilds next time.
# A rename or deletion (same times, another file list) rebuilds too.
# To force a build: rm dist/.tsc-stamp (or run `npx tsc -p tsconfig.json`).
set -euo pipefail
cd "$(dirname "$0")/../.."

stamp=dist/.tsc-stamp
# What tsconfig.json includes, the JSON it imports, and what changes the types (tsconfig, the lock file).
inputs=(common node operator test bench clients/ts/src tsconfig.json package-lock.json)
# The list of input files (names, not times) as of the last build: a rename, a deleted file or a file
# copied in with an old mtime (mv, rsync -a, tar) changes the list without making anything newer.
list_file=dist/.tsc-inputs
input_list() {
  find "${inputs[@]}" \( -name '*.ts' -o -name '*.json' \) -print 2>/dev/null | LC_ALL=C sort
}
changed() {
  [ -f "$stamp" ] && [ -f "$list_file" ] || return 0
  [ -n "$(find "${inputs[@]}" -newer "$stamp" \( -name '*.ts' -o -name '*.json' \) -print -quit 2>/dev/null)" ] && return 0
  ! input_list | cmp -s - "$list_file"
}

if ! changed; then
  printf '[setup] TypeScript build up to date (no source newer than %s)\n' "$stamp" >&2
  exit 0
fi
printf '[setup] building TypeScript\n' >&2
mkdir -p dist
next="$(mktemp dist/.tsc-stamp.XXXXXX)"
list_next="$(mktemp dist/.tsc-inputs.XXXXXX)"
trap 'rm -f "$next" "$list_next"' EXIT
input_list > "$list_next"
npx --no-install tsc -p tsconfig.json
mv -f "$list_next" "$list_file"
mv -f "$next" "$stamp"
