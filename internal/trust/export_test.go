package trust

import (
	"context"
	"crypto/x509"
	"time"
)

// CheckChainForTest runs the certificate checks alone.
func CheckChainForTest(v *Verifier, leaf *x509.Certificate, intermediates []*x509.Certificate, from string, at time.Time) *Signature {
	s := newSignature(TypeCMS, at)
	v.checkCertificate(context.Background(), s, leaf, intermediates, from)
	return s.done()
}
