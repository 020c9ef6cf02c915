package cli

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"golang.org/x/mod/sumdb/note"

	"github.com/lienthong/lienthong/internal/atomicfile"
	"github.com/lienthong/lienthong/internal/config"
	"github.com/lienthong/lienthong/internal/console"
	"github.com/lienthong/lienthong/internal/devsite"
	"github.com/lienthong/lienthong/internal/tsa"
)

func runDev(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	serverGC()
	fs := newFlags("dev", "[--data DIR] [--addr HOST:PORT] [--kafka-addr HOST:PORT] [--secure-bus]", stderr)
	fs.Usage = devUsage(fs, stderr)
	data := fs.String("data", "./data", "the `DIR` everything persists in")
	addr := fs.String("addr", "127.0.0.1:8080", "the `HOST:PORT` of the API and the console")
	busAddr := fs.String("kafka-addr", "127.0.0.1:0", "the embedded Kafka broker's `HOST:PORT` (port 0: any free port; the banner and DIR/dev/kafka/kafka.json say which)")
	secure := fs.Bool("secure-bus", false, "run the embedded Kafka with TLS, SASL and ACLs, and a Kafka principal per agency (DIR/dev/kafka/kafka.json)")
	if _, err := parseFlags(fs, args); err != nil {
		return flagsFailed(err)
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	if err := dev(ctx, *data, *addr, devBus{secure: *secure, addr: *busAddr}, stdout, log); err != nil {
		fmt.Fprintf(stderr, "lienthong dev: %v\n", err)
		return ExitUsage
	}
	return ExitOK
}

// devUsage is dev's help: its flags, then what it writes, so a new user
// knows where the tokens and keys are before starting it.
func devUsage(fs *flag.FlagSet, stderr io.Writer) func() {
	flags := fs.Usage
	return func() {
		flags()
		fmt.Fprint(stderr, `
Runs broker, blob store, hub, API and console in one process, with three demo
agencies and a development PKI, and keeps everything under DIR across restarts.
It writes, before the hub answers /readyz:
  DIR/dev/agencies.json     each agency: organId, name, token, cert, key, chain
                            (paths relative to DIR/dev), vdxpSystemId, vdxpSecret,
                            consoleUser, consolePassword
  DIR/dev/ca.pem            the development trust root
  DIR/dev/pki/              the development PKI (agencies' keys are unencrypted)
  DIR/dev/operator.json     the console operator's username and password
  DIR/dev/kafka/kafka.json  with --secure-bus: the broker's CA, its address and
                            each agency's Kafka user, password, topic and group prefix
`)
	}
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
	site, err := devsite.Open(data)
	if err != nil {
		return err
	}
	devDir := site.Dir
	cfg := site.Config
	cfg.Hub.Name, cfg.Hub.Addr = "lienthong dev hub", addr
	cfg.Bus.ClientID = "lienthong-dev"
	for _, a := range site.Agencies {
		// A clerk per agency on the console, whose statuses the hub signs
		// with the agency's dev key (hosted signing).
		hash, err := console.HashPassword(a.ConsolePassword)
		if err != nil {
			return err
		}
		cfg.Console.Accounts = append(cfg.Console.Accounts, config.ConsoleAccount{Username: a.ConsoleUser, PasswordHash: config.Secret(hash), Role: "clerk", OrganID: a.OrganID})
		cfg.Console.HostedKeys = append(cfg.Console.HostedKeys, config.HostedKey{OrganID: a.OrganID, Cert: site.Path(a.Cert), Key: site.Path(a.Key), Chain: site.Path(a.Chain)})
	}
	// dev keeps its demo keys in the clear; a real hub seals them.
	cfg.Console.AllowPlainHostedKeys = true
	cfg.Console.RegisterSettle = 0 // one replica: its view has every letter at once
	key, err := devSessionKey(devDir)
	if err != nil {
		return err
	}
	cfg.Console.SessionKey = config.Secret(key)
	if cfg.Evidence.Key, err = devLogKey(devDir); err != nil {
		return err
	}
	// A development TSA on the dev PKI time-stamps the log's checkpoints,
	// as the government CA's would.
	tsaURL, stopTSA, err := devTSA(site)
	if err != nil {
		return err
	}
	defer stopTSA()
	cfg.Evidence.TSA = config.EvidenceTSA{URL: tsaURL, Roots: []string{filepath.Join(devDir, "ca.pem")}, Receipts: true}
	// Signature time-stamps inside PDFs from the same TSA are trusted.
	cfg.PDF.TSARoots = []string{filepath.Join(devDir, "ca.pem")}
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
  kafka broker:              %s
  agencies, tokens and keys: %s
  trust root:                %s
  verifiable log's key:      %s
  try: lienthong sign FILE --cert ... --key ... -o FILE.p7s, then
       curl -H "Authorization: Bearer TOKEN" -F packet=@FILE -F signature=@FILE.p7s http://%s/v1/packets
`, a, data, strings.Join(cfg.Bus.Brokers, ","), agenciesPath, filepath.Join(devDir, "ca.pem"), filepath.Join(devDir, "log.pub"), a)
		if db.secure {
			path := filepath.Join(devDir, "kafka", "kafka.json")
			if err := devKafkaBrokers(path, cfg.Bus.Brokers); err != nil {
				log.Error("writing the broker's address", "file", path, "err", err)
			}
			fmt.Fprintf(stdout, "  kafka TLS, SASL and ACLs:  %s\n", path)
		}
	})
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
	a = devAccount{Username: "vanhanh", Password: devsite.Secret()[:16]}
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
	key := devsite.Secret()
	return key, atomicfile.WriteBytes(path, []byte(key), 0o600)
}

// devLogKey keeps the verifiable log's key across restarts, in
// DIR/dev/log.key, with its public half in log.pub for auditors.
func devLogKey(devDir string) (string, error) {
	priv, pub := filepath.Join(devDir, "log.key"), filepath.Join(devDir, "log.pub")
	if _, err := os.Stat(priv); err == nil {
		return priv, nil
	}
	skey, vkey, err := note.GenerateKey(rand.Reader, "lienthong-dev/log")
	if err != nil {
		return "", err
	}
	if err := atomicfile.WriteBytes(pub, []byte(vkey+"\n"), 0o644); err != nil {
		return "", err
	}
	return priv, atomicfile.WriteBytes(priv, []byte(skey+"\n"), 0o600)
}

// devTSA serves a development TSA (internal/tsa) on a loopback port until
// stop, which waits for it.
func devTSA(site *devsite.Site) (url string, stop func(), err error) {
	h, err := tsa.DevServer(site.CA, tsa.ServerOptions{})
	if err != nil {
		return "", nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, err
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = srv.Serve(ln)
	}()
	return "http://" + ln.Addr().String() + "/", func() { _ = srv.Close(); <-done }, nil
}
