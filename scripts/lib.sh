# Shared by the scripts that start bidsieve processes (run.sh, e2e.sh); source it.
#
#   pids+=("$!")     after starting a process in the background
#   stop_all         SIGTERM to every process in pids, then wait for them (graceful stops)
#   wait_http URL    until URL answers 2xx (20 s at most), else a message and status 1

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
  echo "$(basename "$0"): $1 did not come up" >&2
  return 1
}
