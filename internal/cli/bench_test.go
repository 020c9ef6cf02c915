package cli

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"math"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/lienthong/lienthong/internal/bench"
	"github.com/lienthong/lienthong/internal/metrics"
)

// bench's load generator runs as this test binary, re-run for
// TestBenchGeneratorChild alone.
func init() {
	benchGenerator = func() []string {
		exe, err := os.Executable()
		if err != nil {
			return nil
		}
		return []string{exe, "-test.run=^TestBenchGeneratorChild$"}
	}
}

// envBenchBurn makes the generator's child burn that much CPU (a
// duration) before its load, as a costly generator would.
const envBenchBurn = "LIENTHONG_TEST_BENCH_BURN"

// TestBenchGeneratorChild is bench's load generator when bench re-runs
// this test binary (benchGenerator); run otherwise it has nothing to do.
func TestBenchGeneratorChild(t *testing.T) {
	if os.Getenv(bench.GeneratorEnv) == "" {
		t.Skip("bench's load generator, run by bench as a child process")
	}
	if d, err := time.ParseDuration(os.Getenv(envBenchBurn)); err == nil {
		burnCPU(d)
	}
	os.Exit(Run(context.Background(), []string{"bench"}, os.Stdout, os.Stderr))
}

// burnCPU hashes until this process has used d more of CPU time.
func burnCPU(d time.Duration) {
	cpu := func() time.Duration {
		var ru syscall.Rusage
		_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
		return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	}
	buf := make([]byte, 1<<16)
	for end := cpu() + d; cpu() < end; {
		for range 16 {
			sum := sha256.Sum256(buf)
			buf[0] = sum[0]
		}
	}
}

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
		"generator", "hub_cpu_ms_per_packet", "client_cpu_ms_per_packet", "necessary_cpu_ms_per_packet", "cpu_ratio", "necessary_per_s", "necessary_s", "necessary_pdf"} {
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
	// The load generator ran in a child process (this test binary re-run),
	// its CPU reported apart from the hub's.
	if r.Generator != "child" || r.ClientCPUMsPerPacket <= 0 {
		t.Errorf("generator %q, client %v ms/packet: want the child's, above 0", r.Generator, r.ClientCPUMsPerPacket)
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

// The hub's CPU figure holds the hub and its broker, not the load
// generator: a generator that burns 3 s of CPU in the phase shows them in
// client_cpu_ms_per_packet, and the hub's whole phase (60 small packets,
// under 1 s) stays far under them.
func TestBenchGeneratorOutsideHub(t *testing.T) {
	const burn = 3 * time.Second
	t.Setenv(envBenchBurn, burn.String())
	r := benchJSON(t, 90*time.Second, "--packets", "60", "--size", "8KB", "--concurrency", "4")
	hub := time.Duration(r.HubCPUMsPerPacket * float64(r.Accepted) * float64(time.Millisecond))
	client := time.Duration(r.ClientCPUMsPerPacket * float64(r.Accepted) * float64(time.Millisecond))
	t.Logf("hub phase: hub %s of CPU, generator %s", hub, client)
	switch {
	case r.Generator != "child" || r.Accepted != 60:
		t.Errorf("generator %q, %d accepted", r.Generator, r.Accepted)
	case client < burn:
		t.Errorf("the generator's child used %s of CPU, less than the %s it burnt", client, burn)
	case hub <= 0 || hub >= burn:
		t.Errorf("the hub's phase used %s of CPU: the generator's %s burnt in the child are in it", hub, burn)
	}
}

// Where bench cannot re-run itself the generator runs in this process,
// and the JSON says so.
func TestBenchGeneratorFallback(t *testing.T) {
	tests := []struct {
		name     string
		give     []string
		wantNote bool
	}{
		{"no command", nil, false},
		{"a command that does not start", []string{t.TempDir() + "/absent"}, true},
	}
	saved := benchGenerator
	t.Cleanup(func() { benchGenerator = saved })
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			benchGenerator = func() []string { return tt.give }
			r := benchJSON(t, 60*time.Second, "--packets", "20", "--size", "4KB", "--concurrency", "4")
			if r.Generator != "in-process" || r.ClientCPUMsPerPacket != 0 || r.Accepted != 20 || r.HubCPUMsPerPacket <= 0 {
				t.Errorf("generator %q, client %v ms/packet, %d accepted, hub %v ms/packet", r.Generator, r.ClientCPUMsPerPacket, r.Accepted, r.HubCPUMsPerPacket)
			}
			if got := strings.Contains(r.Note, "ran in this process"); got != tt.wantNote {
				t.Errorf("note %q: mentions the fallback %v, want %v", r.Note, got, tt.wantNote)
			}
		})
	}
}

// benchJSON runs bench with args and --json within d, and decodes its
// report; a failed run fails the test.
func benchJSON(t *testing.T, d time.Duration, args ...string) bench.Result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	var stdout, stderr bytes.Buffer
	if code := Run(ctx, append(append([]string{"bench"}, args...), "--json"), &stdout, &stderr); code != ExitOK {
		t.Fatalf("exit %d\nstdout: %s\nstderr: %s", code, stdout.String(), stderr.String())
	}
	var r bench.Result
	if err := json.Unmarshal(stdout.Bytes(), &r); err != nil {
		t.Fatalf("%v\n%s", err, stdout.String())
	}
	return r
}
