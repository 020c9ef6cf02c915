#!/usr/bin/env bash
# Installs, starts and stops a local versitygw S3 server (posix backend) for
# the integration tests of internal/blob.
#
#   scripts/versitygw.sh install   go install versitygw v1.8.0 unless present (~3 min cold)
#   scripts/versitygw.sh start     install, then run it on a free port of 127.0.0.1
#   scripts/versitygw.sh env       print the LIENTHONG_TEST_S3_* exports: eval "$(scripts/versitygw.sh env)"
#   scripts/versitygw.sh stop      stop it and remove its data
#   scripts/versitygw.sh status    say whether it runs
#
# Every command is idempotent. State (pid, log, credentials, data) lives in
# $LIENTHONG_VGW_STATE; scripts/with-services.sh gives each run a directory
# of its own (mktemp), so two test runs on one machine do not share or stop
# each other's server. Run alone, the default is a directory of this
# checkout's own under ${TMPDIR:-/tmp} (named after the user and a checksum
# of the checkout's path), never one name shared by every checkout. Credentials come from
# LIENTHONG_VGW_ACCESS_KEY / LIENTHONG_VGW_SECRET_KEY, or are generated.
# VERSITYGW overrides the binary path.
set -euo pipefail

VERSION=v1.8.0
MODULE=github.com/versity/versitygw
checkout_id() { (cd "$(dirname "$0")/.." && pwd -P | cksum | cut -d' ' -f1); }
STATE=${LIENTHONG_VGW_STATE:-${TMPDIR:-/tmp}/lienthong-versitygw-$(id -u)-$(checkout_id)}
BUCKET=lienthong-test

gobin() { echo "$(go env GOPATH)/bin"; }
binary() { echo "${VERSITYGW:-$(gobin)/versitygw}"; }
log() { echo "versitygw.sh: $*" >&2; }

installed_version() {
  go version -m "$1" 2>/dev/null | awk '$1 == "mod" && $2 == "'"$MODULE"'" { print $3 }'
}

cmd_install() {
  local bin
  bin=$(binary)
  if [ -x "$bin" ]; then
    local have
    have=$(installed_version "$bin")
    if [ "$have" = "$VERSION" ] || [ -n "${VERSITYGW:-}" ]; then
      return 0
    fi
    log "$bin is ${have:-of unknown version}, installing $VERSION"
  fi
  if [ -n "${VERSITYGW:-}" ]; then
    log "VERSITYGW=$VERSITYGW is not executable"
    exit 1
  fi
  log "installing $MODULE/cmd/versitygw@$VERSION (a cold build takes a few minutes)"
  GOBIN=$(gobin) go install "$MODULE/cmd/versitygw@$VERSION"
}

# alive PID: the process exists and is a versitygw (not a recycled pid).
alive() {
  [ -n "$1" ] && kill -0 "$1" 2>/dev/null && grep -q versitygw "/proc/$1/cmdline" 2>/dev/null
}

pid() { cat "$STATE/pid" 2>/dev/null || true; }

port_busy() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

free_port() {
  local p start
  # A random start keeps concurrent runs from racing for the same port.
  start=$((17070 + RANDOM % 900))
  for p in $(seq "$start" $((start + 99))); do
    if ! port_busy "$p"; then
      echo "$p"
      return 0
    fi
  done
  log "no free port in $start-$((start + 99))"
  return 1
}

answers() { curl -fsS -o /dev/null --max-time 2 "http://127.0.0.1:$1/health" 2>/dev/null; }

random_token() { od -An -N"$1" -tx1 /dev/urandom | tr -d ' \n'; }

cmd_start() {
  cmd_install
  if alive "$(pid)"; then
    # shellcheck disable=SC1091
    . "$STATE/env"
    if answers "$PORT"; then
      log "already running (pid $(pid), 127.0.0.1:$PORT)"
      return 0
    fi
  fi
  cmd_stop >/dev/null 2>&1 || true

  mkdir -p "$STATE/data"
  chmod 700 "$STATE"
  local port access secret
  port=$(free_port)
  access=${LIENTHONG_VGW_ACCESS_KEY:-lt$(random_token 8)}
  secret=${LIENTHONG_VGW_SECRET_KEY:-$(random_token 20)}
  umask 077
  cat >"$STATE/env" <<EOF
PORT=$port
ACCESS=$access
SECRET=$secret
EOF
  # The root credentials go through the environment, not argv (ps shows argv).
  ROOT_ACCESS_KEY_ID=$access ROOT_SECRET_ACCESS_KEY=$secret \
    setsid "$(binary)" --port "127.0.0.1:$port" --health /health --quiet \
    posix "$STATE/data" </dev/null >"$STATE/log" 2>&1 &
  echo $! >"$STATE/pid"

  local i
  for i in $(seq 1 120); do
    if answers "$port"; then
      log "running (pid $(pid), 127.0.0.1:$port, data $STATE/data)"
      return 0
    fi
    if ! alive "$(pid)"; then
      log "versitygw exited; log:"
      tail -n 20 "$STATE/log" >&2 || true
      exit 1
    fi
    sleep 0.5
  done
  log "no answer on 127.0.0.1:$port after 60 s; log:"
  tail -n 20 "$STATE/log" >&2 || true
  cmd_stop
  exit 1
}

cmd_stop() {
  local p
  p=$(pid)
  if alive "$p"; then
    kill "$p" 2>/dev/null || true
    local i
    for i in $(seq 1 50); do
      alive "$p" || break
      sleep 0.2
    done
    if alive "$p"; then
      kill -9 "$p" 2>/dev/null || true
    fi
    log "stopped (pid $p)"
  fi
  rm -rf "$STATE"
}

cmd_env() {
  if ! alive "$(pid)" || [ ! -f "$STATE/env" ]; then
    log "not running; run: scripts/versitygw.sh start"
    exit 1
  fi
  # shellcheck disable=SC1091
  . "$STATE/env"
  cat <<EOF
export LIENTHONG_TEST_S3_ENDPOINT=127.0.0.1:$PORT
export LIENTHONG_TEST_S3_ACCESS_KEY=$ACCESS
export LIENTHONG_TEST_S3_SECRET_KEY=$SECRET
export LIENTHONG_TEST_S3_BUCKET=$BUCKET
EOF
}

cmd_status() {
  if alive "$(pid)"; then
    # shellcheck disable=SC1091
    . "$STATE/env"
    echo "running (pid $(pid), 127.0.0.1:$PORT)"
  else
    echo "not running"
    return 1
  fi
}

case "${1:-}" in
  install) cmd_install ;;
  start) cmd_start ;;
  stop) cmd_stop ;;
  env) cmd_env ;;
  status) cmd_status ;;
  *)
    echo "usage: $0 install|start|stop|env|status" >&2
    exit 2
    ;;
esac
