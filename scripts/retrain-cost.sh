#!/usr/bin/env bash
# The cost of one retrain beside a serving gateway (issue 13, docs/DESIGN.md "retrain"):
# simulated bid logs of DAYS x REQUESTS, a gateway in filter mode under QPS auctions/s from
# the load tester (DSPs from dsp-sim answering within a few ms, so the latency is the
# gateway's own), and `bidsieve retrain` on those logs on the same machine.
# The load tester reports in 60 s segments, before and during the retrain.
#   scripts/retrain-cost.sh [DIR]      (DAYS=7 REQUESTS=150000 QPS=500 by default)
set -euo pipefail
DIR=${1:-data/retrain-cost}
DAYS=${DAYS:-7} REQUESTS=${REQUESTS:-150000} QPS=${QPS:-500}
BIN=${BIN:-bin/bidsieve}
PROFILES=${PROFILES:-dsp/sim/testdata/example.yaml}
PORT=${PORT:-19401}   # the gateway's; dsp-sim takes the defaults' 9001
mkdir -p "$DIR"
logs="$DIR/logs-d$DAYS-r$REQUESTS"
if [ ! -d "$logs" ]; then
  /usr/bin/time -f "simulate: %e s" "$BIN" simulate --profiles "$PROFILES" --days "$DAYS" --requests "$REQUESTS" --start 2024-03-01 --out "$logs.tmp"
  mv "$logs.tmp" "$logs"
fi
# Fast DSPs: the profiles with every latency at a few ms and no timeouts, so that an
# auction's latency is the gateway's own (a DSP that times out holds its auction to tmax).
sed -E -e 's/latency_ms: \{[^}]*\}/latency_ms: {median: 2, p99: 5}/' -e 's/timeout_rate: [0-9.]+/timeout_rate: 0/' "$PROFILES" >"$DIR/fast.yaml"
mkdir -p "$DIR/serve/models" "$DIR/serve/bidlog"
# The champion in force: one epoch on a small window of other draws (3 days x 20,000).
if [ ! -f "$DIR/champion.bsm" ]; then
  "$BIN" simulate --profiles "$PROFILES" --days 3 --requests 20000 --start 2024-02-20 --seed 9 --out "$DIR/champion-logs"
  "$BIN" train --logs "$DIR/champion-logs" --out "$DIR/champion.bsm" --max-epochs 1 --quiet
fi
cp "$DIR/champion.bsm" "$DIR/serve/models/current.bsm"
# serve and retrain run on the embedded defaults (config/default.yaml, whose DSPs dsp-sim
# answers on 127.0.0.1:9001) with this run's paths from BIDSIEVE_ variables; no admin
# listener. The retrain reads the simulated logs and promotes over serve's model.
export BIDSIEVE_MODEL_PATH="$DIR/serve/models/current.bsm" BIDSIEVE_ADMIN_LISTEN= \
  BIDSIEVE_STORE_SQLITE="$DIR/serve/bidsieve.db" BIDSIEVE_LISTEN="127.0.0.1:$PORT"
"$BIN" dsp-sim --profiles "$DIR/fast.yaml" --listen 127.0.0.1:9001 >"$DIR/dsp-sim.log" 2>&1 &
sim=$!
BIDSIEVE_BIDLOG_DIR="$DIR/serve/bidlog" "$BIN" serve >"$DIR/serve.log" 2>&1 &
serve=$!
trap 'kill $sim $serve 2>/dev/null || true' EXIT
sleep 3
seg() { "$BIN" loadtest --profiles "$PROFILES" --qps "$QPS" --duration 60s --seed "$1" \
  --target "http://127.0.0.1:$PORT/openrtb2/auction" --json "$DIR/load-$1.json" >/dev/null 2>&1; }
seg 100   # before: the gateway alone
/usr/bin/time -f "retrain: %e s wall, %U s user, %S s sys, %M KB peak" env BIDSIEVE_BIDLOG_DIR="$logs" "$BIN" retrain --config config/default.yaml --window "${DAYS}d" >"$DIR/retrain.log" 2>&1 &
rt=$!
i=101
while kill -0 $rt 2>/dev/null; do seg $i; i=$((i + 1)); done
wait $rt || echo "retrain failed: see $DIR/retrain.log"
tail -3 "$DIR/retrain.log"
for f in "$DIR"/load-*.json; do
  printf '%s ' "$(basename "$f")"
  python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); print("scheduled", r["scheduled"], "answered", r["answered"], "failures", r["failures"], "timeouts", r["timeouts"], "p50", r["latency_ms"]["p50"], "p99", r["latency_ms"]["p99"], "max", r["latency_ms"]["max"])' "$f"
done
