package cli

import (
	"context"
	"crypto"
	"crypto/x509"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/lienthong/lienthong/internal/atomicfile"
	"github.com/lienthong/lienthong/internal/pki"
)

func runSign(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := newFlags("sign", "FILE (- for standard input) --cert CERT.pem --key KEY.pem [--chain CHAIN.pem] [-o FILE.p7s] [--pem]", stderr)
	certPath := fs.String("cert", "", "signer certificate (PEM or DER); further certificates in it join the chain")
	keyPath := fs.String("key", "", "signer private key (PEM: PKCS#8, PKCS#1 or SEC 1, unencrypted)")
	chainPath := fs.String("chain", "", "intermediate certificates to include (PEM or DER)")
	outPath := fs.String("o", "", "write the signature to this file instead of standard output")
	asPEM := fs.Bool("pem", false, "write PEM (-----BEGIN CMS-----) instead of DER")
	signingTime := fs.String("signing-time", "", "signingTime attribute, RFC 3339 (default now); a claim verifiers do not trust")
	pos, err := parseFlags(fs, args)
	if errors.Is(err, flag.ErrHelp) {
		return ExitOK
	}
	if err != nil {
		return ExitUsage
	}
	if len(pos) != 1 || *certPath == "" || *keyPath == "" {
		fs.Usage()
		return ExitUsage
	}
	var opts pki.SignOptions
	if *signingTime != "" {
		if opts.Time, err = time.Parse(time.RFC3339, *signingTime); err != nil {
			fmt.Fprintf(stderr, "lienthong sign: --signing-time: %v\n", err)
			return ExitUsage
		}
	}

	certs, err := pki.LoadCertificates(*certPath)
	if err != nil {
		fmt.Fprintf(stderr, "lienthong sign: --cert: %v\n", err)
		return ExitUsage
	}
	chain := certs[1:]
	if *chainPath != "" {
		more, err := pki.LoadCertificates(*chainPath)
		if err != nil {
			fmt.Fprintf(stderr, "lienthong sign: --chain: %v\n", err)
			return ExitUsage
		}
		chain = append(chain, more...)
	}
	key, err := pki.LoadPrivateKey(*keyPath)
	if err != nil {
		fmt.Fprintf(stderr, "lienthong sign: --key: %v\n", err)
		if errors.Is(err, pki.ErrUnsupportedKey) {
			return ExitInvalid
		}
		return ExitUsage
	}

	in := os.Stdin
	if pos[0] != "-" {
		if in, err = os.Open(pos[0]); err != nil {
			fmt.Fprintf(stderr, "lienthong sign: %v\n", err)
			return ExitUsage
		}
		defer func() { _ = in.Close() }() // opened read-only: a failed Close loses nothing
	}
	sig, err := signFile(ctx, in, certs[0], key, chain, opts)
	if err != nil {
		fmt.Fprintf(stderr, "lienthong sign: %v\n", err)
		if errors.Is(err, pki.ErrKeyMismatch) || errors.Is(err, pki.ErrUnsupportedKey) {
			return ExitInvalid
		}
		return ExitUsage
	}
	if *asPEM {
		sig = pki.PEM(sig)
	}
	if *outPath == "" {
		if _, err := stdout.Write(sig); err != nil {
			fmt.Fprintf(stderr, "lienthong sign: %v\n", err)
			return ExitUsage
		}
		return ExitOK
	}
	if err := atomicfile.WriteBytes(*outPath, sig, 0o644); err != nil {
		fmt.Fprintf(stderr, "lienthong sign: %v\n", err)
		return ExitUsage
	}
	return ExitOK
}

// signFile streams r into SignDetached, stopping when ctx is done.
func signFile(ctx context.Context, r io.Reader, cert *x509.Certificate, key crypto.Signer, chain []*x509.Certificate, opts pki.SignOptions) ([]byte, error) {
	return pki.SignDetached(signCtxReader{ctx, r}, cert, key, chain, opts)
}

// signCtxReader fails reads once ctx is done, so an interrupt stops the
// signing of a large file.
type signCtxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c signCtxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}
