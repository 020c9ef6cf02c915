#!/usr/bin/env bash
# Runs lienthong's embedded Kafka broker (kfake, persisting to disk) in the
# background for development and for tests against a shared broker:
#
#   scripts/kfake.sh start    # go run ./internal/bus/cmd/kfake, wait until the port answers
#   eval "$(scripts/kfake.sh env)" && go test ./internal/bus/...
#   scripts/kfake.sh stop     # SIGTERM: the broker saves its state and exits
#
# Settings: LIENTHONG_KFAKE_ADDR (default 127.0.0.1:9092; port 0 picks one),
# LIENTHONG_KFAKE_DATA (default $DIR/data), LIENTHONG_KFAKE_WAIT (seconds to
# wait for the port, default 300: the first `go run` compiles kafka-go and
# franz-go). Pid, log, address and data live in
# DIR=${TMPDIR:-/tmp}/lienthong-kfake-<uid>-<checksum of the checkout's path>:
# this checkout's own, so another checkout's stop does not stop it.
# The data survives stop and restart; `stop --clean` removes DIR.
set -euo pipefail

DIR="${TMPDIR:-/tmp}/lienthong-kfake-$(id -u)-$(cd "$(dirname "$0")/.." && pwd -P | cksum | cut -d' ' -f1)"
PIDFILE="$DIR/pid"
BROKERPID="$DIR/broker.pid"
ADDRFILE="$DIR/addr"
LOG="$DIR/log"
ADDR="${LIENTHONG_KFAKE_ADDR:-127.0.0.1:9092}"
DATA="${LIENTHONG_KFAKE_DATA:-$DIR/data}"
WAIT="${LIENTHONG_KFAKE_WAIT:-300}"
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

die() { echo "kfake.sh: $*" >&2; exit 1; }

running() {
  [ -f "$PIDFILE" ] && kill -0 "$(cat "$PIDFILE")" 2>/dev/null
}

answers() { # host:port
  local host="${1%:*}" port="${1##*:}"
  (exec 3<>"/dev/tcp/$host/$port") 2>/dev/null
}

start() {
  if running; then
    echo "kfake already running (pid $(cat "$PIDFILE"), $(cat "$ADDRFILE" 2>/dev/null))"
    return
  fi
  mkdir -p "$DIR" "$DATA"
  rm -f "$ADDRFILE" "$BROKERPID"
  # A session of its own, so that stop reaches both `go run` and the broker
  # it starts (go run does not pass SIGTERM on).
  (cd "$ROOT" && exec setsid go run ./internal/bus/cmd/kfake --addr "$ADDR" --data "$DATA") \
    >"$LOG" 2>&1 </dev/null &
  echo $! >"$PIDFILE"
  echo "starting kfake on $ADDR (data $DATA, log $LOG)"

  local deadline=$((SECONDS + WAIT)) addr=""
  while :; do
    if ! running; then
      tail -n 20 "$LOG" >&2
      rm -f "$PIDFILE"
      die "kfake exited during start-up (log above)"
    fi
    # RunBroker logs the address it listens on (the port is known only
    # then when ADDR asks for port 0).
    addr="$(sed -n 's/.*msg="kafka broker listening" addr=\([^ ]*\).*/\1/p' "$LOG" | tail -n 1)"
    if [ -n "$addr" ] && answers "$addr"; then
      sed -n 's/.*msg="kafka broker listening" .* pid=\([0-9]*\).*/\1/p' "$LOG" | tail -n 1 >"$BROKERPID"
      break
    fi
    [ "$SECONDS" -lt "$deadline" ] || { stop; die "kfake did not answer within ${WAIT}s"; }
    sleep 0.5
  done
  echo "$addr" >"$ADDRFILE"
  echo "kfake listening on $addr (pid $(cat "$PIDFILE"))"
}

stop() {
  if running; then
    local pid
    pid="$(cat "$PIDFILE")"
    # SIGTERM to the broker lets it save its state; go run then exits by
    # itself and removes its build directory. Without the broker's pid,
    # signal the process group setsid created (go run and the broker).
    if [ -s "$BROKERPID" ]; then
      kill -TERM "$(cat "$BROKERPID")" 2>/dev/null || true
    else
      kill -TERM -- "-$pid" 2>/dev/null || true
    fi
    for _ in $(seq 1 60); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.5
    done
    if kill -0 "$pid" 2>/dev/null; then
      echo "kfake did not stop within 30s; killing it" >&2
      kill -KILL -- "-$pid" 2>/dev/null || true
    fi
    echo "kfake stopped"
  fi
  rm -f "$PIDFILE" "$ADDRFILE" "$BROKERPID"
  if [ "${1:-}" = "--clean" ]; then
    rm -rf "$DIR"
  fi
}

env_() {
  running && [ -s "$ADDRFILE" ] || die "kfake is not running (scripts/kfake.sh start)"
  echo "export LIENTHONG_TEST_KAFKA=$(cat "$ADDRFILE")"
}

status() {
  if running && [ -s "$ADDRFILE" ]; then
    echo "kfake running (pid $(cat "$PIDFILE"), $(cat "$ADDRFILE"), data $DATA)"
  else
    echo "kfake not running"
    return 1
  fi
}

case "${1:-}" in
  start) start ;;
  stop) stop "${2:-}" ;;
  env) env_ ;;
  status) status ;;
  *) echo "usage: $0 start|stop [--clean]|env|status" >&2; exit 2 ;;
esac
