package config_test

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/lienthong/lienthong/internal/config"
	"github.com/lienthong/lienthong/internal/organ"
)

const (
	fp1 = "1111111111111111111111111111111111111111111111111111111111111111"
	fp2 = "2222222222222222222222222222222222222222222222222222222222222222"
)

// touch creates the named files under dir and returns their paths.
func touch(t *testing.T, dir string, names ...string) []string {
	t.Helper()
	var out []string
	for _, n := range names {
		p := filepath.Join(dir, n)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte("x"), 0o600); err != nil {
			t.Fatal(err)
		}
		out = append(out, p)
	}
	return out
}

// validConfig is a production-like configuration whose files exist. Every
// row of TestValidateErrors breaks exactly one thing in it.
func validConfig(t *testing.T) *config.Config {
	t.Helper()
	dir := t.TempDir()
	f := touch(t, dir, "tls.crt", "tls.key", "client-ca.pem", "roots.pem", "root.crl", "hub.crt", "hub.key", "hub-chain.pem")
	c := config.Default()
	c.Hub.OrganID = "000.00.00.G01"
	c.Hub.PublicURL = "https://lienthong.example.vn"
	c.TLS = config.TLS{CertFile: f[0], KeyFile: f[1], ClientCAFile: f[2], ClientAuth: config.ClientAuthOptional}
	c.Blob.Kind = config.BlobS3
	c.Blob.S3 = config.S3{
		Endpoint: "minio.internal:9000", Region: "us-east-1", Bucket: "lienthong-packets",
		AccessKey: "lienthong", SecretKey: "s3-secret-key", UseTLS: true, PartSize: 16 * config.MiB,
	}
	c.Bus.Embedded = false
	c.Bus.Brokers = []string{"kafka-1:9092", "kafka-2:9092", "kafka-3:9092"}
	c.Bus.ReplicationFactor = 3
	c.Trust.Roots = []string{f[3]}
	c.Trust.CRLs = []string{f[4]}
	c.Trust.HubCert, c.Trust.HubKey, c.Trust.HubChain = f[5], f[6], f[7]
	c.Agencies = []config.Agency{
		{
			OrganID: "000.00.00.G22", Name: "Văn phòng Chính phủ",
			Tokens:     []config.Secret{config.Secret(config.HashToken("token-of-vpcp-0123456789"))},
			CertSHA256: []string{fp1},
		},
		{
			OrganID: "000.00.00.H29", Name: "UBND Thành phố Hà Nội", Aliases: []string{"000.00.00.H30"},
			Endpoint:     "https://dms.hanoi.example.vn/hook",
			Tokens:       []config.Secret{"plain-dev-token-0123456789"},
			CertSHA256:   []string{fp2},
			VDXPSystemID: "hanoi-dms", VDXPSecret: "vdxp-secret-0123456789",
			WebhookSecret: "webhook-secret-0123456789",
		},
	}
	return c
}

// errs splits an errors.Join result.
func errs(err error) []error {
	if u, ok := err.(interface{ Unwrap() []error }); ok {
		return u.Unwrap()
	}
	if err == nil {
		return nil
	}
	return []error{err}
}

func TestValidConfig(t *testing.T) {
	if err := validConfig(t).Validate(); err != nil {
		t.Fatalf("Validate() = %v", err)
	}
	if err := config.Default().Validate(); err != nil {
		t.Fatalf("Default().Validate() = %v", err)
	}
}

func TestValidateErrors(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "missing.pem")
	xmlDir := touch(t, t.TempDir(), "agencies.xml")[0]
	tests := []struct {
		name     string
		give     func(c *config.Config)
		wantPath string // the error starts with "<wantPath>: "
		wantErr  error
	}{
		{"hub organ id", func(c *config.Config) { c.Hub.OrganID = "G01" }, "hub.organId", organ.ErrInvalid},
		{"hub organ id lowercase", func(c *config.Config) { c.Hub.OrganID = "000.00.00.g01" }, "hub.organId", organ.ErrInvalid},
		{"hub addr", func(c *config.Config) { c.Hub.Addr = "localhost" }, "hub.addr", config.ErrBadAddress},
		{"hub addr port", func(c *config.Config) { c.Hub.Addr = "localhost:http" }, "hub.addr", config.ErrBadAddress},
		{"hub public url", func(c *config.Config) { c.Hub.PublicURL = "ftp://hub.example.vn" }, "hub.publicUrl", config.ErrBadURL},
		{"hub data dir", func(c *config.Config) { c.Hub.DataDir = "" }, "hub.dataDir", config.ErrRequired},
		{"read header timeout", func(c *config.Config) { c.Hub.ReadHeaderTimeout = 0 }, "hub.readHeaderTimeout", config.ErrNotPositive},
		{"read timeout", func(c *config.Config) { c.Hub.ReadTimeout = -1 }, "hub.readTimeout", config.ErrNotPositive},
		{"write timeout", func(c *config.Config) { c.Hub.WriteTimeout = 0 }, "hub.writeTimeout", config.ErrNotPositive},
		{"shutdown timeout", func(c *config.Config) { c.Hub.ShutdownTimeout = 0 }, "hub.shutdownTimeout", config.ErrNotPositive},
		{"max body", func(c *config.Config) { c.Hub.MaxBodyBytes = 0 }, "hub.maxBodyBytes", config.ErrNotPositive},
		{"broker wait", func(c *config.Config) { c.Hub.BrokerWait = 0 }, "hub.brokerWait", config.ErrNotPositive},
		{"free space", func(c *config.Config) { c.Hub.MinFreeSpace = -1 }, "hub.minFreeSpace", config.ErrNotPositive},

		{"tls key missing", func(c *config.Config) { c.TLS.KeyFile = "" }, "tls.keyFile", config.ErrRequired},
		{"tls cert missing", func(c *config.Config) { c.TLS.CertFile = "" }, "tls.certFile", config.ErrRequired},
		{"tls client auth value", func(c *config.Config) { c.TLS.ClientAuth = "maybe" }, "tls.clientAuth", config.ErrUnknownValue},
		{"tls client ca required", func(c *config.Config) { c.TLS.ClientCAFile = "" }, "tls.clientCaFile", config.ErrRequired},
		{"tls client auth needs tls", func(c *config.Config) {
			c.TLS.CertFile, c.TLS.KeyFile = "", ""
		}, "tls.certFile", config.ErrRequired},
		{"tls client ca unused", func(c *config.Config) { c.TLS.ClientAuth = config.ClientAuthNone }, "tls.clientCaFile", config.ErrConflict},
		{"proxied client certificates without client CAs", func(c *config.Config) {
			c.TLS.ClientAuth, c.TLS.ClientCAFile = config.ClientAuthNone, ""
			c.Hub.ClientCertProxies = []string{"10.0.0.5"}
		}, "tls.clientCaFile", config.ErrRequired},
		{"console user name too long", func(c *config.Config) {
			c.Console.SessionKey = config.Secret(strings.Repeat("k", 32))
			c.Console.Accounts = []config.ConsoleAccount{{Username: strings.Repeat("a", 129), PasswordHash: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA", Role: "operator"}}
		}, "console.accounts[0].username", config.ErrOutOfRange},
		{"trusted proxies: every address", func(c *config.Config) { c.Hub.TrustedProxies = []string{"0.0.0.0/0"} }, "hub.trustedProxies[0]", config.ErrBadAddress},
		{"client certificate proxies: every address", func(c *config.Config) { c.Hub.ClientCertProxies = []string{"::/0"} }, "hub.clientCertProxies[0]", config.ErrBadAddress},
		{"tls cert file", func(c *config.Config) { c.TLS.CertFile = missing }, "tls.certFile", fs.ErrNotExist},
		{"tls key file", func(c *config.Config) { c.TLS.KeyFile = missing }, "tls.keyFile", config.ErrFile},
		{"tls client ca file", func(c *config.Config) { c.TLS.ClientCAFile = missing }, "tls.clientCaFile", config.ErrFile},
		{"tls cert is a directory", func(c *config.Config) { c.TLS.CertFile = t.TempDir() }, "tls.certFile", config.ErrFile},

		{"blob kind", func(c *config.Config) { c.Blob.Kind = "gcs" }, "blob.kind", config.ErrUnknownValue},
		{"blob fs dir", func(c *config.Config) { c.Blob.Kind, c.Blob.FS.Dir = config.BlobFS, "" }, "blob.fs.dir", config.ErrRequired},
		{"blob fs layout", func(c *config.Config) { c.Blob.Kind, c.Blob.FS.Layout = config.BlobFS, "tree" }, "blob.fs.layout", config.ErrUnknownValue},
		{"blob fs compactEvery negative", func(c *config.Config) { c.Blob.Kind, c.Blob.FS.CompactEvery = config.BlobFS, -time.Second }, "blob.fs.compactEvery", config.ErrNegative},
		{"s3 endpoint", func(c *config.Config) { c.Blob.S3.Endpoint = "" }, "blob.s3.endpoint", config.ErrRequired},
		{"s3 bucket", func(c *config.Config) { c.Blob.S3.Bucket = "" }, "blob.s3.bucket", config.ErrRequired},
		{"s3 access key", func(c *config.Config) { c.Blob.S3.AccessKey = "" }, "blob.s3.accessKey", config.ErrRequired},
		{"s3 secret key", func(c *config.Config) { c.Blob.S3.SecretKey = "" }, "blob.s3.secretKey", config.ErrRequired},
		{"s3 endpoint scheme", func(c *config.Config) { c.Blob.S3.Endpoint = "https://minio:9000" }, "blob.s3.endpoint", config.ErrBadURL},
		{"s3 endpoint port", func(c *config.Config) { c.Blob.S3.Endpoint = "minio:s3" }, "blob.s3.endpoint", config.ErrBadAddress},
		{"s3 bucket name", func(c *config.Config) { c.Blob.S3.Bucket = "Lienthong_Packets" }, "blob.s3.bucket", config.ErrBadName},
		{"s3 bucket ip", func(c *config.Config) { c.Blob.S3.Bucket = "192.168.1.1" }, "blob.s3.bucket", config.ErrBadName},
		{"s3 part size small", func(c *config.Config) { c.Blob.S3.PartSize = config.MiB }, "blob.s3.partSize", config.ErrOutOfRange},
		{"s3 part size large", func(c *config.Config) { c.Blob.S3.PartSize = 6 * config.GiB }, "blob.s3.partSize", config.ErrOutOfRange},

		{"bus brokers required", func(c *config.Config) { c.Bus.Brokers = nil }, "bus.brokers", config.ErrRequired},
		{"bus brokers while embedded", func(c *config.Config) { c.Bus.Embedded = true }, "bus.brokers", config.ErrConflict},
		{"bus broker address", func(c *config.Config) { c.Bus.Brokers[1] = "kafka-2" }, "bus.brokers[1]", config.ErrBadAddress},
		{"bus broker host", func(c *config.Config) { c.Bus.Brokers[0] = ":9092" }, "bus.brokers[0]", config.ErrBadAddress},
		{"bus embedded data dir", func(c *config.Config) {
			c.Bus.Embedded, c.Bus.Brokers, c.Bus.DataDir = true, nil, ""
		}, "bus.dataDir", config.ErrRequired},
		{"bus embedded addr", func(c *config.Config) {
			c.Bus.Embedded, c.Bus.Brokers, c.Bus.Addr = true, nil, "127.0.0.1"
		}, "bus.addr", config.ErrBadAddress},
		{"bus topic prefix", func(c *config.Config) { c.Bus.TopicPrefix = "lien thong/" }, "bus.topicPrefix", config.ErrBadName},
		{"bus partitions", func(c *config.Config) { c.Bus.Partitions = 0 }, "bus.partitions", config.ErrNotPositive},
		{"bus replication", func(c *config.Config) { c.Bus.ReplicationFactor = 0 }, "bus.replicationFactor", config.ErrOutOfRange},
		{"bus batch timeout", func(c *config.Config) { c.Bus.BatchTimeout = 0 }, "bus.batchTimeout", config.ErrNotPositive},

		{"trust revocation", func(c *config.Config) { c.Trust.Revocation = "fail-open" }, "trust.revocation", config.ErrUnknownValue},
		{"trust hub key", func(c *config.Config) { c.Trust.HubKey = "" }, "trust.hubKey", config.ErrRequired},
		{"trust hub cert", func(c *config.Config) { c.Trust.HubCert = "" }, "trust.hubCert", config.ErrRequired},
		{"trust hub chain alone", func(c *config.Config) {
			c.Trust.HubCert, c.Trust.HubKey = "", ""
		}, "trust.hubCert", config.ErrRequired},
		{"trust root file", func(c *config.Config) { c.Trust.Roots = append(c.Trust.Roots, missing) }, "trust.roots[1]", fs.ErrNotExist},
		{"trust root empty", func(c *config.Config) { c.Trust.Roots[0] = "" }, "trust.roots[0]", config.ErrRequired},
		{"trust crl file", func(c *config.Config) { c.Trust.CRLs[0] = missing }, "trust.crls[0]", config.ErrFile},
		{"trust hub cert file", func(c *config.Config) { c.Trust.HubCert = missing }, "trust.hubCert", config.ErrFile},
		{"trust hub chain file", func(c *config.Config) { c.Trust.HubChain = missing }, "trust.hubChain", config.ErrFile},

		{"policy v1", func(c *config.Config) { c.Policy.V1 = "sometimes" }, "policy.v1", config.ErrUnknownValue},
		{"policy vdxp", func(c *config.Config) { c.Policy.VDXP = "" }, "policy.vdxp", config.ErrUnknownValue},
		{"limits depth", func(c *config.Config) { c.Limits.MaxDepth = -1 }, "limits.maxDepth", config.ErrNegative},
		{"limits zip bytes", func(c *config.Config) { c.Limits.MaxZipBytes = -1 }, "limits.maxZipBytes", config.ErrNegative},
		{"limits zip ratio", func(c *config.Config) { c.Limits.MaxZipRatio = -1 }, "limits.maxZipRatio", config.ErrNegative},
		{"directory type", func(c *config.Config) { c.Directory.File = xmlDir }, "directory.file", config.ErrUnknownValue},
		{"directory file", func(c *config.Config) { c.Directory.File = missing + ".yaml" }, "directory.file", fs.ErrNotExist},

		{"agency id", func(c *config.Config) { c.Agencies[0].OrganID = "G22!" }, "agencies[0].organId", organ.ErrInvalid},
		{"agency id empty", func(c *config.Config) { c.Agencies[1].OrganID = "" }, "agencies[1].organId", organ.ErrEmpty},
		{"agency parent", func(c *config.Config) { c.Agencies[1].Parent = "x y" }, "agencies[1].parent", organ.ErrInvalid},
		{"agency alias", func(c *config.Config) { c.Agencies[1].Aliases[0] = "-" }, "agencies[1].aliases[0]", organ.ErrInvalid},
		{"agency duplicate id", func(c *config.Config) { c.Agencies[1].OrganID = "000.00.00.G22" }, "agencies[1].organId", config.ErrDuplicate},
		{"agency alias is an id", func(c *config.Config) {
			c.Agencies[1].Aliases[0] = " 000.00.00.G22"
		}, "agencies[1].aliases[0]", config.ErrDuplicate},
		{"agency endpoint http", func(c *config.Config) {
			c.Agencies[1].Endpoint = "http://dms.example.vn/hook"
		}, "agencies[1].endpoint", config.ErrBadEndpoint},
		{"agency endpoint credentials", func(c *config.Config) {
			c.Agencies[1].Endpoint = "https://u:pw@dms.example.vn/hook"
		}, "agencies[1].endpoint", config.ErrBadEndpoint},
		{"agency endpoint hub", func(c *config.Config) { c.Agencies[1].Endpoint = "hub:" }, "agencies[1].endpoint", config.ErrBadEndpoint},
		{"agency endpoint word", func(c *config.Config) { c.Agencies[1].Endpoint = "push" }, "agencies[1].endpoint", config.ErrBadEndpoint},
		{"webhook without secret", func(c *config.Config) { c.Agencies[1].WebhookSecret = "" }, "agencies[1].webhookSecret", config.ErrWeakSecret},
		{"agency endpoint unknown peer", func(c *config.Config) { c.Agencies[1].Endpoint = "hub:south" }, "agencies[1].endpoint", config.ErrUnknownValue},
		{"peer url", func(c *config.Config) { c.Peers = []config.Peer{{Name: "p", URL: "ftp://x"}} }, "peers[0].url", config.ErrBadURL},
		{"peer url http", func(c *config.Config) {
			c.Peers = []config.Peer{{Name: "p", URL: "http://p.example.vn"}}
		}, "peers[0].url", config.ErrBadURL},
		{"peer url http to a private address", func(c *config.Config) {
			c.Peers = []config.Peer{{Name: "p", URL: "http://10.0.0.5:8080"}}
		}, "peers[0].url", config.ErrBadURL},
		{"peer url credentials", func(c *config.Config) {
			c.Peers = []config.Peer{{Name: "p", URL: "https://u:pw@p.example.vn"}}
		}, "peers[0].url", config.ErrBadURL},
		{"peer relays without token", func(c *config.Config) {
			c.Peers = []config.Peer{{Name: "p", URL: "https://p.example.vn", Organs: []string{"000.00.00.H29"}}}
		}, "peers[0].tokens", config.ErrRequired},
		{"token hash", func(c *config.Config) { c.Agencies[0].Tokens[0] = "sha256:abc" }, "agencies[0].tokens[0]", config.ErrBadToken},
		{"token empty", func(c *config.Config) {
			c.Agencies[0].Tokens = append(c.Agencies[0].Tokens, "")
		}, "agencies[0].tokens[1]", config.ErrBadToken},
		{"token short", func(c *config.Config) { c.Agencies[1].Tokens[0] = "dev" }, "agencies[1].tokens[0]", config.ErrWeakSecret},
		{"token twice across agencies", func(c *config.Config) {
			c.Agencies[1].Tokens[0] = "token-of-vpcp-0123456789" // agencies[0] holds its hash
		}, "agencies[1].tokens[0]", config.ErrDuplicate},
		{"token twice in an agency", func(c *config.Config) {
			c.Agencies[1].Tokens = append(c.Agencies[1].Tokens, config.Secret(config.HashToken("plain-dev-token-0123456789")))
		}, "agencies[1].tokens[1]", config.ErrDuplicate},
		{"cert fingerprint", func(c *config.Config) { c.Agencies[0].CertSHA256[0] = "abcd" }, "agencies[0].certSha256[0]", config.ErrBadFingerprint},
		{"cert pinned twice", func(c *config.Config) {
			c.Agencies[1].CertSHA256[0] = strings.ToUpper(fp1)
		}, "agencies[1].certSha256[0]", config.ErrDuplicate},
		{"vdxp secret required", func(c *config.Config) { c.Agencies[1].VDXPSecret = "" }, "agencies[1].vdxpSecret", config.ErrRequired},
		{"vdxp system required", func(c *config.Config) { c.Agencies[1].VDXPSystemID = "" }, "agencies[1].vdxpSystemId", config.ErrRequired},
		{"vdxp secret short", func(c *config.Config) { c.Agencies[1].VDXPSecret = "short" }, "agencies[1].vdxpSecret", config.ErrWeakSecret},
		{"vdxp system twice", func(c *config.Config) {
			c.Agencies[0].VDXPSystemID, c.Agencies[0].VDXPSecret = "hanoi-dms", "another-secret-0123456789"
		}, "agencies[1].vdxpSystemId", config.ErrDuplicate},
		{"agency parent cycle", func(c *config.Config) {
			c.Agencies[0].Parent, c.Agencies[1].Parent = "000.00.00.H29", "000.00.00.G22"
		}, "agencies", organ.ErrCycle},

		{"idle timeout", func(c *config.Config) { c.Hub.IdleTimeout = 0 }, "hub.idleTimeout", config.ErrNotPositive},
		{"max header bytes", func(c *config.Config) { c.Hub.MaxHeaderBytes = 100 }, "hub.maxHeaderBytes", config.ErrOutOfRange},
		{"max connections", func(c *config.Config) { c.Hub.MaxConnections = 0 }, "hub.maxConnections", config.ErrNotPositive},
		{"trusted proxy", func(c *config.Config) { c.Hub.TrustedProxies = []string{"10.0.0.0/8", "proxy.local"} }, "hub.trustedProxies[1]", config.ErrBadAddress},
		{"login concurrency", func(c *config.Config) { c.Console.Login.Concurrency = -1 }, "console.login.concurrency", config.ErrNegative},
		{"login wait", func(c *config.Config) { c.Console.Login.Wait = 0 }, "console.login.wait", config.ErrNotPositive},
		{"login per minute", func(c *config.Config) { c.Console.Login.PerMinute = 0 }, "console.login.perMinute", config.ErrNotPositive},
		{"vdxp freshness", func(c *config.Config) { c.VDXP.Freshness = -time.Second }, "vdxp.freshness", config.ErrNegative},
		{"vdxp pin", func(c *config.Config) { c.Agencies[1].VDXPCertSHA256 = []string{"abcd"} }, "agencies[1].vdxpCertSha256[0]", config.ErrBadFingerprint},
		{"vdxp pin without client certificates", func(c *config.Config) {
			c.Agencies[1].VDXPCertSHA256 = []string{strings.Repeat("ab", 32)}
			c.TLS.ClientAuth, c.TLS.ClientCAFile = config.ClientAuthNone, ""
		}, "agencies[1].vdxpCertSha256", config.ErrConflict},
		{"vdxp pin without a system", func(c *config.Config) {
			c.Agencies[0].VDXPCertSHA256 = []string{strings.Repeat("ab", 32)}
		}, "agencies[0].vdxpSystemId", config.ErrRequired},
		{"log level", func(c *config.Config) { c.Log.Level = "trace" }, "log.level", config.ErrUnknownValue},
		{"log format", func(c *config.Config) { c.Log.Format = "xml" }, "log.format", config.ErrUnknownValue},
		{"metrics path", func(c *config.Config) { c.Metrics.Path = "metrics" }, "metrics.path", config.ErrBadURL},
		{"metrics addr", func(c *config.Config) { c.Metrics.Addr = "9464" }, "metrics.addr", config.ErrBadAddress},
		{"pprof without metrics addr", func(c *config.Config) { c.Metrics.Pprof = true }, "metrics.pprof", config.ErrConflict},
		{"pprof without metrics", func(c *config.Config) {
			c.Metrics.Pprof, c.Metrics.Addr, c.Metrics.Enabled = true, "127.0.0.1:0", false
		}, "metrics.pprof", config.ErrConflict},
		{"tracing endpoint", func(c *config.Config) { c.Tracing.Endpoint = "otel-collector:4318" }, "tracing.endpoint", config.ErrBadURL},
		{"tracing sample ratio", func(c *config.Config) { c.Tracing.SampleRatio = 1.5 }, "tracing.sampleRatio", config.ErrOutOfRange},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := validConfig(t)
			tt.give(c)
			err := c.Validate()
			if got := errs(err); len(got) != 1 {
				t.Fatalf("Validate() = %d errors, want 1:\n%v", len(got), err)
			}
			if !errors.Is(err, tt.wantErr) {
				t.Errorf("Validate() = %v, want errors.Is %v", err, tt.wantErr)
			}
			if !strings.HasPrefix(err.Error(), tt.wantPath+": ") {
				t.Errorf("Validate() = %q, want it to start with %q", err, tt.wantPath+": ")
			}
		})
	}
}

// Secrets never appear in validation errors.
func TestValidateErrorsHideSecrets(t *testing.T) {
	c := validConfig(t)
	c.Agencies[0].Tokens = append(c.Agencies[0].Tokens, "sha256:not-hex-but-a-real-token")
	c.Agencies[1].Tokens[0] = "short-secret"
	c.Agencies[1].Endpoint = "https://user:hunter2-password@dms.example.vn/"
	err := c.Validate()
	if err == nil {
		t.Fatal("Validate() = nil, want errors")
	}
	for _, s := range []string{"not-hex-but-a-real-token", "short-secret", "hunter2-password"} {
		if strings.Contains(err.Error(), s) {
			t.Errorf("Validate() error %q shows the secret %q", err, s)
		}
	}
}

func TestValidateAccepts(t *testing.T) {
	tests := []struct {
		name string
		give func(c *config.Config)
	}{
		{"lowercase ids when allowed", func(c *config.Config) {
			c.Policy.AllowLowercaseIDs = true
			c.Hub.OrganID, c.Agencies[0].OrganID = "000.00.00.g01", "000.00.00.g22"
		}},
		{"endpoint pull", func(c *config.Config) { c.Agencies[1].Endpoint = "pull" }},
		{"endpoint empty", func(c *config.Config) { c.Agencies[1].Endpoint = "" }},
		{"endpoint loopback http", func(c *config.Config) { c.Agencies[1].Endpoint = "http://127.0.0.1:9000/hook" }},
		{"endpoint localhost http", func(c *config.Config) { c.Agencies[1].Endpoint = "http://localhost:9000/hook" }},
		{"endpoint federated hub", func(c *config.Config) {
			c.Agencies[1].Endpoint = "hub:north"
			c.Peers = []config.Peer{{Name: "north", URL: "https://north.example.vn", Token: "north-token-0123456789"}}
		}},
		{"fingerprint with colons", func(c *config.Config) {
			c.Agencies[0].CertSHA256[0] = strings.ToUpper(strings.Repeat("ab:", 31) + "ab")
		}},
		{"hash in upper case", func(c *config.Config) {
			c.Agencies[0].Tokens[0] = config.Secret(strings.ToUpper(config.HashToken("x")))
		}},
		{"no tls", func(c *config.Config) { c.TLS = config.TLS{ClientAuth: config.ClientAuthNone} }},
		{"tls required", func(c *config.Config) { c.TLS.ClientAuth = config.ClientAuthRequire }},
		{"s3 endpoint without port", func(c *config.Config) { c.Blob.S3.Endpoint = "s3.example.vn" }},
		{"all interfaces", func(c *config.Config) { c.Hub.Addr = ":8443" }},
		{"embedded bus", func(c *config.Config) { c.Bus.Embedded, c.Bus.Brokers = true, nil }},
		{"hard fail", func(c *config.Config) { c.Trust.Revocation = "hard-fail" }},
		{"tracing", func(c *config.Config) {
			c.Tracing = config.Tracing{Endpoint: "http://otel-collector:4318", SampleRatio: 0.1}
		}},
		{"no agencies", func(c *config.Config) { c.Agencies = nil }},
		{"trusted proxies", func(c *config.Config) { c.Hub.TrustedProxies = []string{"10.0.0.0/8", "192.168.1.7", "::1"} }},
		{"vdxp pin", func(c *config.Config) { c.Agencies[1].VDXPCertSHA256 = []string{strings.Repeat("AB:", 31) + "AB"} }},
		{"vdxp pin behind a proxy that forwards certificates", func(c *config.Config) {
			c.Agencies[1].VDXPCertSHA256 = []string{strings.Repeat("ab", 32)}
			c.TLS = config.TLS{ClientAuth: config.ClientAuthNone, ClientCAFile: c.TLS.ClientCAFile}
			c.Hub.ClientCertProxies = []string{"10.0.0.5"}
		}},
		{"peer on loopback over http", func(c *config.Config) {
			c.Peers = []config.Peer{{Name: "north", URL: "http://127.0.0.1:9000", Token: "north-token-0123456789"}}
		}},
		{"limits set", func(c *config.Config) { c.Limits.MaxDepth, c.Limits.MaxZipBytes = 32, 10*config.MiB }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := validConfig(t)
			tt.give(c)
			if err := c.Validate(); err != nil {
				t.Errorf("Validate() = %v, want nil", err)
			}
		})
	}
}

// Validate reports all problems, not the first.
func TestValidateJoinsAll(t *testing.T) {
	c := validConfig(t)
	c.Hub.Addr = "nope"
	c.Blob.Kind = "gcs"
	c.Log.Level = "loud"
	if got := errs(c.Validate()); len(got) != 3 {
		t.Errorf("Validate() = %d errors %v, want 3", len(got), got)
	}
}
