package cli

import (
	"context"
	"crypto/rand"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"lienthong/internal/api"
	"lienthong/internal/blob"
	"lienthong/internal/bus"
	"lienthong/internal/hub"
	"lienthong/internal/organ"
	"lienthong/internal/pki"
	"lienthong/internal/track"
	"lienthong/internal/trust"
)

// devAgency is one entry of DIR/dev/agencies.json (DESIGN.md §5.1).
type devAgency struct {
	OrganID      string `json:"organId"`
	Name         string `json:"name"`
	Token        string `json:"token"`
	Cert         string `json:"cert"`
	Key          string `json:"key"`
	Chain        string `json:"chain"`
	VDXPSystemID string `json:"vdxpSystemId"`
	VDXPSecret   string `json:"vdxpSecret"`
}

var devAgencies = []struct{ id, name string }{
	{"000.00.00.G22", "Văn phòng Chính phủ"},
	{"000.00.00.H29", "UBND Thành phố Hồ Chí Minh"},
	{"000.00.00.G12", "Bộ Tài chính"},
}

const devHubOrgan = "000.00.00.G01"

func runDev(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := newFlags("dev", "[--data DIR] [--addr 127.0.0.1:8080]", stderr)
	data := fs.String("data", "./data", "where everything persists")
	addr := fs.String("addr", "127.0.0.1:8080", "the API's address")
	if _, err := parseFlags(fs, args); err != nil {
		return ExitUsage
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	if err := dev(ctx, *data, *addr, stdout, log); err != nil {
		fmt.Fprintf(stderr, "lienthong dev: %v\n", err)
		return ExitUsage
	}
	return ExitOK
}

// dev runs broker, store, view, hub and API in one process, persistent
// under data, with three demo agencies and a development PKI.
func dev(ctx context.Context, data, addr string, stdout io.Writer, log *slog.Logger) error {
	data, err := filepath.Abs(data)
	if err != nil {
		return err
	}
	devDir := filepath.Join(data, "dev")
	for _, d := range []string{devDir, filepath.Join(data, "spool")} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return err
		}
	}
	ca, agencies, hubCert, err := devIdentities(devDir)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	broker, err := bus.StartBroker(ctx, bus.BrokerConfig{DataDir: filepath.Join(data, "kafka"), Logger: log})
	if err != nil {
		return err
	}
	defer broker.Close() //nolint:errcheck // shutting down
	store, err := blob.NewFS(filepath.Join(data, "blobs"))
	if err != nil {
		return err
	}
	view, err := track.Open(filepath.Join(data, "view.db"))
	if err != nil {
		return err
	}
	defer view.Close() //nolint:errcheck // shutting down
	cfg := trust.Config{Roots: []*x509.Certificate{ca.Root()}}
	if b, err := os.ReadFile(ca.CRLPath(false)); err == nil {
		if crl, err := trust.ParseCRL(b); err == nil {
			cfg.CRLs = append(cfg.CRLs, crl)
		}
	}
	verifier, err := trust.NewVerifier(cfg)
	if err != nil {
		return err
	}
	var list []organ.Agency
	tokens := map[string][]string{}
	for _, a := range agencies {
		list = append(list, organ.Agency{ID: organ.ID(a.OrganID), Name: a.Name})
		tokens[a.OrganID] = []string{a.Token}
	}
	dir, err := organ.NewDirectory(list)
	if err != nil {
		return err
	}
	h, err := hub.New(ctx, hub.Options{OrganID: devHubOrgan, InstanceID: "dev", Directory: dir, Store: store,
		Bus: bus.Config{Brokers: broker.Addrs(), ClientID: "lienthong-dev"}, View: view, Verifier: verifier,
		SpoolDir: filepath.Join(data, "spool"), Log: log,
		ReceiptCert: hubCert.Cert, ReceiptKey: hubCert.Key, ReceiptChain: hubCert.Chain})
	if err != nil {
		return err
	}
	defer h.Close() //nolint:errcheck // shutting down
	runErr := make(chan error, 1)
	go func() { runErr <- h.Run(ctx) }()

	agenciesPath := filepath.Join(devDir, "agencies.json")
	srv := &api.Server{Hub: h, Tokens: api.NewTokens(tokens), MaxBodyBytes: 1<<30 + 64<<20, SpoolDir: filepath.Join(data, "spool"), Log: log,
		Ready: func(r *http.Request) error {
			if _, err := os.Stat(agenciesPath); err != nil {
				return err
			}
			return h.Ready(r.Context())
		}}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	httpSrv := &http.Server{Handler: srv.Handler(), ReadHeaderTimeout: 10 * time.Second}
	go func() { runErr <- httpSrv.Serve(ln) }()
	fmt.Fprintf(stdout, `lienthong dev: hub on http://%s (data in %s)
  agencies, tokens and keys: %s
  trust root:                %s
  try: lienthong sign FILE --cert ... --key ... -o FILE.p7s, then
       curl -H "Authorization: Bearer TOKEN" -F packet=@FILE -F signature=@FILE.p7s http://%s/v1/packets
`, ln.Addr(), data, agenciesPath, filepath.Join(devDir, "ca.pem"), ln.Addr())
	select {
	case <-ctx.Done():
	case err = <-runErr:
		if errors.Is(err, http.ErrServerClosed) {
			err = nil
		}
	}
	shut, stop := context.WithTimeout(context.Background(), 10*time.Second)
	defer stop()
	_ = httpSrv.Shutdown(shut)
	return err
}

// devIdentities makes, on the first run, the dev PKI, the agencies'
// certificates and tokens, and the hub's receipt certificate; later runs
// read them back. agencies.json and ca.pem are written last, complete.
func devIdentities(devDir string) (*pki.CA, []devAgency, *pki.Issued, error) {
	pkiDir := filepath.Join(devDir, "pki")
	agenciesPath := filepath.Join(devDir, "agencies.json")
	ca, err := pki.Open(pkiDir)
	if err != nil {
		if ca, err = pki.Init(pkiDir, pki.InitOptions{}); err != nil {
			return nil, nil, nil, err
		}
	}
	hubCert, err := loadIssued(ca, devHubOrgan)
	if err != nil {
		if hubCert, err = ca.Issue(devHubOrgan, "lienthong dev hub", pki.IssueOptions{}); err != nil {
			return nil, nil, nil, err
		}
	}
	var agencies []devAgency
	if b, err := os.ReadFile(agenciesPath); err == nil {
		if err := json.Unmarshal(b, &agencies); err != nil {
			return nil, nil, nil, fmt.Errorf("%s: %w", agenciesPath, err)
		}
		return ca, agencies, hubCert, nil
	}
	for _, a := range devAgencies {
		iss, err := ca.Issue(a.id, a.name, pki.IssueOptions{})
		if err != nil {
			return nil, nil, nil, err
		}
		rel := func(p string) string { r, _ := filepath.Rel(devDir, p); return r }
		agencies = append(agencies, devAgency{OrganID: a.id, Name: a.name, Token: secret(), Cert: rel(iss.CertPath),
			Key: rel(iss.KeyPath), Chain: rel(iss.ChainPath), VDXPSystemID: "vdxp-" + a.id, VDXPSecret: secret()})
	}
	root, err := os.ReadFile(ca.RootPath())
	if err != nil {
		return nil, nil, nil, err
	}
	if err := writeFileAtomic(filepath.Join(devDir, "ca.pem"), root); err != nil {
		return nil, nil, nil, err
	}
	out, err := json.MarshalIndent(agencies, "", "  ")
	if err != nil {
		return nil, nil, nil, err
	}
	return ca, agencies, hubCert, writeFileAtomic(agenciesPath, out)
}

func loadIssued(ca *pki.CA, organID string) (*pki.Issued, error) {
	d := filepath.Join(ca.Dir(), pki.AgenciesDir, organID)
	certs, err := pki.LoadCertificates(filepath.Join(d, pki.AgencyCertFile))
	if err != nil {
		return nil, err
	}
	key, err := pki.LoadPrivateKey(filepath.Join(d, pki.AgencyKeyFile))
	if err != nil {
		return nil, err
	}
	return &pki.Issued{OrganID: organID, Cert: certs[0], Key: key, Chain: []*x509.Certificate{ca.Intermediate()}}, nil
}

func secret() string {
	b := make([]byte, 24)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func writeFileAtomic(path string, data []byte) error {
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, data, 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

func runBroker(ctx context.Context, args []string, _, stderr io.Writer) int {
	fs := newFlags("broker", "--data DIR [--addr 127.0.0.1:9092]", stderr)
	data := fs.String("data", "", "where the broker persists (required)")
	addr := fs.String("addr", "127.0.0.1:9092", "listen address")
	if _, err := parseFlags(fs, args); err != nil || *data == "" {
		fs.Usage()
		return ExitUsage
	}
	log := slog.New(slog.NewTextHandler(stderr, nil))
	if err := bus.RunBroker(ctx, *addr, *data, log); err != nil {
		fmt.Fprintf(stderr, "lienthong broker: %v\n", err)
		return ExitUsage
	}
	return ExitOK
}
