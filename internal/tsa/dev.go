package tsa

import (
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"time"

	"github.com/lienthong/lienthong/internal/pki"
)

// DevName is the subject name of the development TSA's certificate.
const DevName = "lienthong dev TSA"

// devRenewBefore is how long before its expiry DevServer replaces the
// certificate, so that a token is never made in its last moments.
const devRenewBefore = 24 * time.Hour

// DevServer returns the development TSA of a dev CA: it signs with the
// certificate pki.CA.IssueTSA wrote under tsa/ in the CA's directory,
// issuing one first when there is none or it ends within a day. Replicas
// sharing one CA directory must not call it at the same time.
func DevServer(ca *pki.CA, opts ServerOptions) (*Server, error) {
	dir := filepath.Join(ca.Dir(), pki.TSADir)
	cert, chain, key, err := pki.LoadSigner(filepath.Join(dir, pki.AgencyCertFile),
		filepath.Join(dir, pki.AgencyChainFile), filepath.Join(dir, pki.AgencyKeyFile))
	switch {
	case errors.Is(err, fs.ErrNotExist) || (err == nil && time.Now().Add(devRenewBefore).After(cert.NotAfter)):
		iss, err := ca.IssueTSA(DevName, pki.IssueOptions{Algorithm: ca.Algorithm()})
		if err != nil {
			return nil, fmt.Errorf("dev TSA: %w", err)
		}
		cert, chain, key = iss.Cert, iss.Chain, iss.Key
	case err != nil:
		return nil, fmt.Errorf("dev TSA: %w", err)
	}
	return NewServer(cert, key, chain, opts)
}
