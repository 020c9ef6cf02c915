package cli

import (
	"bufio"
	"bytes"
	"context"
	"crypto"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	mrand "math/rand/v2"
	"mime/multipart"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"lienthong/internal/blob"
	"lienthong/internal/bus"
	"lienthong/internal/config"
	"lienthong/internal/edxml"
	"lienthong/internal/pki"
)

// lienthong bench is the load generator of issue 4: it submits signed
// packets concurrently to a hub (its own embedded one unless --hub is
// given), waits until every recipient's inbox holds them, and measures in
// the same run the raw floor: as many blob creates and acks=all produces of
// the same sizes, at the same concurrency, against the same store and
// broker, with no parsing, verification or HTTP. docs/PERFORMANCE.md holds
// the figures.

const benchUsage = "[--hub URL --agencies FILE] [--packets N] [--size 50KB] [--concurrency C] [--duration 2m] " +
	"[--store fs|s3] [--brokers HOST:PORT,...] [--blob-dir DIR] [--cpuprofile FILE] [--json]"

type benchOptions struct {
	hub         string // base URL; "" runs an embedded hub
	agencies    string // agencies.json of the hub at hub
	packets     int
	size        int64
	concurrency int
	duration    time.Duration
	store       string   // fs or s3
	brokers     []string // the floor's broker with an external hub
	blobDir     string   // the floor's fs store with an external hub
	cpuprofile  string
}

// benchResult is what bench reports; with --json it is printed as one
// object.
type benchResult struct {
	Mode        string `json:"mode"` // "embedded" or "external"
	Store       string `json:"store"`
	Packets     int    `json:"packets"`
	SizeBytes   int64  `json:"size_bytes"` // mean packet size
	Concurrency int    `json:"concurrency"`
	Agencies    int    `json:"agencies"`

	Accepted   int `json:"accepted"`   // submits answered 2xx
	Deliveries int `json:"deliveries"` // inbox entries expected for them
	Delivered  int `json:"delivered"`  // inbox entries seen
	Errors     int `json:"errors"`     // submits answered otherwise, or failed

	HubPerS      float64 `json:"hub_per_s"`      // packets / (first submit → last delivered)
	AcceptedPerS float64 `json:"accepted_per_s"` // packets / (first submit → last 2xx)
	FloorPerS    float64 `json:"floor_per_s"`    // packets / floor time
	Ratio        float64 `json:"ratio"`          // hub_per_s / floor_per_s

	P50Ms float64 `json:"p50_ms"` // submit latency of the 2xx answers
	P90Ms float64 `json:"p90_ms"`
	P99Ms float64 `json:"p99_ms"`
	MaxMs float64 `json:"max_ms"`

	DurationS float64 `json:"duration_s"` // first submit → last delivered
	AcceptS   float64 `json:"accept_s"`   // first submit → last 2xx
	FloorS    float64 `json:"floor_s"`
	PrepareS  float64 `json:"prepare_s"` // building and signing the packets
	TotalS    float64 `json:"total_s"`   // the whole run, setup included

	FloorBlobP50Ms    float64 `json:"floor_blob_p50_ms"`
	FloorBlobP99Ms    float64 `json:"floor_blob_p99_ms"`
	FloorProduceP50Ms float64 `json:"floor_produce_p50_ms"`
	FloorProduceP99Ms float64 `json:"floor_produce_p99_ms"`
	FloorEventBytes   int     `json:"floor_event_bytes"`

	// StageMs is the mean time of each submit stage over the run, from
	// the hubs' lienthong_submit_stage_seconds (absent when /metrics is
	// not served at the hub's base URL).
	StageMs map[string]float64 `json:"stage_ms,omitempty"`
	// SchedMeanMs and SchedP99Ms: how long this process's goroutines
	// waited for a core during the submits (the embedded hub's too).
	SchedMeanMs float64 `json:"sched_mean_ms"`
	SchedP99Ms  float64 `json:"sched_p99_ms"`

	Complete     bool     `json:"complete"`
	Note         string   `json:"note,omitempty"`
	ErrorSamples []string `json:"error_samples,omitempty"`
}

func runBench(ctx context.Context, args []string, stdout, stderr io.Writer) int {
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
	cpuprofile := fs.String("cpuprofile", "", "write a CPU profile of the hub phase (first submit to last delivery) to `FILE`")
	asJSON := fs.Bool("json", false, "print one JSON object")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return ExitUsage
	}
	o := benchOptions{hub: *hubURL, agencies: *agencies, packets: *packets, concurrency: *concurrency, duration: *duration,
		store: *store, blobDir: *blobDir, cpuprofile: *cpuprofile}
	var bs config.ByteSize
	problem := ""
	switch {
	case len(pos) > 0:
		problem = fmt.Sprintf("unexpected argument %q", pos[0])
	case bs.UnmarshalText([]byte(*size)) != nil || bs <= 0:
		problem = fmt.Sprintf("--size %q is not a size such as 50KB", *size)
	case o.packets <= 0 || o.concurrency <= 0 || o.duration <= 0:
		problem = "--packets, --concurrency and --duration must be positive"
	case o.store != "fs" && o.store != "s3":
		problem = fmt.Sprintf("--store %q: want fs or s3", o.store)
	case (o.hub == "") != (o.agencies == ""):
		problem = "--hub and --agencies go together"
	case o.hub == "" && (*brokers != "" || o.blobDir != ""):
		problem = "--brokers and --blob-dir are for an external hub (--hub)"
	}
	if problem != "" {
		fmt.Fprintf(stderr, "lienthong bench: %s\n", problem)
		fs.Usage()
		return ExitUsage
	}
	o.size = int64(bs)
	if *brokers != "" {
		o.brokers = strings.Split(*brokers, ",")
	}
	res, err := bench(ctx, o, stderr)
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
		res.print(stdout)
	}
	if res.Errors > 0 || !res.Complete {
		return ExitInvalid
	}
	return ExitOK
}

// benchAgency is a sender and recipient of the load.
type benchAgency struct {
	organID, name, token string
	cert                 *x509.Certificate
	key                  crypto.Signer
	chain                []*x509.Certificate
}

// benchPacket is one packet: its multipart body sits in the bodies file,
// the packet's own bytes inside it.
type benchPacket struct {
	bodyOff, bodyLen int64
	pktOff, pktLen   int64
	contentType      string // multipart/form-data; boundary=...
	sha256           string // of the packet bytes
	from             int
	to               []int
	docID, subject   string

	// Filled by the submit.
	id      string
	status  int
	latency time.Duration
}

// benchEnv is what the hub phase and the floor run against.
type benchEnv struct {
	base     string   // http://host:port: inboxes are read here
	submit   []string // where submits go, in turn (default base)
	agencies []benchAgency
	store    func(ctx context.Context, prefix string) (blob.Store, func(), error) // the floor's store
	brokers  []string                                                             // the floor's broker
	batch    time.Duration                                                        // the hub's producer BatchTimeout
	parts    int                                                                  // the hub's topic partitions
}

func bench(ctx context.Context, o benchOptions, stderr io.Writer) (*benchResult, error) {
	begin := time.Now()
	res := &benchResult{Mode: "embedded", Store: o.store, Packets: o.packets, Concurrency: o.concurrency}
	if o.hub != "" {
		res.Mode = "external"
	}
	runCtx, cancelRun := context.WithTimeout(ctx, o.duration)
	defer cancelRun()
	tmp, err := os.MkdirTemp("", "lienthong-bench-*")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp) //nolint:errcheck // best effort

	var env *benchEnv
	if o.hub == "" {
		// The hub's context outlives the run's deadline, so that a cut run
		// still shuts it down in order before the directory goes.
		hubCtx, stopHub := context.WithCancel(ctx)
		var served chan error
		env, served, err = benchEmbedded(runCtx, hubCtx, o, tmp, stderr)
		defer func() {
			stopHub()
			if served == nil {
				return
			}
			if err := <-served; err != nil {
				fmt.Fprintf(stderr, "lienthong bench: embedded hub: %v\n", err)
			}
		}()
	} else {
		env, err = benchExternal(runCtx, o, tmp)
	}
	cut := func(phase string) (*benchResult, error) {
		res.Note = fmt.Sprintf("--duration %s ran out %s: nothing was measured", o.duration, phase)
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
	bodies, packets, err := benchPrepare(runCtx, o, env.agencies, filepath.Join(tmp, "bodies"))
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
	if res.SizeBytes > o.size*11/10 {
		notes = append(notes, fmt.Sprintf("packets are %d bytes, more than --size %d: the markup alone takes about 4 KB", res.SizeBytes, o.size))
	}
	if o.cpuprofile != "" {
		f, err := os.Create(o.cpuprofile)
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
	hubDone, err := benchHub(runCtx, o, env, bodies, packets, res)
	if o.cpuprofile != "" {
		pprof.StopCPUProfile()
	}
	if err != nil {
		return nil, err
	}
	if !hubDone {
		notes = append(notes, fmt.Sprintf("--duration %s ran out in the hub phase: %d of %d packets accepted, %d of %d deliveries seen; rates are over what was done",
			o.duration, res.Accepted, o.packets, res.Delivered, res.Deliveries))
	}

	switch {
	case runCtx.Err() != nil:
		notes = append(notes, "the floor was not measured: no time left")
	case env.brokers == nil:
		notes = append(notes, "the floor was not measured: give --brokers (and --blob-dir or S3) for an external hub")
	default:
		if err := benchFloor(runCtx, o, env, bodies, packets, res); err != nil {
			if runCtx.Err() != nil {
				notes = append(notes, fmt.Sprintf("--duration %s ran out in the floor phase: %v", o.duration, err))
			} else {
				notes = append(notes, fmt.Sprintf("the floor failed: %v", err))
			}
			res.FloorPerS = 0
		}
	}
	if res.FloorPerS > 0 {
		res.Ratio = res.HubPerS / res.FloorPerS
	}
	// Complete: the hub phase finished, and so did the floor unless there
	// was no broker to measure it on (an external hub without --brokers).
	res.Complete = hubDone && (res.FloorPerS > 0 || env.brokers == nil)
	res.Note = strings.Join(notes, "; ")
	res.TotalS = time.Since(begin).Seconds()
	return res, nil
}

// benchEmbedded starts a hub like `dev` in dir: a dev PKI, the three demo
// agencies, kfake persisted under dir, the fs store (with fsync) or S3.
func benchEmbedded(runCtx, hubCtx context.Context, o benchOptions, dir string, stderr io.Writer) (*benchEnv, chan error, error) {
	data := filepath.Join(dir, "data")
	devDir := filepath.Join(data, "dev")
	if err := os.MkdirAll(devDir, 0o700); err != nil {
		return nil, nil, err
	}
	ca, agencies, _, err := devIdentities(devDir)
	if err != nil {
		return nil, nil, err
	}
	brokerAddr, err := benchFreeAddr()
	if err != nil {
		return nil, nil, err
	}
	cfg := config.Default()
	cfg.Hub.OrganID, cfg.Hub.Name, cfg.Hub.Addr, cfg.Hub.DataDir = devHubOrgan, "lienthong bench hub", "127.0.0.1:0", data
	cfg.Hub.ShutdownTimeout = 10 * time.Second
	cfg.Blob.FS.Dir = filepath.Join(data, "blobs")
	cfg.Bus.DataDir, cfg.Bus.ClientID, cfg.Bus.Addr = filepath.Join(data, "kafka"), "lienthong-bench", brokerAddr
	cfg.Trust.Roots = []string{ca.RootPath()}
	hubDir := filepath.Join(ca.Dir(), pki.AgenciesDir, devHubOrgan)
	cfg.Trust.HubCert, cfg.Trust.HubKey, cfg.Trust.HubChain = filepath.Join(hubDir, pki.AgencyCertFile), filepath.Join(hubDir, pki.AgencyKeyFile), filepath.Join(hubDir, pki.AgencyChainFile)
	cfg.Log.Level = "warn"
	env := &benchEnv{brokers: []string{brokerAddr}, batch: cfg.Bus.BatchTimeout, parts: cfg.Bus.Partitions}
	for _, a := range agencies {
		cfg.Agencies = append(cfg.Agencies, config.Agency{OrganID: a.OrganID, Name: a.Name, Endpoint: "pull",
			Tokens: []config.Secret{config.Secret(a.Token)}, VDXPSystemID: a.VDXPSystemID, VDXPSecret: config.Secret(a.VDXPSecret)})
		iss, err := loadIssued(ca, a.OrganID)
		if err != nil {
			return nil, nil, err
		}
		env.agencies = append(env.agencies, benchAgency{organID: a.OrganID, name: a.Name, token: a.Token, cert: iss.Cert, key: iss.Key, chain: iss.Chain})
	}
	if o.store == "s3" {
		s3, err := benchS3Config(filepath.Join(dir, "spool"))
		if err != nil {
			return nil, nil, err
		}
		cfg.Blob.Kind = config.BlobS3
		cfg.Blob.S3 = config.S3{Endpoint: s3.Endpoint, Region: s3.Region, Bucket: s3.Bucket, AccessKey: s3.AccessKey,
			SecretKey: config.Secret(s3.SecretKey.Reveal()), UseTLS: s3.UseTLS, PartSize: config.ByteSize(blob.DefaultPartSize), CreateBucket: true}
		env.store = benchS3Store(s3)
	} else {
		env.store = benchFSStore(data)
	}
	if err := cfg.Validate(); err != nil {
		return nil, nil, err
	}
	log := newLogger(stderr, cfg.Log)
	ready := make(chan net.Addr, 1)
	served := make(chan error, 1)
	go func() { served <- serve(hubCtx, cfg, log, func(a net.Addr) { ready <- a }) }()
	select {
	case a := <-ready:
		env.base = "http://" + a.String()
	case err := <-served:
		served <- err // for the deferred wait
		return nil, served, fmt.Errorf("embedded hub: %w", err)
	case <-runCtx.Done():
		return nil, served, runCtx.Err()
	}
	return env, served, benchWaitReady(runCtx, env.base)
}

// benchExternal reads the agencies of a running hub.
func benchExternal(ctx context.Context, o benchOptions, dir string) (*benchEnv, error) {
	var bases []string
	for u := range strings.SplitSeq(o.hub, ",") {
		base := strings.TrimRight(strings.TrimSpace(u), "/")
		if !strings.Contains(base, "://") {
			base = "http://" + base
		}
		if _, err := url.Parse(base); err != nil {
			return nil, fmt.Errorf("--hub: %w", err)
		}
		bases = append(bases, base)
	}
	base := bases[0]
	raw, err := os.ReadFile(o.agencies)
	if err != nil {
		return nil, err
	}
	var list []devAgency
	if err := json.Unmarshal(raw, &list); err != nil {
		return nil, fmt.Errorf("%s: %w", o.agencies, err)
	}
	if len(list) < 2 {
		return nil, fmt.Errorf("%s: need at least two agencies, found %d", o.agencies, len(list))
	}
	rel := func(p string) string {
		if p == "" || filepath.IsAbs(p) {
			return p
		}
		return filepath.Join(filepath.Dir(o.agencies), p)
	}
	env := &benchEnv{base: base, submit: bases, brokers: o.brokers, batch: bus.DefaultBatchTimeout, parts: config.Default().Bus.Partitions}
	for _, a := range list {
		certs, err := pki.LoadCertificates(rel(a.Cert))
		if err != nil {
			return nil, err
		}
		key, err := pki.LoadPrivateKey(rel(a.Key))
		if err != nil {
			return nil, err
		}
		chain := certs[1:]
		if a.Chain != "" {
			more, err := pki.LoadCertificates(rel(a.Chain))
			if err != nil {
				return nil, err
			}
			chain = append(chain, more...)
		}
		env.agencies = append(env.agencies, benchAgency{organID: a.OrganID, name: a.Name, token: a.Token, cert: certs[0], key: key, chain: chain})
	}
	switch {
	case o.store == "s3":
		s3, err := benchS3Config(filepath.Join(dir, "spool"))
		if err != nil {
			return nil, err
		}
		env.store = benchS3Store(s3)
	case o.blobDir != "":
		env.store = benchFSStore(o.blobDir)
	default:
		env.store = benchFSStore(dir)
	}
	for _, b := range bases {
		if err := benchWaitReady(ctx, b); err != nil {
			return nil, err
		}
	}
	return env, nil
}

// benchS3Config reads the S3 server from the environment, as the blob
// tests do (scripts/versitygw.sh env prints it).
func benchS3Config(spool string) (blob.S3Config, error) {
	ep := os.Getenv("LIENTHONG_TEST_S3_ENDPOINT")
	if ep == "" {
		return blob.S3Config{}, errors.New("--store s3 needs LIENTHONG_TEST_S3_ENDPOINT and its credentials (run under scripts/with-services.sh)")
	}
	if err := os.MkdirAll(spool, 0o700); err != nil {
		return blob.S3Config{}, err
	}
	bucket := os.Getenv("LIENTHONG_TEST_S3_BUCKET")
	if bucket == "" {
		bucket = "lienthong-test"
	}
	return blob.S3Config{Endpoint: ep, Region: os.Getenv("LIENTHONG_TEST_S3_REGION"), Bucket: bucket,
		AccessKey: os.Getenv("LIENTHONG_TEST_S3_ACCESS_KEY"), SecretKey: blob.SecretString(os.Getenv("LIENTHONG_TEST_S3_SECRET_KEY")),
		UseTLS: os.Getenv("LIENTHONG_TEST_S3_TLS") == "true", PartSize: blob.DefaultPartSize, CreateBucket: true, SpoolDir: spool}, nil
}

// benchS3Store makes the floor's store: the hub's bucket, a fresh prefix,
// emptied afterwards.
func benchS3Store(cfg blob.S3Config) func(ctx context.Context, prefix string) (blob.Store, func(), error) {
	return func(ctx context.Context, prefix string) (blob.Store, func(), error) {
		cfg.Prefix = prefix + "/"
		s, err := blob.NewS3(ctx, cfg)
		if err != nil {
			return nil, nil, err
		}
		cleanup := func() {
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			var keys []string
			_ = s.List(ctx, "", func(i blob.Info) error { keys = append(keys, i.Key); return nil })
			benchParallel(ctx, len(keys), 8, func(i int) { _ = s.Delete(ctx, keys[i]) })
		}
		return s, cleanup, nil
	}
}

// benchFSStore makes the floor's store: a fresh directory beside the hub's
// blobs, on the same disk, fsync included as in the hub's store.
func benchFSStore(parent string) func(ctx context.Context, prefix string) (blob.Store, func(), error) {
	return func(_ context.Context, prefix string) (blob.Store, func(), error) {
		dir := filepath.Join(parent, prefix)
		s, err := blob.NewFS(dir)
		if err != nil {
			return nil, nil, err
		}
		return s, func() { _ = s.Close(); _ = os.RemoveAll(dir) }, nil
	}
}

func benchWaitReady(ctx context.Context, base string) error {
	for {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/readyz", nil)
		if err != nil {
			return err
		}
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			resp.Body.Close() //nolint:errcheck // drained enough
			if resp.StatusCode == http.StatusOK {
				return nil
			}
			err = fmt.Errorf("/readyz answered %s", resp.Status)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("hub at %s not ready: %w", base, err)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

func benchFreeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close() //nolint:errcheck // only wanted the port
	return ln.Addr().String(), nil
}

// benchPrepare builds the packets and their multipart bodies, signs them
// with the senders' keys, and writes the bodies to one file at path, synced,
// so that submits read them from the page cache: the in-process hub then
// runs with a heap of its own size, not one swollen by the load.
func benchPrepare(ctx context.Context, o benchOptions, agencies []benchAgency, path string) (*os.File, []*benchPacket, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return nil, nil, err
	}
	fail := func(err error) (*os.File, []*benchPacket, error) {
		f.Close() //nolint:errcheck // failing
		return nil, nil, err
	}
	var tag [4]byte
	_, _ = rand.Read(tag[:])
	run := strings.ToUpper(hex.EncodeToString(tag[:]))
	now := time.Now()
	// The attachment's length makes the whole packet about o.size: the
	// markup around it is measured on a packet without content.
	empty, err := benchBuild(agencies, 0, run, now, nil, o.packets)
	if err != nil {
		return fail(err)
	}
	raw := max((o.size-int64(len(empty.xml)))*3/4, 64)

	packets := make([]*benchPacket, o.packets)
	var (
		mu     sync.Mutex
		offset int64
		first  error
		seed   = binaryUint64(tag[:])
	)
	benchParallel(ctx, o.packets, runtime.GOMAXPROCS(0), func(i int) {
		content := benchContent(raw, seed, uint64(i))
		b, err := benchBuild(agencies, i, run, now, content, o.packets)
		if err == nil {
			err = b.sign(agencies[b.p.from])
		}
		if err == nil {
			mu.Lock()
			b.p.bodyOff = offset
			offset += int64(len(b.body))
			mu.Unlock()
			b.p.pktOff += b.p.bodyOff
			_, err = f.WriteAt(b.body, b.p.bodyOff)
			packets[i] = b.p
		}
		if err != nil {
			mu.Lock()
			if first == nil {
				first = err
			}
			mu.Unlock()
		}
	})
	if first != nil {
		return fail(first)
	}
	if err := ctx.Err(); err != nil {
		return fail(err)
	}
	// Written back now, not while the hub phase fsyncs.
	if err := f.Sync(); err != nil {
		return fail(err)
	}
	return f, packets, nil
}

func binaryUint64(b []byte) uint64 {
	var v uint64
	for _, c := range b {
		v = v<<8 | uint64(c)
	}
	return v
}

// benchContent is a PDF-like file of n bytes: a PDF header and trailer
// around pseudo-random bytes (incompressible, as scanned letters are).
func benchContent(n int64, seed, i uint64) []byte {
	head, tail := []byte("%PDF-1.4\n%\xe2\xe3\xcf\xd3\n"), []byte("\n%%EOF\n")
	b := make([]byte, n)
	var key [32]byte
	for j := range 8 {
		key[j] = byte(seed >> (8 * j))
		key[8+j] = byte(i >> (8 * j))
	}
	_, _ = mrand.NewChaCha8(key).Read(b)
	copy(b, head)
	copy(b[max(int64(len(head)), n-int64(len(tail))):], tail)
	return b
}

type benchBuilt struct {
	p    *benchPacket
	xml  []byte
	body []byte
}

// benchBuild makes packet i: from agency i mod K to the next two agencies
// (the one other with two), with a unique DocumentId and TraceHeader
// Timestamp.
func benchBuild(agencies []benchAgency, i int, run string, now time.Time, content []byte, n int) (*benchBuilt, error) {
	k := len(agencies)
	from := i % k
	to := []int{(from + 1) % k}
	if k > 2 {
		to = append(to, (from+2)%k)
	}
	day := now.In(edxml.Zone).Format("2006/01/02")
	number := strconv.Itoa(i + 1)
	notation := "BENCH-" + run
	docID := agencies[from].organID + "," + day + "," + number + "/" + notation
	subject := fmt.Sprintf("Thử tải lienthong bench %s, văn bản %d/%d", run, i+1, n)
	h := &edxml.Header{
		From:         edxml.Organization{OrganID: agencies[from].organID, OrganName: agencies[from].name},
		DocumentID:   docID,
		Code:         edxml.Code{Number: number, Notation: notation},
		Promulgation: edxml.Promulgation{Place: "Hà Nội", Date: day},
		DocumentType: edxml.DocumentType{Type: "1", TypeDetail: "0", TypeName: "Công văn"},
		Subject:      subject,
		Content:      "Văn bản thử tải do lienthong bench sinh ra.",
		Signer:       edxml.Signer{Position: "Chánh Văn phòng", FullName: "Nguyễn Văn A"},
		OtherInfo:    edxml.OtherInfo{Priority: "0"},
	}
	for _, t := range to {
		h.To = append(h.To, edxml.Organization{OrganID: agencies[t].organID, OrganName: agencies[t].name})
	}
	pk := &edxml.Packet{Kind: edxml.KindEdoc, Header: h, Trace: &edxml.Trace{
		Headers:  []edxml.TraceHeader{{OrganID: agencies[from].organID, Timestamp: edxml.FormatTimestamp(now.Add(-time.Duration(i) * time.Second))}},
		Business: &edxml.Business{DocumentID: docID, DocType: edxml.BusinessNew, DocReason: "Văn bản điện tử mới", Paper: "0"},
	}}
	pk.AddFile("a1", "CV "+number+".pdf", "Văn bản chính", "application/pdf")
	var buf bytes.Buffer
	buf.Grow(len(content)*4/3 + 8<<10)
	if err := edxml.Write(&buf, pk, func(int) (io.Reader, error) { return bytes.NewReader(content), nil }); err != nil {
		return nil, err
	}
	sum := sha256.Sum256(buf.Bytes())
	return &benchBuilt{xml: buf.Bytes(), p: &benchPacket{from: from, to: to, docID: docID, subject: subject,
		pktLen: int64(buf.Len()), sha256: hex.EncodeToString(sum[:])}}, nil
}

// sign makes the detached CMS signature and the multipart body.
func (b *benchBuilt) sign(a benchAgency) error {
	sig, err := pki.SignDetached(bytes.NewReader(b.xml), a.cert, a.key, a.chain, pki.SignOptions{})
	if err != nil {
		return err
	}
	var body bytes.Buffer
	body.Grow(len(b.xml) + len(sig) + 1024)
	mw := multipart.NewWriter(&body)
	w, err := mw.CreateFormFile("packet", "packet.xml")
	if err != nil {
		return err
	}
	b.p.pktOff = int64(body.Len()) // multipart.Writer writes through
	if _, err := w.Write(b.xml); err != nil {
		return err
	}
	if w, err = mw.CreateFormFile("signature", "packet.xml.p7s"); err != nil {
		return err
	}
	if _, err := w.Write(sig); err != nil {
		return err
	}
	if err := mw.Close(); err != nil {
		return err
	}
	b.body, b.p.bodyLen, b.p.contentType = body.Bytes(), int64(body.Len()), mw.FormDataContentType()
	return nil
}

// benchParallel runs fn(0..n-1) on workers goroutines until ctx ends.
func benchParallel(ctx context.Context, n, workers int, fn func(i int)) {
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

// benchHub submits every packet with o.concurrency workers, then waits
// until every recipient's inbox lists them. It reports whether all of it
// finished within ctx; the error is a failure to read the inboxes.
func benchHub(ctx context.Context, o benchOptions, env *benchEnv, bodies *os.File, packets []*benchPacket, res *benchResult) (bool, error) {
	tr := &http.Transport{MaxIdleConns: 2 * o.concurrency, MaxIdleConnsPerHost: 2 * o.concurrency, IdleConnTimeout: 90 * time.Second,
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
	before := benchStages(ctx, client, env)
	sched, _ := readSched()
	start := time.Now()
	// Client goroutines carry the label bench=client, so that a profile
	// tells the load generator from the hub (pprof -tagignore bench=client).
	pprof.Do(ctx, pprof.Labels("bench", "client"), func(ctx context.Context) {
		benchParallel(ctx, len(packets), o.concurrency, func(i int) {
			p := packets[i]
			status, id, msg, err := benchSubmit(ctx, client, env, env.submitTo(i), bodies, p)
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
	res.StageMs = benchStageMeans(before, benchStages(ctx, client, env))
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
		res.P50Ms, res.P90Ms, res.P99Ms = benchMs(benchPct(lat, 50)), benchMs(benchPct(lat, 90)), benchMs(benchPct(lat, 99))
		res.MaxMs = benchMs(lat[len(lat)-1])
	}
	if int(answered.Load()) < len(packets) || ctx.Err() != nil {
		res.Delivered = benchCountOnce(ctx, client, env, expected)
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
				n, err := benchInboxCount(ctx, client, env.base, env.agencies[a].token, ids)
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
	return true, nil
}

// stageSums holds, per submit stage, the sum of seconds and the count of
// lienthong_submit_stage_seconds, summed over the hubs.
type stageSums map[string][2]float64

// benchStages reads the stage histograms of every hub; nil when one does
// not serve them.
func benchStages(ctx context.Context, client *http.Client, env *benchEnv) stageSums {
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

// benchStageMeans is the mean milliseconds per stage between two scrapes.
func benchStageMeans(before, after stageSums) map[string]float64 {
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
func (e *benchEnv) submitTo(i int) string {
	if len(e.submit) == 0 {
		return e.base
	}
	return e.submit[i%len(e.submit)]
}

func benchSubmit(ctx context.Context, client *http.Client, env *benchEnv, base string, bodies *os.File, p *benchPacket) (status int, id, msg string, err error) {
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

// benchInboxCount lists an agency's whole pending edoc inbox and counts the
// ids of want in it.
func benchInboxCount(ctx context.Context, client *http.Client, base, token string, want map[string]bool) (int, error) {
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

// benchCountOnce counts what was delivered, for a cut run's report.
func benchCountOnce(ctx context.Context, client *http.Client, env *benchEnv, expected map[int]map[string]bool) int {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	total := 0
	for a, ids := range expected {
		n, _ := benchInboxCount(ctx, client, env.base, env.agencies[a].token, ids)
		total += n
	}
	return total
}

// benchEvent has the shape and about the size of the hub's accepted event
// (schemas/events/accepted.json).
type benchEvent struct {
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

// benchFloor measures the raw floor: per packet one blob Create of its
// exact bytes (the hub's store kind, a fresh prefix, the expected SHA-256
// given as the hub gives it) then one acks=all produce of an accepted-sized
// event to a fresh topic on the hub's broker, with o.concurrency workers.
func benchFloor(ctx context.Context, o benchOptions, env *benchEnv, bodies *os.File, packets []*benchPacket, res *benchResult) error {
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
		ev := benchEvent{V: 1, ID: ids[i], Kind: "edoc", From: env.agencies[p.from].organID, DocumentID: p.docID, Subject: p.subject,
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
	var (
		mu    sync.Mutex
		first error
		done  atomic.Int64
	)
	start := time.Now()
	benchParallel(ctx, len(packets), o.concurrency, func(i int) {
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
		if err != nil {
			mu.Lock()
			if first == nil {
				first = err
			}
			mu.Unlock()
			return
		}
		done.Add(1)
	})
	elapsed := time.Since(start)
	if first != nil {
		return first
	}
	if int(done.Load()) < len(packets) {
		return fmt.Errorf("%d of %d done: %w", done.Load(), len(packets), ctx.Err())
	}
	res.FloorS = elapsed.Seconds()
	res.FloorPerS = float64(len(packets)) / res.FloorS
	slices.Sort(blobLat)
	slices.Sort(prodLat)
	res.FloorBlobP50Ms, res.FloorBlobP99Ms = benchMs(benchPct(blobLat, 50)), benchMs(benchPct(blobLat, 99))
	res.FloorProduceP50Ms, res.FloorProduceP99Ms = benchMs(benchPct(prodLat, 50)), benchMs(benchPct(prodLat, 99))
	return nil
}

// benchPct is the nearest-rank percentile of sorted durations.
func benchPct(sorted []time.Duration, pct int) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	rank := (pct*len(sorted) + 99) / 100 // ceil(pct/100 × n)
	return sorted[max(rank, 1)-1]
}

func benchMs(d time.Duration) float64 {
	return float64(d.Microseconds()) / 1000
}

func (r *benchResult) print(w io.Writer) {
	hub := "embedded hub (kfake, " + r.Store + " store)"
	if r.Mode == "external" {
		hub = "external hub"
	}
	fmt.Fprintf(w, "lienthong bench: %d packets of %.1f KB (CMS-signed), %d agencies, concurrency %d, %s\n",
		r.Packets, float64(r.SizeBytes)/1000, r.Agencies, r.Concurrency, hub)
	fmt.Fprintf(w, "  prepare   built and signed the packets in %.2f s (not timed below)\n", r.PrepareS)
	fmt.Fprintf(w, "  accepted  %d in %.2f s: %.0f packets/s\n", r.Accepted, r.AcceptS, r.AcceptedPerS)
	fmt.Fprintf(w, "  delivered %d of %d inbox entries, last after %.2f s: %.0f packets/s end to end\n", r.Delivered, r.Deliveries, r.DurationS, r.HubPerS)
	fmt.Fprintf(w, "  latency   submit p50 %.1f ms, p90 %.1f ms, p99 %.1f ms, max %.1f ms\n", r.P50Ms, r.P90Ms, r.P99Ms, r.MaxMs)
	if r.FloorPerS > 0 {
		fmt.Fprintf(w, "  floor     %d blob creates + %d produces (acks=all, %d-byte events) in %.2f s: %.0f /s; create p50 %.1f ms p99 %.1f ms, produce p50 %.1f ms p99 %.1f ms\n",
			r.Packets, r.Packets, r.FloorEventBytes, r.FloorS, r.FloorPerS, r.FloorBlobP50Ms, r.FloorBlobP99Ms, r.FloorProduceP50Ms, r.FloorProduceP99Ms)
		fmt.Fprintf(w, "  ratio     hub / floor = %.2f\n", r.Ratio)
	}
	fmt.Fprintf(w, "  errors    %d\n", r.Errors)
	for _, s := range r.ErrorSamples {
		fmt.Fprintf(w, "            %s\n", s)
	}
	if r.Note != "" {
		fmt.Fprintf(w, "  note      %s\n", r.Note)
	}
}
