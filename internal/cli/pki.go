package cli

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/big"
	"strings"
	"time"

	"github.com/lienthong/lienthong/internal/organ"
	"github.com/lienthong/lienthong/internal/pki"
	"github.com/lienthong/lienthong/internal/trust"
)

// pkiSubcommands are the verbs of `lienthong pki`.
var pkiSubcommands = map[string]struct {
	summary string
	run     func(args []string, stdout, stderr io.Writer) int
}{
	"init":  {"create a root and an issuing CA in --dir", runPKIInit},
	"issue": {"issue an agency signing certificate", runPKIIssue},
	"crl":   {"revoke serials and publish the issuing CA's CRL", runPKICRL},
}

func runPKI(_ context.Context, args []string, stdout, stderr io.Writer) int {
	var subs []subcommand
	for _, n := range []string{"init", "issue", "crl"} {
		subs = append(subs, subcommand{n, pkiSubcommands[n].summary})
	}
	name, code, ok := pickSubcommand("pki", "--dir DIR [flags]", subs, args, stderr)
	if !ok {
		return code
	}
	return pkiSubcommands[name].run(args[1:], stdout, stderr)
}

// pkiFlags parses the flags of `pki NAME`, which take no positional
// arguments; ok is false after a usage error has been reported.
func pkiFlags(fs *flag.FlagSet, args []string) (code int, ok bool) {
	pos, err := parseFlags(fs, args)
	if errors.Is(err, flag.ErrHelp) {
		return ExitOK, false
	}
	if err != nil {
		return ExitUsage, false
	}
	if len(pos) != 0 {
		fmt.Fprintf(fs.Output(), "lienthong %s: unexpected argument %q\n", fs.Name(), pos[0])
		fs.Usage()
		return ExitUsage, false
	}
	return 0, true
}

func runPKIInit(args []string, stdout, stderr io.Writer) int {
	fs := newFlags("pki init", "--dir DIR [--algorithm ecdsa|rsa] [--crl-url URL]", stderr)
	dir := fs.String("dir", "", "directory of the CA (created; must not hold a CA already)")
	alg := fs.String("algorithm", string(pki.ECDSA), "key algorithm: ecdsa (P-256) or rsa (2048)")
	crlURL := fs.String("crl-url", "", "base URL of the CRL distribution points written into certificates")
	if code, ok := pkiFlags(fs, args); !ok {
		return code
	}
	if *dir == "" {
		fmt.Fprintln(stderr, "lienthong pki init: --dir is required")
		return ExitUsage
	}
	ca, err := pki.Init(*dir, pki.InitOptions{Algorithm: pki.Algorithm(*alg), CRLBaseURL: *crlURL})
	if err != nil {
		fmt.Fprintf(stderr, "lienthong pki init: %v\n", err)
		return ExitUsage
	}
	return pkiPrintJSON(stdout, stderr, struct {
		Dir          string `json:"dir"`
		Algorithm    string `json:"algorithm"`
		Root         string `json:"root"`
		Intermediate string `json:"intermediate"`
		RootSHA256   string `json:"rootSha256"`
	}{
		Dir: ca.Dir(), Algorithm: string(ca.Algorithm()), Root: ca.RootPath(), Intermediate: ca.IntermediatePath(),
		RootSHA256: trust.Fingerprint(ca.Root()),
	})
}

func runPKIIssue(args []string, stdout, stderr io.Writer) int {
	fs := newFlags("pki issue", "--dir DIR --organ ORGANID --name NAME [flags]", stderr)
	dir := fs.String("dir", "", "directory of the CA")
	organID := fs.String("organ", "", "OrganId of the agency, e.g. 000.00.00.G22 (subject UID)")
	name := fs.String("name", "", "name of the agency (subject CN and O)")
	alg := fs.String("algorithm", string(pki.ECDSA), "key algorithm: ecdsa (P-256) or rsa (2048)")
	notBefore := fs.String("not-before", "", "start of validity, RFC 3339 (default an hour ago)")
	notAfter := fs.String("not-after", "", "end of validity, RFC 3339 (default two years after the start)")
	noUID := fs.Bool("no-uid", false, "leave the UID attribute out of the subject (for negative tests)")
	if code, ok := pkiFlags(fs, args); !ok {
		return code
	}
	if *dir == "" || *organID == "" || *name == "" {
		fmt.Fprintln(stderr, "lienthong pki issue: --dir, --organ and --name are required")
		return ExitUsage
	}
	opts := pki.IssueOptions{Algorithm: pki.Algorithm(*alg), NoUID: *noUID}
	for _, f := range []struct {
		flag string
		val  string
		dst  *time.Time
	}{{"not-before", *notBefore, &opts.NotBefore}, {"not-after", *notAfter, &opts.NotAfter}} {
		if f.val == "" {
			continue
		}
		t, err := time.Parse(time.RFC3339, f.val)
		if err != nil {
			fmt.Fprintf(stderr, "lienthong pki issue: --%s: %v\n", f.flag, err)
			return ExitUsage
		}
		*f.dst = t
	}
	ca, err := pki.Open(*dir)
	if err != nil {
		fmt.Fprintf(stderr, "lienthong pki issue: %v\n", err)
		return ExitUsage
	}
	iss, err := ca.Issue(*organID, *name, opts)
	if err != nil {
		fmt.Fprintf(stderr, "lienthong pki issue: %v\n", err)
		if errors.Is(err, organ.ErrInvalid) || errors.Is(err, organ.ErrEmpty) {
			return ExitInvalid
		}
		return ExitUsage
	}
	return pkiPrintJSON(stdout, stderr, struct {
		OrganID string `json:"organId"`
		Cert    string `json:"cert"`
		Key     string `json:"key"`
		Chain   string `json:"chain"`
		Serial  string `json:"serial"`
		SHA256  string `json:"sha256"`
	}{
		OrganID: iss.OrganID, Cert: iss.CertPath, Key: iss.KeyPath, Chain: iss.ChainPath,
		Serial: iss.Cert.SerialNumber.String(), SHA256: trust.Fingerprint(iss.Cert),
	})
}

// pkiSerials is a repeatable --revoke flag.
type pkiSerials []*big.Int

func (s *pkiSerials) String() string {
	if s == nil {
		return ""
	}
	parts := make([]string, len(*s))
	for i, n := range *s {
		parts[i] = n.String()
	}
	return strings.Join(parts, ",")
}

// Set accepts a decimal serial or a 0x-prefixed hexadecimal one.
func (s *pkiSerials) Set(v string) error {
	digits, base := v, 10
	if strings.HasPrefix(v, "0x") || strings.HasPrefix(v, "0X") {
		digits, base = v[2:], 16
	}
	n, ok := new(big.Int).SetString(digits, base)
	if !ok || digits == "" || strings.ContainsAny(digits, "+-_") || n.Sign() <= 0 {
		return fmt.Errorf("serial %q is not a positive decimal or 0x-hex integer", v)
	}
	*s = append(*s, n)
	return nil
}

func runPKICRL(args []string, stdout, stderr io.Writer) int {
	fs := newFlags("pki crl", "--dir DIR [--revoke SERIAL]... [--root] [--next-update RFC3339]", stderr)
	dir := fs.String("dir", "", "directory of the CA")
	var serials pkiSerials
	fs.Var(&serials, "revoke", "serial to revoke, decimal or 0x-hex (repeatable; revocations accumulate)")
	root := fs.Bool("root", false, "publish the root's CRL (root.crl), for revoking the intermediate")
	nextUpdate := fs.String("next-update", "", "nextUpdate, RFC 3339 (default seven days from now)")
	if code, ok := pkiFlags(fs, args); !ok {
		return code
	}
	if *dir == "" {
		fmt.Fprintln(stderr, "lienthong pki crl: --dir is required")
		return ExitUsage
	}
	opts := pki.CRLOptions{Root: *root}
	if *nextUpdate != "" {
		t, err := time.Parse(time.RFC3339, *nextUpdate)
		if err != nil {
			fmt.Fprintf(stderr, "lienthong pki crl: --next-update: %v\n", err)
			return ExitUsage
		}
		opts.NextUpdate = t
	}
	ca, err := pki.Open(*dir)
	if err != nil {
		fmt.Fprintf(stderr, "lienthong pki crl: %v\n", err)
		return ExitUsage
	}
	if _, err := ca.CRL(serials, opts); err != nil {
		fmt.Fprintf(stderr, "lienthong pki crl: %v\n", err)
		return ExitUsage
	}
	fmt.Fprintln(stdout, ca.CRLPath(*root))
	return ExitOK
}

func pkiPrintJSON(stdout, stderr io.Writer, v any) int {
	enc := json.NewEncoder(stdout)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		fmt.Fprintf(stderr, "lienthong pki: %v\n", err)
		return ExitUsage
	}
	return ExitOK
}
