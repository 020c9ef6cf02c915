package vdxp

import (
	"crypto/sha256"
	"crypto/subtle"
	"crypto/x509"
	"encoding/hex"
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync/atomic"

	"github.com/lienthong/lienthong/internal/config"
)

// Secret is a per-system HMAC key: config.Secret, which formats, logs and
// marshals as "[redacted]", so no log line or dump carries it.
type Secret = config.Secret

// System is a connected system of the national axis (a "mã trung tâm"):
// the software of one or more agencies, authenticated by HMAC with its
// secret.
type System struct {
	ID     string
	Secret Secret
	// Organs are the agencies the system serves (OrganIds; an alias names
	// its agency). It may send as any of them and reads all their inboxes.
	Organs []string
	// ClientCertSHA256, when set, pins the TLS client certificates the
	// system must present on every request (lowercase hex SHA-256 of the
	// DER): captured headers are then useless without the system's key.
	ClientCertSHA256 []string
}

// pinned reports whether c is one of the system's pinned certificates.
func (s System) pinned(c *x509.Certificate) bool {
	if c == nil {
		return false
	}
	sum := sha256.Sum256(c.Raw)
	fp := hex.EncodeToString(sum[:])
	return slices.ContainsFunc(s.ClientCertSHA256, func(pin string) bool {
		return subtle.ConstantTimeCompare([]byte(pin), []byte(fp)) == 1
	})
}

// normalizePin is a fingerprint as pinned: lowercase hex without colons.
func normalizePin(s string) string {
	return strings.ToLower(strings.ReplaceAll(strings.TrimSpace(s), ":", ""))
}

// Systems looks a system up by its id (the XroadVnpt-systemid header).
type Systems interface {
	System(id string) (System, bool)
}

// SystemOfOrgan is implemented by a Systems that can also say which system
// serves an agency; getAgenciesList then fills centerCode.
type SystemOfOrgan interface {
	SystemOf(organID string) (systemID string, ok bool)
}

// StaticSystems is a fixed set of systems keyed by id.
type StaticSystems map[string]System

// System returns the system registered under id.
func (s StaticSystems) System(id string) (System, bool) {
	sys, ok := s[id]
	if !ok || id == "" {
		return System{}, false
	}
	return sys, true
}

// SystemOf returns the id of the system serving organID (the smallest id
// when several do, so the answer is stable).
func (s StaticSystems) SystemOf(organID string) (string, bool) {
	var ids []string
	for id, sys := range s {
		if slices.Contains(sys.Organs, organID) {
			ids = append(ids, id)
		}
	}
	if len(ids) == 0 {
		return "", false
	}
	sort.Strings(ids)
	return ids[0], true
}

// SystemsFromConfig builds the systems of the configured agencies: each
// agency with a vdxpSystemId is served by that system. Agencies sharing a
// system id must share its secret.
func SystemsFromConfig(agencies []config.Agency) (StaticSystems, error) {
	out := StaticSystems{}
	for _, a := range agencies {
		if a.VDXPSystemID == "" {
			continue
		}
		if a.VDXPSecret == "" {
			return nil, fmt.Errorf("vdxp: system %q of agency %s has no secret", a.VDXPSystemID, a.OrganID)
		}
		sys, ok := out[a.VDXPSystemID]
		if !ok {
			sys = System{ID: a.VDXPSystemID, Secret: a.VDXPSecret}
		} else if sys.Secret != a.VDXPSecret {
			return nil, fmt.Errorf("vdxp: system %q has different secrets for its agencies", a.VDXPSystemID)
		}
		sys.Organs = append(sys.Organs, a.OrganID)
		// The pins of agencies sharing a system add up: it is one
		// program, which may hold any of those certificates.
		for _, pin := range a.VDXPCertSHA256 {
			if pin = normalizePin(pin); !slices.Contains(sys.ClientCertSHA256, pin) {
				sys.ClientCertSHA256 = append(sys.ClientCertSHA256, pin)
			}
		}
		out[a.VDXPSystemID] = sys
	}
	return out, nil
}

// LiveSystems are systems that change while the hub runs, as operators
// set agencies' credentials (internal/agencies): Set replaces them all at
// once, and each lookup reads one version.
type LiveSystems struct {
	cur atomic.Pointer[StaticSystems]
}

// NewLiveSystems starts with s.
func NewLiveSystems(s StaticSystems) *LiveSystems {
	l := &LiveSystems{}
	l.Set(s)
	return l
}

// Set replaces the systems.
func (l *LiveSystems) Set(s StaticSystems) { l.cur.Store(&s) }

// System returns the system registered under id.
func (l *LiveSystems) System(id string) (System, bool) { return (*l.cur.Load()).System(id) }

// SystemOf returns the id of the system serving organID.
func (l *LiveSystems) SystemOf(organID string) (string, bool) {
	return (*l.cur.Load()).SystemOf(organID)
}
