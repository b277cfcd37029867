#!/usr/bin/env bash
# make bench: the benchmarks, with allocation counts, and the machine they ran on.
#
#   scripts/bench.sh            everything: per-auction figures (one core, -count=$COUNT),
#                               loopback req/s (Go clients and wrk), then every other
#                               package's benchmarks
#   COUNT=6 scripts/bench.sh    repetitions for benchstat (default 6)
#   BENCH_ONLY=gateway ...      only the gateway section
#   WRK_CONNECTIONS=64 ...      wrk connections (default 16)
#
# Figures go to stdout; docs/BENCHMARKS.md records a run. benchstat (golang.org/x/perf)
# summarises the repeated runs when it is installed.
set -euo pipefail
cd "$(dirname "$0")/.."
COUNT=${COUNT:-6}
GO=${GO:-go}
out=$(mktemp -d /tmp/bidsieve-bench.XXXXXX)
trap 'rm -rf "$out"' EXIT
benchstat=$(command -v benchstat || echo "$($GO env GOPATH)/bin/benchstat")

echo "== machine"
lscpu | head -n 20
$GO version
echo

summarise() { # file
  if [ -x "$benchstat" ]; then "$benchstat" "$1"; else grep -E '^Benchmark' "$1"; fi
}

echo "== gateway: one auction, 1 imp, 8 DSPs, DSP transport stubbed (one core, -count=$COUNT)"
GOMAXPROCS=1 $GO test -run '^$' -bench '^(BenchmarkAuction|BenchmarkHandler)$' -benchmem -cpu 1 -count "$COUNT" \
  ./gateway/ | tee "$out/gateway.txt" >/dev/null
summarise "$out/gateway.txt"
echo

echo "== gateway/auction: the auction alone (one core, -count=$COUNT)"
GOMAXPROCS=1 $GO test -run '^$' -bench . -benchmem -cpu 1 -count "$COUNT" ./gateway/auction/ | tee "$out/auction.txt" >/dev/null
summarise "$out/auction.txt"
echo

echo "== gateway on loopback: 8 instant fake DSPs, Go clients (all cores shared by everything)"
$GO test -run '^$' -bench '^BenchmarkLoopback$' -benchtime 10s ./gateway/ | grep -E '^Benchmark'
echo

if command -v wrk >/dev/null; then
  conns=${WRK_CONNECTIONS:-16} # on 2 cores, 64 connections overload the fake DSPs: timeouts trip breakers
  echo "== gateway on loopback: 8 instant fake DSPs, wrk -t2 -c$conns -d10s"
  BIDSIEVE_WRK=1 BIDSIEVE_WRK_CONNECTIONS=$conns $GO test -count=1 -run '^TestWrkLoopback$' -v ./gateway/ |
    sed -n '/Running/,/auctions:/p'
else
  echo "== wrk not installed (apt-get install wrk): loopback figures above are from the Go clients only"
fi
echo

if [ "${BENCH_ONLY:-}" = gateway ]; then
  exit 0
fi
echo "== other packages"
for pkg in $($GO list ./... | grep -v -e '/gateway$' -e '/gateway/auction$'); do
  if $GO test -list '^Benchmark' "$pkg" 2>/dev/null | grep -q '^Benchmark'; then
    $GO test -run '^$' -bench . -benchmem -count 1 "$pkg" | grep -E '^(Benchmark|pkg:)' || true
  fi
done
