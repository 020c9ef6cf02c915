#!/usr/bin/env bash
# Runs a command with the servers the integration tests talk to: versitygw
# (S3) is built outside the checkout if missing, started on loopback,
# exported as LIENTHONG_TEST_S3_*, and stopped when the command ends. An
# endpoint already in the environment is used as it is.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ -z "${LIENTHONG_TEST_S3_ENDPOINT:-}" ]; then
  # A state directory of this run's own: a second run on the machine starts
  # its own server instead of sharing, and later stopping, this one.
  export LIENTHONG_VGW_STATE=${LIENTHONG_VGW_STATE:-$(mktemp -d "${TMPDIR:-/tmp}/lienthong-versitygw.XXXXXX")}
  scripts/versitygw.sh install
  scripts/versitygw.sh start
  trap 'scripts/versitygw.sh stop >/dev/null 2>&1 || true' EXIT
  eval "$(scripts/versitygw.sh env)"
fi
"$@"
