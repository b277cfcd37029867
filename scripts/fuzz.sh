#!/usr/bin/env bash
# make fuzz: every native fuzz target of the module, one after the other, for FUZZTIME each
# (first argument, default 2m). What the fuzzer finds interesting is copied into the
# target's testdata/fuzz/<Target>/ so that `go test` replays it as regression seeds from
# then on; a failure stops the run and leaves its reproducer there too.
#
#   scripts/fuzz.sh 2m                   every target, 2 minutes each
#   FUZZ_PKGS=./gateway/... scripts/fuzz.sh 30s
#   FUZZ_PARALLEL=1 scripts/fuzz.sh      fuzzing workers (default: GOMAXPROCS)
set -euo pipefail
cd "$(dirname "$0")/.."
FUZZTIME=${1:-2m}
GO=${GO:-go}
pkgs=${FUZZ_PKGS:-./...}
cache=$($GO env GOCACHE)/fuzz
parallel=()
if [ -n "${FUZZ_PARALLEL:-}" ]; then parallel=(-parallel "$FUZZ_PARALLEL"); fi

for pkg in $($GO list $pkgs); do
  targets=$($GO test -list '^Fuzz' "$pkg" 2>/dev/null | grep '^Fuzz' || true)
  [ -n "$targets" ] || continue
  dir=$($GO list -f '{{.Dir}}' "$pkg")
  for target in $targets; do
    echo "== $pkg $target for $FUZZTIME"
    start=$(date +%s)
    $GO test -run '^$' -fuzz "^${target}\$" -fuzztime "$FUZZTIME" "${parallel[@]}" "$pkg"
    echo "== $pkg $target: clean for $(( $(date +%s) - start ))s"
    found="$cache/$pkg/$target"
    if [ -d "$found" ]; then
      mkdir -p "$dir/testdata/fuzz/$target"
      cp -n "$found"/* "$dir/testdata/fuzz/$target/" 2>/dev/null || true
      echo "== kept $(ls "$dir/testdata/fuzz/$target" | wc -l) seeds in ${dir#"$PWD"/}/testdata/fuzz/$target"
    fi
  done
done
