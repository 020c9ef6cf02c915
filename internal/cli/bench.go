package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/lienthong/lienthong/internal/bench"
	"github.com/lienthong/lienthong/internal/config"
	"github.com/lienthong/lienthong/internal/trust"
)

// lienthong bench: the flags here, the load and its report in
// internal/bench.

const benchUsage = "[--hub URL --agencies FILE] [--packets N] [--size SIZE] [--concurrency C] [--duration D] " +
	"[--store fs|s3] [--brokers HOST:PORT,...] [--blob-dir DIR] [--cpuprofile FILE] [--json]"

func runBench(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if os.Getenv(bench.GeneratorEnv) != "" {
		return bench.ServeGenerator(ctx, stderr)
	}
	serverGC()
	fs := newFlags("bench", benchUsage, stderr)
	hubURL := fs.String("hub", "", "`URL` of a running hub, or several comma-separated hubs sharing a broker and store, which take the submits in turn (default: start an embedded hub in a temporary directory)")
	agencies := fs.String("agencies", "", "the hub's agencies `FILE` (agencies.json as lienthong dev writes it; with --hub)")
	packets := fs.Int("packets", 2000, "number of packets")
	size := fs.String("size", "50KB", "packet size (KB = 1000 bytes, KiB = 1024)")
	concurrency := fs.Int("concurrency", 32, "concurrent submits, and concurrent floor operations")
	duration := fs.Duration("duration", 2*time.Minute, "bound on the whole run; a cut run reports what it has")
	store := fs.String("store", "fs", "blob store: fs, or s3 from LIENTHONG_TEST_S3_* (the embedded hub's objects stay in that bucket)")
	brokers := fs.String("brokers", "", "with --hub: the hub's Kafka brokers, for the floor (without it the floor is skipped)")
	blobDir := fs.String("blob-dir", "", "with --hub and --store fs: a directory on the hub's store disk, for the floor")
	cpuprofile := fs.String("cpuprofile", "", "write a CPU profile of the hub phase (first submit to last delivery) to `FILE`, one of the load generator's child process to FILE.client, and one of the necessary work to FILE.necessary")
	asJSON := fs.Bool("json", false, "print one JSON object")
	pdfMode := fs.String("pdf", "plain", "the attachment: plain (an unsigned one-page PDF) or signed (sealed by the sender's organ key, as a letter under Nghị định 30 is)")
	logMode := fs.String("log", "on", "the embedded hub's verifiable log: on, off, or both (two runs, off then on, and the log's cost)")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return flagsFailed(err)
	}
	o := bench.Options{Hub: *hubURL, Agencies: *agencies, Packets: *packets, Concurrency: *concurrency, Duration: *duration,
		Store: *store, BlobDir: *blobDir, CPUProfile: *cpuprofile, Serve: serve, SignPDF: *pdfMode == "signed",
		NewVerifier: benchVerifier, Generator: benchGenerator()}
	var bs config.ByteSize
	problem := ""
	switch {
	case len(pos) > 0:
		problem = fmt.Sprintf("unexpected argument %q", pos[0])
	case bs.UnmarshalText([]byte(*size)) != nil || bs <= 0:
		problem = fmt.Sprintf("--size %q is not a size such as 50KB", *size)
	case o.Packets <= 0 || o.Concurrency <= 0 || o.Duration <= 0:
		problem = "--packets, --concurrency and --duration must be positive"
	case o.Store != "fs" && o.Store != "s3":
		problem = fmt.Sprintf("--store %q: want fs or s3", o.Store)
	case (o.Hub == "") != (o.Agencies == ""):
		problem = "--hub and --agencies go together"
	case o.Hub == "" && (*brokers != "" || o.BlobDir != ""):
		problem = "--brokers and --blob-dir are for an external hub (--hub)"
	case *pdfMode != "plain" && *pdfMode != "signed":
		problem = fmt.Sprintf("--pdf %q: want plain or signed", *pdfMode)
	case *logMode != "on" && *logMode != "off" && *logMode != "both":
		problem = fmt.Sprintf("--log %q: want on, off or both", *logMode)
	case o.Hub != "" && *logMode == "both":
		problem = "--log both needs the embedded hub"
	}
	if problem != "" {
		fmt.Fprintf(stderr, "lienthong bench: %s\n", problem)
		fs.Usage()
		return ExitUsage
	}
	o.Size = int64(bs)
	if *brokers != "" {
		o.Brokers = strings.Split(*brokers, ",")
	}
	o.Log = *logMode != "off"
	if *logMode == "both" {
		return benchLogCost(ctx, o, *asJSON, stdout, stderr)
	}
	res, err := bench.Run(ctx, o, stderr)
	if err != nil {
		fmt.Fprintf(stderr, "lienthong bench: %v\n", err)
		return ExitUsage
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		if err := enc.Encode(res); err != nil {
			return ExitUsage
		}
	} else {
		res.Print(stdout)
	}
	if res.Errors > 0 || !res.Complete {
		return ExitInvalid
	}
	return ExitOK
}

// benchGenerator is the command that runs bench's load generator as a
// child process: this binary as `lienthong bench`, which serves it when
// bench.GeneratorEnv is set. nil keeps the generator in this process: a
// test binary would run its tests instead, unless its tests say how
// (bench_test.go does).
var benchGenerator = func() []string {
	if testing.Testing() {
		return nil
	}
	exe, err := os.Executable()
	if err != nil {
		return nil
	}
	return []string{exe, "bench"}
}

// benchVerifier is the verifier serve builds from cfg, for bench's phase
// of the necessary work.
func benchVerifier(cfg *config.Config) (*trust.Verifier, error) {
	dir, err := cfg.LoadDirectory()
	if err != nil {
		return nil, err
	}
	return newVerifier(cfg, dir)
}

// benchLogCost runs the embedded hub without the verifiable log, then
// with it, on the same packets' shape, and reports both and the log's
// cost: 1 − (with / without), of the hub's packets per second.
func benchLogCost(ctx context.Context, o bench.Options, asJSON bool, stdout, stderr io.Writer) int {
	var runs [2]*bench.Result
	for i, on := range []bool{false, true} {
		o.Log = on
		res, err := bench.Run(ctx, o, stderr)
		if err != nil {
			fmt.Fprintf(stderr, "lienthong bench: %v\n", err)
			return ExitUsage
		}
		if res.Errors > 0 || !res.Complete {
			res.Print(stderr)
			return ExitInvalid
		}
		runs[i] = res
	}
	cost := 0.0
	if runs[0].HubPerS > 0 {
		cost = 1 - runs[1].HubPerS/runs[0].HubPerS
	}
	if asJSON {
		_ = json.NewEncoder(stdout).Encode(map[string]any{"log_off": runs[0], "log_on": runs[1], "log_cost": cost})
		return ExitOK
	}
	fmt.Fprintln(stdout, "without the log:")
	runs[0].Print(stdout)
	fmt.Fprintln(stdout, "with the log:")
	runs[1].Print(stdout)
	fmt.Fprintf(stdout, "the log's cost: %.1f%% of the hub's packets/s\n", 100*cost)
	return ExitOK
}
