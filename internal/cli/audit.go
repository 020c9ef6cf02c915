package cli

import (
	"context"
	"crypto/rand"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	fnote "github.com/transparency-dev/formats/note"
	"golang.org/x/mod/sumdb/note"

	"github.com/lienthong/lienthong/internal/evidence"
	"github.com/lienthong/lienthong/internal/pki"
)

// `lienthong audit verify|consistency|keygen`: checks of the verifiable
// log (internal/evidence) that need nothing from the hub but its log's
// public key. Exit 0 when the check holds, 1 with a stable code
// (log.bad_proof, log.bad_checkpoint, log.fork) when it does not, 2 for
// usage errors.

var auditSubcommands = []subcommand{
	{"verify", "check a proof bundle (GET /v1/packets/{id}/proof): the checkpoint's signature and each leaf's inclusion"},
	{"consistency", "check that checkpoint NEW extends checkpoint OLD, with a consistency proof"},
	{"keygen", "make a log key pair (Ed25519, signed-note format)"},
}

func runAudit(_ context.Context, args []string, stdout, stderr io.Writer) int {
	sub, code, ok := pickSubcommand("audit", "[flags]", auditSubcommands, args, stderr)
	if !ok {
		return code
	}
	usage := map[string]string{
		"verify":      "BUNDLE.json --log-key FILE [--witness FILE]... [--tsa-roots PEM]",
		"consistency": "OLD NEW --proof FILE --log-key FILE",
		"keygen":      "--name ORIGIN --private FILE --public FILE",
	}[sub]
	fs := newFlags("audit "+sub, usage, stderr)
	logKey := fs.String("log-key", "", "the log's public key (a signed-note verifier key, as keygen writes it)")
	proofFile := fs.String("proof", "", "the consistency proof (JSON, as GET /v1/log/proof/consistency answers)")
	name := fs.String("name", "", "the log's origin, e.g. lienthong.example.vn/log")
	var witnessFiles []string
	tsaRoots := fs.String("tsa-roots", "", "PEM file of the CAs the TSA chains to: the bundle's time-stamp is then required and checked")
	if sub == "verify" {
		fs.Func("witness", "a witness's public key file; its cosignature is then required (repeatable)", func(v string) error {
			witnessFiles = append(witnessFiles, v)
			return nil
		})
	}
	private := fs.String("private", "", "where to write the private key (mode 0600; it must not exist)")
	public := fs.String("public", "", "where to write the public key")
	pos, err := parseFlags(fs, args[1:])
	if err != nil {
		return flagsFailed(err) // flag printed the usage
	}
	fail := func(code int, format string, a ...any) int {
		fmt.Fprintf(stderr, "lienthong audit %s: "+format+"\n", append([]any{sub}, a...)...)
		return code
	}
	if sub == "keygen" {
		if *name == "" || *private == "" || *public == "" || len(pos) != 0 {
			fs.Usage()
			return ExitUsage
		}
		skey, vkey, err := note.GenerateKey(rand.Reader, *name)
		if err != nil {
			return fail(ExitUsage, "%v", err)
		}
		f, err := os.OpenFile(*private, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if err != nil {
			return fail(ExitUsage, "%v", err)
		}
		_, err = fmt.Fprintln(f, skey)
		if err = errors.Join(err, f.Close()); err != nil {
			return fail(ExitUsage, "%v", err)
		}
		if err := os.WriteFile(*public, []byte(vkey+"\n"), 0o644); err != nil { //nolint:gosec // a public key
			return fail(ExitUsage, "%v", err)
		}
		fmt.Fprintln(stdout, vkey)
		return ExitOK
	}
	want := map[string]int{"verify": 1, "consistency": 2}[sub]
	if len(pos) != want || *logKey == "" || (sub == "consistency" && *proofFile == "") {
		fs.Usage()
		return ExitUsage
	}
	raw, err := os.ReadFile(*logKey)
	if err != nil {
		return fail(ExitUsage, "%v", err)
	}
	v, err := note.NewVerifier(strings.TrimSpace(string(raw)))
	if err != nil {
		return fail(ExitUsage, "--log-key: %v", err)
	}
	var witnesses []note.Verifier
	for _, f := range witnessFiles {
		raw, err := os.ReadFile(f)
		if err != nil {
			return fail(ExitUsage, "%v", err)
		}
		w, err := fnote.NewVerifierForCosignatureV1(strings.TrimSpace(string(raw)))
		if err != nil {
			return fail(ExitUsage, "--witness %s: %v", f, err)
		}
		witnesses = append(witnesses, w)
	}
	refused := func(err error) int {
		code := evidence.Code(err)
		if code == "" {
			return fail(ExitUsage, "%v", err)
		}
		_ = json.NewEncoder(stdout).Encode(map[string]any{"ok": false, "code": code, "error": err.Error()})
		return fail(ExitInvalid, "%v", err)
	}
	switch sub {
	case "verify":
		raw, err := os.ReadFile(pos[0])
		if err != nil {
			return fail(ExitUsage, "%v", err)
		}
		var b evidence.Bundle
		if err := json.Unmarshal(raw, &b); err != nil {
			return refused(&evidence.Error{Code: evidence.CodeBadProof, Err: fmt.Errorf("%s is not a proof bundle: %w", pos[0], err)})
		}
		leaves, cp, err := evidence.VerifyBundle(b, v, witnesses...)
		if err != nil {
			return refused(err)
		}
		out := map[string]any{"ok": true, "origin": cp.Origin, "treeSize": cp.Size, "leaves": leaves}
		if *tsaRoots != "" {
			certs, err := pki.LoadCertificates(*tsaRoots)
			if err != nil {
				return fail(ExitUsage, "--tsa-roots: %v", err)
			}
			pool := x509.NewCertPool()
			for _, c := range certs {
				pool.AddCert(c)
			}
			at, err := evidence.VerifyTimestamp(b, pool)
			if err != nil {
				return refused(err)
			}
			out["timestampedAt"] = at
		}
		_ = json.NewEncoder(stdout).Encode(out)
	case "consistency":
		older, err1 := os.ReadFile(pos[0])
		newer, err2 := os.ReadFile(pos[1])
		raw, err3 := os.ReadFile(*proofFile)
		if err := errors.Join(err1, err2, err3); err != nil {
			return fail(ExitUsage, "%v", err)
		}
		var p struct {
			Proof [][]byte `json:"proof"`
		}
		if err := json.Unmarshal(raw, &p); err != nil {
			return refused(&evidence.Error{Code: evidence.CodeBadProof, Err: fmt.Errorf("%s is not a consistency proof: %w", *proofFile, err)})
		}
		if err := evidence.VerifyConsistency(older, newer, p.Proof, v); err != nil {
			return refused(err)
		}
		_ = json.NewEncoder(stdout).Encode(map[string]any{"ok": true})
	}
	return ExitOK
}
