package cli

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/lienthong/lienthong/internal/edxml"
	"github.com/lienthong/lienthong/internal/organ"
	"github.com/lienthong/lienthong/internal/pki"
	"github.com/lienthong/lienthong/internal/trust"
)

// listFlag collects a repeated flag.
type listFlag []string

func (l *listFlag) String() string     { return strings.Join(*l, ",") }
func (l *listFlag) Set(s string) error { *l = append(*l, s); return nil }

var _ flag.Value = (*listFlag)(nil)

func runVerify(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := newFlags("verify", "FILE [--signature SIG.p7s] --trust ROOTS.pem [--crl FILE]... [--directory FILE]", stderr)
	sigPath := fs.String("signature", "", "detached CMS signature over FILE (DER or PEM)")
	trustPath := fs.String("trust", "", "trusted root certificates (PEM bundle)")
	var crls listFlag
	fs.Var(&crls, "crl", "a CRL file (DER or PEM); repeatable")
	dirPath := fs.String("directory", "", "agency directory (JSON or YAML) with pinned certificates and aliases")
	atFlag := fs.String("at", "", "judge validity and revocation at this time (RFC 3339) instead of now, for audits")
	fetch := fs.Bool("fetch-crls", false, "fetch CRLs from the certificates' distribution points")
	useOCSP := fs.Bool("ocsp", false, "ask OCSP responders when no CRL answers")
	hard := fs.Bool("hard-fail", false, "refuse a signature whose revocation status is unknown (default: warn)")
	sha1 := fs.Bool("allow-sha1", false, "accept SHA-1 digests, with a warning")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return flagsFailed(err)
	}
	if len(pos) != 1 || *trustPath == "" {
		fs.Usage()
		return ExitUsage
	}
	fail := func(err error) int {
		fmt.Fprintf(stderr, "lienthong verify: %v\n", err)
		return ExitUsage
	}
	at := time.Now()
	if *atFlag != "" {
		if at, err = time.Parse(time.RFC3339, *atFlag); err != nil {
			return fail(fmt.Errorf("--at: %w", err))
		}
	}
	cfg := trust.Config{FetchCRLs: *fetch, OCSP: *useOCSP, AllowSHA1: *sha1, Revocation: trust.SoftFail}
	if *hard {
		cfg.Revocation = trust.HardFail
	}
	if cfg.Roots, err = pki.LoadCertificates(*trustPath); err != nil {
		return fail(err)
	}
	for _, path := range crls {
		data, err := os.ReadFile(path)
		if err != nil {
			return fail(err)
		}
		crl, err := trust.ParseCRL(data)
		if err != nil {
			return fail(fmt.Errorf("%s: %w", path, err))
		}
		cfg.CRLs = append(cfg.CRLs, crl)
	}
	if *dirPath != "" {
		if cfg.Directory, err = organ.LoadDirectory(*dirPath); err != nil {
			return fail(err)
		}
	}
	v, err := trust.NewVerifier(cfg)
	if err != nil {
		return fail(err)
	}
	var sig []byte
	if *sigPath != "" {
		if sig, err = os.ReadFile(*sigPath); err != nil {
			return fail(err)
		}
	}
	report, err := verifyFile(ctx, v, pos[0], sig, at)
	if err != nil {
		return fail(err)
	}
	enc := json.NewEncoder(stdout)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	if err := enc.Encode(report); err != nil {
		return fail(err)
	}
	if !report.Valid {
		return ExitInvalid
	}
	return ExitOK
}

// verifyFile verifies the signatures of the packet at path: the detached
// CMS sig when given, and the enveloped XML-DSig when the packet has one.
func verifyFile(ctx context.Context, v *trust.Verifier, path string, sig []byte, at time.Time) (*trust.Report, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	p, perr := edxml.Parse(f, edxml.Options{NoZipCheck: true})
	f.Close() //nolint:errcheck // read-only
	report := &trust.Report{Signatures: []trust.Signature{}, Errors: []trust.Problem{}, Warnings: []trust.Problem{}}
	from := ""
	switch {
	case perr != nil && edxml.CodeOf(perr) == "":
		return nil, perr
	case perr != nil:
		// The signature is over the bytes, so it is still checked; the
		// signer cannot be bound to a sender the packet does not name.
		report.Errors = append(report.Errors, trust.Problem{Code: edxml.CodeOf(perr), Message: perr.Error()})
	default:
		from = p.From()
	}
	open := func() (io.ReadCloser, error) { return os.Open(path) }
	if sig != nil {
		report.Signatures = append(report.Signatures, *v.VerifyCMS(ctx, sig, trust.ReaderContent(open), from, at))
	}
	if p != nil && p.Signature != nil {
		doc := trust.XMLDoc{Open: open}
		report.Signatures = append(report.Signatures, *v.VerifyXMLDSig(ctx, doc, from, at))
	}
	if len(report.Signatures) == 0 {
		report.Errors = append(report.Errors, trust.Problem{Code: trust.CodeMissing, Message: "the packet has no signature: no detached CMS was given and it carries no XML-DSig"})
	}
	report.Valid = len(report.Errors) == 0
	for _, s := range report.Signatures {
		report.Valid = report.Valid && s.Valid
	}
	return report, nil
}
