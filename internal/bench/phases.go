package bench

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"os"
	"path/filepath"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/lienthong/lienthong/internal/blob"
	"github.com/lienthong/lienthong/internal/bus"
	"github.com/lienthong/lienthong/internal/edxml"
)

// Run prepares the packets, runs the hub phase and then the floor, within
// o.Duration; a run cut short returns what it measured, with a Note. The
// error is a failure to set up or to read the inboxes.
func Run(ctx context.Context, o Options, stderr io.Writer) (*Result, error) {
	begin := time.Now()
	res := &Result{Mode: "embedded", Store: o.Store, Packets: o.Packets, Concurrency: o.Concurrency, Log: o.Log && o.Hub == "", PDF: "plain"}
	if o.SignPDF {
		res.PDF = "signed"
	}
	if o.Hub != "" {
		res.Mode = "external"
	}
	runCtx, cancelRun := context.WithTimeout(ctx, o.Duration)
	defer cancelRun()
	tmp, err := os.MkdirTemp("", "lienthong-bench-*")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp) //nolint:errcheck // best effort

	var env *environment
	if o.Hub == "" {
		// The hub's context outlives the run's deadline, so that a cut run
		// still shuts it down in order before the directory goes.
		hubCtx, stopHub := context.WithCancel(ctx)
		var stopped func()
		env, stopped, err = embedded(runCtx, hubCtx, o, tmp, stderr)
		defer func() {
			stopHub()
			if stopped != nil {
				stopped()
			}
		}()
	} else {
		env, err = external(runCtx, o, tmp)
	}
	cut := func(phase string) (*Result, error) {
		res.Note = fmt.Sprintf("--duration %s ran out %s: nothing was measured", o.Duration, phase)
		res.TotalS = time.Since(begin).Seconds()
		return res, nil
	}
	if err != nil {
		if runCtx.Err() != nil {
			return cut("while starting")
		}
		return nil, err
	}
	res.Agencies = len(env.agencies)

	// Build and sign every packet before anything is timed.
	t := time.Now()
	bodies, packets, err := prepare(runCtx, o, env.agencies, filepath.Join(tmp, "bodies"))
	if err != nil {
		if runCtx.Err() != nil {
			return cut("while preparing the packets")
		}
		return nil, err
	}
	defer bodies.Close() //nolint:errcheck // read-only by now
	res.PrepareS = time.Since(t).Seconds()
	var total int64
	for _, p := range packets {
		total += p.pktLen
	}
	res.SizeBytes = total / int64(len(packets))

	var notes []string
	if res.SizeBytes > o.Size*11/10 {
		notes = append(notes, fmt.Sprintf("packets are %d bytes, more than --size %d: the markup alone takes about 4 KB", res.SizeBytes, o.Size))
	}
	if o.CPUProfile != "" {
		f, err := os.Create(o.CPUProfile)
		if err != nil {
			return nil, err
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			f.Close() //nolint:errcheck // failing
			return nil, err
		}
		defer func() {
			pprof.StopCPUProfile()
			f.Close() //nolint:errcheck // written
		}()
	}
	hubDone, note, err := hubPhase(runCtx, o, env, bodies, packets, res, stderr)
	if o.CPUProfile != "" {
		pprof.StopCPUProfile()
	}
	if err != nil {
		return nil, err
	}
	if note != "" {
		notes = append(notes, note)
	}
	if !hubDone {
		notes = append(notes, fmt.Sprintf("--duration %s ran out in the hub phase: %d of %d packets accepted, %d of %d deliveries seen; rates are over what was done",
			o.Duration, res.Accepted, o.Packets, res.Delivered, res.Deliveries))
	}

	switch {
	case runCtx.Err() != nil:
		notes = append(notes, "the floor was not measured: no time left")
	case env.brokers == nil:
		notes = append(notes, "the floor was not measured: give --brokers (and --blob-dir or S3) for an external hub")
	default:
		if err := floorPhase(runCtx, o, env, bodies, packets, res); err != nil {
			if runCtx.Err() != nil {
				notes = append(notes, fmt.Sprintf("--duration %s ran out in the floor phase: %v", o.Duration, err))
			} else {
				notes = append(notes, fmt.Sprintf("the floor failed: %v", err))
			}
			res.FloorPerS = 0
		}
	}
	if res.FloorPerS > 0 {
		res.Ratio = res.HubPerS / res.FloorPerS
	}
	// The necessary work, last: on the same packets, in the same process,
	// against the hub's own configuration.
	switch {
	case env.cfg == nil || o.NewVerifier == nil:
		notes = append(notes, "the necessary work was not measured: it needs the embedded hub")
	case runCtx.Err() != nil:
		notes = append(notes, "the necessary work was not measured: no time left")
	default:
		if err := necessaryPhase(runCtx, o, env, bodies, packets, res); err != nil {
			if runCtx.Err() != nil {
				notes = append(notes, fmt.Sprintf("--duration %s ran out in the necessary work: %v", o.Duration, err))
			} else {
				notes = append(notes, fmt.Sprintf("the necessary work failed: %v", err))
			}
			res.NecessaryPerS, res.NecessaryCPUMsPerPacket = 0, 0
		}
	}
	if res.NecessaryCPUMsPerPacket > 0 && res.HubCPUMsPerPacket > 0 {
		res.CPURatio = res.HubCPUMsPerPacket / res.NecessaryCPUMsPerPacket
	}
	// Complete: the hub phase finished, and so did the floor unless there
	// was no broker to measure it on (an external hub without --brokers).
	res.Complete = hubDone && (res.FloorPerS > 0 || env.brokers == nil)
	res.Note = strings.Join(notes, "; ")
	res.TotalS = time.Since(begin).Seconds()
	return res, nil
}

// parallel runs fn(0..n-1) on workers goroutines until ctx ends.
func parallel(ctx context.Context, n, workers int, fn func(i int)) {
	var next atomic.Int64
	var wg sync.WaitGroup
	for range min(workers, n) {
		wg.Go(func() {
			for ctx.Err() == nil {
				i := int(next.Add(1) - 1)
				if i >= n {
					return
				}
				fn(i)
			}
		})
	}
	wg.Wait()
}

// parallelErr is parallel for work that can fail: it returns the first
// error, or, when ctx ended before every i was done, how many were.
func parallelErr(ctx context.Context, n, workers int, fn func(i int) error) error {
	var (
		mu    sync.Mutex
		first error
		done  atomic.Int64
	)
	parallel(ctx, n, workers, func(i int) {
		if err := fn(i); err != nil {
			mu.Lock()
			if first == nil {
				first = err
			}
			mu.Unlock()
			return
		}
		done.Add(1)
	})
	if first != nil {
		return first
	}
	if int(done.Load()) < n {
		return fmt.Errorf("%d of %d done: %w", done.Load(), n, ctx.Err())
	}
	return nil
}

// hubPhase submits every packet with o.Concurrency workers, then waits
// until every recipient's inbox lists them (generate): in a child process
// when the hub is embedded and o.Generator says how, so that the CPU this
// process uses over the phase is the hub's and its broker's alone. It
// reports whether all of it finished within ctx, and a note when the
// generator could not run as a child; the error is a failure to read the
// inboxes, or of the child.
func hubPhase(ctx context.Context, o Options, env *environment, bodies *os.File, packets []*packet, res *Result, stderr io.Writer) (bool, string, error) {
	// For the scrapes of /metrics; the generator has its own client.
	client := &http.Client{Transport: &http.Transport{DisableCompression: true}}
	defer client.CloseIdleConnections()
	timeout := time.Duration(math.MaxInt64)
	if d, ok := ctx.Deadline(); ok {
		timeout = time.Until(d)
	}
	l := newLoad(o, env, bodies.Name(), packets, timeout)
	if o.CPUProfile != "" {
		l.CPUProfile = o.CPUProfile + ".client"
	}
	var sub *submitted
	before := scrapeHubs(ctx, client, env)
	sched, _ := readSched()
	onSubmitted := func(s *submitted) {
		sub = s
		res.SchedMeanMs, res.SchedP99Ms = schedSince(sched)
		res.StageMs = stageMeans(before, scrapeHubs(ctx, client, env))
	}
	var (
		del       *delivered
		clientCPU time.Duration
		note      string
	)
	res.Generator = "in-process"
	cpu0, cpuOK := cpuTime()
	if len(o.Generator) > 0 && env.cfg != nil {
		d, cpu, err := childGenerate(ctx, o.Generator, l, stderr, onSubmitted)
		switch {
		case errors.Is(err, errNoChild):
			note = fmt.Sprintf("the load generator ran in this process, its CPU in hub_cpu_ms_per_packet (%v)", err)
		case err != nil && ctx.Err() != nil:
			return false, "", nil // cut by --duration before it had anything to tell
		case err != nil:
			return false, "", err
		default:
			del, clientCPU, res.Generator = d, cpu, "child"
		}
	}
	if del == nil {
		del = generate(ctx, l, bodies, onSubmitted)
	}
	cpu1, cpuOK1 := cpuTime()

	res.Errors, res.ErrorSamples = sub.Errors, sub.Samples
	var lat []time.Duration
	for _, a := range sub.Answers {
		if a.ID != "" {
			lat = append(lat, time.Duration(a.LatencyNs))
		}
	}
	res.Accepted, res.Deliveries, res.Delivered = len(lat), del.Deliveries, del.Delivered
	if res.Accepted > 0 {
		res.AcceptS = time.Duration(sub.AcceptNs).Seconds()
		res.AcceptedPerS = float64(res.Accepted) / res.AcceptS
		slices.Sort(lat)
		res.P50Ms, res.P90Ms, res.P99Ms = millis(percentile(lat, 50)), millis(percentile(lat, 90)), millis(percentile(lat, 99))
		res.MaxMs = millis(lat[len(lat)-1])
	}
	if del.Err != "" {
		return false, note, errors.New(del.Err)
	}
	res.DurationS = time.Duration(del.DurationNs).Seconds()
	if !del.Done {
		if res.Deliveries > 0 && res.DurationS > 0 {
			res.HubPerS = float64(res.Delivered) / float64(res.Deliveries) * float64(res.Accepted) / res.DurationS
		}
		return false, note, nil
	}
	res.HubPerS = float64(res.Accepted) / res.DurationS
	// Only the embedded hub is in this process: an external one's CPU is
	// not ours to read.
	if cpuOK && cpuOK1 && env.cfg != nil {
		res.HubCPUMsPerPacket = cpuMsPer(cpu1-cpu0, res.Accepted)
	}
	res.ClientCPUMsPerPacket = cpuMsPer(clientCPU, res.Accepted)
	return true, note, nil
}

// stageSums holds, per submit stage, the sum of seconds and the count of
// lienthong_submit_stage_seconds, summed over the hubs.
type stageSums map[string][2]float64

// scrapeHubs reads the stage histograms of every hub; nil when one does
// not serve them.
func scrapeHubs(ctx context.Context, client *http.Client, env *environment) stageSums {
	sums := stageSums{}
	hubs := env.submit
	if len(hubs) == 0 {
		hubs = []string{env.base}
	}
	for _, base := range hubs {
		if err := scrapeStages(ctx, client, base+"/metrics", sums); err != nil {
			return nil
		}
	}
	return sums
}

func scrapeStages(ctx context.Context, client *http.Client, url string, sums stageSums) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close() //nolint:errcheck // read-only
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s: %s", url, resp.Status)
	}
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		// lienthong_submit_stage_seconds_sum{stage="parse"} 1.25: the
		// hub's own exposition, where stage is the only label.
		name, rest, ok := strings.Cut(sc.Text(), `{stage="`)
		if !ok || (name != "lienthong_submit_stage_seconds_sum" && name != "lienthong_submit_stage_seconds_count") {
			continue
		}
		stage, val, ok := strings.Cut(rest, `"} `)
		v, err := strconv.ParseFloat(val, 64)
		if !ok || err != nil {
			return fmt.Errorf("%s: bad line %q", url, sc.Text())
		}
		e := sums[stage]
		if strings.HasSuffix(name, "_sum") {
			e[0] += v
		} else {
			e[1] += v
		}
		sums[stage] = e
	}
	return sc.Err()
}

// stageMeans is the mean milliseconds per stage between two scrapes.
func stageMeans(before, after stageSums) map[string]float64 {
	if before == nil || after == nil {
		return nil
	}
	out := map[string]float64{}
	for stage, a := range after {
		b := before[stage]
		if n := a[1] - b[1]; n > 0 {
			out[stage] = math.Round((a[0]-b[0])/n*1e5) / 100
		}
	}
	return out
}

// acceptedEvent has the shape and about the size of the hub's accepted event
// (schemas/events/accepted.json).
type acceptedEvent struct {
	V          int              `json:"v"`
	ID         string           `json:"id"`
	Kind       string           `json:"kind"`
	From       string           `json:"from"`
	To         []string         `json:"to"`
	DocumentID string           `json:"documentId"`
	Subject    string           `json:"subject"`
	Priority   int              `json:"priority"`
	Business   string           `json:"businessType"`
	BlobKey    string           `json:"blobKey"`
	SHA256     string           `json:"sha256"`
	Size       int64            `json:"size"`
	AcceptedAt time.Time        `json:"acceptedAt"`
	Deliveries []map[string]any `json:"deliveries"`
	Channel    string           `json:"channel"`
}

// floorPhase measures the raw floor: per packet one blob Create of its
// exact bytes (the hub's store kind, a fresh prefix, the expected SHA-256
// given as the hub gives it) then one acks=all produce of an accepted-sized
// event to a fresh topic on the hub's broker, with o.Concurrency workers.
func floorPhase(ctx context.Context, o Options, env *environment, bodies *os.File, packets []*packet, res *Result) error {
	var tag [4]byte
	_, _ = rand.Read(tag[:])
	name := "lienthong-bench-floor-" + hex.EncodeToString(tag[:])
	store, cleanup, err := env.store(ctx, name)
	if err != nil {
		return err
	}
	defer cleanup()
	bcfg := bus.Config{Brokers: env.brokers, ClientID: "lienthong-bench-floor", BatchTimeout: env.batch}
	admin, err := bus.NewAdmin(bcfg)
	if err != nil {
		return err
	}
	defer admin.Close() //nolint:errcheck // admin client
	if err := admin.EnsureTopics(ctx, bus.TopicSpec{Name: name, Partitions: env.parts}); err != nil {
		return err
	}
	prod, err := bus.NewProducer(bcfg)
	if err != nil {
		return err
	}
	defer prod.Close() //nolint:errcheck // flushed by the synchronous produces

	events := make([][]byte, len(packets))
	ids := make([]string, len(packets))
	for i, p := range packets {
		ids[i] = p.sha256 // a 64-hex key, unique per packet
		ev := acceptedEvent{V: 1, ID: ids[i], Kind: "edoc", From: env.agencies[p.from].organID, DocumentID: p.docID, Subject: p.subject,
			Business: edxml.BusinessNew, BlobKey: blob.PacketKey(ids[i]), SHA256: p.sha256, Size: p.pktLen, AcceptedAt: time.Now().UTC(), Channel: "v1"}
		for _, t := range p.to {
			ev.To = append(ev.To, env.agencies[t].organID)
			ev.Deliveries = append(ev.Deliveries, map[string]any{"endpoint": env.agencies[t].organID, "organs": []string{env.agencies[t].organID}})
		}
		if events[i], err = json.Marshal(ev); err != nil {
			return err
		}
	}
	res.FloorEventBytes = len(events[0])
	// Warm up as the hub was warm: a connection to the store, the
	// producer's metadata and connection.
	warm := []byte("warm-up")
	if _, err := store.Create(ctx, "warmup/"+name, bytes.NewReader(warm), int64(len(warm)), blob.Meta{}); err != nil {
		return err
	}
	if err := prod.Produce(ctx, bus.Message{Topic: name, Key: warm, Value: warm}); err != nil {
		return err
	}

	blobLat := make([]time.Duration, len(packets))
	prodLat := make([]time.Duration, len(packets))
	start := time.Now()
	err = parallelErr(ctx, len(packets), o.Concurrency, func(i int) error {
		p := packets[i]
		t := time.Now()
		_, err := store.Create(ctx, blob.PacketKey(ids[i]), io.NewSectionReader(bodies, p.pktOff, p.pktLen), p.pktLen,
			blob.Meta{ContentType: "application/xml", SHA256: p.sha256})
		blobLat[i] = time.Since(t)
		if err == nil {
			t = time.Now()
			err = prod.Produce(ctx, bus.Message{Topic: name, Key: []byte(ids[i]), Value: events[i]})
			prodLat[i] = time.Since(t)
		}
		return err
	})
	elapsed := time.Since(start)
	if err != nil {
		return err
	}
	res.FloorS = elapsed.Seconds()
	res.FloorPerS = float64(len(packets)) / res.FloorS
	slices.Sort(blobLat)
	slices.Sort(prodLat)
	res.FloorBlobP50Ms, res.FloorBlobP99Ms = millis(percentile(blobLat, 50)), millis(percentile(blobLat, 99))
	res.FloorProduceP50Ms, res.FloorProduceP99Ms = millis(percentile(prodLat, 50)), millis(percentile(prodLat, 99))
	return nil
}
