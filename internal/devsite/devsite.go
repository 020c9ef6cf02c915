// Package devsite is the development site that `lienthong dev` runs and
// `lienthong bench` embeds: a dev PKI, the hub's receipt certificate, three
// demo agencies with their tokens and keys, and the hub configuration
// around them. Both commands build it here so that the hub bench measures
// is the one dev runs.
package devsite

import (
	"crypto/rand"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/lienthong/lienthong/internal/atomicfile"
	"github.com/lienthong/lienthong/internal/config"
	"github.com/lienthong/lienthong/internal/pki"
)

// HubOrgan is the dev hub's organ id.
const HubOrgan = "000.00.00.G01"

// Agency is one entry of DIR/dev/agencies.json (docs/contracts.md, CLI).
// Paths are relative to DIR/dev.
type Agency struct {
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

var demoAgencies = []struct{ id, name string }{
	{"000.00.00.G22", "Văn phòng Chính phủ"},
	{"000.00.00.H29", "UBND Thành phố Hồ Chí Minh"},
	{"000.00.00.G12", "Bộ Tài chính"},
}

// Site is a development site: its PKI and agencies, and the hub's
// configuration for them.
type Site struct {
	Dir      string // DIR/dev
	CA       *pki.CA
	Agencies []Agency
	// Config is the hub's core: its organ and receipt certificate, the
	// trust root, the embedded broker and fs store under the data
	// directory, and the agencies (pull endpoints, tokens, VDXP). Callers
	// add what is theirs (addresses, names, console).
	Config *config.Config
}

// Open makes the site under data on the first run (DIR/dev) and reads it
// back on later runs.
func Open(data string) (*Site, error) {
	devDir := filepath.Join(data, "dev")
	if err := os.MkdirAll(devDir, 0o700); err != nil {
		return nil, err
	}
	ca, agencies, _, err := Identities(devDir)
	if err != nil {
		return nil, err
	}
	cfg := config.Default()
	cfg.Hub.OrganID, cfg.Hub.DataDir = HubOrgan, data
	cfg.Blob.FS.Dir = filepath.Join(data, "blobs")
	cfg.Bus.DataDir = filepath.Join(data, "kafka")
	cfg.Trust.Roots = []string{ca.RootPath()}
	if _, err := os.Stat(ca.CRLPath(false)); err == nil {
		cfg.Trust.CRLs = []string{ca.CRLPath(false)}
	}
	hubDir := filepath.Join(ca.Dir(), pki.AgenciesDir, HubOrgan)
	cfg.Trust.HubCert, cfg.Trust.HubKey, cfg.Trust.HubChain = filepath.Join(hubDir, pki.AgencyCertFile), filepath.Join(hubDir, pki.AgencyKeyFile), filepath.Join(hubDir, pki.AgencyChainFile)
	for _, a := range agencies {
		cfg.Agencies = append(cfg.Agencies, config.Agency{OrganID: a.OrganID, Name: a.Name, Endpoint: "pull",
			Tokens: []config.Secret{config.Secret(a.Token)}, VDXPSystemID: a.VDXPSystemID, VDXPSecret: config.Secret(a.VDXPSecret)})
	}
	return &Site{Dir: devDir, CA: ca, Agencies: agencies, Config: cfg}, nil
}

// Path resolves a path of agencies.json, relative to the site's directory.
func (s *Site) Path(p string) string { return filepath.Join(s.Dir, p) }

// Identities makes, on the first run, the dev PKI, the agencies'
// certificates and tokens, and the hub's receipt certificate; later runs
// read them back. agencies.json and ca.pem are written last, complete.
func Identities(devDir string) (*pki.CA, []Agency, *pki.Issued, error) {
	pkiDir := filepath.Join(devDir, "pki")
	agenciesPath := filepath.Join(devDir, "agencies.json")
	ca, err := pki.Open(pkiDir)
	if err != nil {
		if ca, err = pki.Init(pkiDir, pki.InitOptions{}); err != nil {
			return nil, nil, nil, err
		}
	}
	hubCert, err := LoadIssued(ca, HubOrgan)
	if err != nil {
		if hubCert, err = ca.Issue(HubOrgan, "lienthong dev hub", pki.IssueOptions{}); err != nil {
			return nil, nil, nil, err
		}
	}
	var agencies []Agency
	if b, err := os.ReadFile(agenciesPath); err == nil {
		if err := json.Unmarshal(b, &agencies); err != nil {
			return nil, nil, nil, fmt.Errorf("%s: %w", agenciesPath, err)
		}
		return ca, agencies, hubCert, nil
	}
	for _, a := range demoAgencies {
		iss, err := ca.Issue(a.id, a.name, pki.IssueOptions{})
		if err != nil {
			return nil, nil, nil, err
		}
		rel := func(p string) string { r, _ := filepath.Rel(devDir, p); return r }
		agencies = append(agencies, Agency{OrganID: a.id, Name: a.name, Token: Secret(), Cert: rel(iss.CertPath),
			Key: rel(iss.KeyPath), Chain: rel(iss.ChainPath), VDXPSystemID: "vdxp-" + a.id, VDXPSecret: Secret(),
			ConsoleUser: "vanthu." + strings.ToLower(a.id[strings.LastIndexByte(a.id, '.')+1:]), ConsolePassword: Secret()[:16]})
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

// LoadIssued reads back the certificate and key ca issued to organID.
func LoadIssued(ca *pki.CA, organID string) (*pki.Issued, error) {
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

// Secret is a random 48-hex-digit token or password.
func Secret() string {
	b := make([]byte, 24)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
