package bench

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"golang.org/x/mod/sumdb/note"

	"github.com/lienthong/lienthong/internal/blob"
	"github.com/lienthong/lienthong/internal/bus"
	"github.com/lienthong/lienthong/internal/config"
	"github.com/lienthong/lienthong/internal/devsite"
	"github.com/lienthong/lienthong/internal/hub"
	"github.com/lienthong/lienthong/internal/pki"
	"github.com/lienthong/lienthong/internal/trust"
)

// Options are the flags of lienthong bench.
type Options struct {
	Hub         string // base URL; "" runs an embedded hub
	Agencies    string // agencies.json of the hub at Hub
	Packets     int
	Size        int64
	Concurrency int
	Duration    time.Duration
	Store       string   // fs or s3
	Brokers     []string // the floor's broker with an external hub
	BlobDir     string   // the floor's fs store with an external hub
	CPUProfile  string
	// Log keeps the verifiable log on the embedded hub (evidence.key), as
	// lienthong dev does.
	Log bool
	// SignPDF seals each packet's PDF with its sender's organ key, so the
	// hub verifies a signature inside it as well as the envelope's.
	SignPDF bool

	// Serve runs the embedded hub from cfg until ctx ends, telling ready
	// its API's address: serve's own wiring (internal/cli), given here
	// because that package runs bench.
	Serve func(ctx context.Context, cfg *config.Config, log *slog.Logger, ready func(net.Addr)) error
	// NewVerifier builds the verifier serve builds from cfg, for the
	// phase of the necessary work; without it that phase is skipped.
	NewVerifier func(cfg *config.Config) (*trust.Verifier, error)
	// Generator is the command that runs the load generator in a child
	// process, with GeneratorEnv set (ServeGenerator): the embedded run's
	// CPU figure is then the hub's and its broker's, not the generator's.
	// Empty, or a command that does not start, keeps it in this process.
	Generator []string
}

// agency is a sender and recipient of the load.
type agency struct {
	organID, name, token string
	cert                 *x509.Certificate
	key                  crypto.Signer
	chain                []*x509.Certificate
}

// environment is what the hub phase and the floor run against.
type environment struct {
	base     string   // http://host:port: inboxes are read here
	submit   []string // where submits go, in turn (default base)
	agencies []agency
	store    func(ctx context.Context, prefix string) (blob.Store, func(), error) // the floor's store
	brokers  []string                                                             // the floor's broker
	batch    time.Duration                                                        // the hub's producer BatchTimeout
	parts    int                                                                  // the hub's topic partitions
	cfg      *config.Config                                                       // the embedded hub's configuration; nil for an external hub
}

// embedded starts a hub as `lienthong dev` configures it (devsite) in dir,
// with kfake persisted under dir and the fs store (with fsync) or S3. The
// broker runs here rather than inside the hub, so that the floor is given
// the address it really listens on. stopped waits for the hub to end, once
// hubCtx is done, then closes the broker.
func embedded(runCtx, hubCtx context.Context, o Options, dir string, stderr io.Writer) (env *environment, stopped func(), err error) {
	if o.Serve == nil {
		return nil, nil, errors.New("an embedded hub needs Options.Serve")
	}
	data := filepath.Join(dir, "data")
	site, err := devsite.Open(data)
	if err != nil {
		return nil, nil, err
	}
	cfg := site.Config
	cfg.Hub.Name, cfg.Hub.Addr = "lienthong bench hub", "127.0.0.1:0"
	cfg.Hub.ShutdownTimeout = 10 * time.Second
	cfg.Bus.ClientID = "lienthong-bench"
	cfg.Log.Level = "warn"
	if o.SignPDF {
		// Every sealed letter must pass the organ policy: a seal the hub
		// did not verify fails the run instead of passing unnoticed.
		cfg.PDF.Policy.V1 = hub.PDFOrgan
	}
	env = &environment{batch: cfg.Bus.BatchTimeout, parts: cfg.Bus.Partitions}
	if o.Log {
		skey, _, err := note.GenerateKey(rand.Reader, "lienthong-bench/log")
		if err != nil {
			return nil, nil, err
		}
		cfg.Evidence.Key = filepath.Join(dir, "log.key")
		if err := os.WriteFile(cfg.Evidence.Key, []byte(skey), 0o600); err != nil {
			return nil, nil, err
		}
	}
	if env.agencies, err = loadAgencies(site.Agencies, site.Path); err != nil {
		return nil, nil, err
	}
	if o.Store == "s3" {
		s3, err := s3Config(filepath.Join(dir, "spool"))
		if err != nil {
			return nil, nil, err
		}
		cfg.Blob.Kind = config.BlobS3
		cfg.Blob.S3 = config.S3{Endpoint: s3.Endpoint, Region: s3.Region, Bucket: s3.Bucket, AccessKey: s3.AccessKey,
			SecretKey: config.Secret(s3.SecretKey.Reveal()), UseTLS: s3.UseTLS, PartSize: config.ByteSize(blob.DefaultPartSize), CreateBucket: true}
		env.store = s3Store(s3)
	} else {
		env.store = fsStore(data)
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: cfg.Log.SlogLevel()}))
	// The broker the hub's own embedded one would be (bus.addr's default
	// 127.0.0.1:0, bus.dataDir), handed to the hub as its bus.brokers.
	broker, err := bus.StartBroker(runCtx, bus.BrokerConfig{Addr: "127.0.0.1:0", DataDir: cfg.Bus.DataDir, Logger: log})
	if err != nil {
		return nil, nil, fmt.Errorf("embedded broker: %w", err)
	}
	closeBroker := func() {
		if err := broker.Close(); err != nil {
			fmt.Fprintf(stderr, "lienthong bench: embedded broker: %v\n", err)
		}
	}
	env.brokers = broker.Addrs()
	cfg.Bus.Embedded, cfg.Bus.Brokers = false, env.brokers
	if err := cfg.Validate(); err != nil {
		closeBroker()
		return nil, nil, err
	}
	env.cfg = cfg
	ready := make(chan net.Addr, 1)
	served := make(chan error, 1)
	go func() { served <- o.Serve(hubCtx, cfg, log, func(a net.Addr) { ready <- a }) }()
	stopped = func() {
		if err := <-served; err != nil {
			fmt.Fprintf(stderr, "lienthong bench: embedded hub: %v\n", err)
		}
		closeBroker()
	}
	select {
	case a := <-ready:
		env.base = "http://" + a.String()
	case err := <-served:
		served <- err // for stopped
		return nil, stopped, fmt.Errorf("embedded hub: %w", err)
	case <-runCtx.Done():
		return nil, stopped, runCtx.Err()
	}
	return env, stopped, waitReady(runCtx, env.base)
}

// loadAgencies loads the agencies of an agencies.json, its paths resolved
// by path.
func loadAgencies(list []devsite.Agency, path func(string) string) ([]agency, error) {
	var out []agency
	for _, a := range list {
		if a.Key == "" {
			return nil, fmt.Errorf("agency %s: %w", a.OrganID, pki.ErrNoKey)
		}
		chain := ""
		if a.Chain != "" {
			chain = path(a.Chain)
		}
		cert, more, key, err := pki.LoadSigner(path(a.Cert), chain, path(a.Key))
		if err != nil {
			return nil, fmt.Errorf("agency %s: %w", a.OrganID, err)
		}
		out = append(out, agency{organID: a.OrganID, name: a.Name, token: a.Token, cert: cert, key: key, chain: more})
	}
	return out, nil
}

// external reads the agencies of a running hub.
func external(ctx context.Context, o Options, dir string) (*environment, error) {
	var bases []string
	for u := range strings.SplitSeq(o.Hub, ",") {
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
	raw, err := os.ReadFile(o.Agencies)
	if err != nil {
		return nil, err
	}
	var list []devsite.Agency
	if err := json.Unmarshal(raw, &list); err != nil {
		return nil, fmt.Errorf("%s: %w", o.Agencies, err)
	}
	if len(list) < 2 {
		return nil, fmt.Errorf("%s: need at least two agencies, found %d", o.Agencies, len(list))
	}
	rel := func(p string) string {
		if p == "" || filepath.IsAbs(p) {
			return p
		}
		return filepath.Join(filepath.Dir(o.Agencies), p)
	}
	env := &environment{base: base, submit: bases, brokers: o.Brokers, batch: bus.DefaultBatchTimeout, parts: config.Default().Bus.Partitions}
	if env.agencies, err = loadAgencies(list, rel); err != nil {
		return nil, err
	}
	switch {
	case o.Store == "s3":
		s3, err := s3Config(filepath.Join(dir, "spool"))
		if err != nil {
			return nil, err
		}
		env.store = s3Store(s3)
	case o.BlobDir != "":
		env.store = fsStore(o.BlobDir)
	default:
		env.store = fsStore(dir)
	}
	for _, b := range bases {
		if err := waitReady(ctx, b); err != nil {
			return nil, err
		}
	}
	return env, nil
}

// s3Config reads the S3 server from the environment, as the blob
// tests do (scripts/versitygw.sh env prints it).
func s3Config(spool string) (blob.S3Config, error) {
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

// s3Store makes the floor's store: the hub's bucket, a fresh prefix,
// emptied afterwards.
func s3Store(cfg blob.S3Config) func(ctx context.Context, prefix string) (blob.Store, func(), error) {
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
			parallel(ctx, len(keys), 8, func(i int) { _ = s.Delete(ctx, keys[i]) })
		}
		return s, cleanup, nil
	}
}

// fsStore makes the floor's store: a fresh directory beside the hub's
// blobs, on the same disk, in the layout a new hub gets (blob.OpenDir),
// fsync included as in the hub's store.
func fsStore(parent string) func(ctx context.Context, prefix string) (blob.Store, func(), error) {
	return func(_ context.Context, prefix string) (blob.Store, func(), error) {
		dir := filepath.Join(parent, prefix)
		s, err := blob.OpenDir(dir, "")
		if err != nil {
			return nil, nil, err
		}
		return s, func() {
			if c, ok := s.(interface{ Close() error }); ok {
				_ = c.Close()
			}
			_ = os.RemoveAll(dir)
		}, nil
	}
}

func waitReady(ctx context.Context, base string) error {
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
