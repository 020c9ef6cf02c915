package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/lienthong/lienthong/internal/bench"
	"github.com/lienthong/lienthong/internal/metrics"
)

// A small embedded run: every packet accepted and delivered, a floor
// measured in the same run, and one JSON object with the figures.
func TestBenchEmbedded(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	var stdout, stderr bytes.Buffer
	start := time.Now()
	code := Run(ctx, []string{"bench", "--packets", "60", "--size", "8KB", "--concurrency", "4", "--json"}, &stdout, &stderr)
	t.Logf("bench took %s", time.Since(start).Round(time.Millisecond))
	if code != ExitOK {
		t.Fatalf("exit %d\nstdout: %s\nstderr: %s", code, stdout.String(), stderr.String())
	}
	if n := strings.Count(strings.TrimSpace(stdout.String()), "\n"); n != 0 {
		t.Fatalf("want one JSON line, got %d lines:\n%s", n+1, stdout.String())
	}
	var raw map[string]any
	if err := json.Unmarshal(stdout.Bytes(), &raw); err != nil {
		t.Fatalf("%v\n%s", err, stdout.String())
	}
	for _, k := range []string{"packets", "size_bytes", "concurrency", "hub_per_s", "accepted_per_s", "floor_per_s", "ratio",
		"p50_ms", "p90_ms", "p99_ms", "max_ms", "errors", "store", "duration_s",
		"hub_cpu_ms_per_packet", "necessary_cpu_ms_per_packet", "cpu_ratio", "necessary_per_s", "necessary_s", "necessary_pdf"} {
		if _, ok := raw[k]; !ok {
			t.Errorf("key %q missing", k)
		}
	}
	var r bench.Result
	if err := json.Unmarshal(stdout.Bytes(), &r); err != nil {
		t.Fatal(err)
	}
	t.Logf("%s", stdout.String())
	switch {
	case r.Packets != 60 || r.Accepted != 60 || r.Errors != 0:
		t.Errorf("packets %d accepted %d errors %d", r.Packets, r.Accepted, r.Errors)
	case r.Deliveries != 120 || r.Delivered != 120:
		t.Errorf("delivered %d of %d inbox entries, want 120 (two recipients each)", r.Delivered, r.Deliveries)
	case r.HubPerS <= 0 || r.AcceptedPerS < r.HubPerS || r.FloorPerS <= 0 || r.Ratio <= 0:
		t.Errorf("hub %.1f/s accepted %.1f/s floor %.1f/s ratio %.3f", r.HubPerS, r.AcceptedPerS, r.FloorPerS, r.Ratio)
	case r.P50Ms <= 0 || r.P50Ms > r.P90Ms || r.P90Ms > r.P99Ms || r.P99Ms > r.MaxMs:
		t.Errorf("latency p50 %.1f p90 %.1f p99 %.1f max %.1f", r.P50Ms, r.P90Ms, r.P99Ms, r.MaxMs)
	case r.SizeBytes < 7000 || r.SizeBytes > 9000:
		t.Errorf("mean packet size %d, want about 8000", r.SizeBytes)
	case r.Store != "fs" || r.Concurrency != 4 || !r.Complete || r.Note != "":
		t.Errorf("store %q concurrency %d complete %v note %q", r.Store, r.Concurrency, r.Complete, r.Note)
	case r.FloorEventBytes < 400 || r.FloorEventBytes > 1000:
		t.Errorf("floor event of %d bytes, want about the accepted event's 600", r.FloorEventBytes)
	}
	// The CPU per packet of the hub phase and of the necessary work, from
	// the same run, and their ratio; the hub checks PDFs by default, so
	// the necessary work did too.
	switch {
	case r.HubCPUMsPerPacket <= 0 || r.NecessaryCPUMsPerPacket <= 0 || r.NecessaryPerS <= 0 || r.NecessaryS <= 0:
		t.Errorf("hub %v ms/packet, necessary %v ms/packet at %v/s in %v s", r.HubCPUMsPerPacket, r.NecessaryCPUMsPerPacket, r.NecessaryPerS, r.NecessaryS)
	case math.Abs(r.CPURatio-r.HubCPUMsPerPacket/r.NecessaryCPUMsPerPacket) > 1e-9:
		t.Errorf("cpu_ratio %v, want hub / necessary = %v", r.CPURatio, r.HubCPUMsPerPacket/r.NecessaryCPUMsPerPacket)
	case !r.NecessaryPDF:
		t.Error("the necessary work did not check the PDF's signatures, which the hub does by default")
	}
	// Every stage of the submit path was timed, and the stages fit in
	// the submit latency the client saw.
	total := 0.0
	for _, st := range metrics.Stages {
		ms, ok := r.StageMs[st]
		if !ok || ms <= 0 {
			t.Errorf("stage %q: %v ms (present %v)", st, ms, ok)
		}
		total += ms
	}
	if r.SchedP99Ms <= 0 || r.SchedMeanMs <= 0 {
		t.Errorf("scheduling latency mean %v ms, p99 %v ms", r.SchedMeanMs, r.SchedP99Ms)
	}
	if total > r.MaxMs {
		t.Errorf("stages add up to %.1f ms, more than the slowest submit (%.1f ms)", total, r.MaxMs)
	}
}

// A run cut by --duration reports what it has, says so, and exits 1.
func TestBenchDurationCut(t *testing.T) {
	var stdout, stderr bytes.Buffer
	code := Run(context.Background(), []string{"bench", "--packets", "3000", "--size", "2KB", "--duration", "3s", "--json"}, &stdout, &stderr)
	if code != ExitInvalid {
		t.Fatalf("exit %d for a cut run, want %d: %s\n%s", code, ExitInvalid, stdout.String(), stderr.String())
	}
	var r bench.Result
	if err := json.Unmarshal(stdout.Bytes(), &r); err != nil {
		t.Fatalf("%v\n%s\n%s", err, stdout.String(), stderr.String())
	}
	if r.Complete || !strings.Contains(r.Note, "--duration") {
		t.Errorf("complete %v note %q", r.Complete, r.Note)
	}
}

func TestBenchUsage(t *testing.T) {
	for _, args := range [][]string{
		{"bench", "--size", "lots"},
		{"bench", "--store", "tape"},
		{"bench", "--hub", "http://127.0.0.1:1"},
		{"bench", "--brokers", "127.0.0.1:9092"},
		{"bench", "--packets", "0"},
		{"bench", "extra"},
	} {
		var stdout, stderr bytes.Buffer
		if code := Run(context.Background(), args, &stdout, &stderr); code != ExitUsage {
			t.Errorf("%v: exit %d, want %d", args, code, ExitUsage)
		}
	}
}
