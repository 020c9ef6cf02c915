package cli

import (
	"context"
	"crypto"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/spf13/pflag"

	"github.com/lienthong/lienthong/internal/agencies"
	"github.com/lienthong/lienthong/internal/api"
	"github.com/lienthong/lienthong/internal/apiref"
	"github.com/lienthong/lienthong/internal/blob"
	"github.com/lienthong/lienthong/internal/bus"
	"github.com/lienthong/lienthong/internal/config"
	"github.com/lienthong/lienthong/internal/console"
	"github.com/lienthong/lienthong/internal/creds"
	"github.com/lienthong/lienthong/internal/edge"
	"github.com/lienthong/lienthong/internal/evidence"
	"github.com/lienthong/lienthong/internal/hub"
	"github.com/lienthong/lienthong/internal/lifecycle"
	"github.com/lienthong/lienthong/internal/logouts"
	"github.com/lienthong/lienthong/internal/metrics"
	"github.com/lienthong/lienthong/internal/organ"
	"github.com/lienthong/lienthong/internal/pdfsig"
	"github.com/lienthong/lienthong/internal/pki"
	"github.com/lienthong/lienthong/internal/push"
	"github.com/lienthong/lienthong/internal/tracing"
	"github.com/lienthong/lienthong/internal/track"
	"github.com/lienthong/lienthong/internal/trust"
	"github.com/lienthong/lienthong/internal/vdxp"
)

func runServe(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	serverGC()
	fs := pflag.NewFlagSet("serve", pflag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: lienthong serve --config FILE [--addr HOST:PORT] [--data DIR] | --check-config FILE\n\nFlags:\n%s", fs.FlagUsages())
	}
	path := fs.String("config", "", "configuration file (YAML, JSON or TOML)")
	check := fs.String("check-config", "", "load and validate FILE, open every file it names, and exit")
	fs.String("addr", "", "listen address (hub.addr)")
	fs.String("data", "", "data directory (hub.dataDir)")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, pflag.ErrHelp) {
			return ExitOK
		}
		return ExitUsage
	}
	if *check != "" {
		if err := config.Check(*check); err != nil {
			fmt.Fprintf(stderr, "lienthong serve: %v\n", err)
			return ExitInvalid
		}
		fmt.Fprintf(stdout, "%s: ok\n", *check)
		return ExitOK
	}
	for flag, key := range map[string]string{"addr": "hub.addr", "data": "hub.dataDir"} {
		if err := config.BindFlag(fs, flag, key); err != nil {
			fmt.Fprintf(stderr, "lienthong serve: %v\n", err)
			return ExitUsage
		}
	}
	cfg, err := config.Load(*path, fs)
	if err != nil {
		fmt.Fprintf(stderr, "lienthong serve: %v\n", err)
		return ExitUsage
	}
	log := newLogger(stderr, cfg.Log)
	if err := serve(ctx, cfg, log, nil); err != nil {
		log.Error("serve", "err", err)
		return ExitUsage
	}
	return ExitOK
}

func newLogger(w io.Writer, l config.Log) *slog.Logger {
	opts := &slog.HandlerOptions{Level: l.SlogLevel()}
	if l.Format == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

// serve runs a hub from its configuration until ctx ends or one of its
// runners fails (its error, named, is returned). ready, when set, is told
// the listening address once the API serves.
func serve(ctx context.Context, cfg *config.Config, log *slog.Logger, ready func(addr net.Addr)) error {
	return serveWith(ctx, cfg, log, ready, nil)
}

// serveWith is serve with hook, when set, given the lifecycle before
// anything opens (tests wrap its runners and watch it close).
func serveWith(ctx context.Context, cfg *config.Config, log *slog.Logger, ready func(addr net.Addr), hook func(*lifecycle.Group)) error {
	g := &lifecycle.Group{Log: log, ShutdownTimeout: cfg.Hub.ShutdownTimeout}
	if hook != nil {
		hook(g)
	}
	addr, err := assemble(ctx, cfg, log, g)
	if err != nil {
		g.Close()
		return err
	}
	if ready != nil {
		ready(addr)
	}
	return g.Run(ctx)
}

// assemble opens the hub's resources and adds its runners to g, in the
// order they start; g closes the resources in reverse. Nothing runs yet.
func assemble(ctx context.Context, cfg *config.Config, log *slog.Logger, g *lifecycle.Group) (net.Addr, error) {
	data := cfg.Hub.DataDir
	spool := filepath.Join(data, "spool")
	if err := os.MkdirAll(spool, 0o700); err != nil {
		return nil, err
	}
	dir, err := cfg.LoadDirectory()
	if err != nil {
		return nil, err
	}
	// Off (nil) unless tracing.endpoint is set; closed last, so the spans
	// of the shutdown are exported too.
	tracer, err := tracing.New(ctx, tracing.Config{Endpoint: cfg.Tracing.Endpoint, SampleRatio: cfg.Tracing.SampleRatio,
		Instance: cfg.Hub.OrganID, Exporter: testSpanExporter})
	if err != nil {
		return nil, err
	}
	if tracer != nil {
		g.OnClose("tracing", func() error {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			return tracer.Shutdown(ctx)
		})
	}
	brokers := cfg.Bus.Brokers
	if cfg.Bus.Embedded {
		bcfg, err := embeddedBroker(cfg, log)
		if err != nil {
			return nil, err
		}
		b, err := bus.StartBroker(ctx, bcfg)
		if err != nil {
			return nil, err
		}
		g.OnClose("broker", b.Close)
		brokers = b.Addrs()
		cfg.Bus.Brokers = brokers // the address it got (bus.addr may say port 0), for dev's banner
		log.Info("embedded kafka broker", "addr", brokers[0], "tls", bcfg.TLS != nil, "sasl", bcfg.Superuser.Enabled(), "acls", bcfg.ACLs)
	}
	busCfg, err := busConfig(cfg, brokers)
	if err != nil {
		return nil, err
	}
	store, err := openStore(ctx, cfg, spool)
	if err != nil {
		return nil, err
	}
	g.OnClose("store", store.Close)
	if l, ok := store.(*blob.Log); ok && cfg.Blob.FS.CompactEvery > 0 {
		g.Go("blob compaction", func(ctx context.Context) error { return l.CompactEvery(ctx, cfg.Blob.FS.CompactEvery, log) })
	}
	// Metrics live on a registry of this hub's own, never the global one.
	var reg *prometheus.Registry
	var hubMetrics *metrics.Hub
	if cfg.Metrics.Enabled {
		reg = prometheus.NewRegistry()
		reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
		store = blob.WithMetrics(store, reg)
		var ids []string
		for _, a := range dir.Agencies() {
			ids = append(ids, string(a.ID))
		}
		if hubMetrics, err = metrics.NewHub(reg, ids); err != nil {
			return nil, err
		}
		// The inbox gauges list the live directory's agencies, which
		// internal/agencies replaces at run time.
		hubMetrics.ObserveAgencies(func() []string {
			var ids []string
			for _, a := range dir.Agencies() {
				ids = append(ids, string(a.ID))
			}
			return ids
		})
		expiry, err := certificateExpiry(cfg)
		if err != nil {
			return nil, err
		}
		reg.MustRegister(expiry)
		// kafka-go's own writer and reader statistics, for every producer
		// and consumer made from busCfg.
		if busCfg.Stats, err = bus.NewKafkaStats(reg); err != nil {
			return nil, err
		}
	}
	// One producer and one admin for the whole process, shared by the hub,
	// the pusher, the credentials and the sign-outs, and closed after all
	// of them (closers run last first). Every Produce is metered.
	admin, err := bus.NewAdmin(busCfg)
	if err != nil {
		return nil, err
	}
	g.OnClose("bus admin", admin.Close)
	producer, err := bus.NewProducer(busCfg)
	if err != nil {
		return nil, err
	}
	g.OnClose("bus producer", producer.Close)
	var publisher bus.Publisher = producer
	if reg != nil {
		bm, err := bus.NewMetrics(reg)
		if err != nil {
			return nil, err
		}
		publisher = bm.Publisher(producer)
	}
	publisher = tracer.Publisher(publisher)
	// With the console on (its session key derives the record key, as for
	// the credentials), agencies added, changed and retired at run time,
	// shared by every replica through <prefix>agencies, over those of the
	// configuration: the directory every component holds is replaced.
	var onboarded *agencies.Store
	if sk := cfg.Console.SessionKey.Reveal(); sk != "" {
		ac := agenciesConfig(cfg, busCfg, sk, dir, publisher, admin, log)
		if reg != nil {
			ignored := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "lienthong_agencies_records_ignored_total",
				Help: "Records of the agencies topic ignored: reason unsigned (not signed by a hub) or conflict (refused by the directory's or the credentials' rules)."}, []string{"reason"})
			for _, r := range []string{"unsigned", "conflict"} {
				ignored.WithLabelValues(r)
			}
			reg.MustRegister(ignored)
			ac.OnIgnored = func(reason string) { ignored.WithLabelValues(reason).Inc() }
		}
		if onboarded, err = agencies.New(ctx, ac); err != nil {
			return nil, err
		}
		g.OnClose("agencies", onboarded.Close)
		g.Go("agencies", supervised("agencies", onboarded.Run, log))
	}
	view, err := track.Open(filepath.Join(data, "view.db"))
	if err != nil {
		return nil, err
	}
	g.OnClose("view", view.Close)
	verifier, err := newVerifier(cfg, dir)
	if err != nil {
		return nil, err
	}
	if reg != nil && cfg.Trust.FetchCRLs {
		reg.MustRegister(metrics.NewCRLFetchCollector(verifier.CRLFetches))
	}
	pushTopics := push.Topics{Prefix: cfg.Bus.TopicPrefix, ReplicationFactor: cfg.Bus.ReplicationFactor}
	stamp, err := tsaStamper(cfg)
	if err != nil {
		return nil, err
	}
	o := hub.Options{OrganID: cfg.Hub.OrganID, InstanceID: instanceID(cfg), Directory: dir, Store: store, LogLeaves: cfg.Evidence.Key != "",
		Bus: busCfg, Publisher: publisher, Admin: admin, PushGroup: pushTopics.Group(),
		Topics: hub.Topics{Prefix: cfg.Bus.TopicPrefix, Partitions: cfg.Bus.Partitions, ReplicationFactor: cfg.Bus.ReplicationFactor},
		View:   view, Verifier: verifier, Policy: string(cfg.Policy.V1), Limits: cfg.Limits.Edxml(), SpoolDir: spool, Log: log,
		Metrics: hubMetrics, BrokerWait: cfg.Hub.BrokerWait, MinFreeBytes: int64(cfg.Hub.MinFreeSpace), DiskDirs: cfg.DiskDirs(spool), Tracer: tracer}
	if onboarded != nil {
		o.DirectoryReady = onboarded.WaitReady
	}
	o.AgencyPolicy = map[string]string{}
	for _, a := range cfg.Agencies {
		if a.Policy != "" {
			o.AgencyPolicy[a.OrganID] = string(a.Policy)
		}
	}
	if cfg.PDF.Verify {
		// Built in the background: without a compiled copy in the cache,
		// pdfium takes seconds to compile; the first PDF waits for it.
		popts, err := cfg.PDF.Engine(cfg.Hub.DataDir)
		if err != nil {
			return nil, err
		}
		o.PDF = pdfsig.NewChecker(popts)
		g.Go("pdf engine", o.PDF.Run)
		// The console composes over the REST API's rules.
		o.PDFPolicy = map[string]string{"v1": cfg.PDF.Policy.V1, "console": cfg.PDF.Policy.V1, "vdxp": cfg.PDF.Policy.VDXP}
		o.AgencyPDFPolicy = map[string]string{}
		for _, a := range cfg.Agencies {
			if a.PDFPolicy != "" {
				o.AgencyPDFPolicy[a.OrganID] = a.PDFPolicy
			}
		}
	}
	o.Peers = map[string]hub.Peer{}
	for _, p := range cfg.Peers {
		o.Peers[p.Name] = hub.Peer{Name: p.Name, URL: p.URL, Token: p.Token.Reveal(), Organs: p.Organs}
	}
	if cfg.Trust.HubCert != "" {
		if o.ReceiptCert, o.ReceiptChain, o.ReceiptKey, err = loadSigner(cfg.Trust.HubCert, cfg.Trust.HubChain, cfg.Trust.HubKey); err != nil {
			return nil, err
		}
	}
	if cfg.Evidence.TSA.Receipts {
		o.StampReceipt = stamp
	}
	h, err := hub.New(ctx, o)
	if err != nil {
		return nil, err
	}
	// With run-time agencies, their principals are known only once the
	// topic is read (applyCredentials): provisioning the configuration's
	// alone would revoke the others' for a moment at every start.
	if onboarded == nil {
		if err := provisionAgencies(ctx, admin, cfg, log); err != nil {
			return nil, err
		}
	}
	g.Go("hub", h.Run)
	pusher, err := push.New(push.Config{Bus: o.Bus, Publisher: publisher, Admin: admin, Topics: pushTopics, Endpoints: webhookEndpoints(cfg.Agencies), Log: log, Tracer: tracer, Done: view.Done,
		OnAttempt: func(organ string, err error) {
			outcome := metrics.OutcomeOK
			if err != nil {
				outcome = metrics.OutcomeError
			}
			hubMetrics.WebhookAttempt(organ, outcome)
		}})
	if err != nil {
		return nil, err
	}
	g.Go("pusher", pusher.Run)

	// With the console on, tokens issued and revoked there, shared by every
	// replica through <prefix>credentials, over those of the configuration.
	// The records are authenticated with a key from the session key, which
	// the replicas share anyway.
	var auth api.Authenticator = configTokens{cfg.Agencies, cfg.Peers}
	var tokens *creds.Store
	var signedOut *logouts.Store
	if sk := cfg.Console.SessionKey.Reveal(); sk != "" {
		m := hmac.New(sha256.New, []byte(sk))
		m.Write([]byte("lienthong credentials v1"))
		tokens, err = creds.New(ctx, creds.Config{Bus: o.Bus, Publisher: publisher, Admin: admin, Topic: o.Topics.Prefix + "credentials", ReplicationFactor: cfg.Bus.ReplicationFactor,
			Base: auth, Configured: configuredTokens(cfg.Agencies), Key: m.Sum(nil),
			Canonical: func(id string) string {
				if c, ok := dir.Canonical(organ.ID(id)); ok {
					return string(c)
				}
				return id
			}})
		if err != nil {
			return nil, err
		}
		g.OnClose("tokens", tokens.Close)
		if reg != nil {
			reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
				Name: "lienthong_credentials_last_read_timestamp_seconds",
				Help: "When this replica last read a run-time token record or caught up with the credentials topic (Unix seconds; 0 before).",
			}, func() float64 {
				if t := tokens.LastRead(); !t.IsZero() {
					return float64(t.UnixNano()) / 1e9
				}
				return 0
			}))
		}
		g.Go("tokens", supervised("tokens", tokens.Run, log))
		auth = tokens
		// Console sessions live in signed cookies any replica can check;
		// sign-outs are shared through <prefix>sessions.
		m = hmac.New(sha256.New, []byte(sk))
		m.Write([]byte("lienthong sessions v1"))
		if signedOut, err = logouts.New(ctx, logouts.Config{Bus: o.Bus, Publisher: publisher, Admin: admin, Topic: o.Topics.Prefix + "sessions", ReplicationFactor: cfg.Bus.ReplicationFactor, Key: m.Sum(nil),
			WriteWait: cfg.Hub.BrokerWait}); err != nil {
			return nil, err
		}
		g.OnClose("logouts", signedOut.Close)
		g.Go("logouts", supervised("logouts", signedOut.Run, log))
	}
	proxies, err := edge.ParseProxies(cfg.Hub.TrustedProxies)
	if err != nil {
		return nil, err
	}
	certs, err := certProxies(cfg)
	if err != nil {
		return nil, err
	}
	checkpoints, err := startEvidence(ctx, cfg, busCfg, publisher, admin, store, stamp, g, log)
	if err != nil {
		return nil, err
	}
	witness, err := newWitness(cfg, log)
	if err != nil {
		return nil, err
	}
	srv := &api.Server{Hub: h, Tokens: auth, Evidence: checkpoints, Witness: witness, MaxBodyBytes: int64(cfg.Hub.MaxBodyBytes), Log: log,
		ClientCert: clientCert(dir), PeerCert: certs.ClientCert, Ready: func(r *http.Request) error {
			if tokens != nil && !tokens.IsReady() {
				return creds.ErrNotReady
			}
			if signedOut != nil && !signedOut.IsReady() {
				return logouts.ErrNotReady
			}
			if onboarded != nil && !onboarded.IsReady() {
				return agencies.ErrNotReady
			}
			return h.Ready(r.Context())
		}}
	static, err := vdxp.SystemsFromConfig(cfg.Agencies)
	if err != nil {
		return nil, err
	}
	systems := vdxp.NewLiveSystems(static)
	if onboarded != nil {
		g.Go("agency credentials", func(ctx context.Context) error {
			return applyCredentials(ctx, onboarded, pusher, systems, admin, cfg, log)
		})
	}
	mux := http.NewServeMux()
	// The API reference and problem pages are public and take precedence
	// over the console's "/" and the national axis's "/vdxp/".
	ref := apiref.Must()
	srv.Reference = ref
	for _, p := range apiref.Patterns {
		mux.Handle(p, ref)
	}
	if cfg.Hub.PublicURL != "" {
		srv.ProblemBase = strings.TrimSuffix(cfg.Hub.PublicURL, "/") + "/problems/"
	}
	if reg != nil {
		mh := promhttp.HandlerFor(reg, promhttp.HandlerOpts{ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelWarn), ErrorHandling: promhttp.ContinueOnError})
		switch {
		case cfg.Metrics.Addr != "":
			// Metrics (and pprof) on their own listener; the public one
			// answers neither, so no proxy rule has to hide them.
			if err := serveMetrics(cfg, mh, g, log); err != nil {
				return nil, err
			}
		case cfg.Metrics.Path == "" || cfg.Metrics.Path == "/metrics":
			srv.Metrics = mh
		default:
			mux.Handle("GET "+cfg.Metrics.Path, mh)
		}
	}
	mux.Handle("/vdxp/", vdxp.NewHandler(h, systems, dir, vdxp.Options{Policy: string(cfg.Policy.VDXP), MaxBodyBytes: int64(cfg.Hub.MaxBodyBytes), Log: log,
		// The HMAC covers headers only: a required, signed hash-file binds
		// the body to them, so captured headers cannot carry another packet.
		RequireHashFile: true,
		// Off unless vdxp.freshness is set: the SDK resends one timestamp
		// for the life of its service object (config.VDXP).
		RequireTimestamp: cfg.VDXP.Freshness > 0, MaxClockSkew: cfg.VDXP.Freshness,
		ClientCert: certs.ClientCert}))
	apiH := srv.Handler()
	if cfg.Console.SessionKey == "" {
		mux.Handle("/", apiH)
	} else {
		for _, p := range []string{"/v1/", "GET /healthz", "GET /readyz", "GET /metrics"} {
			mux.Handle(p, apiH)
		}
		con, err := newConsole(cfg, h, &push.DeadLetters{Bus: busCfg, Topics: pushTopics}, dir, reg, hubMetrics.Totals(), tokens, onboarded, signedOut, checkpoints, proxies, o.PDF, log)
		if err != nil {
			return nil, err
		}
		g.Go("console", con.Run)
		mux.Handle("/", con)
	}
	// The correlation id is minted here, at the edge, before the request's span starts.
	httpSrv := newHTTPServer(cfg.Hub, edge.HSTS(proxies, edge.Correlate(tracer.Handler(mux))), log)
	ln, err := listen(cfg, log)
	if err != nil {
		return nil, err
	}
	g.Serve("http", httpSrv, ln)
	log.Info("hub serving", "addr", ln.Addr().String(), "organ", cfg.Hub.OrganID, "agencies", len(dir.Agencies()), "tls", cfg.TLS.Enabled())
	return ln.Addr(), nil
}

// serveMetrics adds the metrics listener (metrics.addr): plain HTTP for
// the inside network, with pprof only when metrics.pprof is on.
func serveMetrics(cfg *config.Config, mh http.Handler, g *lifecycle.Group, log *slog.Logger) error {
	mux := http.NewServeMux()
	mux.Handle("GET "+cfg.Metrics.Path, mh)
	if cfg.Metrics.Pprof {
		mux.HandleFunc("/debug/pprof/", pprof.Index)
		mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
		mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
		mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
		mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	}
	ln, err := net.Listen("tcp", cfg.Metrics.Addr)
	if err != nil {
		return fmt.Errorf("metrics.addr: %w", err)
	}
	srv := newHTTPServer(cfg.Hub, mux, log)
	// A CPU profile or trace runs for its ?seconds=, longer than a
	// request's write timeout allows.
	srv.WriteTimeout = 0
	g.Serve("metrics", srv, ln)
	log.Info("metrics serving", "addr", ln.Addr().String(), "path", cfg.Metrics.Path, "pprof", cfg.Metrics.Pprof)
	return nil
}

// newConsole makes the web console from the configuration: its accounts,
// and the agencies' keys the hub holds for hosted signing.
func newConsole(cfg *config.Config, h *hub.Hub, deadLetters *push.DeadLetters, dir *organ.Directory, reg *prometheus.Registry, totals prometheus.Gatherer,
	tokens *creds.Store, onboarded *agencies.Store, signedOut *logouts.Store, checkpoints *evidence.Checkpointer, proxies edge.Proxies, pdf *pdfsig.Checker, log *slog.Logger) (*console.Console, error) {
	credentials := map[string]console.AgencyCredentials{}
	for _, a := range cfg.Agencies {
		credentials[a.OrganID] = console.AgencyCredentials{Tokens: len(a.Tokens), VDXP: a.VDXPSystemID != "", Webhook: a.WebhookSecret != "", Kafka: a.Kafka.User != ""}
	}
	o := console.Options{Hub: h, DeadLetters: deadLetters, Directory: dir, Credentials: credentials, SessionKey: []byte(cfg.Console.SessionKey.Reveal()), Secure: cfg.TLS.Enabled(), Log: log,
		Signers: map[string]console.Signer{}, Proxies: proxies, SpoolDir: filepath.Join(cfg.Hub.DataDir, "spool"),
		LoginConcurrency: cfg.Console.Login.Concurrency, LoginWait: cfg.Console.Login.Wait, LoginPerMinute: cfg.Console.Login.PerMinute,
		RegisterSettle: cfg.Console.RegisterSettle, PDF: pdf}
	if cfg.Console.TimeZone != "" {
		z, err := time.LoadLocation(cfg.Console.TimeZone)
		if err != nil {
			return nil, fmt.Errorf("console.timeZone: %w", err)
		}
		o.Zone = z
	}
	if signedOut != nil {
		o.Revocations = signedOut
	}
	if tokens != nil {
		o.Tokens = tokens
	}
	if onboarded != nil {
		o.Agencies = onboarded
	}
	if checkpoints != nil {
		o.Evidence = checkpoints
	}
	if reg != nil {
		o.Gatherer, o.Totals = reg, totals
	}
	for _, a := range cfg.Console.Accounts {
		o.Accounts = append(o.Accounts, console.Account{Username: a.Username, PasswordHash: a.PasswordHash.Reveal(), Role: a.Role, OrganID: a.OrganID})
	}
	for _, k := range cfg.Console.HostedKeys {
		cert, chain, key, err := loadHostedKey(k, cfg.Console.AllowPlainHostedKeys)
		if err != nil {
			return nil, fmt.Errorf("console.hostedKeys %s: %w", k.OrganID, err)
		}
		o.Signers[k.OrganID] = console.Signer{Cert: cert, Chain: chain, Key: key}
	}
	return console.New(o)
}

func openStore(ctx context.Context, cfg *config.Config, spool string) (blob.Store, error) {
	if cfg.Blob.Kind == config.BlobS3 {
		s := cfg.Blob.S3
		cas, err := s.S3RootCAs()
		if err != nil {
			return nil, err
		}
		return blob.NewS3(ctx, blob.S3Config{Endpoint: s.Endpoint, Region: s.Region, Bucket: s.Bucket, Prefix: s.Prefix, AccessKey: s.AccessKey,
			SecretKey: blob.SecretString(s.SecretKey.Reveal()), UseTLS: s.UseTLS, RootCAs: cas, PartSize: uint64(s.PartSize), CreateBucket: s.CreateBucket, SpoolDir: spool})
	}
	return blob.OpenDir(cfg.Blob.FS.Dir, cfg.Blob.FS.Layout)
}

func newVerifier(cfg *config.Config, dir *organ.Directory) (*trust.Verifier, error) {
	tc := trust.Config{FetchCRLs: cfg.Trust.FetchCRLs, OCSP: cfg.Trust.OCSP, Revocation: cfg.Trust.Revocation, AllowSHA1: cfg.Trust.AllowSHA1, Directory: dir}
	for _, path := range cfg.Trust.Roots {
		certs, err := pki.LoadCertificates(path)
		if err != nil {
			return nil, err
		}
		tc.Roots = append(tc.Roots, certs...)
	}
	for _, path := range cfg.Trust.CRLs {
		b, err := os.ReadFile(path)
		if err != nil {
			return nil, err
		}
		crl, err := trust.ParseCRL(b)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		tc.CRLs = append(tc.CRLs, crl)
	}
	return trust.NewVerifier(tc)
}

func loadSigner(certPath, chainPath, keyPath string) (*x509.Certificate, []*x509.Certificate, crypto.Signer, error) {
	return pki.LoadSigner(certPath, chainPath, keyPath)
}

// loadHostedKey loads an agency's hosted signing key, which must be sealed
// (lienthong secret seal < key.pem) unless plain keys are allowed: the hub
// holds agencies' keys encrypted at rest, under LIENTHONG_SECRETS_KEY.
func loadHostedKey(k config.HostedKey, allowPlain bool) (*x509.Certificate, []*x509.Certificate, crypto.Signer, error) {
	cert, chain, _, err := loadSigner(k.Cert, k.Chain, "")
	if err != nil {
		return nil, nil, nil, err
	}
	raw, err := os.ReadFile(k.Key)
	if err != nil {
		return nil, nil, nil, err
	}
	text := strings.TrimSpace(string(raw))
	if !strings.HasPrefix(text, config.SealedPrefix) {
		if !allowPlain {
			return nil, nil, nil, fmt.Errorf("%s is not sealed: seal it (lienthong secret seal < key.pem > key.sealed) or, for development only, set console.allowPlainHostedKeys", k.Key)
		}
	} else if text, err = config.Unseal(text); err != nil {
		return nil, nil, nil, fmt.Errorf("%s: %w", k.Key, err)
	}
	key, err := pki.ParsePrivateKey([]byte(text))
	if err != nil {
		return nil, nil, nil, fmt.Errorf("%s: %w", k.Key, err)
	}
	return cert, chain, key, nil
}

// instanceID names this process's view consumer group: stable across
// restarts of one installation, distinct between installations.
func instanceID(cfg *config.Config) string {
	host, _ := os.Hostname()
	abs, _ := filepath.Abs(cfg.Hub.DataDir)
	sum := sha256.Sum256([]byte(host + "\n" + abs))
	return strings.ToLower(host) + "-" + hex.EncodeToString(sum[:4])
}

// configuredTokens lists an agency's configured token digests.
func configuredTokens(agencies []config.Agency) func(string) [][sha256.Size]byte {
	return func(organ string) [][sha256.Size]byte {
		for _, a := range agencies {
			if a.OrganID == organ {
				return a.TokenDigests()
			}
		}
		return nil
	}
}

// configTokens authenticates bearer tokens against the configured
// agencies, and peer hubs as "hub:<name>".
type configTokens struct {
	agencies []config.Agency
	peers    []config.Peer
}

func (c configTokens) Organ(tok string) (string, bool) {
	if tok == "" {
		return "", false
	}
	for _, a := range c.agencies {
		if a.MatchToken(tok) {
			return a.OrganID, true
		}
	}
	for _, p := range c.peers {
		if p.MatchToken(tok) {
			return organ.HubPrefix + p.Name, true
		}
	}
	return "", false
}

// clientCert authenticates a verified client certificate by its UID, which
// must name a registered agency; where the directory pins certificates for
// it, the certificate must be one of them.
func clientCert(dir *organ.Directory) func(*x509.Certificate) (string, bool) {
	return func(c *x509.Certificate) (string, bool) {
		id, ok := trust.OrganID(c)
		if !ok {
			return "", false
		}
		a, found := dir.Lookup(organ.ID(id))
		if !found || string(a.ID) != id {
			return "", false
		}
		if len(a.CertSHA256) == 0 {
			return id, true
		}
		fp := trust.Fingerprint(c)
		for _, pin := range a.CertSHA256 {
			if strings.EqualFold(pin, fp) {
				return id, true
			}
		}
		return "", false
	}
}

// certProxies are the proxies that may forward a client certificate, with
// the client CAs it must chain to: self-signed ones are roots, the others
// intermediates.
func certProxies(cfg *config.Config) (edge.CertProxies, error) {
	var c edge.CertProxies
	var err error
	if c.Proxies, err = edge.ParseProxies(cfg.Hub.ClientCertProxies); err != nil || len(c.Proxies) == 0 {
		return c, err
	}
	cas, err := pki.LoadCertificates(cfg.TLS.ClientCAFile)
	if err != nil {
		return c, fmt.Errorf("tls.clientCaFile: %w", err)
	}
	c.Roots, c.Intermediates = x509.NewCertPool(), x509.NewCertPool()
	for _, ca := range cas {
		if ca.CheckSignatureFrom(ca) == nil {
			c.Roots.AddCert(ca)
		} else {
			c.Intermediates.AddCert(ca)
		}
	}
	return c, nil
}

func tlsConfig(t config.TLS) (*tls.Config, error) {
	cert, err := tls.LoadX509KeyPair(t.CertFile, t.KeyFile)
	if err != nil {
		return nil, err
	}
	tc := &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12, ClientAuth: t.ClientAuth.TLSType()}
	if t.ClientCAFile != "" {
		pool := x509.NewCertPool()
		b, err := os.ReadFile(t.ClientCAFile)
		if err != nil {
			return nil, err
		}
		if !pool.AppendCertsFromPEM(b) {
			return nil, fmt.Errorf("%s: no PEM certificates", t.ClientCAFile)
		}
		tc.ClientCAs = pool
	}
	return tc, nil
}

// applyCredentials follows the agencies' credentials as operators change
// them at run time (internal/agencies), until ctx ends: webhook endpoints
// and secrets, national-axis systems, and agencies' Kafka principals. A
// set the store accepted fits the configuration's rules, so what can fail
// here is the broker (provisioning principals): fatal the first time, once
// the topic is read, as at start without run-time agencies; later logged
// and tried again after provisionRetry or at the next change.
func applyCredentials(ctx context.Context, store *agencies.Store, pusher *push.Pusher, systems *vdxp.LiveSystems, admin *bus.Admin, cfg *config.Config, log *slog.Logger) error {
	if err := store.WaitReady(ctx); err != nil {
		return nil //nolint:nilerr // ctx ended: shutting down
	}
	var retry <-chan time.Time // a provisioning that failed, tried again
	for first := true; ; first = false {
		if !first {
			select {
			case <-ctx.Done():
				return nil
			case <-store.Changed():
			case <-retry:
			}
		}
		retry = nil
		list := store.Credentials()
		if err := pusher.SetEndpoints(webhookEndpoints(list)); err != nil {
			log.Error("run-time agencies: webhook endpoints not applied", "err", err)
		}
		if s, err := vdxp.SystemsFromConfig(list); err != nil {
			log.Error("run-time agencies: national-axis systems not applied", "err", err)
		} else {
			systems.Set(s)
		}
		c := *cfg
		c.Agencies = list
		if err := provisionAgencies(ctx, admin, &c, log); err != nil && ctx.Err() == nil {
			if first {
				return err
			}
			log.Error("run-time agencies: Kafka principals not applied, trying again", "wait", provisionRetry, "err", err)
			retry = time.After(provisionRetry)
		}
	}
}

// provisionRetry is the wait before agencies' Kafka principals that could
// not be provisioned (the brokers unreachable) are tried again.
var provisionRetry = 30 * time.Second

// webhookEndpoints are the endpoints of the agencies that take webhooks.
func webhookEndpoints(list []config.Agency) []push.Endpoint {
	var hooks []push.Endpoint
	for _, a := range list {
		if organ.IsWebhook(a.Endpoint) {
			hooks = append(hooks, push.Endpoint{OrganID: a.OrganID, URL: a.Endpoint, Secret: []byte(a.WebhookSecret.Reveal())})
		}
	}
	return hooks
}

// agenciesConfig is the agencies store of a hub with configuration cfg,
// for serve and for the agencies command.
func agenciesConfig(cfg *config.Config, busCfg bus.Config, sessionKey string, dir *organ.Directory, pub bus.Publisher, admin *bus.Admin, log *slog.Logger) agencies.Config {
	m := hmac.New(sha256.New, []byte(sessionKey))
	m.Write([]byte("lienthong agencies v1"))
	prefix := cfg.Bus.TopicPrefix
	return agencies.Config{Bus: busCfg, Publisher: pub, Admin: admin, Topic: prefix + "agencies", ReplicationFactor: cfg.Bus.ReplicationFactor,
		Key: m.Sum(nil), Directory: dir, Policy: cfg.Policy.Organ(), Log: log, Base: cfg.Agencies, Validate: cfg.ValidateAgencies,
		Inbox: func(id string) string { return bus.AgencyInbox(prefix, id) }}
}

// supervised runs a follower under the restart policy the hub's and the
// pusher's consumers have (bus.Router): a broker outage shorter than the
// policy's is ridden out, a longer one stops the process.
func supervised(name string, run func(context.Context) error, log *slog.Logger) func(context.Context) error {
	return func(ctx context.Context) error {
		r := &bus.Router{Log: log}
		r.Add(name, run)
		return r.Run(ctx)
	}
}
