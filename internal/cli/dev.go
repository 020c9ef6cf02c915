package cli

import (
	"context"
	"crypto/rand"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"

	"lienthong/internal/atomicfile"
	"lienthong/internal/config"
	"lienthong/internal/console"
	"lienthong/internal/pki"
)

// devAgency is one entry of DIR/dev/agencies.json (docs/contracts.md, CLI).
type devAgency struct {
	OrganID      string `json:"organId"`
	Name         string `json:"name"`
	Token        string `json:"token"`
	Cert         string `json:"cert"`
	Key          string `json:"key"`
	Chain        string `json:"chain"`
	VDXPSystemID string `json:"vdxpSystemId"`
	VDXPSecret   string `json:"vdxpSecret"`
	// The agency's clerk account on the web console at "/".
	ConsoleUser     string `json:"consoleUser"`
	ConsolePassword string `json:"consolePassword"`
}

var devAgencies = []struct{ id, name string }{
	{"000.00.00.G22", "Văn phòng Chính phủ"},
	{"000.00.00.H29", "UBND Thành phố Hồ Chí Minh"},
	{"000.00.00.G12", "Bộ Tài chính"},
}

const devHubOrgan = "000.00.00.G01"

func runDev(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	serverGC()
	fs := newFlags("dev", "[--data DIR] [--addr 127.0.0.1:8080] [--secure-bus] [--bus-addr HOST:PORT]", stderr)
	data := fs.String("data", "./data", "where everything persists")
	addr := fs.String("addr", "127.0.0.1:8080", "the API's address")
	secure := fs.Bool("secure-bus", false, "run the embedded Kafka with TLS, SASL and ACLs, and a Kafka principal per agency (DIR/dev/kafka/kafka.json)")
	busAddr := fs.String("bus-addr", "127.0.0.1:0", "the embedded Kafka's address (bus.addr)")
	if _, err := parseFlags(fs, args); err != nil {
		return ExitUsage
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	if err := dev(ctx, *data, *addr, devBus{secure: *secure, addr: *busAddr}, stdout, log); err != nil {
		fmt.Fprintf(stderr, "lienthong dev: %v\n", err)
		return ExitUsage
	}
	return ExitOK
}

// devBus are dev's options for its embedded Kafka.
type devBus struct {
	secure bool   // TLS, SASL and ACLs (devSecureBus)
	addr   string // bus.addr
}

// dev runs broker, store, view, hub and API in one process, persistent
// under data, with three demo agencies and a development PKI: the same
// wiring as serve, from a configuration made here.
func dev(ctx context.Context, data, addr string, db devBus, stdout io.Writer, log *slog.Logger) error {
	data, err := filepath.Abs(data)
	if err != nil {
		return err
	}
	devDir := filepath.Join(data, "dev")
	if err := os.MkdirAll(devDir, 0o700); err != nil {
		return err
	}
	ca, agencies, _, err := devIdentities(devDir)
	if err != nil {
		return err
	}
	cfg := config.Default()
	cfg.Hub.OrganID, cfg.Hub.Name, cfg.Hub.Addr, cfg.Hub.DataDir = devHubOrgan, "lienthong dev hub", addr, data
	cfg.Blob.FS.Dir = filepath.Join(data, "blobs")
	cfg.Bus.DataDir, cfg.Bus.ClientID = filepath.Join(data, "kafka"), "lienthong-dev"
	cfg.Trust.Roots = []string{ca.RootPath()}
	if _, err := os.Stat(ca.CRLPath(false)); err == nil {
		cfg.Trust.CRLs = []string{ca.CRLPath(false)}
	}
	hubDir := filepath.Join(ca.Dir(), pki.AgenciesDir, devHubOrgan)
	cfg.Trust.HubCert, cfg.Trust.HubKey, cfg.Trust.HubChain = filepath.Join(hubDir, pki.AgencyCertFile), filepath.Join(hubDir, pki.AgencyKeyFile), filepath.Join(hubDir, pki.AgencyChainFile)
	for _, a := range agencies {
		cfg.Agencies = append(cfg.Agencies, config.Agency{OrganID: a.OrganID, Name: a.Name, Endpoint: "pull",
			Tokens: []config.Secret{config.Secret(a.Token)}, VDXPSystemID: a.VDXPSystemID, VDXPSecret: config.Secret(a.VDXPSecret)})
		// A clerk per agency on the console, whose statuses the hub signs
		// with the agency's dev key (hosted signing).
		hash, err := console.HashPassword(a.ConsolePassword)
		if err != nil {
			return err
		}
		cfg.Console.Accounts = append(cfg.Console.Accounts, config.ConsoleAccount{Username: a.ConsoleUser, PasswordHash: config.Secret(hash), Role: "clerk", OrganID: a.OrganID})
		rel := func(p string) string { return filepath.Join(devDir, p) }
		cfg.Console.HostedKeys = append(cfg.Console.HostedKeys, config.HostedKey{OrganID: a.OrganID, Cert: rel(a.Cert), Key: rel(a.Key), Chain: rel(a.Chain)})
	}
	// dev keeps its demo keys in the clear; a real hub seals them.
	cfg.Console.AllowPlainHostedKeys = true
	key, err := devSessionKey(devDir)
	if err != nil {
		return err
	}
	cfg.Console.SessionKey = config.Secret(key)
	op, err := devOperator(devDir)
	if err != nil {
		return err
	}
	opHash, err := console.HashPassword(op.Password)
	if err != nil {
		return err
	}
	// The dev operator is an admin, so token rotation can be tried too.
	cfg.Console.Accounts = append(cfg.Console.Accounts, config.ConsoleAccount{Username: op.Username, PasswordHash: config.Secret(opHash), Role: "admin"})
	if db.addr != "" {
		cfg.Bus.Addr = db.addr
	}
	if db.secure {
		if err := devSecureBus(cfg, devDir); err != nil {
			return err
		}
	}
	if err := cfg.Validate(); err != nil {
		return err
	}
	agenciesPath := filepath.Join(devDir, "agencies.json")
	return serve(ctx, cfg, log, func(a net.Addr) {
		fmt.Fprintf(stdout, `lienthong dev: hub on http://%s (data in %s)
  agencies, tokens and keys: %s
  trust root:                %s
  try: lienthong sign FILE --cert ... --key ... -o FILE.p7s, then
       curl -H "Authorization: Bearer TOKEN" -F packet=@FILE -F signature=@FILE.p7s http://%s/v1/packets
`, a, data, agenciesPath, filepath.Join(devDir, "ca.pem"), a)
		if db.secure {
			fmt.Fprintf(stdout, "  kafka (TLS, SASL, ACLs):   %s (the broker's address is in the log)\n", filepath.Join(devDir, "kafka", "kafka.json"))
		}
	})
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
			Key: rel(iss.KeyPath), Chain: rel(iss.ChainPath), VDXPSystemID: "vdxp-" + a.id, VDXPSecret: secret(),
			ConsoleUser: "vanthu." + strings.ToLower(a.id[strings.LastIndexByte(a.id, '.')+1:]), ConsolePassword: secret()[:16]})
	}
	root, err := os.ReadFile(ca.RootPath())
	if err != nil {
		return nil, nil, nil, err
	}
	if err := atomicfile.WriteBytes(filepath.Join(devDir, "ca.pem"), root, 0o600); err != nil {
		return nil, nil, nil, err
	}
	out, err := json.MarshalIndent(agencies, "", "  ")
	if err != nil {
		return nil, nil, nil, err
	}
	return ca, agencies, hubCert, atomicfile.WriteBytes(agenciesPath, out, 0o600)
}

// devAccount is the operator's console account, in DIR/dev/operator.json.
type devAccount struct {
	Username string `json:"username"`
	Password string `json:"password"`
}

func devOperator(devDir string) (devAccount, error) {
	path := filepath.Join(devDir, "operator.json")
	var a devAccount
	if b, err := os.ReadFile(path); err == nil {
		return a, json.Unmarshal(b, &a)
	}
	a = devAccount{Username: "vanhanh", Password: secret()[:16]}
	b, err := json.MarshalIndent(a, "", "  ")
	if err != nil {
		return a, err
	}
	return a, atomicfile.WriteBytes(path, b, 0o600)
}

// devSessionKey keeps the console's session key across restarts.
func devSessionKey(devDir string) (string, error) {
	path := filepath.Join(devDir, "console-session.key")
	if b, err := os.ReadFile(path); err == nil && len(b) >= 32 {
		return string(b), nil
	}
	key := secret()
	return key, atomicfile.WriteBytes(path, []byte(key), 0o600)
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
