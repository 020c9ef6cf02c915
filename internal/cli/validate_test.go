package cli

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// fixtures are the edXML packets shared with package edxml.
const fixtures = "../edxml/testdata/fixtures"

// run calls Run as main does and returns the exit code and both outputs.
func run(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code = Run(t.Context(), args, &out, &errOut)
	return code, out.String(), errOut.String()
}

// result is the `lienthong validate` output, decoded after checkContract
// has checked its shape.
type result struct {
	Valid      bool      `json:"valid"`
	Kind       *string   `json:"kind"`
	DocumentID *string   `json:"documentId"`
	From       *string   `json:"from"`
	To         []string  `json:"to"`
	Errors     []problem `json:"errors"`
	Warnings   []problem `json:"warnings"`
}

type problem struct {
	Code    string `json:"code"`
	Path    string `json:"path"`
	Message string `json:"message"`
}

// checkContract checks that out is exactly one JSON object with the keys and
// types of docs/contracts.md, CLI, and decodes it.
func checkContract(t *testing.T, out string) result {
	t.Helper()
	dec := json.NewDecoder(strings.NewReader(out))
	var obj map[string]json.RawMessage
	if err := dec.Decode(&obj); err != nil {
		t.Fatalf("stdout is not a JSON object: %v\n%s", err, out)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		t.Fatalf("stdout holds more than one JSON value:\n%s", out)
	}
	for _, key := range []string{"valid", "kind", "documentId", "from", "to", "errors", "warnings"} {
		if _, ok := obj[key]; !ok {
			t.Errorf("key %q missing", key)
		}
	}
	var valid bool
	var kind, documentID, from *string
	var to []string
	var errs, warnings []map[string]json.RawMessage
	for key, v := range map[string]any{
		"valid": &valid, "kind": &kind, "documentId": &documentID, "from": &from,
		"to": &to, "errors": &errs, "warnings": &warnings,
	} {
		if err := json.Unmarshal(obj[key], v); err != nil {
			t.Errorf("%q = %s: %v", key, obj[key], err)
		}
	}
	if kind != nil && *kind != "edoc" && *kind != "status" {
		t.Errorf("kind = %q, want edoc, status or null", *kind)
	}
	for key, raw := range map[string]json.RawMessage{"to": obj["to"], "errors": obj["errors"], "warnings": obj["warnings"]} {
		if !bytes.HasPrefix(raw, []byte("[")) {
			t.Errorf("%q = %s, want an array", key, raw)
		}
	}
	for _, p := range append(errs, warnings...) {
		var s string
		for _, key := range []string{"code", "path", "message"} {
			if err := json.Unmarshal(p[key], &s); err != nil {
				t.Errorf("problem %v: %q is not a string: %v", p, key, err)
			}
		}
		if len(p) != 3 || string(p["code"]) == `""` || string(p["message"]) == `""` {
			t.Errorf("problem %v: want exactly code, path and message, code and message not empty", p)
		}
	}
	if valid != (len(errs) == 0) {
		t.Errorf("valid = %v with %d errors", valid, len(errs))
	}
	if kind == nil && (len(errs) != 1 || documentID != nil || from != nil || len(to) != 0) {
		t.Errorf("a fatal error (kind null) must come alone with null fields:\n%s", out)
	}
	var res result
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatal(err)
	}
	return res
}

func fixtureFiles(t *testing.T, pattern string) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(fixtures, pattern))
	if err != nil || len(files) == 0 {
		t.Fatalf("no fixtures match %s: %v", pattern, err)
	}
	return files
}

func TestValidateFixtures(t *testing.T) {
	type test struct {
		give string
		want int
	}
	var tests []test
	for _, f := range fixtureFiles(t, "*.xml") {
		tests = append(tests, test{give: f, want: ExitOK})
	}
	for _, f := range fixtureFiles(t, "invalid/*.xml") {
		tests = append(tests, test{give: f, want: ExitInvalid})
	}
	for _, tt := range tests {
		t.Run(strings.TrimPrefix(tt.give, fixtures+"/"), func(t *testing.T) {
			t.Parallel()
			code, stdout, stderr := run(t, "validate", tt.give)
			if code != tt.want {
				t.Errorf("exit %d, want %d; stderr: %s", code, tt.want, stderr)
			}
			res := checkContract(t, stdout)
			if res.Valid != (tt.want == ExitOK) {
				t.Errorf("valid = %v with exit %d; errors: %v", res.Valid, code, res.Errors)
			}
		})
	}
}

// summary is the part of a validate result the value table compares.
type summary struct {
	Exit       int      `json:"exit"`
	Valid      bool     `json:"valid"`
	Kind       *string  `json:"kind"`
	DocumentID *string  `json:"documentId"`
	From       *string  `json:"from"`
	To         []string `json:"to"`
	Codes      []string `json:"codes"`
}

func ptr(s string) *string { return &s }

func TestValidateValues(t *testing.T) {
	const (
		g22, g12, h29 = "000.00.00.G22", "000.00.00.G12", "000.00.00.H29"
		doc1234       = "000.00.00.G22,2025/11/20,1234/VPCP-KSTT"
		doc1288       = "000.00.00.G22,2025/11/27,1288/VPCP-TH"
	)
	tests := []struct {
		give string
		want summary
	}{
		{
			give: "edoc-new.xml",
			want: summary{Exit: 0, Valid: true, Kind: ptr("edoc"), DocumentID: ptr(doc1234), From: ptr(g22), To: []string{h29}, Codes: []string{}},
		},
		{
			give: "edoc-new-two-recipients.xml",
			want: summary{Exit: 0, Valid: true, Kind: ptr("edoc"), DocumentID: ptr("000.00.00.G22,2025/11/21,1250/VPCP-KTTH"), From: ptr(g22), To: []string{h29, g12}, Codes: []string{}},
		},
		{
			give: "edoc-placeholder-signature.xml",
			want: summary{Exit: 0, Valid: true, Kind: ptr("edoc"), DocumentID: ptr("000.00.00.G22,2025/11/22,1275/VPCP-ĐMDN"), From: ptr(g22), To: []string{g12}, Codes: []string{}},
		},
		{
			give: "status-01.xml",
			want: summary{Exit: 0, Valid: true, Kind: ptr("status"), DocumentID: ptr(doc1234), From: ptr(h29), To: []string{}, Codes: []string{}},
		},
		{
			give: "invalid/dtd-external-entity.xml",
			want: summary{Exit: 1, Valid: false, To: []string{}, Codes: []string{"xml.dtd_forbidden"}},
		},
		{
			give: "invalid/truncated.xml",
			want: summary{Exit: 1, Valid: false, To: []string{}, Codes: []string{"xml.malformed"}},
		},
		{
			give: "invalid/bad-organ-id.xml",
			want: summary{Exit: 1, Valid: false, Kind: ptr("edoc"), DocumentID: ptr(doc1288), From: ptr(g22), To: []string{"Bộ Tài chính"}, Codes: []string{"edxml.bad_organ_id"}},
		},
		{
			give: "invalid/status-code-99.xml",
			want: summary{Exit: 1, Valid: false, Kind: ptr("status"), DocumentID: ptr(doc1234), From: ptr(h29), To: []string{}, Codes: []string{"edxml.bad_status_code"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.give, func(t *testing.T) {
			t.Parallel()
			code, stdout, _ := run(t, "validate", filepath.Join(fixtures, tt.give))
			res := checkContract(t, stdout)
			got := summary{Exit: code, Valid: res.Valid, Kind: res.Kind, DocumentID: res.DocumentID, From: res.From, To: res.To, Codes: []string{}}
			for _, p := range res.Errors {
				got.Codes = append(got.Codes, p.Code)
			}
			if !reflect.DeepEqual(got, tt.want) {
				g, _ := json.Marshal(got)
				w, _ := json.Marshal(tt.want)
				t.Errorf("got  %s\nwant %s", g, w)
			}
		})
	}
}

// TestValidateDTDLeaksNothing checks that entities are refused, not resolved:
// /etc/passwd (whose first line starts "root:") must not reach the output.
func TestValidateDTDLeaksNothing(t *testing.T) {
	tests := []struct {
		give string
		want string
	}{
		{give: "invalid/dtd-external-entity.xml", want: "xml.dtd_forbidden"},
		{give: "invalid/dtd-entity-expansion.xml", want: "xml.dtd_forbidden"},
	}
	for _, tt := range tests {
		t.Run(tt.give, func(t *testing.T) {
			code, stdout, stderr := run(t, "validate", filepath.Join(fixtures, tt.give))
			if code != ExitInvalid {
				t.Errorf("exit %d, want %d", code, ExitInvalid)
			}
			if out := stdout + stderr; strings.Contains(out, "root:") || len(out) > 4096 {
				t.Errorf("output leaks or expands an entity (%d bytes):\n%.4096s", len(out), out)
			}
			if res := checkContract(t, stdout); len(res.Errors) != 1 || res.Errors[0].Code != tt.want {
				t.Errorf("errors = %v, want only %s", res.Errors, tt.want)
			}
		})
	}
}

// TestRunUsageErrors checks exit 2 with nothing on stdout, so a script never
// mistakes a usage error for a validation result.
func TestRunUsageErrors(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "missing.xml")
	valid := filepath.Join(fixtures, "edoc-new.xml")
	tests := []struct {
		name string
		give []string
		want string // in stderr
	}{
		{name: "no command", give: nil, want: "Usage: lienthong COMMAND"},
		{name: "unknown command", give: []string{"frobnicate"}, want: `unknown command "frobnicate"`},
		{name: "validate without file", give: []string{"validate"}, want: "Usage: lienthong validate FILE"},
		{name: "validate nonexistent file", give: []string{"validate", missing}, want: "missing.xml"},
		{name: "validate two files", give: []string{"validate", valid, valid}, want: "Usage: lienthong validate FILE"},
		{name: "validate bad kind", give: []string{"validate", "--kind", "memo", valid}, want: "--kind must be edoc or status"},
		{name: "validate unknown flag", give: []string{"validate", "--frobnicate", valid}, want: "flag provided but not defined"},
		{name: "version unknown flag", give: []string{"version", "--frobnicate"}, want: "flag provided but not defined"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, stdout, stderr := run(t, tt.give...)
			if code != ExitUsage || stdout != "" || !strings.Contains(stderr, tt.want) {
				t.Errorf("exit %d, stdout %q, stderr %q; want exit %d, no stdout, stderr with %q",
					code, stdout, stderr, ExitUsage, tt.want)
			}
		})
	}
}

func TestRunVersion(t *testing.T) {
	code, stdout, stderr := run(t, "version")
	if code != ExitOK || !strings.HasPrefix(stdout, "lienthong ") || stderr != "" {
		t.Errorf("exit %d, stdout %q, stderr %q; want exit 0 and \"lienthong ...\"", code, stdout, stderr)
	}
}

func TestRunHelp(t *testing.T) {
	code, _, stderr := run(t, "help")
	if code != ExitOK || !strings.Contains(stderr, "validate") {
		t.Errorf("exit %d, stderr %q; want exit 0 and the command list", code, stderr)
	}
}
