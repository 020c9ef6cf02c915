#!/usr/bin/env python3
"""Splits lienthong bench CPU profiles into cost groups, in ms of samples per packet.

    scripts/bench-cpu-groups.py BINARY PACKETS PROFILE...

e.g. after `lienthong bench --packets 3000 --cpuprofile p.prof`:
    scripts/bench-cpu-groups.py bin/lienthong 3000 p.prof p.prof.necessary
Each sample goes to the first group with a function on its stack
(docs/PERFORMANCE.md, issue 18); prints a markdown table.
"""
import re, subprocess, sys, collections

def traces(binary, prof):
    out = subprocess.run(["go", "tool", "pprof", "-traces", binary, prof], capture_output=True, text=True).stdout
    samples = []
    for block in out.split("-----------+-------------------------------------------------------")[1:]:
        lines = [l for l in block.split("\n") if l.strip()]
        labels, val, frames = {}, None, []
        for l in lines:
            m = re.match(r"\s+(\w+):\s+(.*)$", l)
            if val is None and m and not re.match(r"\s+[\d.]+(ms|s|us)\s", l):
                labels[m.group(1)] = m.group(2).strip()
                continue
            m = re.match(r"\s+([\d.]+)(ms|s|us)\s+(.*)$", l)
            if val is None and m:
                v = float(m.group(1)) * {"ms": 1, "s": 1000, "us": 0.001}[m.group(2)]
                val = v
                frames.append(m.group(3).strip())
            else:
                frames.append(l.strip())
        if val is not None:
            samples.append((val, labels, frames))
    return samples

def under(frames, callee, caller):
    # callee called directly by caller (frames go leaf → root)
    for i in range(len(frames) - 1):
        if re.search(callee, frames[i]) and re.search(caller, frames[i + 1]):
            return True
    return False

def any_(frames, rx):
    return any(re.search(rx, f) for f in frames)

RULES = [
    ("load generator (bench's HTTP client, inbox polls)", lambda l, f: l.get("bench") == "client"),
    ("GC (background mark workers)", lambda l, f: any_(f, r"runtime\.gcBgMarkWorker")),
    ("kfake broker", lambda l, f: any_(f, r"franz-go/pkg/kfake")),
    ("evidence (log leaf, log feeder)", lambda l, f: any_(f, r"lienthong/internal/evidence")),
    ("receipt: JSON + CMS signature", lambda l, f: any_(f, r"hub\.\(\*Hub\)\.sign( \(inline\))?$|necessary\)\.signReceipt")),
    ("receipt object (putJSON: JSON + a second create)", lambda l, f: any_(f, r"hub\.\(\*Hub\)\.putJSON")),
    ("PDF check (pdfium)", lambda l, f: any_(f, r"verifyPDFs|pdfsig\.\(\*Engine\)\.VerifyPacket|pdfsig\.\(\*Checker\)")),
    ("CMS verification", lambda l, f: any_(f, r"hub\.\(\*Hub\)\.verify( \(inline\))?$|Verifier\)\.VerifyCMS")),
    ("edxml parse", lambda l, f: any_(f, r"edxml\.Parse( \(inline\))?$")),
    ("blob create (hub: packet + record of acceptance)", lambda l, f: any_(f, r"blob\.\(\*FS\)\.Create|blob\.\(\*metricsStore\)\.Create|blob\.\(\*S3\)\.Create|blob\.CreatePair")),
    ("spool (copy + SHA-256)", lambda l, f: any_(f, r"hub\.CopyToSpool|hub\.\(\*spools\)|hub\.\(\*Hub\)\.SpoolFile") or under(f, r"^io\.Copy|os\.\(\*File\)\.(Truncate|Seek)|bench\.\(\*necessary\)\.one\.func", r"bench\.\(\*necessary\)\.one")),
    ("produce (kafka-go client, in the request)", lambda l, f: any_(f, r"hub\.\(\*Hub\)\.publish|bus\.\(\*Producer\)\.Produce")),
    ("view write (track.Accepted in the request)", lambda l, f: any_(f, r"track\.\(\*Store\)\.Accepted( \(inline\))?$")),
    ("view consumer (applyBatch)", lambda l, f: any_(f, r"hub\.\(\*Hub\)\.applyBatch")),
    ("other consumers (routing, delivery, inbox)", lambda l, f: any_(f, r"bus\.\(\*Consumer\)")),
    ("bbolt group commit (view's commit goroutine)", lambda l, f: any_(f, r"boltgroup")),
    ("JSON in the request (event, answer)", lambda l, f: any_(f, r"encoding/json") and any_(f, r"hub\.\(\*Hub\)\.Submit|api\.\(\*Server\)|necessary\)\.one")),
    ("the rest of Submit (plan, route, metrics, tracing)", lambda l, f: any_(f, r"hub\.\(\*Hub\)\.Submit")),
    ("HTTP server, multipart, API (outside Submit)", lambda l, f: any_(f, r"net/http\.\(\*conn\)\.serve")),
    ("kafka-go background (writer batches, reader fetches)", lambda l, f: any_(f, r"segmentio/kafka-go")),
    ("bench necessary phase: the rest", lambda l, f: any_(f, r"bench\.\(\*necessary\)\.one")),
    ("runtime: scheduler, netpoll, GC assists", lambda l, f: all(re.match(r"(runtime|internal/runtime)\.", x) for x in f)),
]

def classify(binary, prof, packets):
    groups = collections.Counter()
    rest = collections.Counter()
    total = 0
    for v, l, f in traces(binary, prof):
        total += v
        for name, rule in RULES:
            if rule(l, f):
                groups[name] += v
                break
        else:
            groups["other"] += v
            rest[f[-1]] += v
    return groups, rest, total

if __name__ == "__main__":
    binary, packets = sys.argv[1], int(sys.argv[2])
    profs = sys.argv[3:]
    res = [classify(binary, p, packets) for p in profs]
    names = [n for n, _ in RULES] + ["other"]
    print("| group | " + " | ".join(p.split("/")[-1] for p in profs) + " |")
    print("|---|" + "---|" * len(profs))
    for n in names:
        vals = [r[0].get(n, 0) / packets for r in res]
        if any(v > 0 for v in vals):
            print(f"| {n} | " + " | ".join(f"{v:.3f}" for v in vals) + " |")
    print("| **total (profile samples)** | " + " | ".join(f"{r[2]/packets:.3f}" for r in res) + " |")
    for p, r in zip(profs, res):
        print("other in", p, [(k, round(v)) for k, v in r[1].most_common(8)], file=sys.stderr)
