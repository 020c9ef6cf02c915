package config

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/lienthong/lienthong/internal/blob"
	"github.com/lienthong/lienthong/internal/organ"
	"github.com/lienthong/lienthong/internal/trust"
)

// Validation and loading errors. Each error Load and Validate return wraps
// one of these (or organ.ErrEmpty / organ.ErrInvalid for an OrganId) after
// the path of the key it concerns.
var (
	ErrUnknownKey     = errors.New("unknown key")
	ErrFileType       = errors.New("unsupported config file type")
	ErrRequired       = errors.New("required")
	ErrUnknownValue   = errors.New("unknown value")
	ErrNotPositive    = errors.New("must be positive")
	ErrNegative       = errors.New("must not be negative")
	ErrOutOfRange     = errors.New("out of range")
	ErrConflict       = errors.New("conflicting settings")
	ErrDuplicate      = errors.New("duplicate")
	ErrBadToken       = errors.New("malformed token")
	ErrWeakSecret     = errors.New("secret too short")
	ErrBadEndpoint    = errors.New("bad endpoint")
	ErrBadAddress     = errors.New("bad address")
	ErrBadURL         = errors.New("bad URL")
	ErrBadFingerprint = errors.New("bad certificate fingerprint")
	ErrBadKey         = errors.New("bad public key")
	ErrBadName        = errors.New("bad name")
	ErrFile           = errors.New("unusable file")
)

// S3 multipart limits.
const (
	minPartSize ByteSize = blob.MinPartSize
	maxPartSize ByteSize = blob.MaxPartSize
)

// Validate reports every problem of c, joined with errors.Join, each as
// "<key path>: <Err...>[: detail]". The files c names must exist and be
// readable; CheckOptions can skip that.
func (c *Config) Validate() error { return c.validate(true) }

type problems []error

// addf records a problem at path; format usually starts with %w and one
// of the Err values.
func (p *problems) addf(path, format string, args ...any) {
	*p = append(*p, fmt.Errorf("%s: "+format, append([]any{path}, args...)...))
}

func (p *problems) wrap(path string, err error) {
	if err != nil {
		*p = append(*p, fmt.Errorf("%s: %w", path, err))
	}
}

func (p *problems) oneOf(path, got string, want ...string) {
	if !slices.Contains(want, got) {
		p.addf(path, "%w %q (want %s)", ErrUnknownValue, got, strings.Join(want, ", "))
	}
}

func (p *problems) positive(path string, d time.Duration) {
	if d <= 0 {
		p.addf(path, "%w (got %s)", ErrNotPositive, d)
	}
}

func (p *problems) file(path, name string, checkFiles bool) {
	if name != "" && checkFiles {
		if err := checkFile(name); err != nil {
			p.addf(path, "%w: %w", ErrFile, err)
		}
	}
}

// checkFile opens name, which shows that the hub's user can read it.
func checkFile(name string) error {
	f, err := os.Open(name)
	if err != nil {
		return err
	}
	st, err := f.Stat()
	_ = f.Close() // opened for reading only: nothing to flush
	if err != nil {
		return err
	}
	if st.IsDir() {
		return fmt.Errorf("%s is a directory", name)
	}
	return nil
}

func (c *Config) validate(checkFiles bool) error {
	var p problems
	op := c.Policy.Organ()
	c.Hub.validate(&p, op)
	c.Hub.validateEdge(&p)
	c.TLS.validate(&p, checkFiles, len(c.Hub.ClientCertProxies) > 0)
	c.Blob.validate(&p)
	c.Bus.validate(&p)
	c.validateKafka(&p, checkFiles)
	c.validateS3CA(&p, checkFiles)
	c.Trust.validate(&p, checkFiles)
	p.oneOf("policy.v1", string(c.Policy.V1), string(SigRequire), string(SigCMS), string(SigUnsignedOK))
	p.oneOf("policy.vdxp", string(c.Policy.VDXP), string(SigRequire), string(SigCMS), string(SigUnsignedOK))
	c.Limits.validate(&p)
	if f := c.Directory.File; f != "" {
		p.oneOf("directory.file", strings.ToLower(filepath.Ext(f)), ".json", ".yaml", ".yml")
		p.file("directory.file", f, checkFiles)
	}
	validateAgencies(&p, c.Agencies, op)
	validateVDXPPins(&p, c.Agencies, c.TLS, c.Hub)
	validatePeers(&p, c.Peers, c.Agencies, op)
	c.Console.validate(&p, op, checkFiles)
	c.Console.Login.validate(&p)
	c.VDXP.validate(&p)
	p.oneOf("log.level", c.Log.Level, "debug", "info", "warn", "error")
	p.oneOf("log.format", c.Log.Format, "text", "json")
	if !strings.HasPrefix(c.Metrics.Path, "/") || strings.ContainsFunc(c.Metrics.Path, unicode.IsSpace) {
		p.addf("metrics.path", "%w %q: want an absolute URL path such as /metrics", ErrBadURL, c.Metrics.Path)
	}
	if a := c.Metrics.Addr; a != "" {
		if _, _, err := net.SplitHostPort(a); err != nil {
			p.addf("metrics.addr", "%w %q: want host:port such as 0.0.0.0:9464: %v", ErrBadAddress, a, err)
		}
	}
	if c.Metrics.Pprof && (c.Metrics.Addr == "" || !c.Metrics.Enabled) {
		p.addf("metrics.pprof", "%w: needs metrics.enabled and metrics.addr, profiles are never served on the public listener", ErrConflict)
	}
	c.Tracing.validate(&p)
	c.Evidence.validate(&p, c.Peers, checkFiles)
	c.PDF.validate(&p, c.Agencies, checkFiles)
	return errors.Join(p...)
}

func (h Hub) validate(p *problems, op organ.Policy) {
	if h.OrganID != "" {
		_, err := op.Parse(h.OrganID)
		p.wrap("hub.organId", err)
	}
	p.wrap("hub.addr", checkAddr(h.Addr, false))
	if h.PublicURL != "" {
		u, err := url.Parse(h.PublicURL)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.User != nil {
			p.addf("hub.publicUrl", "%w %q: want an http(s) URL without credentials", ErrBadURL, h.PublicURL)
		}
	}
	if h.DataDir == "" {
		p.addf("hub.dataDir", "%w", ErrRequired)
	}
	p.positive("hub.readHeaderTimeout", h.ReadHeaderTimeout)
	p.positive("hub.readTimeout", h.ReadTimeout)
	p.positive("hub.writeTimeout", h.WriteTimeout)
	p.positive("hub.shutdownTimeout", h.ShutdownTimeout)
	if h.MaxBodyBytes <= 0 {
		p.addf("hub.maxBodyBytes", "%w (got %d)", ErrNotPositive, h.MaxBodyBytes)
	}
	h.validateFaults(p)
}

// proxiedCerts: the client CAs also verify certificates that proxies
// forward (hub.clientCertProxies), with or without a handshake's.
func (t TLS) validate(p *problems, checkFiles, proxiedCerts bool) {
	switch {
	case t.CertFile != "" && t.KeyFile == "":
		p.addf("tls.keyFile", "%w when tls.certFile is set", ErrRequired)
	case t.CertFile == "" && t.KeyFile != "":
		p.addf("tls.certFile", "%w when tls.keyFile is set", ErrRequired)
	}
	p.oneOf("tls.clientAuth", string(t.ClientAuth), string(ClientAuthNone), string(ClientAuthOptional), string(ClientAuthRequire))
	if t.ClientAuth == ClientAuthOptional || t.ClientAuth == ClientAuthRequire {
		if t.ClientCAFile == "" {
			p.addf("tls.clientCaFile", "%w when tls.clientAuth is %s", ErrRequired, t.ClientAuth)
		}
		if t.CertFile == "" && t.KeyFile == "" {
			p.addf("tls.certFile", "%w when tls.clientAuth is %s", ErrRequired, t.ClientAuth)
		}
	}
	if t.ClientAuth == ClientAuthNone && t.ClientCAFile != "" && !proxiedCerts {
		// Silently ignoring the CA would let an operator believe client
		// certificates are checked.
		p.addf("tls.clientCaFile", "%w: set while tls.clientAuth is none", ErrConflict)
	}
	p.file("tls.certFile", t.CertFile, checkFiles)
	p.file("tls.keyFile", t.KeyFile, checkFiles)
	p.file("tls.clientCaFile", t.ClientCAFile, checkFiles)
}

func (b Blob) validate(p *problems) {
	p.oneOf("blob.kind", string(b.Kind), string(BlobFS), string(BlobS3))
	switch b.Kind {
	case BlobFS:
		if b.FS.Dir == "" {
			p.addf("blob.fs.dir", "%w when blob.kind is fs", ErrRequired)
		}
		p.oneOf("blob.fs.layout", b.FS.Layout, "", blob.LayoutLog, blob.LayoutFiles)
		if b.FS.CompactEvery < 0 {
			p.addf("blob.fs.compactEvery", "%w", ErrNegative)
		}
	case BlobS3:
		s := b.S3
		for _, f := range []struct{ key, value string }{
			{"endpoint", s.Endpoint}, {"bucket", s.Bucket}, {"accessKey", s.AccessKey}, {"secretKey", s.SecretKey.Reveal()},
		} {
			if f.value == "" {
				p.addf("blob.s3."+f.key, "%w when blob.kind is s3", ErrRequired)
			}
		}
		if s.Endpoint != "" {
			p.wrap("blob.s3.endpoint", checkS3Endpoint(s.Endpoint))
		}
		if s.Bucket != "" && !validBucket(s.Bucket) {
			p.addf("blob.s3.bucket", "%w %q: want 3 to 63 of [a-z0-9.-], starting and ending with a letter or digit", ErrBadName, s.Bucket)
		}
		if s.Prefix != "" && (!strings.HasSuffix(s.Prefix, "/") || strings.HasPrefix(s.Prefix, "/") || strings.Contains(s.Prefix, "..")) {
			p.addf("blob.s3.prefix", "%w %q: want \"\" or a relative path ending in /", ErrBadName, s.Prefix)
		}
		if s.PartSize < minPartSize || s.PartSize > maxPartSize {
			p.addf("blob.s3.partSize", "%w: %s (want %s to %s)", ErrOutOfRange, s.PartSize, minPartSize, maxPartSize)
		}
	}
}

func checkS3Endpoint(s string) error {
	if strings.Contains(s, "://") {
		return fmt.Errorf("%w %q: want host[:port] without a scheme; blob.s3.useTls chooses https", ErrBadURL, s)
	}
	if strings.ContainsAny(s, "/?#@ ") {
		return fmt.Errorf("%w %q: want host[:port]", ErrBadURL, s)
	}
	if strings.Contains(s, ":") {
		return checkAddr(s, true)
	}
	return nil
}

func validBucket(s string) bool {
	if len(s) < 3 || len(s) > 63 || strings.Contains(s, "..") {
		return false
	}
	alnum := func(b byte) bool { return b >= 'a' && b <= 'z' || b >= '0' && b <= '9' }
	for i := range len(s) {
		if !alnum(s[i]) && s[i] != '.' && s[i] != '-' {
			return false
		}
	}
	if _, err := netip.ParseAddr(s); err == nil {
		return false
	}
	return alnum(s[0]) && alnum(s[len(s)-1])
}

func (b Bus) validate(p *problems) {
	if b.Embedded {
		if b.DataDir == "" {
			p.addf("bus.dataDir", "%w when bus.embedded is true", ErrRequired)
		}
		p.wrap("bus.addr", checkAddr(b.Addr, false))
		if len(b.Brokers) > 0 {
			p.addf("bus.brokers", "%w: set while bus.embedded is true", ErrConflict)
		}
	} else if len(b.Brokers) == 0 {
		p.addf("bus.brokers", "%w when bus.embedded is false", ErrRequired)
	}
	for i, br := range b.Brokers {
		p.wrap(fmt.Sprintf("bus.brokers[%d]", i), checkAddr(br, true))
	}
	if len(b.TopicPrefix) > 200 || strings.ContainsFunc(b.TopicPrefix, func(r rune) bool { return !topicRune(r) }) {
		p.addf("bus.topicPrefix", "%w %q: want at most 200 of [A-Za-z0-9._-]", ErrBadName, b.TopicPrefix)
	}
	if b.Partitions <= 0 {
		p.addf("bus.partitions", "%w (got %d)", ErrNotPositive, b.Partitions)
	}
	if b.ReplicationFactor <= 0 || b.ReplicationFactor > 32767 {
		p.addf("bus.replicationFactor", "%w: %d (want 1 to 32767)", ErrOutOfRange, b.ReplicationFactor)
	}
	p.positive("bus.batchTimeout", b.BatchTimeout)
}

// topicRune reports whether Kafka allows r in a topic name.
func topicRune(r rune) bool {
	return r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '_' || r == '-'
}

// checkAddr checks host:port; hostRequired is for addresses to dial.
func checkAddr(s string, hostRequired bool) error {
	host, port, err := net.SplitHostPort(s)
	if err != nil {
		return fmt.Errorf("%w %q: want host:port", ErrBadAddress, s)
	}
	n, err := strconv.Atoi(port)
	switch {
	case err != nil || n < 0 || n > 65535:
		return fmt.Errorf("%w %q: port %q is not a number from 0 to 65535", ErrBadAddress, s, port)
	case hostRequired && host == "":
		return fmt.Errorf("%w %q: host required", ErrBadAddress, s)
	case hostRequired && n == 0:
		return fmt.Errorf("%w %q: port required", ErrBadAddress, s)
	}
	return nil
}

func (t Trust) validate(p *problems, checkFiles bool) {
	p.oneOf("trust.revocation", string(t.Revocation), string(trust.SoftFail), string(trust.HardFail))
	switch {
	case t.HubCert != "" && t.HubKey == "":
		p.addf("trust.hubKey", "%w when trust.hubCert is set", ErrRequired)
	case t.HubCert == "" && t.HubKey != "":
		p.addf("trust.hubCert", "%w when trust.hubKey is set", ErrRequired)
	case t.HubCert == "" && t.HubChain != "":
		p.addf("trust.hubCert", "%w when trust.hubChain is set", ErrRequired)
	}
	for i, f := range t.Roots {
		if f == "" {
			p.addf(fmt.Sprintf("trust.roots[%d]", i), "%w", ErrRequired)
		}
		p.file(fmt.Sprintf("trust.roots[%d]", i), f, checkFiles)
	}
	for i, f := range t.CRLs {
		if f == "" {
			p.addf(fmt.Sprintf("trust.crls[%d]", i), "%w", ErrRequired)
		}
		p.file(fmt.Sprintf("trust.crls[%d]", i), f, checkFiles)
	}
	p.file("trust.hubCert", t.HubCert, checkFiles)
	p.file("trust.hubKey", t.HubKey, checkFiles)
	p.file("trust.hubChain", t.HubChain, checkFiles)
}

// ValidateAgencies checks list, the agencies with their credentials, by
// the rules for the configuration's agencies: ids, endpoints, tokens,
// pins, national-axis systems and Kafka principals. internal/agencies
// checks the agencies as changed at run time with it.
func (c *Config) ValidateAgencies(list []Agency) error {
	var p problems
	validateAgencies(&p, list, c.Policy.Organ())
	cc := *c
	cc.Agencies = list
	cc.validateAgencyKafka(&p)
	peers := map[string]bool{}
	for _, peer := range c.Peers {
		peers[peer.Name] = true
	}
	for i, a := range list {
		if name, ok := strings.CutPrefix(a.Endpoint, organ.HubPrefix); ok && !peers[name] {
			p.addf(fmt.Sprintf("agencies[%d].endpoint", i), "%w: no peer named %q", ErrUnknownValue, name)
		}
	}
	return errors.Join(p...)
}

func validateAgencies(p *problems, list []Agency, op organ.Policy) {
	before := len(*p)
	ids := map[organ.ID]string{}    // id or alias → its key path
	tokens := map[[32]byte]string{} // token digest → its key path
	certs := map[string]string{}    // fingerprint → its key path
	systems := map[string]string{}  // VDXP system id → its key path
	claim := func(path string, id organ.ID) {
		if prev, ok := ids[id]; ok {
			p.addf(path, "%w: %s is also %s", ErrDuplicate, id, prev)
			return
		}
		ids[id] = path
	}
	for i, a := range list {
		at := fmt.Sprintf("agencies[%d]", i)
		if id, err := op.Parse(a.OrganID); err != nil {
			p.wrap(at+".organId", err)
		} else {
			claim(at+".organId", id)
		}
		if a.Parent != "" {
			_, err := op.Parse(a.Parent)
			p.wrap(at+".parent", err)
		}
		for j, s := range a.Aliases {
			path := fmt.Sprintf("%s.aliases[%d]", at, j)
			if id, err := op.Parse(s); err != nil {
				p.wrap(path, err)
			} else {
				claim(path, id)
			}
		}
		p.wrap(at+".endpoint", checkEndpoint(a.Endpoint))
		if a.Policy != "" {
			p.oneOf(at+".policy", string(a.Policy), string(SigRequire), string(SigCMS), string(SigUnsignedOK))
		}
		if organ.IsWebhook(a.Endpoint) && len(a.WebhookSecret.Reveal()) < MinSecretLen {
			p.addf(at+".webhookSecret", "%w: a webhook endpoint needs a secret of at least %d characters", ErrWeakSecret, MinSecretLen)
		}
		for j, tok := range a.Tokens {
			path := fmt.Sprintf("%s.tokens[%d]", at, j)
			d, err := tokenDigest(tok)
			if err != nil {
				p.wrap(path, err)
				continue
			}
			if !strings.HasPrefix(strings.ToLower(tok.Reveal()), TokenHashPrefix) && len(tok.Reveal()) < MinSecretLen {
				p.addf(path, "%w: a plain token needs at least %d characters", ErrWeakSecret, MinSecretLen)
			}
			if prev, ok := tokens[d]; ok {
				// Plain and hashed forms of one token collide too.
				p.addf(path, "%w: same token as %s", ErrDuplicate, prev)
				continue
			}
			tokens[d] = path
		}
		for j, s := range a.CertSHA256 {
			path := fmt.Sprintf("%s.certSha256[%d]", at, j)
			fp := strings.ToLower(strings.ReplaceAll(strings.TrimSpace(s), ":", ""))
			if b, err := hex.DecodeString(fp); err != nil || len(b) != sha256.Size {
				p.addf(path, "%w %q: want 64 hex digits", ErrBadFingerprint, s)
				continue
			}
			if prev, ok := certs[fp]; ok {
				p.addf(path, "%w: same certificate as %s", ErrDuplicate, prev)
				continue
			}
			certs[fp] = path
		}
		switch {
		case a.VDXPSystemID != "" && a.VDXPSecret == "":
			p.addf(at+".vdxpSecret", "%w when vdxpSystemId is set", ErrRequired)
		case a.VDXPSystemID == "" && a.VDXPSecret != "":
			p.addf(at+".vdxpSystemId", "%w when vdxpSecret is set", ErrRequired)
		case a.VDXPSystemID != "":
			if len(a.VDXPSecret) < MinSecretLen {
				p.addf(at+".vdxpSecret", "%w: want at least %d characters", ErrWeakSecret, MinSecretLen)
			}
			if prev, ok := systems[a.VDXPSystemID]; ok {
				p.addf(at+".vdxpSystemId", "%w: %q is also %s", ErrDuplicate, a.VDXPSystemID, prev)
			} else {
				systems[a.VDXPSystemID] = at + ".vdxpSystemId"
			}
		}
	}
	if len(*p) > before || len(list) == 0 {
		return
	}
	// What the field checks cannot see, such as a cycle of parents.
	dir := make([]organ.Agency, len(list))
	for i, a := range list {
		dir[i] = a.toOrgan()
	}
	if _, err := op.NewDirectory(dir); err != nil {
		p.wrap("agencies", err)
	}
}

// checkEndpoint accepts what organ.Directory accepts: pull (also when
// empty), hub:<name>, an https URL, or an http URL to a loopback host.
func checkEndpoint(s string) error {
	switch {
	case s == "" || s == organ.EndpointPull:
		return nil
	case strings.HasPrefix(s, organ.HubPrefix):
		name := s[len(organ.HubPrefix):]
		if name == "" || strings.ContainsFunc(name, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) }) {
			return fmt.Errorf("%w %q: want %s followed by a hub name without spaces", ErrBadEndpoint, s, organ.HubPrefix)
		}
		return nil
	}
	u, err := url.Parse(s)
	switch {
	case err != nil:
		// url.Error repeats the URL, which may hold credentials.
		return fmt.Errorf("%w: not a URL", ErrBadEndpoint)
	case u.User != nil:
		return fmt.Errorf("%w %q: credentials in a webhook URL", ErrBadEndpoint, u.Redacted())
	case u.Scheme == "https" && u.Host != "":
		return nil
	case u.Scheme == "http" && organ.IsLoopback(u.Hostname()):
		return nil
	}
	return fmt.Errorf("%w %q: want %s, %s<name>, an https URL, or an http URL to a loopback host", ErrBadEndpoint, s, organ.EndpointPull, organ.HubPrefix)
}

func validatePeers(p *problems, peers []Peer, agencies []Agency, op organ.Policy) {
	names := map[string]bool{}
	for i, peer := range peers {
		path := fmt.Sprintf("peers[%d]", i)
		switch {
		case peer.Name == "" || strings.ContainsFunc(peer.Name, unicode.IsSpace):
			p.addf(path+".name", "%w: a name without spaces", ErrRequired)
		case names[peer.Name]:
			p.addf(path+".name", "%w %q", ErrDuplicate, peer.Name)
		}
		names[peer.Name] = true
		p.wrap(path+".url", checkPeerURL(peer.URL))
		if len(peer.Tokens) == 0 && len(peer.Organs) > 0 {
			p.addf(path+".tokens", "%w: the peer cannot relay without a token", ErrRequired)
		}
		for j, o := range peer.Organs {
			_, err := op.Parse(o)
			p.wrap(fmt.Sprintf("%s.organs[%d]", path, j), err)
		}
	}
	for i, a := range agencies {
		if name, ok := strings.CutPrefix(a.Endpoint, organ.HubPrefix); ok && name != "" && !names[name] {
			p.addf(fmt.Sprintf("agencies[%d].endpoint", i), "%w: no peer named %q", ErrUnknownValue, name)
		}
	}
}

// checkPeerURL accepts an https URL, or plain http to a loopback host
// only, as for webhooks: the hub sends its bearer token and whole packets
// to a peer, which plain http would show to anyone on the path.
func checkPeerURL(s string) error {
	u, err := url.Parse(s)
	switch {
	case err != nil || u.Host == "":
		return fmt.Errorf("%w: want an https URL", ErrBadURL)
	case u.User != nil:
		return fmt.Errorf("%w %q: credentials in a peer URL", ErrBadURL, u.Redacted())
	case u.Scheme == "https":
		return nil
	case u.Scheme == "http" && organ.IsLoopback(u.Hostname()):
		return nil
	case u.Scheme == "http":
		return fmt.Errorf("%w %q: plain http is refused except to a loopback host (the peer's token and packets would cross the network in the clear); use https", ErrBadURL, s)
	}
	return fmt.Errorf("%w %q: want an https URL", ErrBadURL, s)
}

func (c Console) validate(p *problems, op organ.Policy, checkFiles bool) {
	if c.RegisterSettle < 0 {
		p.addf("console.registerSettle", "%w (got %s)", ErrNegative, c.RegisterSettle)
	}
	if _, err := time.LoadLocation(c.TimeZone); err != nil || c.TimeZone == "" {
		p.addf("console.timeZone", "%w: %q is not an IANA time zone such as Asia/Ho_Chi_Minh", ErrUnknownValue, c.TimeZone)
	}
	if k := c.SessionKey.Reveal(); k != "" && len(k) < 32 {
		p.addf("console.sessionKey", "%w: at least 32 characters", ErrWeakSecret)
	}
	if c.SessionKey == "" && len(c.Accounts) > 0 {
		p.addf("console.sessionKey", "%w when console.accounts are set", ErrRequired)
	}
	users := map[string]bool{}
	for i, a := range c.Accounts {
		at := fmt.Sprintf("console.accounts[%d]", i)
		switch {
		case a.Username == "":
			p.addf(at+".username", "%w", ErrRequired)
		case users[a.Username]:
			p.addf(at+".username", "%w %q", ErrDuplicate, a.Username)
		case len(a.Username) > MaxUsernameBytes:
			// The console never looks longer names up (sign-in floods).
			p.addf(at+".username", "%w: %d bytes (at most %d)", ErrOutOfRange, len(a.Username), MaxUsernameBytes)
		}
		users[a.Username] = true
		if !strings.HasPrefix(a.PasswordHash.Reveal(), "$argon2id$") {
			p.addf(at+".passwordHash", "%w: want an argon2id hash (lienthong console hash)", ErrBadToken)
		}
		p.oneOf(at+".role", a.Role, "clerk", "operator", "admin")
		if a.OrganID != "" {
			_, err := op.Parse(a.OrganID)
			p.wrap(at+".organId", err)
		} else if a.Role == "clerk" {
			p.addf(at+".organId", "%w for a clerk", ErrRequired)
		}
	}
	for i, k := range c.HostedKeys {
		at := fmt.Sprintf("console.hostedKeys[%d]", i)
		_, err := op.Parse(k.OrganID)
		p.wrap(at+".organId", err)
		p.file(at+".cert", k.Cert, checkFiles)
		p.file(at+".key", k.Key, checkFiles)
		p.file(at+".chain", k.Chain, checkFiles)
	}
}
