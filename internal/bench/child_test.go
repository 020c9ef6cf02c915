//go:build unix

package bench

import (
	"context"
	"crypto/sha256"
	"errors"
	"io"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// envChildBurn makes TestGeneratorChild burn that much CPU (a duration)
// before it serves the load.
const envChildBurn = "LIENTHONG_TEST_BENCH_CHILD_BURN"

// TestGeneratorChild is the load generator when the tests below re-run
// this test binary; run otherwise it has nothing to do.
func TestGeneratorChild(t *testing.T) {
	if os.Getenv(GeneratorEnv) == "" {
		t.Skip("the load generator's child of the tests below")
	}
	if d, err := time.ParseDuration(os.Getenv(envChildBurn)); err == nil {
		burnCPU(d)
	}
	os.Exit(ServeGenerator(context.Background(), os.Stderr))
}

func burnCPU(d time.Duration) {
	start, _ := cpuTime()
	buf := make([]byte, 1<<16)
	for cpu, _ := cpuTime(); cpu-start < d; cpu, _ = cpuTime() {
		for range 16 {
			sum := sha256.Sum256(buf)
			buf[0] = sum[0]
		}
	}
}

func generatorArgv(t *testing.T) []string {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	return []string{exe, "-test.run=^TestGeneratorChild$"}
}

// What the generator's child burns is its CPU, not this process's: the
// child's rusage holds it, this process's does not grow by it (a part of
// TestCPUTime).
func testChildCPU(t *testing.T) {
	const burn = 500 * time.Millisecond
	t.Setenv(envChildBurn, burn.String())
	bodies := filepath.Join(t.TempDir(), "bodies")
	if err := os.WriteFile(bodies, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	// No packets: the child burns, then reports that nothing was due.
	l := &load{Bodies: bodies, Base: "http://127.0.0.1:1", Concurrency: 1, Timeout: time.Minute}
	var sub *submitted
	before, _ := cpuTime()
	del, child, err := childGenerate(context.Background(), generatorArgv(t), l, io.Discard, func(s *submitted) { sub = s })
	after, _ := cpuTime()
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("child %s, this process %s", child, after-before)
	switch {
	case sub == nil || !del.Done || del.Deliveries != 0:
		t.Errorf("submitted %+v, delivered %+v", sub, del)
	case child < burn:
		t.Errorf("the child used %s of CPU, less than the %s it burnt", child, burn)
	case after-before >= burn/2:
		t.Errorf("this process used %s of CPU while the child burnt %s", after-before, burn)
	}
}

// Ending the run's context stops the child, which still tells what it
// had: here one submit to a hub that never answers, cut.
func TestChildCut(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	accepted := make(chan net.Conn, 1)
	go func() {
		if c, err := ln.Accept(); err == nil {
			accepted <- c
		}
	}()
	bodies := filepath.Join(t.TempDir(), "bodies")
	if err := os.WriteFile(bodies, []byte("body"), 0o600); err != nil {
		t.Fatal(err)
	}
	l := &load{Bodies: bodies, Base: "http://" + ln.Addr().String(), Concurrency: 1, Timeout: time.Hour,
		Agencies: []loadAgency{{OrganID: "a", Token: "t"}},
		Packets:  []loadPacket{{Off: 0, Len: 4, ContentType: "text/plain", From: 0, To: []int{0}}}}
	ctx, cancel := context.WithCancel(context.Background())
	var conn net.Conn
	go func() {
		conn = <-accepted // the child's submit reached the hub, which stays silent
		cancel()
	}()
	var sub *submitted
	del, _, err := childGenerate(ctx, generatorArgv(t), l, io.Discard, func(s *submitted) { sub = s })
	if conn != nil {
		conn.Close()
	}
	if err != nil {
		t.Fatal(err)
	}
	if sub == nil || sub.Answered != 0 || del.Done {
		t.Errorf("submitted %+v, delivered %+v: want a cut run with nothing answered", sub, del)
	}
}

// A command that does not start is errNoChild, for the fallback.
func TestChildAbsent(t *testing.T) {
	l := &load{Timeout: time.Minute}
	_, _, err := childGenerate(context.Background(), []string{filepath.Join(t.TempDir(), "absent")}, l, io.Discard, func(*submitted) {})
	if err == nil || !errors.Is(err, errNoChild) {
		t.Errorf("err %v, want errNoChild", err)
	}
}
