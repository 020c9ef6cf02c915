#!/usr/bin/env bash
# Runs lienthong bench RUNS times, each after PAUSE seconds of quiet
# (docs/PERFORMANCE.md). On ext4 without a journal the inode allocator
# skips inodes freed in the last 60-300 s, so one run's clean-up slows
# the next run's file creates; the pause lets that pass.
#   RUNS=2 PAUSE=300 scripts/bench-quiet.sh [bench flags...]
#   scripts/with-services.sh scripts/bench-quiet.sh --store s3
# Prints one JSON line per run.
set -euo pipefail
cd "$(dirname "$0")/.."

bin=$(mktemp -d)
trap 'rm -rf "$bin"' EXIT
go build -o "$bin/lienthong" ./cmd/lienthong
for _ in $(seq "${RUNS:-2}"); do
  sleep "${PAUSE:-300}"
  "$bin/lienthong" bench --json "$@"
done
