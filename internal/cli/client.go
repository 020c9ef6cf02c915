package cli

import (
	"bytes"
	"context"
	"crypto"
	"crypto/x509"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/lienthong/lienthong/internal/atomicfile"
	"github.com/lienthong/lienthong/internal/edxml"
	"github.com/lienthong/lienthong/internal/pki"
	"github.com/lienthong/lienthong/internal/trust"
	"github.com/lienthong/lienthong/schemas/client"
)

// Client subcommands (docs/contracts.md, CLI): send, inbox, fetch, ack, status and
// timeline talk to a running hub over REST API v1. Exit 0 ok; 1 when the
// hub refused (its problem's code and detail on stderr), a digest or
// receipt does not verify, or a status cannot answer the document; 2 for
// usage and environment errors: bad flags, unreadable files, an
// unreachable or unavailable (5xx) hub.

const clientDefaultHub = "http://127.0.0.1:8080"

// clientProgressThreshold is the packet size above which send reports progress.
const clientProgressThreshold = 10 << 20

// clientHubFlags are the flags every client subcommand has.
type clientHubFlags struct {
	hub, token *string
}

func addClientHubFlags(fs *flag.FlagSet) clientHubFlags {
	hub := os.Getenv("LIENTHONG_HUB")
	if hub == "" {
		hub = clientDefaultHub
	}
	return clientHubFlags{
		hub:   fs.String("hub", hub, "the hub's `URL` (default: $LIENTHONG_HUB, else "+clientDefaultHub+")"),
		token: fs.String("token", os.Getenv("LIENTHONG_TOKEN"), "the agency's bearer `TOKEN` (default: $LIENTHONG_TOKEN)"),
	}
}

// client makes the client, or reports a usage error and returns nil.
func (h clientHubFlags) client(name string, stderr io.Writer, opts ...client.Option) *client.Client {
	u, err := url.Parse(*h.hub)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		fmt.Fprintf(stderr, "lienthong %s: --hub %q is not an http(s) URL\n", name, *h.hub)
		return nil
	}
	if *h.token == "" {
		fmt.Fprintf(stderr, "lienthong %s: no token: give --token or set LIENTHONG_TOKEN\n", name)
		return nil
	}
	return client.New(*h.hub, *h.token, append([]client.Option{client.WithUserAgent("lienthong/" + Version)}, opts...)...)
}

// parseClientFlags parses args and checks the number of positional
// arguments; ok is false when the command must return code.
func parseClientFlags(fs *flag.FlagSet, args []string, npos int) (pos []string, code int, ok bool) {
	pos, err := parseFlags(fs, args)
	if errors.Is(err, flag.ErrHelp) {
		return nil, ExitOK, false
	}
	if err != nil {
		return nil, ExitUsage, false
	}
	if len(pos) != npos {
		fs.Usage()
		return nil, ExitUsage, false
	}
	return pos, 0, true
}

// clientFail reports err and returns its exit code.
func clientFail(name string, stderr io.Writer, err error) int {
	var he *client.Error
	if errors.As(err, &he) {
		code := he.Code
		if code == "" {
			code = fmt.Sprintf("HTTP %d", he.Status)
		}
		fmt.Fprintf(stderr, "lienthong %s: %s: %s\n", name, code, he.Detail)
		said := func(c, m string) bool { return c == he.Code && m == he.Detail }
		for _, p := range he.Problems {
			switch {
			case p.Path != "":
				fmt.Fprintf(stderr, "  %s at %s: %s\n", p.Code, p.Path, p.Message)
			case !said(p.Code, p.Message):
				fmt.Fprintf(stderr, "  %s: %s\n", p.Code, p.Message)
			}
		}
		if v := he.Verification; v != nil {
			for _, s := range v.Signatures {
				for _, p := range s.Errors {
					fmt.Fprintf(stderr, "  %s signature: %s: %s\n", s.Type, p.Code, p.Message)
				}
			}
			for _, p := range v.Errors {
				if !said(p.Code, p.Message) {
					fmt.Fprintf(stderr, "  %s: %s\n", p.Code, p.Message)
				}
			}
		}
		if he.Status >= 500 {
			return ExitUsage // the hub is unavailable: an environment error
		}
		return ExitInvalid
	}
	fmt.Fprintf(stderr, "lienthong %s: %v\n", name, err)
	var xe *edxml.Error
	if errors.Is(err, client.ErrDigestMismatch) || errors.Is(err, client.ErrReceipt) || errors.Is(err, edxml.ErrStatus) ||
		errors.Is(err, pki.ErrKeyMismatch) || errors.Is(err, pki.ErrUnsupportedKey) || errors.As(err, &xe) {
		return ExitInvalid
	}
	return ExitUsage
}

// clientWriteJSON writes v as indented JSON, non-ASCII and <>& as they are.
func clientWriteJSON(w io.Writer, v any, indent bool) error {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	if indent {
		enc.SetIndent("", "  ")
	}
	return enc.Encode(v)
}

// clientSigner is an agency's certificate, key and chain, from --cert, --key and
// --chain.
type clientSigner struct {
	cert  *x509.Certificate
	key   crypto.Signer
	chain []*x509.Certificate
}

func clientLoadSigner(name string, stderr io.Writer, certPath, keyPath, chainPath string) (*clientSigner, int) {
	certs, err := pki.LoadCertificates(certPath)
	if err != nil {
		fmt.Fprintf(stderr, "lienthong %s: --cert: %v\n", name, err)
		return nil, ExitUsage
	}
	s := &clientSigner{cert: certs[0], chain: certs[1:]}
	if chainPath != "" {
		more, err := pki.LoadCertificates(chainPath)
		if err != nil {
			fmt.Fprintf(stderr, "lienthong %s: --chain: %v\n", name, err)
			return nil, ExitUsage
		}
		s.chain = append(s.chain, more...)
	}
	if s.key, err = pki.LoadPrivateKey(keyPath); err != nil {
		fmt.Fprintf(stderr, "lienthong %s: --key: %v\n", name, err)
		if errors.Is(err, pki.ErrUnsupportedKey) {
			return nil, ExitInvalid
		}
		return nil, ExitUsage
	}
	return s, ExitOK
}

// clientPrintReceipt prints the receipt and, with roots, checks the hub's
// signature on it.
func clientPrintReceipt(name string, stdout, stderr io.Writer, rc *client.Receipt, created bool, roots []*x509.Certificate) int {
	if err := clientWriteJSON(stdout, rc, true); err != nil {
		fmt.Fprintf(stderr, "lienthong %s: %v\n", name, err)
		return ExitUsage
	}
	if !created {
		fmt.Fprintf(stderr, "lienthong %s: already accepted with these exact bytes; this is the original receipt\n", name)
	}
	if roots != nil {
		if err := client.VerifyReceipt(rc, roots); err != nil {
			return clientFail(name, stderr, err)
		}
	}
	return ExitOK
}

// clientLoadRoots reads --trust, if given.
func clientLoadRoots(name string, stderr io.Writer, path string) ([]*x509.Certificate, bool) {
	if path == "" {
		return nil, true
	}
	roots, err := pki.LoadCertificates(path)
	if err != nil {
		fmt.Fprintf(stderr, "lienthong %s: --trust: %v\n", name, err)
		return nil, false
	}
	return roots, true
}

func runSend(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := newFlags("send", "FILE [--cert CERT.pem --key KEY.pem [--chain CHAIN.pem] | --signature SIG.p7s] [--trust ROOTS.pem] [--quiet] [--hub URL] [--token TOKEN]", stderr)
	hf := addClientHubFlags(fs)
	certPath := fs.String("cert", "", "sign with this certificate (PEM or DER) before sending")
	keyPath := fs.String("key", "", "the certificate's private key (PEM, unencrypted)")
	chainPath := fs.String("chain", "", "intermediate certificates to include in the signature")
	sigPath := fs.String("signature", "", "send this detached CMS signature (DER or PEM) instead of signing")
	trustPath := fs.String("trust", "", "check the hub's signature on the receipt against these roots (PEM)")
	quiet := fs.Bool("quiet", false, "no progress on stderr (shown for packets over 10 MB)")
	pos, code, ok := parseClientFlags(fs, args, 1)
	if !ok {
		return code
	}
	if (*certPath == "") != (*keyPath == "") || (*certPath != "" && *sigPath != "") || (*chainPath != "" && *certPath == "") {
		fmt.Fprintln(stderr, "lienthong send: give --cert and --key together (with --chain if needed), or --signature, not both")
		return ExitUsage
	}
	roots, ok := clientLoadRoots("send", stderr, *trustPath)
	if !ok {
		return ExitUsage
	}
	f, err := os.Open(pos[0])
	if err != nil {
		fmt.Fprintf(stderr, "lienthong send: %v\n", err)
		return ExitUsage
	}
	defer func() { _ = f.Close() }() // opened read-only
	st, err := f.Stat()
	if err != nil || !st.Mode().IsRegular() {
		fmt.Fprintf(stderr, "lienthong send: %s is not a regular file\n", pos[0])
		return ExitUsage
	}
	var sig []byte
	switch {
	case *certPath != "":
		s, code := clientLoadSigner("send", stderr, *certPath, *keyPath, *chainPath)
		if s == nil {
			return code
		}
		if sig, err = signFile(ctx, f, s.cert, s.key, s.chain, pki.SignOptions{}); err != nil {
			return clientFail("send", stderr, err)
		}
		if _, err := f.Seek(0, io.SeekStart); err != nil {
			fmt.Fprintf(stderr, "lienthong send: %v\n", err)
			return ExitUsage
		}
	case *sigPath != "":
		if sig, err = os.ReadFile(*sigPath); err != nil {
			fmt.Fprintf(stderr, "lienthong send: --signature: %v\n", err)
			return ExitUsage
		}
	}
	var opts []client.Option
	if st.Size() > clientProgressThreshold && !*quiet {
		opts = append(opts, client.WithProgress(clientProgress(stderr)))
	}
	c := hf.client("send", stderr, opts...)
	if c == nil {
		return ExitUsage
	}
	rc, created, err := c.Send(ctx, f, st.Size(), sig)
	if err != nil {
		return clientFail("send", stderr, err)
	}
	return clientPrintReceipt("send", stdout, stderr, rc, created, roots)
}

// clientProgress reports progress on one stderr line, at each whole
// percent and at most every 200 ms.
func clientProgress(w io.Writer) func(sent, total int64) {
	last, lastAt := -1, time.Time{}
	return func(sent, total int64) {
		if total <= 0 {
			return
		}
		pct := int(sent * 100 / total)
		if pct == last || (pct < 100 && time.Since(lastAt) < 200*time.Millisecond) {
			return
		}
		last, lastAt = pct, time.Now()
		fmt.Fprintf(w, "\rlienthong send: %3d%% of %.1f MiB", pct, float64(total)/(1<<20))
		if pct == 100 {
			fmt.Fprintln(w)
		}
	}
}

func runInbox(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := newFlags("inbox", "[--kind edoc|status] [--limit N] [--cursor C | --all] [--hub URL] [--token TOKEN]", stderr)
	hf := addClientHubFlags(fs)
	kind := fs.String("kind", "", "only edoc or status items")
	limit := fs.Int("limit", 0, "items per page (the hub's default is 100, at most 1000)")
	cursor := fs.String("cursor", "", "continue after a previous page")
	all := fs.Bool("all", false, "list every page")
	_, code, ok := parseClientFlags(fs, args, 0)
	if !ok {
		return code
	}
	if *kind != "" && *kind != "edoc" && *kind != "status" {
		fmt.Fprintf(stderr, "lienthong inbox: --kind %q: want edoc or status\n", *kind)
		return ExitUsage
	}
	if *limit < 0 || *limit > 1000 {
		fmt.Fprintf(stderr, "lienthong inbox: --limit %d: want 1 to 1000\n", *limit)
		return ExitUsage
	}
	c := hf.client("inbox", stderr)
	if c == nil {
		return ExitUsage
	}
	q := client.InboxQuery{Kind: *kind, Limit: *limit, Cursor: *cursor}
	for listed := 0; ; {
		page, err := c.Inbox(ctx, q)
		if err != nil {
			return clientFail("inbox", stderr, err)
		}
		// An empty stdout alone looks like a hang or a failure to a person.
		if listed += len(page.Items); listed == 0 && (page.Next == "" || page.Next == q.Cursor) {
			fmt.Fprintln(stderr, "lienthong inbox: nothing pending")
		}
		for _, it := range page.Items {
			if err := clientWriteJSON(stdout, it, false); err != nil {
				fmt.Fprintf(stderr, "lienthong inbox: %v\n", err)
				return ExitUsage
			}
		}
		if page.Next == "" || page.Next == q.Cursor {
			return ExitOK
		}
		if !*all {
			fmt.Fprintf(stderr, "lienthong inbox: more items: --cursor %s (or --all)\n", page.Next)
			return ExitOK
		}
		q.Cursor = page.Next
	}
}

func runFetch(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := newFlags("fetch", "ID [-o FILE] [--hub URL] [--token TOKEN]", stderr)
	hf := addClientHubFlags(fs)
	out := fs.String("o", "", "write the packet to this file (atomically) instead of standard output")
	pos, code, ok := parseClientFlags(fs, args, 1)
	if !ok {
		return code
	}
	c := hf.client("fetch", stderr)
	if c == nil {
		return ExitUsage
	}
	if *out == "" || *out == "-" {
		if _, _, err := c.Fetch(ctx, pos[0], stdout); err != nil {
			return clientFail("fetch", stderr, err)
		}
		return ExitOK
	}
	if err := clientFetchFile(ctx, c, pos[0], *out); err != nil {
		return clientFail("fetch", stderr, err)
	}
	return ExitOK
}

// clientFetchFile fetches into a temporary file next to path and renames it
// once the digest is checked: path is the exact bytes or is untouched.
func clientFetchFile(ctx context.Context, c *client.Client, id, path string) error {
	return atomicfile.Write(path, 0o644, func(w io.Writer) error {
		_, _, err := c.Fetch(ctx, id, w)
		return err
	})
}

func runAck(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := newFlags("ack", "ID --result done|fail [--reason R] [--hub URL] [--token TOKEN]", stderr)
	hf := addClientHubFlags(fs)
	result := fs.String("result", "", "done (stored) or fail (could not be processed)")
	reason := fs.String("reason", "", "why, for fail")
	pos, code, ok := parseClientFlags(fs, args, 1)
	if !ok {
		return code
	}
	if *result != "done" && *result != "fail" {
		fmt.Fprintf(stderr, "lienthong ack: --result %q: want done or fail\n", *result)
		return ExitUsage
	}
	c := hf.client("ack", stderr)
	if c == nil {
		return ExitUsage
	}
	if err := c.Ack(ctx, pos[0], *result, *reason); err != nil {
		return clientFail("ack", stderr, err)
	}
	_ = clientWriteJSON(stdout, map[string]string{"id": pos[0], "result": *result}, false)
	return ExitOK
}

func runStatus(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := newFlags("status", "ID --code 01|02|03|04|05|06|13|15|16 [--description D] [--to ORGAN] [--staff NAME] --cert CERT.pem --key KEY.pem [--chain CHAIN.pem] [--trust ROOTS.pem] [--hub URL] [--token TOKEN]", stderr)
	hf := addClientHubFlags(fs)
	code := fs.String("code", "", "the status code: 01 arrived, 02 rejected, 03 accepted, 04 assigned, 05 processing, 06 completed, 13 take back (by the sender), 15/16 change accepted/refused")
	description := fs.String("description", "", "the status's Description (the reason, for 02 and 13)")
	to := fs.String("to", "", "for 13: the recipient the document is taken back from")
	staff := fs.String("staff", "", "the clerk's name (StaffInfo/Staff)")
	certPath := fs.String("cert", "", "the agency's certificate: its UID is the status's From, and it signs")
	keyPath := fs.String("key", "", "the certificate's private key (PEM, unencrypted)")
	chainPath := fs.String("chain", "", "intermediate certificates to include in the signature")
	trustPath := fs.String("trust", "", "check the hub's signature on the receipt against these roots (PEM)")
	pos, exit, ok := parseClientFlags(fs, args, 1)
	if !ok {
		return exit
	}
	sc := edxml.StatusCode(*code)
	switch {
	case !sc.Valid():
		var codes []string
		for _, c := range edxml.StatusCodes {
			codes = append(codes, string(c))
		}
		fmt.Fprintf(stderr, "lienthong status: --code %q: want one of %s\n", *code, strings.Join(codes, ", "))
		return ExitUsage
	case sc.FromSender() && *to == "":
		fmt.Fprintln(stderr, "lienthong status: a 13 needs --to, the recipient it takes the document back from")
		return ExitUsage
	case !sc.FromSender() && *to != "":
		fmt.Fprintln(stderr, "lienthong status: --to is for 13 only; other statuses answer the document's sender")
		return ExitUsage
	case *certPath == "" || *keyPath == "":
		fmt.Fprintln(stderr, "lienthong status: --cert and --key are required: a status is signed")
		return ExitUsage
	}
	roots, ok := clientLoadRoots("status", stderr, *trustPath)
	if !ok {
		return ExitUsage
	}
	s, exit := clientLoadSigner("status", stderr, *certPath, *keyPath, *chainPath)
	if s == nil {
		return exit
	}
	organ, ok := trust.OrganID(s.cert)
	if !ok || organ == "" {
		fmt.Fprintln(stderr, "lienthong status: --cert: the certificate names no agency (one UID attribute in its subject)")
		return ExitUsage
	}
	c := hf.client("status", stderr)
	if c == nil {
		return ExitUsage
	}
	doc, err := c.FetchPacket(ctx, pos[0])
	if err != nil {
		return clientFail("status", stderr, err)
	}
	p, err := edxml.NewStatus(doc, edxml.StatusInput{From: edxml.Organization{OrganID: organ}, Code: sc,
		Description: *description, Staff: edxml.StaffInfo{Staff: *staff}, To: *to})
	if err != nil {
		return clientFail("status", stderr, err)
	}
	if p.Status.From.OrganName == "" { // not named in the document: the certificate's name
		p.Status.From.OrganName = s.cert.Subject.CommonName
		if o := s.cert.Subject.Organization; len(o) > 0 {
			p.Status.From.OrganName = o[0]
		}
	}
	var packet bytes.Buffer
	if err := edxml.Write(&packet, p, nil); err != nil {
		return clientFail("status", stderr, err)
	}
	sig, err := pki.SignDetached(bytes.NewReader(packet.Bytes()), s.cert, s.key, s.chain, pki.SignOptions{})
	if err != nil {
		return clientFail("status", stderr, err)
	}
	rc, created, err := c.Send(ctx, bytes.NewReader(packet.Bytes()), int64(packet.Len()), sig)
	if err != nil {
		return clientFail("status", stderr, err)
	}
	return clientPrintReceipt("status", stdout, stderr, rc, created, roots)
}

func runTimeline(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := newFlags("timeline", "ID [--hub URL] [--token TOKEN]", stderr)
	hf := addClientHubFlags(fs)
	pos, code, ok := parseClientFlags(fs, args, 1)
	if !ok {
		return code
	}
	c := hf.client("timeline", stderr)
	if c == nil {
		return ExitUsage
	}
	tl, err := c.Timeline(ctx, pos[0])
	if err != nil {
		return clientFail("timeline", stderr, err)
	}
	if err := clientWriteJSON(stdout, tl, true); err != nil {
		fmt.Fprintf(stderr, "lienthong timeline: %v\n", err)
		return ExitUsage
	}
	return ExitOK
}
