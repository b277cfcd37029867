#!/usr/bin/env bash
# make eval: the full training-quality run of issue 4 (docs/TRAINING.md records one).
#
#   1. simulate DAYS days x REQUESTS requests/day from PROFILES with SEED (training window:
#      every day but the last trains, the last validates);
#   2. simulate 1 later day with TEST_SEED (the test day: same publishers, other draws);
#   3. bidsieve train (under /usr/bin/time -v when present: wall time and peak memory);
#   4. bidsieve evaluate on the test day, as a table and as JSON.
#
#   scripts/eval.sh                                  the defaults below
#   PROFILES=dsp/sim/testdata/unseen.yaml scripts/eval.sh   the same command line on other DSPs
#   DATA=/tmp/eval REQUESTS=20000 scripts/eval.sh     a quick, smaller run
#
# Simulated logs are reused when DATA already holds them for the same settings.
set -euo pipefail
cd "$(dirname "$0")/.."

PROFILES=${PROFILES:-dsp/sim/testdata/example.yaml}
REQUESTS=${REQUESTS:-150000}
DAYS=${DAYS:-7}
START=${START:-2024-03-01}
SEED=${SEED:-1}
TEST_SEED=${TEST_SEED:-2}
TRAIN_SEED=${TRAIN_SEED:-1}
RECALL=${RECALL:-0.95}
DATA=${DATA:-data/eval}
BIN=${BIN:-bin/bidsieve}

[ -x "$BIN" ] || go build -o "$BIN" ./cmd/bidsieve

test_day=$(date -u -d "$START + $DAYS days" +%F)
tag="$(basename "$PROFILES" .yaml)-r$REQUESTS-d$DAYS-$START-s$SEED"
train_dir="$DATA/$tag/train"
test_dir="$DATA/$tag/test-$test_day-s$TEST_SEED"
model="$DATA/$tag/model-s$TRAIN_SEED.bsm"
mkdir -p "$DATA/$tag"

echo "== machine"
lscpu | head -n 20
go version
echo

simulate() { # dir start days seed
  if [ -f "$1/.complete" ]; then
    echo "reusing $1"
    return
  fi
  rm -rf "$1"
  "$BIN" simulate --profiles "$PROFILES" --out "$1" --requests "$REQUESTS" --start "$2" --days "$3" --seed "$4"
  touch "$1/.complete"
}

echo "== simulate: training window ($DAYS days from $START, seed $SEED) and test day ($test_day, seed $TEST_SEED)"
simulate "$train_dir" "$START" "$DAYS" "$SEED"
simulate "$test_dir" "$test_day" 1 "$TEST_SEED"
echo

echo "== train"
timer=()
if [ -x /usr/bin/time ]; then timer=(/usr/bin/time -v -o "$DATA/$tag/train.time"); fi
"${timer[@]}" "$BIN" train --logs "$train_dir" --out "$model" --recall "$RECALL" --seed "$TRAIN_SEED" \
  2> >(grep -v -E '^epoch [0-9]+/[0-9]+: [0-9]+/' >&2)
if [ -f "$DATA/$tag/train.time" ]; then
  grep -E 'Elapsed \(wall clock\)|Maximum resident set size|User time|System time' "$DATA/$tag/train.time"
fi
echo

echo "== evaluate on the test day"
"$BIN" evaluate --model "$model" --logs "$test_dir"
"$BIN" evaluate --model "$model" --logs "$test_dir" --json > "$DATA/$tag/evaluate.json"
echo "(JSON: $DATA/$tag/evaluate.json)"
