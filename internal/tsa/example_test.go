package tsa_test

import (
	"context"
	"crypto"
	"crypto/sha256"
	"crypto/x509"
	"fmt"
	"net/http/httptest"
	"os"

	"github.com/lienthong/lienthong/internal/pki"
	"github.com/lienthong/lienthong/internal/tsa"
)

// Stamp a checkpoint's hash with the development TSA and check the token
// offline against the dev root, as an auditor would.
func Example() {
	dir, err := os.MkdirTemp("", "tsa-example")
	if err != nil {
		panic(err)
	}
	defer func() { _ = os.RemoveAll(dir) }()
	ca, err := pki.Init(dir, pki.InitOptions{})
	if err != nil {
		panic(err)
	}
	iss, err := ca.IssueTSA("lienthong dev TSA", pki.IssueOptions{})
	if err != nil {
		panic(err)
	}
	dev, err := tsa.NewServer(iss.Cert, iss.Key, iss.Chain, tsa.ServerOptions{})
	if err != nil {
		panic(err)
	}
	srv := httptest.NewServer(dev)
	defer srv.Close()

	client, err := tsa.NewClient(srv.URL, tsa.ClientOptions{})
	if err != nil {
		panic(err)
	}
	digest := sha256.Sum256([]byte("lienthong checkpoint\n42\n"))
	token, err := client.Stamp(context.Background(), digest[:], crypto.SHA256)
	if err != nil {
		panic(err)
	}

	roots := x509.NewCertPool()
	roots.AddCert(ca.Root())
	genTime, err := tsa.Verify(token, digest[:], crypto.SHA256, roots, nil)
	fmt.Println(err, !genTime.IsZero())
	// Output: <nil> true
}
