package config

import (
	"crypto/tls"
	"log/slog"
	"path/filepath"
	"time"

	"github.com/lienthong/lienthong/internal/blob"
	"github.com/lienthong/lienthong/internal/bus"
	"github.com/lienthong/lienthong/internal/hub"
	"github.com/lienthong/lienthong/internal/organ"
	"github.com/lienthong/lienthong/internal/trust"
)

// Config is the hub's whole configuration.
type Config struct {
	Hub       Hub       `mapstructure:"hub" json:"hub"`
	TLS       TLS       `mapstructure:"tls" json:"tls"`
	Blob      Blob      `mapstructure:"blob" json:"blob"`
	Bus       Bus       `mapstructure:"bus" json:"bus"`
	Trust     Trust     `mapstructure:"trust" json:"trust"`
	Policy    Policy    `mapstructure:"policy" json:"policy"`
	Limits    Limits    `mapstructure:"limits" json:"limits"`
	Directory Directory `mapstructure:"directory" json:"directory"`
	// Agencies are the agencies the hub serves with their credentials, in
	// addition to those of Directory.File.
	Agencies []Agency `mapstructure:"agencies" json:"agencies"`
	// Peers are federated hubs: agencies with endpoint "hub:<name>" are
	// delivered to the peer of that name, which may relay packets back.
	Peers []Peer `mapstructure:"peers" json:"peers"`
	// Console is the web console for clerks and operators at "/".
	Console Console `mapstructure:"console" json:"console"`
	VDXP    VDXP    `mapstructure:"vdxp" json:"vdxp"`
	Log     Log     `mapstructure:"log" json:"log"`
	Metrics Metrics `mapstructure:"metrics" json:"metrics"`
	Tracing Tracing `mapstructure:"tracing" json:"tracing"`
	// Evidence is the verifiable log of every exchange.
	Evidence Evidence `mapstructure:"evidence" json:"evidence"`
	// PDF is the check of the signatures inside PDF attachments.
	PDF PDF `mapstructure:"pdf" json:"pdf"`
}

// Hub is the HTTP server and the hub's own identity.
type Hub struct {
	// OrganID is the hub's own agency identifier, such as 000.00.00.G01.
	OrganID string `mapstructure:"organId" json:"organId"`
	Name    string `mapstructure:"name" json:"name"`
	// Addr is the listen address (default 127.0.0.1:8080).
	Addr string `mapstructure:"addr" json:"addr"`
	// PublicURL is the address agencies use, when a proxy stands in front.
	PublicURL string `mapstructure:"publicUrl" json:"publicUrl"`
	// DataDir holds the embedded stores (default ./data).
	DataDir           string        `mapstructure:"dataDir" json:"dataDir"`
	ReadHeaderTimeout time.Duration `mapstructure:"readHeaderTimeout" json:"readHeaderTimeout"`
	// ReadTimeout and WriteTimeout bound a whole request and response; they
	// are long because packets with attachments reach hundreds of MiB.
	ReadTimeout     time.Duration `mapstructure:"readTimeout" json:"readTimeout"`
	WriteTimeout    time.Duration `mapstructure:"writeTimeout" json:"writeTimeout"`
	ShutdownTimeout time.Duration `mapstructure:"shutdownTimeout" json:"shutdownTimeout"`
	// MaxBodyBytes caps a request body (default 2 GiB: a packet with a
	// 1 GiB attachment is about 1.37 GB once base64-encoded).
	MaxBodyBytes ByteSize `mapstructure:"maxBodyBytes" json:"maxBodyBytes"`
	// IdleTimeout, MaxHeaderBytes and MaxConnections bound what idle or
	// slow clients hold (config/edge.go).
	IdleTimeout    time.Duration `mapstructure:"idleTimeout" json:"idleTimeout"`
	MaxHeaderBytes ByteSize      `mapstructure:"maxHeaderBytes" json:"maxHeaderBytes"`
	MaxConnections int           `mapstructure:"maxConnections" json:"maxConnections"`
	// TrustedProxies (addresses or CIDRs) may say the client's address and
	// scheme in X-Forwarded-For and X-Forwarded-Proto; nobody else may.
	TrustedProxies []string `mapstructure:"trustedProxies" json:"trustedProxies,omitempty"`
	// ClientCertProxies (addresses or CIDRs) may forward a client
	// certificate they verified in X-Client-Cert; the hub verifies it
	// again against tls.clientCaFile. Empty: the header is ignored.
	ClientCertProxies []string `mapstructure:"clientCertProxies" json:"clientCertProxies,omitempty"`
	// BrokerWait and MinFreeSpace: see faults.go.
	BrokerWait   time.Duration `mapstructure:"brokerWait" json:"brokerWait"`
	MinFreeSpace ByteSize      `mapstructure:"minFreeSpace" json:"minFreeSpace"`
}

// ClientAuth says whether the hub asks callers for TLS client certificates.
type ClientAuth string

// ClientAuth values.
const (
	ClientAuthNone     ClientAuth = "none"
	ClientAuthOptional ClientAuth = "optional" // verified when given; bearer tokens still work
	ClientAuthRequire  ClientAuth = "require"
)

// TLSType is the crypto/tls equivalent of a; an unknown value is
// tls.NoClientCert (Validate refuses it).
func (a ClientAuth) TLSType() tls.ClientAuthType {
	switch a {
	case ClientAuthOptional:
		return tls.VerifyClientCertIfGiven
	case ClientAuthRequire:
		return tls.RequireAndVerifyClientCert
	}
	return tls.NoClientCert
}

// TLS is the server's TLS. Without CertFile the hub speaks plain HTTP,
// which suits a TLS-terminating proxy in front of it.
type TLS struct {
	CertFile string `mapstructure:"certFile" json:"certFile"`
	KeyFile  string `mapstructure:"keyFile" json:"keyFile"`
	// ClientCAFile holds the CAs that issue agency client certificates.
	ClientCAFile string     `mapstructure:"clientCaFile" json:"clientCaFile"`
	ClientAuth   ClientAuth `mapstructure:"clientAuth" json:"clientAuth"`
}

// Enabled reports whether the hub serves HTTPS.
func (t TLS) Enabled() bool { return t.CertFile != "" }

// BlobKind names a blob store implementation.
type BlobKind string

// Blob store kinds.
const (
	BlobFS BlobKind = "fs"
	BlobS3 BlobKind = "s3"
)

// Blob is the object store that keeps the exact packet bytes.
type Blob struct {
	Kind BlobKind `mapstructure:"kind" json:"kind"`
	FS   FS       `mapstructure:"fs" json:"fs"`
	S3   S3       `mapstructure:"s3" json:"s3"`
}

// DefaultCompactEvery is how often a log store reclaims deleted objects' space;
// today only the verifiable log's checkpoints are deleted, so there is
// little to do and an hour costs nothing.
const DefaultCompactEvery = time.Hour

// FS is the filesystem blob store.
type FS struct {
	// Dir defaults to hub.dataDir/blobs.
	Dir string `mapstructure:"dir" json:"dir"`
	// Layout is how objects lie in Dir: "log" (appended to segment files,
	// an index; blob.Log) or "files" (a file each; blob.FS). Empty: files
	// when Dir already holds that layout, log otherwise (blob.OpenDir).
	Layout string `mapstructure:"layout" json:"layout"`
	// CompactEvery is how often the log layout gives the space of deleted
	// objects back (default 1h; 0: never).
	CompactEvery time.Duration `mapstructure:"compactEvery" json:"compactEvery"`
}

// S3 is an S3-compatible blob store (MinIO, versitygw, AWS).
type S3 struct {
	// Endpoint is host[:port] without a scheme; UseTLS picks https.
	Endpoint string `mapstructure:"endpoint" json:"endpoint"`
	Region   string `mapstructure:"region" json:"region"`
	Bucket   string `mapstructure:"bucket" json:"bucket"`
	// Prefix, when set, keeps this hub's objects under it ("" or ending
	// in "/"), so hubs or environments can share a bucket.
	Prefix    string `mapstructure:"prefix" json:"prefix,omitempty"`
	AccessKey string `mapstructure:"accessKey" json:"accessKey"`
	SecretKey Secret `mapstructure:"secretKey" json:"secretKey"`
	UseTLS    bool   `mapstructure:"useTls" json:"useTls"`
	// CAFile, with UseTLS, is a PEM bundle of the CAs that issue the S3
	// server's certificate, trusted instead of the system's roots.
	CAFile string `mapstructure:"caFile" json:"caFile,omitempty"`
	// PartSize is the multipart upload part (default blob.DefaultPartSize,
	// 16 MiB); without it
	// minio-go buffers about 537 MiB per upload of unknown size.
	PartSize ByteSize `mapstructure:"partSize" json:"partSize"`
	// CreateBucket creates Bucket at start when it is missing.
	CreateBucket bool `mapstructure:"createBucket" json:"createBucket"`
}

// Bus is the Kafka log.
type Bus struct {
	// Embedded runs an in-process Kafka-protocol broker (kfake) persisted
	// under DataDir, for development and single-node installs.
	Embedded bool `mapstructure:"embedded" json:"embedded"`
	// DataDir defaults to hub.dataDir/kafka.
	DataDir string `mapstructure:"dataDir" json:"dataDir"`
	// Addr is the embedded broker's listen address (default 127.0.0.1:0).
	Addr string `mapstructure:"addr" json:"addr"`
	// Brokers are the bootstrap brokers of an external cluster.
	Brokers     []string `mapstructure:"brokers" json:"brokers"`
	ClientID    string   `mapstructure:"clientId" json:"clientId"`
	TopicPrefix string   `mapstructure:"topicPrefix" json:"topicPrefix"`
	// Partitions and ReplicationFactor apply to the topics the hub creates.
	Partitions        int `mapstructure:"partitions" json:"partitions"`
	ReplicationFactor int `mapstructure:"replicationFactor" json:"replicationFactor"`
	// BatchTimeout bounds how long a write waits to fill a batch; kafka-go's
	// default of 1 s would make every synchronous write take a second.
	BatchTimeout time.Duration `mapstructure:"batchTimeout" json:"batchTimeout"`
	// TLS and SASL secure every Kafka client of the hub (see kafka.go).
	TLS  BusTLS  `mapstructure:"tls" json:"tls"`
	SASL BusSASL `mapstructure:"sasl" json:"sasl"`
	// EmbeddedBroker secures the embedded broker.
	EmbeddedBroker BusBroker `mapstructure:"embeddedBroker" json:"embeddedBroker"`
}

// Trust is the trust store for signature verification and the hub's own
// signing identity.
type Trust struct {
	// Roots are PEM files of trust anchors.
	Roots []string `mapstructure:"roots" json:"roots"`
	// CRLs are CRL files (DER or PEM).
	CRLs       []string               `mapstructure:"crls" json:"crls"`
	FetchCRLs  bool                   `mapstructure:"fetchCrls" json:"fetchCrls"`
	OCSP       bool                   `mapstructure:"ocsp" json:"ocsp"`
	Revocation trust.RevocationPolicy `mapstructure:"revocation" json:"revocation"`
	AllowSHA1  bool                   `mapstructure:"allowSha1" json:"allowSha1"`
	// HubCert, HubKey and HubChain (intermediates) sign the hub's receipts.
	HubCert  string `mapstructure:"hubCert" json:"hubCert"`
	HubKey   string `mapstructure:"hubKey" json:"hubKey"`
	HubChain string `mapstructure:"hubChain" json:"hubChain"`
}

// SignaturePolicy says which signatures a channel requires.
type SignaturePolicy string

// Signature policies.
const (
	// SigRequire requires a valid CMS or XML-DSig signature.
	SigRequire SignaturePolicy = hub.PolicyRequire
	// SigCMS requires a valid detached CMS signature.
	SigCMS SignaturePolicy = hub.PolicyCMS
	// SigUnsignedOK accepts unsigned packets with the warning sig.unsigned;
	// a signature that is present must still be valid.
	SigUnsignedOK SignaturePolicy = hub.PolicyUnsignedOK
)

// Policy is the acceptance policy per channel.
type Policy struct {
	// V1 applies to /v1 (default require).
	V1 SignaturePolicy `mapstructure:"v1" json:"v1"`
	// VDXP applies to /vdxp/ (default unsigned-ok: HMAC authenticates the
	// system, and national-axis software often sends no signature).
	VDXP SignaturePolicy `mapstructure:"vdxp" json:"vdxp"`
	// AllowLowercaseIDs admits lowercase OrganIds, which test systems use.
	AllowLowercaseIDs bool `mapstructure:"allowLowercaseIds" json:"allowLowercaseIds"`
}

// Organ is the organ.Policy this policy implies.
func (p Policy) Organ() organ.Policy { return organ.Policy{AllowLowercase: p.AllowLowercaseIDs} }

// Directory points to an agency directory file in the internal/organ format
// (JSON, or YAML with .yaml/.yml).
type Directory struct {
	File string `mapstructure:"file" json:"file"`
}

// Log configures the hub's slog logger.
type Log struct {
	// Level is debug, info, warn or error.
	Level string `mapstructure:"level" json:"level"`
	// Format is text or json.
	Format string `mapstructure:"format" json:"format"`
}

// SlogLevel is Level as a slog.Level; an unknown level is info (Validate
// refuses it).
func (l Log) SlogLevel() slog.Level {
	switch l.Level {
	case "debug":
		return slog.LevelDebug
	case "warn":
		return slog.LevelWarn
	case "error":
		return slog.LevelError
	}
	return slog.LevelInfo
}

// Metrics configures the Prometheus endpoint.
type Metrics struct {
	Enabled bool   `mapstructure:"enabled" json:"enabled"`
	Path    string `mapstructure:"path" json:"path"`
	// Addr, when set, serves Path (and pprof when on) on a listener of its
	// own, plain HTTP for the inside network; the public listener then
	// answers neither. Empty keeps metrics on the public listener.
	Addr string `mapstructure:"addr" json:"addr,omitempty"`
	// Pprof serves net/http/pprof under /debug/pprof/ on Addr; off by
	// default, and only with Addr (never on the public listener).
	Pprof bool `mapstructure:"pprof" json:"pprof,omitempty"`
}

// Console configures the web console.
type Console struct {
	// SessionKey signs session cookies (at least 32 characters); without
	// it the console is off and the API serves "/".
	SessionKey Secret           `mapstructure:"sessionKey" json:"sessionKey,omitempty"`
	Accounts   []ConsoleAccount `mapstructure:"accounts" json:"accounts"`
	// HostedKeys are agencies' signing keys the hub holds to sign their
	// statuses from the console ("hosted signing": the hub holds the key).
	HostedKeys []HostedKey `mapstructure:"hostedKeys" json:"hostedKeys"`
	// AllowPlainHostedKeys accepts hosted key files that are not sealed
	// (lienthong secret seal); for development only.
	AllowPlainHostedKeys bool `mapstructure:"allowPlainHostedKeys" json:"allowPlainHostedKeys,omitempty"`
	// Login bounds sign-in attempts (config/edge.go).
	Login ConsoleLogin `mapstructure:"login" json:"login"`
	// TimeZone is the IANA zone every time on the pages is shown in
	// (default Asia/Ho_Chi_Minh): one clock for clerks and operators.
	TimeZone string `mapstructure:"timeZone" json:"timeZone"`
	// RegisterSettle is how old a letter is before the registers (sổ đăng
	// ký) number it: numbers follow the order of arrival, which a replica
	// learns from the others moments later. 0 suits a single replica.
	RegisterSettle time.Duration `mapstructure:"registerSettle" json:"registerSettle"`
}

// DefaultRegisterSettle is console.registerSettle's default.
const DefaultRegisterSettle = 5 * time.Minute

// DefaultTimeZone is the console's zone when none is configured.
const DefaultTimeZone = "Asia/Ho_Chi_Minh"

// ConsoleAccount is a console user.
type ConsoleAccount struct {
	Username     string `mapstructure:"username" json:"username"`
	PasswordHash Secret `mapstructure:"passwordHash" json:"passwordHash"` // argon2id PHC string
	Role         string `mapstructure:"role" json:"role"`                 // clerk, operator or admin
	OrganID      string `mapstructure:"organId" json:"organId,omitempty"`
}

// HostedKey is an agency's signing certificate and key held by the hub.
type HostedKey struct {
	OrganID string `mapstructure:"organId" json:"organId"`
	Cert    string `mapstructure:"cert" json:"cert"`
	Key     string `mapstructure:"key" json:"key"`
	Chain   string `mapstructure:"chain" json:"chain,omitempty"`
}

// Peer is a federated hub.
type Peer struct {
	Name string `mapstructure:"name" json:"name"`
	// URL is the peer's API, e.g. https://lienthong.hochiminhcity.example.
	URL string `mapstructure:"url" json:"url"`
	// Token is this hub's bearer token at the peer.
	Token Secret `mapstructure:"token" json:"token"`
	// Tokens authenticate the peer here (plain or sha256:<hex>).
	Tokens []Secret `mapstructure:"tokens" json:"tokens"`
	// Organs are the subtrees the peer may relay packets from.
	Organs []string `mapstructure:"organs" json:"organs"`
	// LogKey is the public key of the peer's verifiable log: with
	// evidence.witnessKey set, this hub witnesses (cosigns) its
	// checkpoints (docs/evidence.md).
	LogKey string `mapstructure:"logKey" json:"logKey,omitempty"`
	// WitnessKey is the public key the peer cosigns with: this hub asks it
	// to cosign each of its checkpoints.
	WitnessKey string `mapstructure:"witnessKey" json:"witnessKey,omitempty"`
}

// MatchToken reports whether tok authenticates the peer.
func (p Peer) MatchToken(tok string) bool { return Agency{Tokens: p.Tokens}.MatchToken(tok) }

// Default is the configuration of a single process with everything
// embedded under ./data, listening on loopback. It passes Validate.
func Default() *Config {
	c := defaults()
	c.derive()
	return c
}

// defaults are the fixed defaults; the paths that follow hub.dataDir are
// left empty for derive, so that setting hub.dataDir moves them too.
func defaults() *Config {
	return &Config{
		Hub: Hub{
			Addr:              "127.0.0.1:8080",
			DataDir:           "./data",
			ReadHeaderTimeout: 10 * time.Second,
			ReadTimeout:       10 * time.Minute,
			WriteTimeout:      10 * time.Minute,
			ShutdownTimeout:   30 * time.Second,
			MaxBodyBytes:      2 * GiB,
			IdleTimeout:       DefaultIdleTimeout,
			MaxHeaderBytes:    DefaultMaxHeaderBytes,
			MaxConnections:    DefaultMaxConnections,
			BrokerWait:        DefaultBrokerWait,
			MinFreeSpace:      DefaultMinFreeSpace,
		},
		TLS: TLS{ClientAuth: ClientAuthNone},
		Blob: Blob{
			Kind: BlobFS,
			FS:   FS{CompactEvery: DefaultCompactEvery},
			S3:   S3{UseTLS: true, PartSize: blob.DefaultPartSize},
		},
		Bus: Bus{
			Embedded:          true,
			Addr:              "127.0.0.1:0",
			ClientID:          "lienthong",
			TopicPrefix:       bus.DefaultTopicPrefix,
			Partitions:        hub.DefaultPartitions,
			ReplicationFactor: 1,
			BatchTimeout:      bus.DefaultBatchTimeout,
			SASL:              BusSASL{Mechanism: SASLSCRAM512},
		},
		Trust:   Trust{Revocation: trust.SoftFail},
		PDF:     defaultPDF(),
		Policy:  Policy{V1: SigRequire, VDXP: SigUnsignedOK},
		Log:     Log{Level: "info", Format: "text"},
		Metrics: Metrics{Enabled: true, Path: "/metrics"},
		Console: Console{Login: ConsoleLogin{Wait: DefaultLoginWait, PerMinute: DefaultLoginPerMinute}, TimeZone: DefaultTimeZone, RegisterSettle: DefaultRegisterSettle},
	}
}

// derive fills the defaults that depend on other settings.
func (c *Config) derive() {
	if c.Blob.FS.Dir == "" && c.Hub.DataDir != "" {
		c.Blob.FS.Dir = filepath.Join(c.Hub.DataDir, "blobs")
	}
	if c.Bus.DataDir == "" && c.Hub.DataDir != "" {
		c.Bus.DataDir = filepath.Join(c.Hub.DataDir, "kafka")
	}
}
