package bench

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/url"
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
	hubDone, err := hubPhase(runCtx, o, env, bodies, packets, res)
	if o.CPUProfile != "" {
		pprof.StopCPUProfile()
	}
	if err != nil {
		return nil, err
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
// until every recipient's inbox lists them. It reports whether all of it
// finished within ctx; the error is a failure to read the inboxes.
func hubPhase(ctx context.Context, o Options, env *environment, bodies *os.File, packets []*packet, res *Result) (bool, error) {
	tr := &http.Transport{MaxIdleConns: 2 * o.Concurrency, MaxIdleConnsPerHost: 2 * o.Concurrency, IdleConnTimeout: 90 * time.Second,
		DisableCompression: true}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr}

	var (
		mu       sync.Mutex
		lastOK   time.Time
		errs     int
		samples  []string
		answered atomic.Int64
	)
	before := scrapeHubs(ctx, client, env)
	sched, _ := readSched()
	cpu0, cpuOK := cpuTime()
	start := time.Now()
	// Client goroutines carry the label bench=client, so that a profile
	// tells the load generator from the hub (pprof -tagignore bench=client).
	pprof.Do(ctx, pprof.Labels("bench", "client"), func(ctx context.Context) {
		parallel(ctx, len(packets), o.Concurrency, func(i int) {
			p := packets[i]
			status, id, msg, err := submit(ctx, client, env, env.submitTo(i), bodies, p)
			if err != nil && ctx.Err() != nil {
				return // cut by --duration: not the hub's error
			}
			answered.Add(1)
			mu.Lock()
			defer mu.Unlock()
			if err == nil && (status == http.StatusOK || status == http.StatusCreated) {
				p.status, p.id = status, id
				if now := time.Now(); now.After(lastOK) {
					lastOK = now
				}
				return
			}
			errs++
			if len(samples) < 5 {
				if err != nil {
					msg = err.Error()
				}
				samples = append(samples, fmt.Sprintf("%d %s", status, msg))
			}
		})
	})
	res.Errors, res.ErrorSamples = errs, samples
	res.SchedMeanMs, res.SchedP99Ms = schedSince(sched)
	res.StageMs = stageMeans(before, scrapeHubs(ctx, client, env))
	var lat []time.Duration
	expected := map[int]map[string]bool{} // agency → packet ids due in its inbox
	for _, p := range packets {
		if p.id == "" {
			continue
		}
		lat = append(lat, p.latency)
		for _, t := range p.to {
			if expected[t] == nil {
				expected[t] = map[string]bool{}
			}
			expected[t][p.id] = true
			res.Deliveries++
		}
	}
	res.Accepted = len(lat)
	if res.Accepted > 0 {
		res.AcceptS = lastOK.Sub(start).Seconds()
		res.AcceptedPerS = float64(res.Accepted) / res.AcceptS
		slices.Sort(lat)
		res.P50Ms, res.P90Ms, res.P99Ms = millis(percentile(lat, 50)), millis(percentile(lat, 90)), millis(percentile(lat, 99))
		res.MaxMs = millis(lat[len(lat)-1])
	}
	if int(answered.Load()) < len(packets) || ctx.Err() != nil {
		res.Delivered = countOnce(ctx, client, env, expected)
		if res.Accepted > 0 {
			res.DurationS = time.Since(start).Seconds()
			res.HubPerS = float64(res.Delivered) / float64(max(res.Deliveries, 1)) * float64(res.Accepted) / res.DurationS
		}
		return false, nil
	}

	// Delivered: poll the inboxes of the agencies still missing items,
	// once every submit has its answer (polling earlier would slow the
	// hub down; nothing is fully delivered before it is all accepted).
	var (
		lastDelivered time.Time
		pollErr       error
	)
	pprof.Do(ctx, pprof.Labels("bench", "client"), func(ctx context.Context) {
		seen := map[int]int{}
		for {
			done := true
			for a, ids := range expected {
				if seen[a] == len(ids) {
					continue
				}
				n, err := inboxCount(ctx, client, env.base, env.agencies[a].token, ids)
				if err != nil {
					if ctx.Err() == nil {
						pollErr = fmt.Errorf("inbox of %s: %w", env.agencies[a].organID, err)
					}
					return
				}
				seen[a] = n
				if n < len(ids) {
					done = false
				}
			}
			res.Delivered = 0
			for _, n := range seen {
				res.Delivered += n
			}
			if done {
				lastDelivered = time.Now()
				return
			}
			// Listing whole inboxes costs the hub too: poll at about 2%
			// of the time elapsed, which bounds the error of the
			// delivered time at about 2%.
			wait := min(max(time.Since(start)/50, 20*time.Millisecond), 500*time.Millisecond)
			select {
			case <-ctx.Done():
				return
			case <-time.After(wait):
			}
		}
	})
	if pollErr != nil {
		return false, pollErr
	}
	if lastDelivered.IsZero() {
		res.DurationS = time.Since(start).Seconds()
		if res.Deliveries > 0 {
			res.HubPerS = float64(res.Delivered) / float64(res.Deliveries) * float64(res.Accepted) / res.DurationS
		}
		return false, nil
	}
	res.DurationS = lastDelivered.Sub(start).Seconds()
	res.HubPerS = float64(res.Accepted) / res.DurationS
	// Only the embedded hub is in this process: an external one's CPU is
	// not ours to read.
	if cpu1, ok := cpuTime(); ok && cpuOK && env.cfg != nil {
		res.HubCPUMsPerPacket = cpuMsPer(cpu1-cpu0, res.Accepted)
	}
	return true, nil
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

// submitTo is the hub packet i goes to.
func (e *environment) submitTo(i int) string {
	if len(e.submit) == 0 {
		return e.base
	}
	return e.submit[i%len(e.submit)]
}

func submit(ctx context.Context, client *http.Client, env *environment, base string, bodies *os.File, p *packet) (status int, id, msg string, err error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, base+"/v1/packets", io.NewSectionReader(bodies, p.bodyOff, p.bodyLen))
	if err != nil {
		return 0, "", "", err
	}
	req.ContentLength = p.bodyLen
	req.Header.Set("Content-Type", p.contentType)
	req.Header.Set("Authorization", "Bearer "+env.agencies[p.from].token)
	t := time.Now()
	resp, err := client.Do(req)
	if err != nil {
		return 0, "", "", err
	}
	defer resp.Body.Close() //nolint:errcheck // read to the end below
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	p.latency = time.Since(t)
	if err != nil {
		return resp.StatusCode, "", "", err
	}
	var rc struct {
		ID    string `json:"id"`
		Code  string `json:"code"`
		Title string `json:"title"`
	}
	_ = json.Unmarshal(raw, &rc)
	if resp.StatusCode/100 == 2 && rc.ID == "" {
		return resp.StatusCode, "", "", fmt.Errorf("a %s answer without a receipt id", resp.Status)
	}
	return resp.StatusCode, rc.ID, strings.TrimSpace(rc.Code + " " + rc.Title), nil
}

// inboxCount lists an agency's whole pending edoc inbox and counts the
// ids of want in it.
func inboxCount(ctx context.Context, client *http.Client, base, token string, want map[string]bool) (int, error) {
	n, cursor := 0, ""
	for {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/v1/inbox?kind=edoc&limit=1000&cursor="+url.QueryEscape(cursor), nil)
		if err != nil {
			return 0, err
		}
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := client.Do(req)
		if err != nil {
			return 0, err
		}
		var page struct {
			Items []struct {
				ID string `json:"id"`
			} `json:"items"`
			Next *string `json:"next"`
		}
		err = json.NewDecoder(resp.Body).Decode(&page)
		resp.Body.Close() //nolint:errcheck // decoded
		if err == nil && resp.StatusCode != http.StatusOK {
			err = fmt.Errorf("GET /v1/inbox: %s", resp.Status)
		}
		if err != nil {
			return 0, err
		}
		for _, it := range page.Items {
			if want[it.ID] {
				n++
			}
		}
		if page.Next == nil || *page.Next == "" {
			return n, nil
		}
		cursor = *page.Next
	}
}

// countOnce counts what was delivered, for a cut run's report.
func countOnce(ctx context.Context, client *http.Client, env *environment, expected map[int]map[string]bool) int {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	total := 0
	for a, ids := range expected {
		n, _ := inboxCount(ctx, client, env.base, env.agencies[a].token, ids)
		total += n
	}
	return total
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
