#!/usr/bin/env bash
# Sizes an S3-backed hub (docs/OPERATIONS.md, "Sizing"): runs lienthong
# bench --store s3 against a versitygw of its own that writes an access log,
# then prints what the hub asked of S3 per packet (requests and bytes by
# object) and what that makes per 1,000 packets/s. The server's CPU is
# averaged over all its requests in the run (the floor's and the necessary
# phase's too), so it is an estimate per request.
#   scripts/bench-s3-sizing.sh [bench flags...]      e.g. --packets 2000
set -euo pipefail
cd "$(dirname "$0")/.."

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
go build -o "$work/lienthong" ./cmd/lienthong
unset LIENTHONG_TEST_S3_ENDPOINT
export LIENTHONG_VGW_STATE="$work/vgw" VGW_ACCESS_LOG="$work/access.log"
mkdir -p "$LIENTHONG_VGW_STATE"
scripts/with-services.sh bash -c '
  set -euo pipefail
  work=$1; shift
  ticks() { awk "{print \$14+\$15}" "/proc/$(cat "$LIENTHONG_VGW_STATE/pid")/stat"; }
  c0=$(ticks)
  "$work/lienthong" bench --store s3 --json "$@" >"$work/bench.json"
  echo $(( $(ticks) - c0 )) >"$work/ticks"
' sizing "$work" "$@"

python3 - "$work/access.log" "$work/bench.json" "$(cat "$work/ticks")" "$(getconf CLK_TCK)" <<'PY'
import collections, json, sys
log, bench, ticks, hz = sys.argv[1], json.load(open(sys.argv[2])), int(sys.argv[3]), int(sys.argv[4])
n = bench["accepted"]
ops = collections.Counter()       # (operation, object) of the hub's keys
size = collections.Counter()
total = 0
for line in open(log):
    f = line.split()
    if len(f) < 15 or not f[7].startswith("s3_"):
        continue
    total += 1
    key = f[8]
    if key.startswith("packets/"):
        obj = key.rsplit("/", 1)[-1]
    elif key.startswith("log/"):
        obj = "log/ (checkpoints, tiles)"
    else:
        continue  # bench's floor and necessary phases, bucket calls
    op = f[7][3:]
    ops[op, obj] += 1
    if op == "PutObject":
        size[op, obj] += int(f[13])
cpu_ms = ticks * 1000 / hz / max(total, 1)
print(f"{n} packets of {bench['size_bytes']} bytes, {bench['deliveries']} deliveries, {bench['hub_per_s']:.0f} packets/s;"
      f" hub CPU {bench['hub_cpu_ms_per_packet']} ms/packet")
print("| request | object | per packet | bytes per packet | per 1,000 packets/s |")
print("|---|---|---|---|---|")
puts = byts = 0
for (op, obj), c in sorted(ops.items()):
    b = size[op, obj] / n
    print(f"| {op} | {obj} | {c / n:.3f} | {b:,.0f} | {c / n * 1000:,.0f}/s, {b * 1000 / 1e6:.1f} MB/s |")
    if op == "PutObject":
        puts += c / n
        byts += b
print(f"| **all PUTs** | | {puts:.3f} | {byts:,.0f} | {puts * 1000:,.0f}/s, {byts * 1000 / 1e6:.1f} MB/s |")
print(f"S3 server (versitygw, posix): {ticks / hz:.2f} s of CPU for {total} requests in the run, {cpu_ms:.2f} ms per request;"
      f" at 1,000 packets/s about {puts * 1000 * cpu_ms / 1000:.1f} cores")
print(f"hub at 1,000 packets/s: about {bench['hub_cpu_ms_per_packet']:.1f} cores (hub_cpu_ms_per_packet: the hub and its embedded broker;"
      f" the load generator, {bench.get('client_cpu_ms_per_packet', 0):.2f} ms/packet, is not the hub's)")
PY
