package organ

import (
	"encoding/hex"
	"errors"
	"fmt"
	"net/netip"
	"net/url"
	"slices"
	"strings"
	"sync/atomic"
	"unicode"
)

// Endpoint values other than a webhook URL.
const (
	EndpointPull = "pull" // the agency fetches its packets; the default
	HubPrefix    = "hub:" // followed by the name of a federated hub
)

// ErrDuplicate reports an id or alias claimed twice in a directory.
var ErrDuplicate = errors.New("duplicate agency id or alias")

// ErrCycle reports explicit parents that loop back on themselves.
var ErrCycle = errors.New("agency parent cycle")

// Agency is one entry of the directory.
type Agency struct {
	ID   ID     `json:"organId" yaml:"organId"`
	Name string `json:"name" yaml:"name"`
	// Parent overrides the parent computed from ID, for agencies whose
	// code does not follow their place in the hierarchy.
	Parent ID `json:"parent,omitempty" yaml:"parent,omitempty"`
	// Aliases are old codes (2025 mergers) still used by senders.
	Aliases []ID `json:"aliases,omitempty" yaml:"aliases,omitempty"`
	// Endpoint is EndpointPull (also when left empty), an https webhook URL,
	// or HubPrefix+name.
	Endpoint string `json:"endpoint,omitempty" yaml:"endpoint,omitempty"`
	// CertSHA256 pins signer certificates by SHA-256 fingerprint, lowercase hex.
	CertSHA256 []string `json:"certSha256,omitempty" yaml:"certSha256,omitempty"`
}

// clone keeps callers from reaching into the directory's slices.
func (a Agency) clone() Agency {
	a.Aliases = slices.Clone(a.Aliases)
	a.CertSHA256 = slices.Clone(a.CertSHA256)
	return a
}

// Directory resolves ids and aliases to agencies. It is safe for
// concurrent use. Its entries change only through Replace, all at once:
// every holder of the *Directory (hub, console, verifier, …) sees the
// agencies added and retired at run time (internal/agencies) without a
// restart, and each call reads one consistent version.
type Directory struct {
	cur atomic.Pointer[snapshot]
}

// snapshot is one immutable version of a Directory.
type snapshot struct {
	agencies []Agency   // sorted by ID
	index    map[ID]int // id or alias → position in agencies
}

func (d *Directory) snap() *snapshot { return d.cur.Load() }

// Replace makes d's entries those of next, at once.
func (d *Directory) Replace(next *Directory) { d.cur.Store(next.snap()) }

// NewDirectory validates agencies under the default Policy.
func NewDirectory(agencies []Agency) (*Directory, error) {
	return Policy{}.NewDirectory(agencies)
}

// NewDirectory validates and indexes agencies: ids, aliases and parents must
// parse under p, no id or alias may be claimed twice, and explicit parents
// must not form a cycle. Fields are normalized: ids trimmed, an empty
// Endpoint becomes EndpointPull, fingerprints lowercased without colons.
// All entry errors are reported together.
func (p Policy) NewDirectory(agencies []Agency) (*Directory, error) {
	list := make([]Agency, 0, len(agencies))
	var errs []error
	for i, a := range agencies {
		n, err := p.normalize(a)
		if err != nil {
			errs = append(errs, fmt.Errorf("agency %d (%q): %w", i, clip(string(a.ID)), err))
			continue
		}
		list = append(list, n)
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	slices.SortStableFunc(list, func(a, b Agency) int { return strings.Compare(string(a.ID), string(b.ID)) })

	d := &snapshot{agencies: list, index: make(map[ID]int, len(list))}
	owner := make(map[ID]string)
	for i, a := range list {
		for j, k := range append([]ID{a.ID}, a.Aliases...) {
			claim := "agency " + string(a.ID)
			if j > 0 {
				claim = "alias of " + string(a.ID)
			}
			if prev, taken := owner[k]; taken {
				errs = append(errs, fmt.Errorf("%w: %s is %s and %s", ErrDuplicate, k, prev, claim))
				continue
			}
			owner[k] = claim
			d.index[k] = i
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	for _, a := range list {
		if err := d.checkCycle(a.ID); err != nil {
			return nil, err
		}
	}
	dir := &Directory{}
	dir.cur.Store(d)
	return dir, nil
}

func (p Policy) normalize(a Agency) (Agency, error) {
	var errs []error
	id, err := p.Parse(string(a.ID))
	if err != nil {
		errs = append(errs, fmt.Errorf("organId: %w", err))
	}
	a.ID = id
	if a.Parent != "" {
		parent, err := p.Parse(string(a.Parent))
		if err != nil {
			errs = append(errs, fmt.Errorf("parent: %w", err))
		}
		a.Parent = parent
	}
	aliases := make([]ID, 0, len(a.Aliases))
	for _, s := range a.Aliases {
		alias, err := p.Parse(string(s))
		if err != nil {
			errs = append(errs, fmt.Errorf("alias: %w", err))
		}
		aliases = append(aliases, alias)
	}
	a.Aliases = aliases
	if a.Endpoint, err = checkEndpoint(a.Endpoint); err != nil {
		errs = append(errs, err)
	}
	certs := make([]string, 0, len(a.CertSHA256))
	for _, s := range a.CertSHA256 {
		// OpenSSL prints fingerprints as uppercase hex with colons.
		fp := strings.ToLower(strings.ReplaceAll(strings.TrimSpace(s), ":", ""))
		if b, err := hex.DecodeString(fp); err != nil || len(b) != 32 {
			errs = append(errs, fmt.Errorf("certSha256 %q: want 64 hex digits", clip(s)))
		} else if slices.Contains(certs, fp) {
			errs = append(errs, fmt.Errorf("certSha256 %s: listed twice", fp))
		}
		certs = append(certs, fp)
	}
	a.CertSHA256 = certs
	return a, errors.Join(errs...)
}

func checkEndpoint(s string) (string, error) {
	switch {
	case s == "" || s == EndpointPull:
		return EndpointPull, nil
	case strings.HasPrefix(s, HubPrefix):
		name := s[len(HubPrefix):]
		if name == "" || strings.ContainsFunc(name, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) }) {
			return "", fmt.Errorf("endpoint %q: want %s followed by a hub name without spaces", clip(s), HubPrefix)
		}
		return s, nil
	}
	u, err := url.Parse(s)
	if err != nil {
		return "", fmt.Errorf("endpoint: %w", err)
	}
	switch {
	case u.User != nil:
		// The directory is logged and listed; secrets go to the credential store.
		return "", fmt.Errorf("endpoint %q: credentials in a webhook URL", clip(u.Redacted()))
	case u.Scheme == "https" && u.Host != "":
	case u.Scheme == "http" && IsLoopback(u.Hostname()):
		// Plain http only reaches this machine, which local tests need.
	default:
		return "", fmt.Errorf("endpoint %q: want %q, %s<name> or an https URL", clip(s), EndpointPull, HubPrefix)
	}
	return s, nil
}

// IsWebhook reports whether an agency's endpoint (Agency.Endpoint) is a
// webhook URL rather than "pull" or a federated "hub:" name.
func IsWebhook(endpoint string) bool {
	return strings.HasPrefix(endpoint, "https://") || strings.HasPrefix(endpoint, "http://")
}

// IsLoopback reports whether a URL's host is this machine, the one place a
// webhook may use plain http.
func IsLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip, err := netip.ParseAddr(host)
	return err == nil && ip.IsLoopback()
}

// checkCycle walks up from start. Computed parents always lower the level,
// so only explicit parents and alias resolution can close a loop.
func (d *snapshot) checkCycle(start ID) error {
	path := []ID{start}
	for cur := start; ; {
		p, ok := d.ParentOf(cur)
		if !ok {
			return nil
		}
		if i := slices.Index(path, p); i >= 0 {
			loop := make([]string, 0, len(path)-i+1)
			for _, x := range append(path[i:], p) {
				loop = append(loop, string(x))
			}
			return fmt.Errorf("%w: %s", ErrCycle, strings.Join(loop, " → "))
		}
		path = append(path, p)
		cur = p
	}
}

// Lookup finds the agency registered under id, either as its id or as an alias.
func (d *Directory) Lookup(id ID) (Agency, bool) { return d.snap().Lookup(id) }

func (d *snapshot) Lookup(id ID) (Agency, bool) {
	i, ok := d.index[id]
	if !ok {
		return Agency{}, false
	}
	return d.agencies[i].clone(), true
}

// Canonical maps an alias to the current id and a registered id to itself.
func (d *Directory) Canonical(id ID) (ID, bool) { return d.snap().Canonical(id) }

func (d *snapshot) Canonical(id ID) (ID, bool) {
	i, ok := d.index[id]
	if !ok {
		return "", false
	}
	return d.agencies[i].ID, true
}

// canon is Canonical falling back to id itself.
func (d *snapshot) canon(id ID) ID {
	if c, ok := d.Canonical(id); ok {
		return c
	}
	return id
}

// ParentOf returns the parent of id in the directory's hierarchy: the
// explicit Parent of a registered agency (an alias counts as its agency),
// else the computed parent. The result is canonical when it is registered.
func (d *Directory) ParentOf(id ID) (ID, bool) { return d.snap().ParentOf(id) }

func (d *snapshot) ParentOf(id ID) (ID, bool) {
	if i, ok := d.index[id]; ok {
		a := d.agencies[i]
		if a.Parent != "" {
			return d.canon(a.Parent), true
		}
		id = a.ID
	}
	p, ok := id.Parent()
	if !ok {
		return "", false
	}
	return d.canon(p), true
}

// Route picks the agency that receives packets addressed to id. exact is
// true when id itself is registered, as an id or an alias (compare a.ID with
// id to tell which); otherwise a is the nearest registered ancestor. ok is
// false when neither exists (packet.unknown_recipient).
func (d *Directory) Route(id ID) (a Agency, exact bool, ok bool) { return d.snap().Route(id) }

func (d *snapshot) Route(id ID) (a Agency, exact bool, ok bool) {
	if a, ok := d.Lookup(id); ok {
		return a, true, true
	}
	for p, up := d.ParentOf(id); up; p, up = d.ParentOf(p) {
		if a, ok := d.Lookup(p); ok {
			return a, false, true
		}
	}
	return Agency{}, false, false
}

// Agencies lists all agencies sorted by ID.
func (d *Directory) Agencies() []Agency { return d.snap().Agencies() }

func (d *snapshot) Agencies() []Agency {
	out := make([]Agency, len(d.agencies))
	for i, a := range d.agencies {
		out[i] = a.clone()
	}
	return out
}
