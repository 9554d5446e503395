# Starting and stopping the platform's services for the scripts (sourced, not run; needs env.sh).
#
#   start_service NAME CONFIG READY_URL    starts $BIN/NAME --config CONFIG, logs to $RUN/NAME.log,
#                                          waits until READY_URL answers
#   stop_services                          SIGTERM to every service started, then waits
#   metric URL NAME                        the value of an unlabelled metric (0 when absent)

SERVICE_PIDS=()

start_service() {
  local name="$1" config="$2" ready="$3"
  "$BIN/$name" --config "$config" >"$RUN/$name.log" 2>&1 &
  local pid=$!
  SERVICE_PIDS+=("$pid")
  for _ in $(seq 300); do
    curl -fsS "$ready" >/dev/null 2>&1 && return 0
    if ! kill -0 "$pid" 2>/dev/null; then
      tail -20 "$RUN/$name.log" >&2
      die "$name exited at start; its log is above (all of it: $RUN/$name.log)"
    fi
    sleep 0.2
  done
  die "$name is not ready after 60 s; see $RUN/$name.log"
}

stop_services() {
  local pid
  for pid in "${SERVICE_PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${SERVICE_PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
  SERVICE_PIDS=()
}

metric() {
  curl -fsS "$1/metrics" 2>/dev/null |
    awk -v name="$2" '$1 == name {print $2; found=1} END {if (!found) print 0}'
}
