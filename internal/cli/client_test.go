package cli

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/lienthong/lienthong/internal/hubtest"
	"github.com/lienthong/lienthong/internal/pki"
)

// clientLines decodes JSON lines.
func clientLines(t *testing.T, out string) []map[string]any {
	t.Helper()
	var items []map[string]any
	for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
		if l == "" {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatalf("not a JSON line: %q: %v", l, err)
		}
		items = append(items, m)
	}
	return items
}

func TestClientCommands(t *testing.T) {
	t.Setenv("LIENTHONG_HUB", "")
	t.Setenv("LIENTHONG_TOKEN", "")
	h := hubtest.Start(t, hubtest.Options{})
	dir := t.TempDir()
	doc, doc2 := filepath.Join(fixtures, "edoc-new.xml"), filepath.Join(fixtures, "edoc-new-two-recipients.xml")
	docBytes, err := os.ReadFile(doc)
	if err != nil {
		t.Fatal(err)
	}
	altered := filepath.Join(dir, "altered.xml")
	if err := os.WriteFile(altered, bytes.Replace(docBytes, []byte("năm 2025</edXML:Subject>"), []byte("năm 2025 (bản sửa)</edXML:Subject>"), 1), 0o600); err != nil {
		t.Fatal(err)
	}
	big := filepath.Join(dir, "big.xml") // over the progress threshold; not edXML
	if err := os.WriteFile(big, append([]byte("<edXML>"), bytes.Repeat([]byte("a"), 11<<20)...), 0o600); err != nil {
		t.Fatal(err)
	}
	other, err := pki.Init(filepath.Join(dir, "other"), pki.InitOptions{})
	if err != nil {
		t.Fatal(err)
	}
	as := func(id string) []string { return []string{"--hub", h.URL, "--token", h.Agencies[id].Token} }
	signer := func(id string) []string {
		c := h.Agencies[id].Cert
		return []string{"--cert", c.CertPath, "--key", c.KeyPath, "--chain", c.ChainPath}
	}
	cat := func(parts ...[]string) []string {
		var out []string
		for _, p := range parts {
			out = append(out, p...)
		}
		return out
	}
	const g22, h29, g12 = "000.00.00.G22", "000.00.00.H29", "000.00.00.G12"
	sig2 := filepath.Join(dir, "doc2.p7s")
	if code, _, errOut := run(t, cat([]string{"sign", doc2, "-o", sig2}, signer(g22))...); code != ExitOK {
		t.Fatalf("sign: %s", errOut)
	}
	fetched := filepath.Join(dir, "out", "fetched.xml")
	if err := os.Mkdir(filepath.Dir(fetched), 0o755); err != nil {
		t.Fatal(err)
	}

	vars := map[string]string{}
	tests := []struct {
		name    string
		give    []string // {id}, {id2} stand for captured packet ids
		want    int
		wantOut string // in stdout
		wantErr string // in stderr
		lines   int    // JSON lines on stdout, when > 0
		capture string // store the receipt's id under this name
		retry   bool   // until wantOut and lines hold (asynchronous delivery)
		check   func(t *testing.T, stdout string)
	}{
		{name: "inbox empty", give: cat([]string{"inbox"}, as(g12)), want: ExitOK, wantErr: "nothing pending"},
		{name: "send signed", give: cat([]string{"send", doc}, signer(g22), as(g22)), want: ExitOK,
			wantOut: `"kind": "edoc"`, capture: "id"},
		{name: "send again, receipt checked", give: cat([]string{"send", doc, "--trust", h.CA.RootPath()}, signer(g22), as(g22)), want: ExitOK,
			wantOut: `"id": "{id}"`, wantErr: "original receipt"},
		{name: "send, receipt against another root", give: cat([]string{"send", doc, "--trust", other.RootPath()}, signer(g22), as(g22)), want: ExitInvalid,
			wantErr: "receipt does not verify"},
		{name: "send with a signature file", give: cat([]string{"send", doc2, "--signature", sig2}, as(g22)), want: ExitOK,
			wantOut: `"000.00.00.G12"`, capture: "id2"},
		{name: "send conflicting bytes", give: cat([]string{"send", altered}, signer(g22), as(g22)), want: ExitInvalid,
			wantErr: "packet.conflict: "},
		{name: "send unsigned", give: cat([]string{"send", doc}, as(g22)), want: ExitInvalid, wantErr: "sig.missing: "},
		{name: "send signed by another agency", give: cat([]string{"send", doc}, signer(h29), as(g22)), want: ExitInvalid,
			wantErr: "sig.signer_mismatch"},
		{name: "send with a bad token", give: cat([]string{"send", doc}, signer(g22), []string{"--hub", h.URL, "--token", "wrong"}), want: ExitInvalid,
			wantErr: "auth.required: "},
		{name: "send a large file, progress", give: cat([]string{"send", big}, signer(g22), as(g22)), want: ExitInvalid,
			wantErr: "100% of 11.0 MiB"},
		{name: "send to an unreachable hub", give: cat([]string{"send", doc, "--hub", "http://127.0.0.1:1", "--token", "x"}, signer(g22)), want: ExitUsage,
			wantErr: "connect"},

		{name: "inbox", give: cat([]string{"inbox", "--kind", "edoc"}, as(h29)), want: ExitOK, lines: 2, retry: true,
			check: func(t *testing.T, out string) {
				for _, it := range clientLines(t, out) {
					if it["id"] != vars["id"] && it["id"] != vars["id2"] || it["from"] != g22 || it["kind"] != "edoc" {
						t.Errorf("item %v", it)
					}
				}
			}},
		{name: "inbox one page", give: cat([]string{"inbox", "--kind", "edoc", "--limit", "1"}, as(h29)), want: ExitOK, lines: 1, wantErr: "--cursor "},
		{name: "inbox all pages", give: cat([]string{"inbox", "--all", "--limit", "1"}, as(h29)), want: ExitOK, lines: 2},
		{name: "inbox of the second recipient", give: cat([]string{"inbox"}, as(g12)), want: ExitOK, lines: 1, wantOut: `"id":"{id2}"`, retry: true},
		{name: "inbox with a bad token", give: []string{"inbox", "--hub", h.URL, "--token", "wrong"}, want: ExitInvalid, wantErr: "auth.required"},

		{name: "fetch to stdout", give: cat([]string{"fetch", "{id}"}, as(h29)), want: ExitOK,
			check: func(t *testing.T, out string) {
				if out != string(docBytes) {
					t.Errorf("fetched bytes differ (%d bytes, want %d)", len(out), len(docBytes))
				}
			}},
		{name: "fetch to a file", give: cat([]string{"fetch", "{id}", "-o", fetched}, as(h29)), want: ExitOK,
			check: func(t *testing.T, out string) {
				got, err := os.ReadFile(fetched)
				if err != nil || !bytes.Equal(got, docBytes) || out != "" {
					t.Errorf("fetched file: %v, identical %v, stdout %q", err, bytes.Equal(got, docBytes), out)
				}
				if ents, _ := os.ReadDir(filepath.Dir(fetched)); len(ents) != 1 {
					t.Errorf("left behind: %v", ents)
				}
			}},
		{name: "fetch by a stranger", give: cat([]string{"fetch", "{id}"}, as(g12)), want: ExitInvalid, wantErr: "packet.not_found: "}, // as an unknown id
		{name: "fetch an unknown packet", give: cat([]string{"fetch", strings.Repeat("0", 64)}, as(h29)), want: ExitInvalid, wantErr: "packet.not_found"},

		{name: "ack", give: cat([]string{"ack", "{id}", "--result", "done"}, as(h29)), want: ExitOK, wantOut: `{"id":"{id}","result":"done"}`},
		{name: "ack again", give: cat([]string{"ack", "{id}", "--result", "done"}, as(h29)), want: ExitInvalid, wantErr: "packet.not_found"},
		{name: "inbox after ack", give: cat([]string{"inbox", "--kind", "edoc"}, as(h29)), want: ExitOK, lines: 1, wantOut: `"id":"{id2}"`},

		{name: "status 03", give: cat([]string{"status", "{id}", "--code", "03", "--description", "Đã vào sổ", "--staff", "Lê Văn C", "--trust", h.CA.RootPath()}, signer(h29), as(h29)),
			want: ExitOK, wantOut: `"kind": "status"`, capture: "st"},
		{name: "status by a stranger", give: cat([]string{"status", "{id}", "--code", "03"}, signer(g12), as(g12)), want: ExitInvalid, wantErr: "packet.not_found"},
		{name: "status 13 by a recipient", give: cat([]string{"status", "{id2}", "--code", "13", "--to", g12}, signer(h29), as(h29)), want: ExitInvalid,
			wantErr: "only the document's sender"},
		{name: "status 13 by the sender", give: cat([]string{"status", "{id2}", "--code", "13", "--to", h29, "--description", "gửi nhầm"}, signer(g22), as(g22)),
			want: ExitOK, wantOut: `"from": "000.00.00.G22"`},
		{name: "status inbox of the sender", give: cat([]string{"inbox", "--kind", "status"}, as(g22)), want: ExitOK, lines: 1, retry: true,
			wantOut: `"id":"{st}","kind":"status","from":"000.00.00.H29"`},
		{name: "status inbox of the recipient", give: cat([]string{"inbox", "--kind", "status"}, as(h29)), want: ExitOK, lines: 1, retry: true,
			wantOut: `"from":"000.00.00.G22"`},

		{name: "timeline", give: cat([]string{"timeline", "{id}"}, as(g22)), want: ExitOK, retry: true,
			wantOut: `"state": "03"`,
			check: func(t *testing.T, out string) {
				var tl struct {
					ID         string `json:"id"`
					Recipients []struct {
						Events []struct{ Type, Code string }
					}
				}
				if err := json.Unmarshal([]byte(out), &tl); err != nil || tl.ID != vars["id"] || len(tl.Recipients) != 1 {
					t.Fatalf("timeline %v: %s", err, out)
				}
				var seen []string
				for _, e := range tl.Recipients[0].Events {
					seen = append(seen, e.Type+e.Code)
				}
				if strings.Join(seen, " ") != "accepted routed delivered fetched acked status03" {
					t.Errorf("events %v", seen)
				}
			}},
		{name: "timeline of a stranger", give: cat([]string{"timeline", "{id}"}, as(g12)), want: ExitInvalid, wantErr: "packet.not_found"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			subst := func(s string) string {
				for k, v := range vars {
					s = strings.ReplaceAll(s, "{"+k+"}", v)
				}
				return s
			}
			args := make([]string, len(tt.give))
			for i, a := range tt.give {
				args[i] = subst(a)
			}
			wantOut := subst(tt.wantOut)
			deadline := time.Now().Add(20 * time.Second)
			var code int
			var out, errOut string
			for {
				code, out, errOut = run(t, args...)
				held := code == tt.want && strings.Contains(out, wantOut) && (tt.lines == 0 || len(clientLines(t, out)) == tt.lines)
				if held || !tt.retry || time.Now().After(deadline) {
					break
				}
				time.Sleep(50 * time.Millisecond)
			}
			if code != tt.want || !strings.Contains(out, wantOut) || !strings.Contains(errOut, tt.wantErr) {
				t.Fatalf("exit %d, want %d\nstdout: %s\nstderr: %s\nwant stdout with %q, stderr with %q", code, tt.want, out, errOut, wantOut, tt.wantErr)
			}
			if tt.lines > 0 {
				if n := len(clientLines(t, out)); n != tt.lines {
					t.Errorf("%d lines, want %d:\n%s", n, tt.lines, out)
				}
			}
			if tt.capture != "" {
				var rc struct {
					ID      string `json:"id"`
					Receipt string `json:"receipt"`
				}
				if err := json.Unmarshal([]byte(out), &rc); err != nil || rc.ID == "" || rc.Receipt == "" {
					t.Fatalf("receipt: %v: %s", err, out)
				}
				vars[tt.capture] = rc.ID
			}
			if tt.check != nil {
				tt.check(t, out)
			}
		})
	}

	// --quiet: no progress. The defaults come from the environment.
	if code, _, errOut := run(t, cat([]string{"send", big, "--quiet"}, signer(g22), as(g22))...); code != ExitInvalid || strings.Contains(errOut, "%") {
		t.Errorf("send --quiet: exit %d, stderr %q", code, errOut)
	}
	t.Setenv("LIENTHONG_HUB", h.URL)
	t.Setenv("LIENTHONG_TOKEN", h.Agencies[g22].Token)
	if code, out, errOut := run(t, "timeline", vars["id"]); code != ExitOK || !strings.Contains(out, vars["id"]) {
		t.Errorf("timeline from the environment: exit %d\n%s%s", code, out, errOut)
	}
}

// Hubs that lie or fail.
func TestClientCommandsFakeHub(t *testing.T) {
	t.Setenv("LIENTHONG_HUB", "")
	t.Setenv("LIENTHONG_TOKEN", "")
	body := "<edXML>bytes</edXML>\n"
	liar := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Digest", "sha-256="+strings.Repeat("ab", 32))
		_, _ = w.Write([]byte(body))
	}))
	defer liar.Close()
	down := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/problem+json")
		w.WriteHeader(http.StatusServiceUnavailable)
		_, _ = w.Write([]byte(`{"status":503,"code":"hub.unavailable","detail":"the broker is down"}`))
	}))
	defer down.Close()
	dir := t.TempDir()
	out := filepath.Join(dir, "packet.xml")
	tests := []struct {
		name    string
		give    []string
		want    int
		wantErr string
	}{
		{"digest mismatch to a file", []string{"fetch", "x", "-o", out, "--hub", liar.URL, "--token", "t"}, ExitInvalid, "do not match the hub's digest"},
		{"digest mismatch to stdout", []string{"fetch", "x", "--hub", liar.URL, "--token", "t"}, ExitInvalid, "do not match the hub's digest"},
		{"hub unavailable", []string{"inbox", "--hub", down.URL, "--token", "t"}, ExitUsage, "hub.unavailable: the broker is down"},
		{"hub unavailable on ack", []string{"ack", "x", "--result", "fail", "--reason", "r", "--hub", down.URL, "--token", "t"}, ExitUsage, "hub.unavailable"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, _, errOut := run(t, tt.give...)
			if code != tt.want || !strings.Contains(errOut, tt.wantErr) {
				t.Errorf("exit %d, stderr %q; want %d with %q", code, errOut, tt.want, tt.wantErr)
			}
		})
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 0 {
		t.Errorf("a failed fetch left %v", ents)
	}
}

func TestClientUsage(t *testing.T) {
	t.Setenv("LIENTHONG_HUB", "")
	t.Setenv("LIENTHONG_TOKEN", "")
	doc := filepath.Join(fixtures, "edoc-new.xml")
	missing := filepath.Join(t.TempDir(), "missing.xml")
	hub := []string{"--hub", "http://127.0.0.1:1", "--token", "t"}
	tests := []struct {
		name string
		give []string
		want string // in stderr
	}{
		{"send without file", []string{"send"}, "Usage: lienthong send FILE"},
		{"send two files", append([]string{"send", doc, doc}, hub...), "Usage: lienthong send FILE"},
		{"send missing file", append([]string{"send", missing}, hub...), "missing.xml"},
		{"send a directory", append([]string{"send", fixtures}, hub...), "not a regular file"},
		{"send cert without key", append([]string{"send", doc, "--cert", "c.pem"}, hub...), "--cert and --key together"},
		{"send cert and signature", append([]string{"send", doc, "--cert", "c.pem", "--key", "k.pem", "--signature", "s.p7s"}, hub...), "not both"},
		{"send unreadable cert", append([]string{"send", doc, "--cert", missing, "--key", missing}, hub...), "--cert"},
		{"send missing signature file", append([]string{"send", doc, "--signature", missing}, hub...), "--signature"},
		{"send without token", []string{"send", doc, "--hub", "http://127.0.0.1:1"}, "no token"},
		{"send to a non-URL", []string{"send", doc, "--hub", "ftp://x", "--token", "t"}, "not an http(s) URL"},
		{"send unknown flag", []string{"send", doc, "--frobnicate"}, "flag provided but not defined"},
		{"send unreachable", append([]string{"send", doc}, hub...), "connect"},
		{"inbox bad kind", append([]string{"inbox", "--kind", "memo"}, hub...), "want edoc or status"},
		{"inbox bad limit", append([]string{"inbox", "--limit", "5000"}, hub...), "want 1 to 1000"},
		{"inbox argument", append([]string{"inbox", "x"}, hub...), "Usage: lienthong inbox"},
		{"inbox unreachable", append([]string{"inbox"}, hub...), "connect"},
		{"fetch without id", append([]string{"fetch"}, hub...), "Usage: lienthong fetch ID"},
		{"fetch unreachable", append([]string{"fetch", "x"}, hub...), "connect"},
		{"ack bad result", append([]string{"ack", "x", "--result", "maybe"}, hub...), "want done or fail"},
		{"ack unreachable", append([]string{"ack", "x", "--result", "done"}, hub...), "connect"},
		{"status bad code", append([]string{"status", "x", "--code", "99", "--cert", "c", "--key", "k"}, hub...), "want one of 01, 02"},
		{"status 13 without --to", append([]string{"status", "x", "--code", "13", "--cert", "c", "--key", "k"}, hub...), "needs --to"},
		{"status --to with 03", append([]string{"status", "x", "--code", "03", "--to", "000.00.00.H29", "--cert", "c", "--key", "k"}, hub...), "for 13 only"},
		{"status without cert", append([]string{"status", "x", "--code", "03"}, hub...), "--cert and --key are required"},
		{"status unreadable cert", append([]string{"status", "x", "--code", "03", "--cert", missing, "--key", missing}, hub...), "--cert"},
		{"timeline without id", append([]string{"timeline"}, hub...), "Usage: lienthong timeline ID"},
		{"timeline unreachable", append([]string{"timeline", "x"}, hub...), "connect"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, stdout, stderr := run(t, tt.give...)
			if code != ExitUsage || stdout != "" || !strings.Contains(stderr, tt.want) {
				t.Errorf("exit %d, stdout %q, stderr %q; want exit %d, no stdout, stderr with %q", code, stdout, stderr, ExitUsage, tt.want)
			}
		})
	}
}
