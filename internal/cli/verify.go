package cli

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/lienthong/lienthong/internal/config"
	"github.com/lienthong/lienthong/internal/edxml"
	"github.com/lienthong/lienthong/internal/hub"
	"github.com/lienthong/lienthong/internal/organ"
	"github.com/lienthong/lienthong/internal/pdfsig"
	"github.com/lienthong/lienthong/internal/pki"
	"github.com/lienthong/lienthong/internal/trust"
)

// listFlag collects a repeated flag.
type listFlag []string

func (l *listFlag) String() string     { return strings.Join(*l, ",") }
func (l *listFlag) Set(s string) error { *l = append(*l, s); return nil }

var _ flag.Value = (*listFlag)(nil)

func runVerify(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := newFlags("verify", "FILE [--signature SIG.p7s] --trust ROOTS.pem [--crl FILE]... [--directory FILE] [--pdf-policy report|organ] [--from ORGANID]", stderr)
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
	pdfs := fs.Bool("pdf", true, "verify the signatures inside PDF attachments (FILE may be a PDF itself)")
	pdfPolicy := fs.String("pdf-policy", hub.PDFReport, "report, or organ: invalid unless the main PDF carries the sender's valid signature")
	from := fs.String("from", "", "for a PDF FILE: the organ whose signature it should carry (organSigned)")
	var tsaRoots listFlag
	fs.Var(&tsaRoots, "tsa-roots", "PEM roots of the TSAs whose signature time-stamps (PAdES B-T) inside PDFs are trusted; repeatable")
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
	if *pdfPolicy != hub.PDFReport && *pdfPolicy != hub.PDFOrgan {
		return fail(fmt.Errorf("--pdf-policy %q: want report or organ", *pdfPolicy))
	}
	var eng *pdfsig.Engine
	if *pdfs {
		pc := config.Default().PDF
		pc.TSARoots = tsaRoots
		popts, err := pc.Engine("")
		if err != nil {
			return fail(err)
		}
		if eng, err = pdfsig.New(ctx, popts); err != nil {
			return fail(err)
		}
		defer eng.Close() //nolint:errcheck // the process ends
	}
	var report *trust.Report
	if isPDFFile(pos[0]) {
		if eng == nil {
			return fail(errors.New("FILE is a PDF: verifying it needs --pdf"))
		}
		report, err = verifyPDF(ctx, v, eng, pos[0], *from, at)
	} else {
		report, err = verifyFile(ctx, v, eng, pos[0], sig, at, *pdfPolicy)
	}
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
func verifyFile(ctx context.Context, v *trust.Verifier, eng *pdfsig.Engine, path string, sig []byte, at time.Time, pdfPolicy string) (*trust.Report, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	popts := edxml.Options{NoZipCheck: true}
	var kept *pdfsig.Spool
	if eng != nil {
		// PDFs inside zips are read only from zips the bounded unzip passed.
		popts.NoZipCheck = false
		kept = pdfsig.NewSpool("")
		defer kept.Close()
		popts.Attachment = kept.Writer
	}
	p, perr := edxml.Parse(f, popts)
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
	if kept != nil && p != nil && p.Kind == edxml.KindEdoc {
		if report.Attachments, err = eng.VerifyPacket(ctx, v, p, kept, pdfsig.VerifyOptions{From: from, At: at}); err != nil {
			return nil, err
		}
		if pdfPolicy == hub.PDFOrgan && len(p.Attachments) > 0 {
			if ok, why := pdfsig.MainOrganSigned(report.Attachments); !ok {
				report.Errors = append(report.Errors, trust.Problem{Code: pdfsig.CodeOrganMissing, Message: why})
			}
		}
	}
	report.Valid = len(report.Errors) == 0
	for _, s := range report.Signatures {
		report.Valid = report.Valid && s.Valid
	}
	return report, nil
}

// isPDFFile tells a PDF by its first bytes, as edxml tells attachments.
func isPDFFile(path string) bool {
	f, err := os.Open(path)
	if err != nil {
		return false
	}
	defer f.Close() //nolint:errcheck // read-only
	head := make([]byte, 5)
	_, err = io.ReadFull(f, head)
	return err == nil && string(head) == "%PDF-"
}

// verifyPDF verifies a PDF's own signatures: the report has no envelope
// signature and one attachment. It is valid when the PDF carries at least
// one signature, every one holds, and no update after one changed what
// the pages show.
func verifyPDF(ctx context.Context, v *trust.Verifier, eng *pdfsig.Engine, path, from string, at time.Time) (*trust.Report, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close() //nolint:errcheck // read-only
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	a := eng.Verify(ctx, v, f, st.Size(), pdfsig.VerifyOptions{From: from, At: at})
	a.Name, a.Size, a.Main = filepath.Base(path), st.Size(), true
	report := &trust.Report{Signatures: []trust.Signature{}, Errors: []trust.Problem{}, Warnings: []trust.Problem{},
		Attachments: []trust.Attachment{*a}}
	report.Errors = append(report.Errors, a.Errors...)
	if len(a.Signatures) == 0 && len(a.Errors) == 0 {
		report.Errors = append(report.Errors, trust.Problem{Code: trust.CodeMissing, Message: "the PDF carries no signature"})
	}
	for _, s := range a.Signatures {
		if len(s.Errors) > 0 {
			report.Errors = append(report.Errors, s.Errors[0])
		}
		for _, w := range s.Warnings {
			if w.Code == pdfsig.CodeModified {
				report.Errors = append(report.Errors, w)
			}
		}
	}
	if from != "" && !a.OrganSigned {
		report.Errors = append(report.Errors, trust.Problem{Code: pdfsig.CodeOrganMissing, Message: "no valid signature of " + from})
	}
	report.Valid = len(report.Errors) == 0
	return report, nil
}
