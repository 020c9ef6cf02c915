// Package hubtest starts a whole hub for tests: kfake over TCP, a blob store
// (versitygw's S3 when LIENTHONG_TEST_S3_ENDPOINT is set, else the
// filesystem), the view, a dev PKI with three agencies, and the REST API on
// an httptest server.
package hubtest

import (
	"context"
	"crypto/rand"
	"crypto/x509"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/lienthong/lienthong/internal/api"
	"github.com/lienthong/lienthong/internal/blob"
	"github.com/lienthong/lienthong/internal/bus"
	"github.com/lienthong/lienthong/internal/hub"
	"github.com/lienthong/lienthong/internal/metrics"
	"github.com/lienthong/lienthong/internal/organ"
	"github.com/lienthong/lienthong/internal/pdfsig"
	"github.com/lienthong/lienthong/internal/pki"
	"github.com/lienthong/lienthong/internal/track"
	"github.com/lienthong/lienthong/internal/trust"
)

// Agencies are the three demo agencies every test hub has.
var Agencies = []string{"000.00.00.G22", "000.00.00.H29", "000.00.00.G12"}

// Agency is a registered agency with its credentials.
type Agency struct {
	ID    string
	Token string
	Cert  *pki.Issued
}

// Hub is a running test hub.
type Hub struct {
	URL      string
	Store    blob.Store
	Broker   *bus.Broker
	CA       *pki.CA
	Hub      *hub.Hub
	Agencies map[string]*Agency
	Dir      string
	View     *track.Store // the first instance's: tests break it (close it)
	// PDF is the hubs' PDF engine, with Options.PDF.
	PDF *pdfsig.Checker

	ctx       context.Context
	opts      hub.Options
	tokens    map[string][]string
	instances int
}

// Options change a test hub.
type Options struct {
	Policy string // default hub.PolicyRequire
	// AgencyPolicy overrides Policy per sender.
	AgencyPolicy map[string]string
	// Store, when set, replaces the default store.
	Store blob.Store
	// Metrics, when set, is given to every instance's hub.
	Metrics *metrics.Hub
	// More are agencies registered beside Agencies, each with a token
	// and a certificate like theirs (a sub-unit with its own inbox).
	More []string
	// PDF checks the signatures inside PDF attachments, with one engine
	// for every instance (pdfium compiled once per machine, in
	// pdfsig.DefaultCacheDir).
	PDF bool
	// Hub, when set, changes every instance's hub.Options (tests inject
	// faults through their seams).
	Hub func(*hub.Options)
}

// Start runs a hub until the test ends.
func Start(t testing.TB, o Options) *Hub {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	dir := t.TempDir()
	broker, err := bus.StartBroker(ctx, bus.BrokerConfig{DataDir: filepath.Join(dir, "kafka")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = broker.Close() })
	store := o.Store
	if store == nil {
		store = NewStore(t, dir)
	}
	ca, err := pki.Init(filepath.Join(dir, "pki"), pki.InitOptions{})
	if err != nil {
		t.Fatal(err)
	}
	th := &Hub{Store: store, Broker: broker, CA: ca, Agencies: map[string]*Agency{}, Dir: dir}
	var list []organ.Agency
	tokens := map[string][]string{}
	for _, id := range append(slices.Clip(Agencies), o.More...) {
		iss, err := ca.Issue(id, "Cơ quan "+id, pki.IssueOptions{})
		if err != nil {
			t.Fatal(err)
		}
		th.Agencies[id] = &Agency{ID: id, Token: "token-" + id, Cert: iss}
		tokens[id] = []string{"token-" + id}
		list = append(list, organ.Agency{ID: organ.ID(id), Name: "Cơ quan " + id})
	}
	hubCert, err := ca.Issue("000.00.00.G01", "lienthong hub", pki.IssueOptions{})
	if err != nil {
		t.Fatal(err)
	}
	d, err := organ.NewDirectory(list)
	if err != nil {
		t.Fatal(err)
	}
	v, err := trust.NewVerifier(trust.Config{Roots: []*x509.Certificate{ca.Root()}})
	if err != nil {
		t.Fatal(err)
	}
	th.ctx, th.tokens = ctx, tokens
	// One producer and one admin for every instance, as serve opens one
	// per process; closed after every instance (cleanups run last first).
	bc := bus.Config{Brokers: broker.Addrs(), WriteTimeout: 3 * time.Second, DialTimeout: time.Second}
	producer, err := bus.NewProducer(bc)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = producer.Close() })
	admin, err := bus.NewAdmin(bc)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = admin.Close() })
	th.opts = hub.Options{OrganID: "000.00.00.G01", Directory: d, Store: store,
		// A consumer that fails is not restarted: it fails the test at once.
		Bus: bc, Publisher: producer, Admin: admin, Restart: bus.RestartPolicy{Restarts: -1}, Verifier: v, Policy: o.Policy, AgencyPolicy: o.AgencyPolicy,
		ReceiptCert: hubCert.Cert, ReceiptKey: hubCert.Key, ReceiptChain: hubCert.Chain, Metrics: o.Metrics}
	if o.PDF {
		pc := pdfsig.NewChecker(pdfsig.Options{CacheDir: pdfsig.DefaultCacheDir()})
		done := make(chan error, 1)
		go func() { done <- pc.Run(ctx) }()
		t.Cleanup(func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("pdf engine: %v", err)
			}
		})
		th.opts.PDF, th.PDF = pc, pc
	}
	if o.Hub != nil {
		o.Hub(&th.opts)
	}
	th.URL, th.Hub = th.Instance(t)
	return th
}

// Instance starts one more hub process's worth (its own view and API)
// on the same broker and store, and returns its URL: every instance must
// answer every call.
func (th *Hub) Instance(t testing.TB) (string, *hub.Hub) {
	t.Helper()
	th.instances++
	dir := filepath.Join(th.Dir, fmt.Sprintf("instance-%d", th.instances))
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	view, err := track.Open(filepath.Join(dir, "view.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = view.Close() })
	if th.View == nil {
		th.View = view
	}
	o := th.opts
	o.InstanceID, o.View, o.SpoolDir = fmt.Sprintf("test-%d", th.instances), view, dir
	h, err := hub.New(th.ctx, o)
	if err != nil {
		t.Fatal(err)
	}
	// Run is stopped and waited for before the hub and its view close
	// (cleanups run last first); a consumer that failed fails the test.
	ctx, cancel := context.WithCancel(th.ctx)
	n := th.instances
	ran := make(chan error, 1)
	go func() { ran <- h.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-ran; err != nil && !errors.Is(err, context.Canceled) {
			t.Errorf("hubtest: instance %d: hub.Run: %v", n, err)
		}
	})
	srv := httptest.NewServer((&api.Server{Hub: h, Tokens: api.NewTokens(th.tokens), MaxBodyBytes: 64 << 20,
		Ready: func(r *http.Request) error { return h.Ready(r.Context()) }}).Handler())
	t.Cleanup(srv.Close)
	return srv.URL, h
}

// NewStore returns versitygw's S3 when LIENTHONG_TEST_S3_ENDPOINT is set
// (a fresh prefix per test), else a filesystem store under dir.
func NewStore(t testing.TB, dir string) blob.Store {
	t.Helper()
	ep := os.Getenv("LIENTHONG_TEST_S3_ENDPOINT")
	if ep == "" {
		// The layout a new hub gets (the log store).
		s, err := blob.OpenDir(filepath.Join(dir, "blobs"), "")
		if err != nil {
			t.Fatal(err)
		}
		if c, ok := s.(interface{ Close() error }); ok {
			t.Cleanup(func() { _ = c.Close() })
		}
		return s
	}
	s, err := blob.NewS3(context.Background(), blob.S3Config{
		Endpoint: ep, Bucket: os.Getenv("LIENTHONG_TEST_S3_BUCKET"), AccessKey: os.Getenv("LIENTHONG_TEST_S3_ACCESS_KEY"),
		SecretKey: blob.SecretString(os.Getenv("LIENTHONG_TEST_S3_SECRET_KEY")), CreateBucket: true,
		Prefix: "hubtest/" + rand.Text() + "/", SpoolDir: dir,
	})
	if err != nil {
		t.Fatal(err)
	}
	return s
}
