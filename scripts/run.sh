#!/usr/bin/env bash
# make run: the main job on embedded defaults, on one machine.
#
#   1. a first model, made once: simulated bid logs (DEMO_DAYS days x DEMO_REQUESTS requests
#      from the example DSPs) and `bidsieve train` -> models/current.bsm;
#   2. `bidsieve dsp-sim` with the example DSPs on 127.0.0.1:9001;
#   3. `bidsieve serve` on the embedded default configuration plus a demo admin token;
#   4. a gentle open-loop load (DEMO_QPS requests/s) so that the web page has live figures.
#
# Ctrl-C stops everything (the gateway stops gracefully: in-flight auctions finish, notices
# fire, the bid log is flushed). Everything written lives under data/ and models/.
set -euo pipefail
cd "$(dirname "$0")/.."

BIN=${BIN:-bin/bidsieve}
PROFILES=${PROFILES:-dsp/sim/testdata/example.yaml}
DEMO_DAYS=${DEMO_DAYS:-3}
DEMO_REQUESTS=${DEMO_REQUESTS:-40000}
DEMO_QPS=${DEMO_QPS:-200}
MODEL=models/current.bsm
DEMO=data/demo

[ -x "$BIN" ] || go build -o "$BIN" ./cmd/bidsieve
mkdir -p "$DEMO" models

if [ ! -f "$MODEL" ]; then
  echo "== first run: a model from simulated logs ($DEMO_DAYS days x $DEMO_REQUESTS requests)"
  rm -rf "$DEMO/logs"
  "$BIN" simulate --profiles "$PROFILES" --out "$DEMO/logs" --requests "$DEMO_REQUESTS" \
    --start 2024-03-01 --days "$DEMO_DAYS" --seed 1
  "$BIN" train --logs "$DEMO/logs" --out "$MODEL" --seed 1
fi

# A demo admin token, made once and kept in a file only this user can read. The gateway
# keeps only its SHA-256 (auth.tokens); the token itself is shown here, never logged.
token_file="$DEMO/admin-token"
if [ ! -s "$token_file" ]; then
  (umask 077; head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n' > "$token_file")
fi
token=$(cat "$token_file")
sha=$(printf '%s' "$token" | sha256sum | cut -d' ' -f1)
config="$DEMO/bidsieve.yaml"
{
  cat config/default.yaml
  echo "auth: {tokens: [{name: demo, role: admin, sha256: \"$sha\"}]}"
} > "$config"

# The demo listens on loopback only: the admin page holds an admin token. Debug output is
# allowed (debug.allow, off in config/default.yaml): a request with test: 1 or
# ext.prebid.debug: true gets ext.debug, why each DSP was or was not called.
export BIDSIEVE_LISTEN=127.0.0.1:8080 BIDSIEVE_ADMIN_LISTEN=127.0.0.1:8081 BIDSIEVE_DEBUG_ALLOW=true

# The processes started in the background, stopped together (SIGTERM: graceful stops).
pids=()

stop_all() {
  for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
}

wait_http() { # url
  for _ in $(seq 1 200); do
    if curl -fsS -o /dev/null "$1" 2>/dev/null; then return 0; fi
    sleep 0.1
  done
  echo "run: $1 did not come up" >&2
  return 1
}

cleanup() {
  trap - INT TERM EXIT
  stop_all
}
trap cleanup EXIT
# Ctrl-C is how the demo ends: stop everything gracefully and exit 0.
trap 'cleanup; exit 0' INT TERM

"$BIN" dsp-sim --profiles "$PROFILES" --listen 127.0.0.1:9001 &
pids+=($!)
wait_http http://127.0.0.1:9001/healthz

"$BIN" serve --config "$config" &
pids+=($!)
wait_http http://127.0.0.1:8080/readyz

"$BIN" loadtest --target http://127.0.0.1:8080/openrtb2/auction --qps "$DEMO_QPS" \
  --duration 876000h --profiles "$PROFILES" --seed 7 >/dev/null &
pids+=($!)

cat <<MSG

bidsieve is running:
  auctions   POST http://127.0.0.1:8080/openrtb2/auction   ($DEMO_QPS requests/s of simulated traffic)
  metrics    http://127.0.0.1:8080/metrics
  web page   http://127.0.0.1:8081/admin/    sign in with the token: $token
  DSPs       http://127.0.0.1:9001/stats       (what each simulated DSP received)
  bid log    data/bidlog/

Ctrl-C stops everything.
MSG
# One of the three stopped by itself: that is a failure, say which.
status=0
wait -n "${pids[@]}" || status=$?
echo "run: a process stopped (exit status $status); stopping the others" >&2
exit "$status"
