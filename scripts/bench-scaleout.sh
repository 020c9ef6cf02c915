#!/usr/bin/env bash
# Measures scale-out (issue 7, docs/PERFORMANCE.md): one and then two hub
# processes (lienthong serve) against the same kfake broker and versitygw,
# driven by lienthong bench, which spreads submits over the hubs given.
#   scripts/bench-scaleout.sh [bench flags...]      e.g. --packets 2000
# Prints one JSON line per run: hubs=1, then hubs=2.
set -euo pipefail
cd "$(dirname "$0")/.."

work=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  scripts/versitygw.sh stop >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

go build -o "$work/lienthong" ./cmd/lienthong
lt="$work/lienthong"
free_port() { python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])'; }
wait_ready() { for _ in $(seq 600); do curl -fs "$1/readyz" >/dev/null && return 0; sleep 0.1; done; echo "not ready: $1" >&2; return 1; }

# The dev PKI and agencies, made by a short run of lienthong dev.
port=$(free_port)
"$lt" dev --data "$work/dev" --addr "127.0.0.1:$port" >/dev/null 2>&1 & devpid=$!
wait_ready "http://127.0.0.1:$port"; kill "$devpid"; wait "$devpid" 2>/dev/null || true

scripts/versitygw.sh install >/dev/null
scripts/versitygw.sh start >/dev/null
eval "$(scripts/versitygw.sh env)"
bport=$(free_port)
"$lt" broker --data "$work/kafka" --addr "127.0.0.1:$bport" >/dev/null 2>&1 & pids+=($!)
sleep 1

# A serve configuration for hub N, from dev's agencies.json.
config() {
  python3 - "$work" "$1" "$2" "$bport" <<'PY'
import json, os, sys
work, n, port, bport = sys.argv[1:]
dev = os.path.join(work, "dev", "dev")
agencies = json.load(open(os.path.join(dev, "agencies.json")))
lines = [
  "hub:", '  organId: "000.00.00.G01"', f"  addr: 127.0.0.1:{port}", f"  dataDir: {work}/hub{n}",
  "bus:", "  embedded: false", f"  brokers: [127.0.0.1:{bport}]", "  replicationFactor: 1",
  "blob:", "  kind: s3", "  s3:",
  f"    endpoint: {os.environ['LIENTHONG_TEST_S3_ENDPOINT']}", f"    region: {os.environ.get('LIENTHONG_TEST_S3_REGION') or 'us-east-1'}",
  f"    bucket: scaleout-{os.getpid()}", f"    accessKey: {os.environ['LIENTHONG_TEST_S3_ACCESS_KEY']}",
  f"    secretKey: {os.environ['LIENTHONG_TEST_S3_SECRET_KEY']}", "    useTls: false", "    createBucket: true",
  "trust:", f"  roots: [{dev}/ca.pem]",
  "log:", "  level: warn",
  "agencies:",
]
for a in agencies:
    lines += [f'  - organId: "{a["organId"]}"', f'    name: "{a["name"]}"', f'    tokens: ["{a["token"]}"]']
print("\n".join(lines))
PY
}
ports=()
for n in 1 2; do
  p=$(free_port); ports+=("$p")
  config "$n" "$p" > "$work/hub$n.yaml"
done
# One bucket for both hubs: the name is fixed by the first config's pid.
bucket=$(grep 'bucket:' "$work/hub1.yaml" | awk '{print $2}')
sed -i "s/bucket: .*/bucket: $bucket/" "$work/hub2.yaml"

start_hub() { "$lt" serve --config "$work/hub$1.yaml" >"$work/hub$1.log" 2>&1 & pids+=($!); wait_ready "http://127.0.0.1:${ports[$(($1-1))]}"; }
start_hub 1
"$lt" bench --hub "http://127.0.0.1:${ports[0]}" --agencies "$work/dev/dev/agencies.json" --store s3 \
  --brokers "127.0.0.1:$bport" --json "$@" | sed 's/^{/{"hubs":1,/'
start_hub 2
"$lt" bench --hub "http://127.0.0.1:${ports[0]},http://127.0.0.1:${ports[1]}" --agencies "$work/dev/dev/agencies.json" --store s3 \
  --brokers "127.0.0.1:$bport" --json "$@" | sed 's/^{/{"hubs":2,/'
