package tsa_test

import (
	"crypto"
	"testing"

	"github.com/lienthong/lienthong/internal/pki"
	"github.com/lienthong/lienthong/internal/tsa"
)

// FuzzVerify feeds Verify changed tokens: it must not panic, and a token it
// accepts must certify the original time, the TSTInfo being signed (bytes
// outside it, such as the unsigned digest algorithm set, may change).
func FuzzVerify(f *testing.F) {
	ca, err := pki.Init(f.TempDir(), pki.InitOptions{})
	if err != nil {
		f.Fatal(err)
	}
	iss, err := ca.IssueTSA("fuzz TSA", pki.IssueOptions{})
	if err != nil {
		f.Fatal(err)
	}
	digest := digestOf(crypto.SHA256, "fuzz")
	tok := stamp(f, startTSA(f, iss).URL, digest, crypto.SHA256)
	f.Add(tok)
	f.Add(tok[:len(tok)/2])
	f.Add([]byte{0x30, 0x80, 0x00, 0x00})
	f.Add([]byte{})
	rootPool := roots(ca)
	want, err := tsa.Verify(tok, digest, crypto.SHA256, rootPool, nil)
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		got, err := tsa.Verify(b, digest, crypto.SHA256, rootPool, nil)
		if err == nil && !got.Equal(want) {
			t.Fatalf("a changed token verified with another time %s (was %s)", got, want)
		}
	})
}
