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
	"path/filepath"
	"time"

	"github.com/lienthong/lienthong/internal/atomicfile"
	"github.com/lienthong/lienthong/internal/pdfsig"
	"github.com/lienthong/lienthong/internal/pki"
)

func runSign(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := newFlags("sign", "FILE (- for standard input) --cert CERT.pem --key KEY.pem [--chain CHAIN.pem] [-o FILE.p7s] [--pem]\n"+
		"       lienthong sign --pdf IN.pdf --cert CERT.pem --key KEY.pem [--chain CHAIN.pem] -o OUT.pdf [--visible] [--reason R] [--location L]", stderr)
	certPath := fs.String("cert", "", "signer certificate (PEM or DER); further certificates in it join the chain")
	keyPath := fs.String("key", "", "signer private key (PEM: PKCS#8, PKCS#1 or SEC 1, unencrypted)")
	chainPath := fs.String("chain", "", "intermediate certificates to include (PEM or DER)")
	outPath := fs.String("o", "", "write the signature (with --pdf: the signed PDF) to this file instead of standard output")
	asPEM := fs.Bool("pem", false, "write PEM (-----BEGIN CMS-----) instead of DER")
	signingTime := fs.String("signing-time", "", "signingTime attribute, RFC 3339 (default now); a claim verifiers do not trust.\nWith --pdf: the signature's /M and the time the visible box shows")
	pdfPath := fs.String("pdf", "", "sign inside this PDF instead (a signature appended as an incremental update; earlier ones stay valid); needs -o")
	visible := fs.Bool("visible", false, "with --pdf: show the signer and the time in a box at the bottom right of the last page")
	reason := fs.String("reason", "", "with --pdf: the signature's reason")
	location := fs.String("location", "", "with --pdf: where it was signed")
	pos, err := parseFlags(fs, args)
	if errors.Is(err, flag.ErrHelp) {
		return ExitOK
	}
	if err != nil {
		return ExitUsage
	}
	isPDF := *pdfPath != ""
	if *certPath == "" || *keyPath == "" || (!isPDF && len(pos) != 1) ||
		(isPDF && (len(pos) != 0 || *outPath == "" || *asPEM)) ||
		(!isPDF && (*visible || *reason != "" || *location != "")) {
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

	if isPDF {
		return signPDF(ctx, *pdfPath, *outPath, pdfsig.SignOptions{
			Cert: certs[0], Chain: chain, Key: key, Time: opts.Time,
			Visible: *visible, Reason: *reason, Location: *location,
		}, stderr)
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

// signPDF signs the PDF at in into out, atomically. A file the signer
// refuses exits 1 with its code (pdf.malformed, pdf.too_large, …), as does
// a key that is not the certificate's.
func signPDF(ctx context.Context, in, out string, o pdfsig.SignOptions, stderr io.Writer) int {
	f, err := os.Open(in)
	if err != nil {
		fmt.Fprintf(stderr, "lienthong sign: %v\n", err)
		return ExitUsage
	}
	defer func() { _ = f.Close() }() // opened read-only: a failed Close loses nothing
	st, err := f.Stat()
	if err != nil {
		fmt.Fprintf(stderr, "lienthong sign: %v\n", err)
		return ExitUsage
	}
	eng, err := pdfsig.New(ctx, pdfsig.Options{CacheDir: pdfiumCache()})
	if err != nil {
		fmt.Fprintf(stderr, "lienthong sign: %v\n", err)
		return ExitUsage
	}
	defer func() { _ = eng.Close() }() // nothing of the signing depends on it
	err = atomicfile.Write(out, 0o644, func(w io.Writer) error {
		return eng.Sign(ctx, w, f, st.Size(), o)
	})
	if err != nil {
		fmt.Fprintf(stderr, "lienthong sign: %v\n", err)
		var pe *pdfsig.Error
		if errors.As(err, &pe) || errors.Is(err, pki.ErrKeyMismatch) {
			return ExitInvalid
		}
		return ExitUsage
	}
	return ExitOK
}

// pdfiumCache is where pdfium's compiled code is kept between runs
// (compiling takes seconds, loading it ~150 ms): lienthong/pdfium in the
// user's cache directory, or none when there is no such directory.
func pdfiumCache() string {
	dir, err := os.UserCacheDir()
	if err != nil {
		return ""
	}
	return filepath.Join(dir, "lienthong", "pdfium")
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
