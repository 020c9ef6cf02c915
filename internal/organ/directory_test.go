package organ

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

const fp = "abcdef0123456789abcdef0123456789abcdef0123456789abcdef0123456789"

func testDirectory(t *testing.T) *Directory {
	t.Helper()
	d, err := NewDirectory([]Agency{
		{ID: "000.00.00.G22", Name: "Văn phòng Chính phủ"},
		{ID: "000.00.00.G12", Name: "Bộ Tài chính", Aliases: []ID{"000.00.00.G13"}},
		{ID: "000.00.03.G12", Name: "Tổng cục", Parent: "000.00.00.G13"},
		{ID: "000.00.00.H29", Name: "UBND tỉnh", Endpoint: "https://h29.example.vn/hook"},
		{ID: "G22.05", Name: "Cổng Dịch vụ công", Parent: "000.00.00.G22"},
		{ID: "28.22", Name: "Tổ chức QĐ 20", Endpoint: "hub:north"},
	})
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func TestLookup(t *testing.T) {
	d := testDirectory(t)
	tests := []struct {
		give     ID
		want     ID
		wantName string
		wantOK   bool
	}{
		{give: "000.00.00.G22", want: "000.00.00.G22", wantName: "Văn phòng Chính phủ", wantOK: true},
		{give: "000.00.00.G13", want: "000.00.00.G12", wantName: "Bộ Tài chính", wantOK: true},
		{give: "28.22", want: "28.22", wantName: "Tổ chức QĐ 20", wantOK: true},
		{give: "000.00.12.H29"},
		{give: ""},
	}
	for _, tt := range tests {
		a, ok := d.Lookup(tt.give)
		c, cok := d.Canonical(tt.give)
		if a.ID != tt.want || a.Name != tt.wantName || ok != tt.wantOK || c != tt.want || cok != tt.wantOK {
			t.Errorf("Lookup(%q) = %q %q %v, Canonical = %q %v; want %q %q %v",
				tt.give, a.ID, a.Name, ok, c, cok, tt.want, tt.wantName, tt.wantOK)
		}
	}
}

func TestRoute(t *testing.T) {
	d := testDirectory(t)
	tests := []struct {
		name      string
		give      ID
		want      ID
		wantExact bool
		wantOK    bool
	}{
		{name: "registered", give: "000.00.00.G22", want: "000.00.00.G22", wantExact: true, wantOK: true},
		{name: "alias", give: "000.00.00.G13", want: "000.00.00.G12", wantExact: true, wantOK: true},
		{name: "parent registered", give: "000.00.12.H29", want: "000.00.00.H29", wantOK: true},
		{name: "grandparent registered", give: "000.01.12.H29", want: "000.00.00.H29", wantOK: true},
		{name: "under an alias", give: "000.00.05.G13", want: "000.00.00.G12", wantOK: true},
		{name: "nearest wins", give: "001.00.03.G12", want: "000.00.03.G12", wantOK: true},
		{name: "QD20 ancestor", give: "28.22.H17", want: "28.22", wantOK: true},
		{name: "QD20 grandparent", give: "28.22.H17.9", want: "28.22", wantOK: true},
		{name: "QD20 under 2016", give: "000.00.00.G22.7.1", want: "000.00.00.G22", wantOK: true},
		{name: "QD20 under explicit child", give: "G22.05.1", want: "G22.05", wantOK: true},
		{name: "unknown level 1", give: "000.00.00.H30"},
		{name: "unknown subtree", give: "000.00.12.H30"},
		{name: "unknown QD20", give: "99.88.77"},
		{name: "prefix is not an ancestor", give: "28.221.X"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, exact, ok := d.Route(tt.give)
			if a.ID != tt.want || exact != tt.wantExact || ok != tt.wantOK {
				t.Errorf("Route(%q) = %q, %v, %v; want %q, %v, %v", tt.give, a.ID, exact, ok, tt.want, tt.wantExact, tt.wantOK)
			}
		})
	}
}

func TestParentOf(t *testing.T) {
	d := testDirectory(t)
	tests := []struct {
		name   string
		give   ID
		want   ID
		wantOK bool
	}{
		{name: "explicit parent", give: "G22.05", want: "000.00.00.G22", wantOK: true},
		{name: "explicit parent is an alias", give: "000.00.03.G12", want: "000.00.00.G12", wantOK: true},
		{name: "computed, registered", give: "000.00.12.H29", want: "000.00.00.H29", wantOK: true},
		{name: "computed, unregistered", give: "000.01.12.H29", want: "000.00.12.H29", wantOK: true},
		{name: "computed parent is an alias", give: "000.00.05.G13", want: "000.00.00.G12", wantOK: true},
		{name: "QD20 computed", give: "28.22.H17", want: "28.22", wantOK: true},
		{name: "alias has its agency's parent", give: "000.00.00.G13"},
		{name: "level 1", give: "000.00.00.G22"},
		{name: "two-group QD20", give: "28.22"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := d.ParentOf(tt.give)
			if got != tt.want || ok != tt.wantOK {
				t.Errorf("ParentOf(%q) = %q, %v; want %q, %v", tt.give, got, ok, tt.want, tt.wantOK)
			}
		})
	}
}

func TestAgenciesSortedAndNormalized(t *testing.T) {
	d, err := NewDirectory([]Agency{
		{ID: " 28.22 ", Name: "b", CertSHA256: []string{strings.ToUpper(fp)}},
		{ID: "000.00.00.H29", Name: "a", Aliases: []ID{" 000.00.00.H28"}, Parent: "000.00.00.G22\n"},
	})
	if err != nil {
		t.Fatal(err)
	}
	want := []Agency{
		{ID: "000.00.00.H29", Name: "a", Aliases: []ID{"000.00.00.H28"}, Parent: "000.00.00.G22", Endpoint: EndpointPull, CertSHA256: []string{}},
		{ID: "28.22", Name: "b", Aliases: []ID{}, Endpoint: EndpointPull, CertSHA256: []string{fp}},
	}
	if got := d.Agencies(); !reflect.DeepEqual(got, want) {
		t.Errorf("Agencies() = %+v\nwant %+v", got, want)
	}
}

func TestDirectoryIsImmutable(t *testing.T) {
	d := testDirectory(t)
	a, _ := d.Lookup("000.00.00.G12")
	a.Aliases[0] = "000.00.00.G99"
	all := d.Agencies()
	all[0].Aliases[0] = "000.00.00.G98"
	got, ok := d.Canonical("000.00.00.G13")
	_, leaked := d.Lookup("000.00.00.G99")
	again, _ := d.Lookup("000.00.00.G12")
	if got != "000.00.00.G12" || !ok || leaked || again.Aliases[0] != "000.00.00.G13" {
		t.Errorf("directory changed through a returned Agency: %+v", again)
	}
}

func TestNewDirectoryErrors(t *testing.T) {
	tests := []struct {
		name    string
		give    []Agency
		wantErr error  // nil: any error
		reason  string // substring of the error message
	}{
		{
			name:    "duplicate id",
			give:    []Agency{{ID: "000.00.00.G22"}, {ID: "000.00.00.G22"}},
			wantErr: ErrDuplicate, reason: "000.00.00.G22 is agency 000.00.00.G22 and agency 000.00.00.G22",
		},
		{
			name:    "duplicate after trimming",
			give:    []Agency{{ID: "000.00.00.G22"}, {ID: " 000.00.00.G22\t"}},
			wantErr: ErrDuplicate,
		},
		{
			name:    "alias is another id",
			give:    []Agency{{ID: "000.00.00.G12", Aliases: []ID{"000.00.00.G22"}}, {ID: "000.00.00.G22"}},
			wantErr: ErrDuplicate, reason: "alias of 000.00.00.G12",
		},
		{
			name:    "alias of two agencies",
			give:    []Agency{{ID: "000.00.00.G12", Aliases: []ID{"000.00.00.G13"}}, {ID: "000.00.00.G10", Aliases: []ID{"000.00.00.G13"}}},
			wantErr: ErrDuplicate, reason: "000.00.00.G13",
		},
		{
			name:    "alias repeated",
			give:    []Agency{{ID: "000.00.00.G12", Aliases: []ID{"000.00.00.G13", "000.00.00.G13"}}},
			wantErr: ErrDuplicate,
		},
		{
			name:    "alias is own id",
			give:    []Agency{{ID: "000.00.00.G12", Aliases: []ID{"000.00.00.G12"}}},
			wantErr: ErrDuplicate,
		},
		{name: "bad id", give: []Agency{{ID: "Bộ Tài chính"}}, wantErr: ErrInvalid, reason: "agency 0"},
		{name: "missing id", give: []Agency{{Name: "Bộ Tài chính"}}, wantErr: ErrEmpty, reason: "organId"},
		{name: "lowercase id", give: []Agency{{ID: "vxp.saas.03"}}, wantErr: ErrInvalid, reason: "lowercase"},
		{name: "bad alias", give: []Agency{{ID: "000.00.00.G12", Aliases: []ID{"G13"}}}, wantErr: ErrInvalid, reason: "alias"},
		{name: "bad parent", give: []Agency{{ID: "000.00.00.G12", Parent: "null"}}, wantErr: ErrInvalid, reason: "parent"},
		{name: "all entries reported", give: []Agency{{ID: "A..B"}, {ID: "C..D"}}, wantErr: ErrInvalid, reason: "agency 1"},
		{
			name:    "self parent",
			give:    []Agency{{ID: "G22.05", Parent: "G22.05"}},
			wantErr: ErrCycle, reason: "G22.05 → G22.05",
		},
		{
			name:    "two-agency cycle",
			give:    []Agency{{ID: "A.1", Parent: "B.1"}, {ID: "B.1", Parent: "A.1"}},
			wantErr: ErrCycle, reason: "A.1 → B.1 → A.1",
		},
		{
			name:    "cycle through an alias",
			give:    []Agency{{ID: "A.1", Parent: "X.1"}, {ID: "B.1", Aliases: []ID{"X.1"}, Parent: "A.1"}},
			wantErr: ErrCycle,
		},
		{
			name: "cycle through computed parents",
			give: []Agency{
				{ID: "G22.05", Parent: "000.00.01.H29"},
				{ID: "000.00.00.H29", Parent: "G22.05"},
			},
			wantErr: ErrCycle, reason: "000.00.00.H29 → G22.05 → 000.00.01.H29 → 000.00.00.H29",
		},
		{name: "http webhook", give: []Agency{{ID: "A.1", Endpoint: "http://dms.example.vn/hook"}}, reason: "https URL"},
		{name: "unknown endpoint", give: []Agency{{ID: "A.1", Endpoint: "push"}}, reason: "endpoint"},
		{name: "short fingerprint", give: []Agency{{ID: "A.1", CertSHA256: []string{"abcd"}}}, reason: "64 hex digits"},
		{name: "fingerprint twice", give: []Agency{{ID: "A.1", CertSHA256: []string{fp, strings.ToUpper(fp)}}}, reason: "listed twice"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, err := NewDirectory(tt.give)
			if d != nil || err == nil || !errors.Is(err, tt.wantErr) && tt.wantErr != nil || !strings.Contains(err.Error(), tt.reason) {
				t.Errorf("NewDirectory() = %v, %v; want %v (%q)", d, err, tt.wantErr, tt.reason)
			}
		})
	}
}

func TestNewDirectoryLowercasePolicy(t *testing.T) {
	d, err := lower.NewDirectory([]Agency{{ID: "vxp.saas", Name: "test"}, {ID: "vxp.saas.03", Name: "test 3"}})
	if err != nil {
		t.Fatal(err)
	}
	if a, exact, ok := d.Route("vxp.saas.04"); a.ID != "vxp.saas" || exact || !ok {
		t.Errorf("Route(vxp.saas.04) = %q, %v, %v", a.ID, exact, ok)
	}
}

func TestCheckEndpoint(t *testing.T) {
	tests := []struct {
		give    string
		want    string
		wantErr bool
	}{
		{give: "", want: EndpointPull},
		{give: "pull", want: EndpointPull},
		{give: "hub:north", want: "hub:north"},
		{give: "https://dms.example.vn/hook?x=1", want: "https://dms.example.vn/hook?x=1"},
		{give: "http://127.0.0.1:8080/hook", want: "http://127.0.0.1:8080/hook"},
		{give: "http://localhost/hook", want: "http://localhost/hook"},
		{give: "http://[::1]:9/hook", want: "http://[::1]:9/hook"},
		{give: "http://dms.example.vn/hook", wantErr: true},
		{give: "http://127.0.0.1.example.vn/hook", wantErr: true},
		{give: "https://", wantErr: true},
		{give: "https:///path", wantErr: true},
		{give: "https://user:secret@dms.example.vn/hook", wantErr: true},
		{give: "ftp://dms.example.vn/", wantErr: true},
		{give: "hub:", wantErr: true},
		{give: "hub:a b", wantErr: true},
		{give: "Pull", wantErr: true},
		{give: "dms.example.vn/hook", wantErr: true},
		{give: "https://dms.example.vn/%zz", wantErr: true},
	}
	for _, tt := range tests {
		got, err := checkEndpoint(tt.give)
		if got != tt.want || (err != nil) != tt.wantErr {
			t.Errorf("checkEndpoint(%q) = %q, %v; want %q, error %v", tt.give, got, err, tt.want, tt.wantErr)
		}
	}
}

func TestEndpointErrorHidesPassword(t *testing.T) {
	_, err := checkEndpoint("https://user:secret@dms.example.vn/hook")
	if err == nil || strings.Contains(err.Error(), "secret") {
		t.Errorf("error = %v", err)
	}
}

func TestLoadDirectory(t *testing.T) {
	want := []Agency{
		{ID: "000.00.00.G12", Name: "Bộ Tài chính", Aliases: []ID{"000.00.00.G13"},
			Endpoint: "https://dms.example.vn/lienthong/hook", CertSHA256: []string{fp}},
		{ID: "000.00.00.G22", Name: "Văn phòng Chính phủ", Aliases: []ID{}, Endpoint: EndpointPull, CertSHA256: []string{}},
		{ID: "0101234567.001", Name: "Công ty ABC, chi nhánh 1", Aliases: []ID{}, Endpoint: "hub:north", CertSHA256: []string{}},
		{ID: "G22.05", Name: "Cổng Dịch vụ công quốc gia", Parent: "000.00.00.G22", Aliases: []ID{}, Endpoint: EndpointPull, CertSHA256: []string{}},
	}
	yml := filepath.Join(t.TempDir(), "directory.YML")
	writeFile(t, yml, readFile(t, "testdata/directory.yaml"))
	tests := []struct {
		give string
		want []Agency
	}{
		{give: "testdata/directory.json", want: want},
		{give: "testdata/directory.yaml", want: want},
		{give: yml, want: want},
	}
	for _, tt := range tests {
		t.Run(filepath.Base(tt.give), func(t *testing.T) {
			d, err := LoadDirectory(tt.give)
			if err != nil {
				t.Fatal(err)
			}
			if got := d.Agencies(); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Agencies() =\n%+v\nwant\n%+v", got, tt.want)
			}
		})
	}
}

func TestLoadDirectoryErrors(t *testing.T) {
	dir := t.TempDir()
	files := map[string]string{
		"directory.toml":  `agencies = []`,
		"empty.json":      ``,
		"empty.yaml":      ``,
		"trailing.json":   `{"agencies": []} {"agencies": []}`,
		"two-docs.yaml":   "agencies: []\n---\nagencies: []\n",
		"not-a-list.json": `{"agencies": {"organId": "000.00.00.G22"}}`,
		"number-id.json":  `{"agencies": [{"organId": 28.22}]}`,
		"bad-id.yaml":     "agencies:\n  - organId: null\n",
		"dup.yaml":        "agencies:\n  - organId: 28.22\n  - organId: \"28.22\"\n",
	}
	for name, body := range files {
		writeFile(t, filepath.Join(dir, name), body)
	}
	tests := []struct {
		give    string
		wantErr error
		reason  string
	}{
		{give: "testdata/unknown_field.json", reason: `unknown field "endpont"`},
		{give: "testdata/unknown_field.yaml", reason: "field endpont not found"},
		{give: "testdata/missing.json", wantErr: os.ErrNotExist},
		{give: filepath.Join(dir, "directory.toml"), reason: `unknown extension ".toml"`},
		{give: filepath.Join(dir, "empty.json"), reason: "empty file"},
		{give: filepath.Join(dir, "empty.yaml"), reason: "empty file"},
		{give: filepath.Join(dir, "trailing.json"), reason: "data after"},
		{give: filepath.Join(dir, "two-docs.yaml"), reason: "more than one YAML document"},
		{give: filepath.Join(dir, "not-a-list.json"), reason: "cannot unmarshal"},
		{give: filepath.Join(dir, "number-id.json"), reason: "cannot unmarshal number"},
		{give: filepath.Join(dir, "bad-id.yaml"), wantErr: ErrEmpty},
		{give: filepath.Join(dir, "dup.yaml"), wantErr: ErrDuplicate},
	}
	for _, tt := range tests {
		t.Run(filepath.Base(tt.give), func(t *testing.T) {
			d, err := LoadDirectory(tt.give)
			if d != nil || err == nil || !errors.Is(err, tt.wantErr) && tt.wantErr != nil || !strings.Contains(err.Error(), tt.reason) {
				t.Errorf("LoadDirectory(%s) = %v, %v; want %v (%q)", tt.give, d, err, tt.wantErr, tt.reason)
			}
		})
	}
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func writeFile(t *testing.T, path, body string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
}

// The sentinels must stay distinct, or callers mapping them to codes would
// confuse edxml.missing_field with edxml.bad_organ_id.
func TestSentinelsDistinct(t *testing.T) {
	errs := []error{ErrEmpty, ErrInvalid, ErrDuplicate, ErrCycle}
	for i, a := range errs {
		for j, b := range errs {
			if (i == j) != errors.Is(a, b) {
				t.Errorf("errors.Is(%v, %v) = %v", a, b, errors.Is(a, b))
			}
		}
	}
}

func TestIsWebhook(t *testing.T) {
	if !IsWebhook("https://x/y") || !IsWebhook("http://127.0.0.1/h") || IsWebhook("pull") || IsWebhook("hub:north") {
		t.Error("IsWebhook")
	}
	for host, want := range map[string]bool{"localhost": true, "127.0.0.1": true, "::1": true, "10.0.0.1": false, "example.vn": false} {
		if got := IsLoopback(host); got != want {
			t.Errorf("IsLoopback(%q) = %v", host, got)
		}
	}
}

// Holders of a *Directory see a Replace at once; a reader never sees a
// mix of two versions.
func TestDirectoryReplace(t *testing.T) {
	live, err := NewDirectory([]Agency{{ID: "000.00.00.G22"}})
	if err != nil {
		t.Fatal(err)
	}
	next, err := NewDirectory([]Agency{{ID: "000.00.00.G22"}, {ID: "000.00.00.H29", Aliases: []ID{"000.00.00.H30"}}})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for range 1000 {
			if a, exact, ok := live.Route("000.00.00.H30"); ok && (!exact || a.ID != "000.00.00.H29") {
				t.Errorf("a torn read: %+v %v", a, exact)
				return
			}
		}
	}()
	live.Replace(next)
	<-done
	if c, ok := live.Canonical("000.00.00.H30"); !ok || c != "000.00.00.H29" {
		t.Errorf("after Replace: %q %v", c, ok)
	}
	if n := len(live.Agencies()); n != 2 {
		t.Errorf("after Replace: %d agencies", n)
	}
}
