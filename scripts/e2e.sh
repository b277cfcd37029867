#!/usr/bin/env bash
# make e2e: issue 5's end-to-end run at full scale (docs/SHAPING.md records one).
#
#   1. simulate DAYS days x REQUESTS requests/day of PROFILES (seed 1) and train the model
#      with `bidsieve train` (its defaults: the 1000/500 network), once;
#   2. shaping on the same requests: E2E_REQUESTS requests of another seed through the
#      gateway on loopback in front of the simulated DSPs, with shaping off, in shadow mode
#      and filtering (go test ./e2e -run TestShapingFullScale); the table per DSP, and the
#      targets checked: bids >= 94% of off, withheld >= 90% of the oracle, shadow = off;
#   3. CPU per auction of `bidsieve serve`, shaping off and on (filter), under the same
#      open-loop load (`bidsieve loadtest`, CPU_QPS/s for CPU_DURATION, ROUNDS rounds each,
#      the two gateways taking turns; CPU_DESIGN=one-at-a-time starts a fresh gateway for
#      each turn instead) against `bidsieve dsp-sim` with its real latencies: process CPU
#      time / auctions, and the paired difference per round;
#   4. model swaps under SWAP_QPS auctions/s for SWAP_DURATION: the model file replaced
#      every 3 s by the other of two models (the file watcher reloads it), and a reload
#      through the admin API in between; the load tester must see no failure.
#
#   scripts/e2e.sh                                the defaults below
#   DATA=/tmp/e2e REQUESTS=20000 E2E_REQUESTS=20000 ROUNDS=4 TRAIN_FLAGS="--max-epochs 2" \
#     scripts/e2e.sh                              a quicker, smaller run (its targets may fail)
#
# Simulated logs and models are reused when DATA already holds them. Ports: PORT_BASE..+3.
set -euo pipefail
cd "$(dirname "$0")/.."

PROFILES=${PROFILES:-dsp/sim/testdata/example.yaml}
REQUESTS=${REQUESTS:-150000}
DAYS=${DAYS:-7}
START=${START:-2024-03-01}
E2E_REQUESTS=${E2E_REQUESTS:-100000}
CPU_QPS=${CPU_QPS:-500}
CPU_DURATION=${CPU_DURATION:-20s}
ROUNDS=${ROUNDS:-10}
# Step 3's design: side-by-side (both gateways up, taking turns) or one-at-a-time (each
# turn a fresh gateway, warmed up, measured, stopped; nothing else of bidsieve running).
CPU_DESIGN=${CPU_DESIGN:-side-by-side}
case $CPU_DESIGN in side-by-side | one-at-a-time) ;; *) echo "e2e: CPU_DESIGN must be side-by-side or one-at-a-time" >&2; exit 2 ;; esac
SWAP_QPS=${SWAP_QPS:-1000}
SWAP_DURATION=${SWAP_DURATION:-30s}
DATA=${DATA:-data/e2e}
BIN=${BIN:-bin/bidsieve}
PORT_BASE=${PORT_BASE:-19100}
TRAIN_FLAGS=${TRAIN_FLAGS:-} # extra flags of bidsieve train, e.g. --max-epochs 2 for a quick run
STEPS=${STEPS:-234}         # which of steps 2, 3 and 4 to run (step 1 makes what is missing)

go build -o "$BIN" ./cmd/bidsieve
mkdir -p "$DATA"
DATA=$(cd "$DATA" && pwd)
SIM=127.0.0.1:$PORT_BASE
GW=127.0.0.1:$((PORT_BASE + 1))
ADMIN=127.0.0.1:$((PORT_BASE + 2))

echo "== machine"
lscpu | head -n 20
uptime
go version
echo

echo "== 1. simulated logs and models"
train_dir=$DATA/train
model=$DATA/model.bsm
if [ ! -f "$train_dir/.complete" ]; then
  rm -rf "$train_dir"
  "$BIN" simulate --profiles "$PROFILES" --out "$train_dir" --requests "$REQUESTS" --start "$START" --days "$DAYS" --seed 1
  touch "$train_dir/.complete"
fi
if [ ! -f "$model" ]; then
  # shellcheck disable=SC2086 # TRAIN_FLAGS are words
  "$BIN" train --logs "$train_dir" --out "$model" --seed 1 --quiet $TRAIN_FLAGS | tee "$DATA/train.txt"
fi
# The second model of the swaps: one epoch from another seed.
model2=$DATA/model-swap.bsm
if [ ! -f "$model2" ]; then
  "$BIN" train --logs "$train_dir" --out "$model2" --seed 2 --max-epochs 1 --quiet > "$DATA/train-swap.txt"
fi
echo

if [[ $STEPS == *2* ]]; then
  echo "== 2. shaping on the same requests: off, shadow, filter"
  test_day=$(date -u -d "$START + $DAYS days" +%F)
  BIDSIEVE_E2E_MODEL=$model BIDSIEVE_E2E_PROFILES=$(pwd)/$PROFILES BIDSIEVE_E2E_REQUESTS=$E2E_REQUESTS \
    BIDSIEVE_E2E_DAY=$test_day BIDSIEVE_E2E_REPORT=$DATA/shaping.md \
    go test -count=1 -timeout 90m -run TestShapingFullScale -v ./e2e/ | grep -v '^=== RUN' || status=$?
  echo "(table also in $DATA/shaping.md)"
  echo
fi

# --- helpers for the processes of steps 3 and 4 ---
. scripts/lib.sh
trap stop_all EXIT INT TERM

cpu_ticks() { # pid: utime + stime, in clock ticks
  awk '{print $14 + $15}' "/proc/$1/stat"
}

token=e2e-admin-token
sha=$(printf '%s' "$token" | sha256sum | cut -d' ' -f1)

# serve_config mode dir listen admin_listen: a configuration for `bidsieve serve` in front
# of the DSP simulator.
serve_config() {
  {
    sed -e "s#127.0.0.1:9001#$SIM#g" -e '/^listen:/d' -e '/^admin_listen:/d' -e '/^model:/d' -e '/^bidlog:/d' \
      -e '/^store:/d' -e '/^shaping:/d' -e '/^log:/d' config/default.yaml
    echo "listen: \"$3\""
    echo "admin_listen: \"$4\""
    echo "shaping: {mode: $1, recall_target: 0.95, exploration_rate: 0.02}"
    echo "model: {path: \"$2/current.bsm\"}"
    echo "bidlog: {dir: \"$2/bidlog\"}"
    echo "store: {sqlite: \"$2/bidsieve.db\"}"
    echo "log: {level: info, format: text}"
    echo "auth: {tokens: [{name: e2e, role: admin, sha256: \"$sha\"}]}"
    # A loaded machine makes DSP calls time out now and then; open breakers would then skip
    # DSPs in one run and not in the other.
    echo "breaker: {consecutive_failures: 1000000}"
  } > "$2/bidsieve.yaml"
}

start_sim() {
  "$BIN" dsp-sim --profiles "$PROFILES" --listen "$SIM" --seed 1 > "$DATA/dsp-sim.log" 2>&1 &
  sim_pid=$!
  pids+=("$sim_pid")
  wait_http "http://$SIM/healthz"
}

start_serve() { # mode dir [listen admin_listen]: sets serve_pid
  rm -rf "$2"
  mkdir -p "$2"
  cp "$model" "$2/current.bsm"
  serve_config "$1" "$2" "${3:-$GW}" "${4-$ADMIN}"
  "$BIN" serve --config "$2/bidsieve.yaml" 2> "$2/serve.log" &
  serve_pid=$!
  pids+=("$serve_pid")
  wait_http "http://${3:-$GW}/readyz"
}

stop_serve() { # [pid]
  local pid=${1:-$serve_pid}
  kill -TERM "$pid"
  wait "$pid" || true
}

load() { # qps duration seed out [gateway]
  "$BIN" loadtest --target "http://${5:-$GW}/openrtb2/auction" --qps "$1" --duration "$2" \
    --profiles "$PROFILES" --seed "$3" --json > "$4"
}

metric_sum() { # gateway name: the sum of the values of a metric's series on /metrics
  curl -fsS "http://$1/metrics" | awk -v n="$2" '$1 == n || index($1, n "{") == 1 { s += $2 } END { print s + 0 }'
}

if [[ $STEPS == *3* ]]; then
  echo "== 3. CPU per auction of bidsieve serve: shaping off vs filter ($CPU_QPS auctions/s, $ROUNDS rounds of $CPU_DURATION each, $CPU_DESIGN)"
  # Both gateways run side by side, each in front of the same dsp-sim, and take turns: in
  # each round each gets CPU_DURATION of load (the other idles), in alternating order, so
  # that the machine's drifts fall on both alike; a round's difference is a paired one.
  start_sim
  clk=$(getconf CLK_TCK)
  declare -A gw_pid gw_addr
  gw_addr[off]=127.0.0.1:$((PORT_BASE + 1))
  gw_addr[filter]=127.0.0.1:$((PORT_BASE + 3))
  warm() { # mode: start its gateway and warm it up (connections, the model's pages)
    start_serve "$1" "$DATA/cpu-$1" "${gw_addr[$1]}" ""
    gw_pid[$1]=$serve_pid
    load "$CPU_QPS" 10s 99 "$DATA/cpu-$1/warmup.json" "${gw_addr[$1]}"
  }
  if [ "$CPU_DESIGN" = side-by-side ]; then
    for mode in off filter; do warm "$mode"; done
  fi
  results=$DATA/cpu.txt
  : > "$results"
  printf '%-7s %-5s %9s %9s %11s %13s %12s %12s %12s %9s\n' mode round auctions cpu_s us/auction dsp_requests scoring_us sim_cpu_s sim_us/auct p99_ms
  for round in $(seq 1 "$ROUNDS"); do
    order="off filter"
    if [ $((round % 2)) = 0 ]; then order="filter off"; fi
    for mode in $order; do
      if [ "$CPU_DESIGN" = one-at-a-time ]; then warm "$mode"; fi
      addr=${gw_addr[$mode]} pid=${gw_pid[$mode]} out=$DATA/cpu-$mode/load-$round.json
      curl -fsS -X POST "http://$SIM/stats/reset" > /dev/null
      p0=$(metric_sum "$addr" bidsieve_predictor_duration_seconds_sum)
      s0=$(cpu_ticks "$pid")
      d0=$(cpu_ticks "$sim_pid")
      load "$CPU_QPS" "$CPU_DURATION" 7 "$out" "$addr"
      s1=$(cpu_ticks "$pid")
      d1=$(cpu_ticks "$sim_pid")
      p1=$(metric_sum "$addr" bidsieve_predictor_duration_seconds_sum)
      answered=$(jq .answered "$out")
      failures=$(jq '.failures + .timeouts' "$out")
      p99=$(jq .latency_ms.p99 "$out")
      dsp_requests=$(curl -fsS "http://$SIM/stats" | jq '[.dsps[].requests] | add')
      awk -v m="$mode" -v r="$round" -v n="$answered" -v s="$((s1 - s0))" -v d="$((d1 - d0))" -v c="$clk" -v q="$dsp_requests" \
        -v p="$p99" -v sc="$(awk -v a="$p0" -v b="$p1" 'BEGIN { print b - a }')" \
        'BEGIN { printf "%-7s %-5s %9d %9.2f %11.1f %13d %12.1f %12.2f %12.1f %9.1f\n", m, r, n, s/c, s/c/n*1e6, q, sc/n*1e6, d/c, d/c/n*1e6, p }' |
        tee -a "$results"
      if [ "$failures" != 0 ]; then echo "  ($failures failed or timed-out auctions)"; fi
      if [ "$CPU_DESIGN" = one-at-a-time ]; then stop_serve "$pid"; fi
    done
  done
  if [ "$CPU_DESIGN" = side-by-side ]; then
    for mode in off filter; do stop_serve "${gw_pid[$mode]}"; done
  fi
  echo "CPU per auction (µs): median per mode, and the paired difference filter - off per round:"
  for mode in off filter; do
    awk -v m="$mode" '$1 == m { print $5 }' "$results" | sort -n |
      awk -v m="$mode" '{ v[NR] = $1 } END { printf "  %-7s median %.1f (of %d rounds)\n", m, (NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2), NR }'
  done
  awk '$1 == "off" { off[$2] = $5 } $1 == "filter" { f[$2] = $5 }
    END {
      for (r in off) { d = f[r] - off[r]; n++; s += d; ss += d * d; if (d < 0) below++ }
      split("12.71 4.30 3.18 2.78 2.57 2.45 2.36 2.31 2.26 2.23", t, " ") # 97.5% quantiles of Student t
      df = n - 1; q = (df in t) ? t[df] : (df < 30 ? 2.1 : 2.04)
      m = s / n; sd = n > 1 ? sqrt((ss - n * m * m) / (n - 1)) : 0; se = sd / sqrt(n)
      printf "  filter - off: mean %.1f µs, 95%% interval [%.1f, %.1f] (Student t, %d rounds); filter below off in %d of %d rounds\n", m, m - q * se, m + q * se, n, below + 0, n
    }' "$results"
  uptime
  echo
fi

if [[ $STEPS != *4* ]]; then exit "${status:-0}"; fi
echo "== 4. model swaps under load: $SWAP_QPS auctions/s for $SWAP_DURATION, the model replaced every 3 s"
if [ -z "${sim_pid:-}" ]; then start_sim; fi
dir=$DATA/swap
start_serve filter "$dir"
load "$SWAP_QPS" "$SWAP_DURATION" 11 "$dir/load.json" &
load_pid=$!
swaps=0
while kill -0 "$load_pid" 2>/dev/null; do
  sleep 2
  if [ $((swaps % 2)) = 0 ]; then src=$model2; else src=$model; fi
  cp "$src" "$dir/.next.bsm" && mv "$dir/.next.bsm" "$dir/current.bsm" # atomic, as training writes it
  swaps=$((swaps + 1))
  sleep 1
  curl -fsS -o /dev/null -X POST -H "Authorization: Bearer $token" "http://$ADMIN/admin/api/model/reload" || echo "admin reload failed"
done
wait "$load_pid"
stop_serve
loaded=$(grep -c 'msg="model loaded"' "$dir/serve.log" || true)
failed=$(grep -c 'reload failed' "$dir/serve.log" || true)
jq -c '{scheduled, sent, dropped, answered, timeouts, failures, status, achieved_qps, latency_ms}' "$dir/load.json"
echo "model files replaced: $swaps; models loaded (start, watcher and admin API): $loaded; failed reloads: $failed"
if [ "$(jq '.failures + .timeouts + .dropped' "$dir/load.json")" != 0 ] || [ "$(jq '.answered == .scheduled' "$dir/load.json")" != true ]; then
  echo "e2e: auctions were lost during the swaps" >&2
  status=1
fi
exit "${status:-0}"
