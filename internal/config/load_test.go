package config_test

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/spf13/pflag"

	"github.com/lienthong/lienthong/internal/config"
)

func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestLoadDefaults(t *testing.T) {
	got, err := config.Load("", nil)
	if err != nil {
		t.Fatal(err)
	}
	if want := config.Default(); !reflect.DeepEqual(got, want) {
		t.Errorf("Load(\"\", nil) = %+v, want Default() %+v", got, want)
	}
}

func TestLoadPrecedence(t *testing.T) {
	tests := []struct {
		name string
		give struct{ file, env, flag string }
		want string
	}{
		{name: "default", want: "127.0.0.1:8080"},
		{name: "file", give: struct{ file, env, flag string }{file: "10.0.0.1:1"}, want: "10.0.0.1:1"},
		{name: "env over file", give: struct{ file, env, flag string }{file: "10.0.0.1:1", env: "10.0.0.2:2"}, want: "10.0.0.2:2"},
		{name: "flag over env", give: struct{ file, env, flag string }{file: "10.0.0.1:1", env: "10.0.0.2:2", flag: "10.0.0.3:3"}, want: "10.0.0.3:3"},
		{name: "flag over file", give: struct{ file, env, flag string }{file: "10.0.0.1:1", flag: "10.0.0.3:3"}, want: "10.0.0.3:3"},
		{name: "env alone", give: struct{ file, env, flag string }{env: "10.0.0.2:2"}, want: "10.0.0.2:2"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := writeFile(t, "c.yaml", "hub:\n  name: test\n")
			if tt.give.file != "" {
				path = writeFile(t, "c.yaml", "hub:\n  addr: "+tt.give.file+"\n")
			}
			if tt.give.env != "" {
				t.Setenv("LIENTHONG_HUB_ADDR", tt.give.env)
			}
			fs := pflag.NewFlagSet("serve", pflag.ContinueOnError)
			fs.String("addr", "127.0.0.1:9999", "listen address") // its default must not win
			if err := config.BindFlag(fs, "addr", "hub.addr"); err != nil {
				t.Fatal(err)
			}
			var args []string
			if tt.give.flag != "" {
				args = []string{"--addr", tt.give.flag}
			}
			if err := fs.Parse(args); err != nil {
				t.Fatal(err)
			}
			c, err := config.Load(path, fs)
			if err != nil {
				t.Fatal(err)
			}
			if c.Hub.Addr != tt.want {
				t.Errorf("hub.addr = %q, want %q", c.Hub.Addr, tt.want)
			}
		})
	}
}

func TestLoadEnv(t *testing.T) {
	t.Setenv("LIENTHONG_BUS_EMBEDDED", "false")
	t.Setenv("LIENTHONG_BUS_BROKERS", "kafka-1:9092, kafka-2:9092,kafka-3:9092")
	t.Setenv("LIENTHONG_BUS_REPLICATION_FACTOR", "3")
	t.Setenv("LIENTHONG_BUS_BATCH_TIMEOUT", "2ms")
	t.Setenv("LIENTHONG_HUB_READ_HEADER_TIMEOUT", "3s")
	t.Setenv("LIENTHONG_HUB_MAX_BODY_BYTES", "2GiB")
	t.Setenv("LIENTHONG_BLOB_KIND", "s3")
	t.Setenv("LIENTHONG_BLOB_S3_ENDPOINT", "minio:9000")
	t.Setenv("LIENTHONG_BLOB_S3_BUCKET", "packets")
	t.Setenv("LIENTHONG_BLOB_S3_ACCESS_KEY", "ak")
	t.Setenv("LIENTHONG_BLOB_S3_SECRET_KEY", "from-the-environment")
	t.Setenv("LIENTHONG_BLOB_S3_USE_TLS", "false")
	t.Setenv("LIENTHONG_TRUST_ALLOW_SHA1", "true")
	t.Setenv("LIENTHONG_LIMITS_MAX_ZIP_RATIO", "50")
	t.Setenv("LIENTHONG_POLICY_V1", "cms")
	t.Setenv("LIENTHONG_HUB_NAME", "") // empty is unset

	c, err := config.Load(writeFile(t, "c.yaml", "hub:\n  name: from-file\n"), nil)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		give any
		want any
	}{
		{"bus.embedded", c.Bus.Embedded, false},
		{"bus.brokers", c.Bus.Brokers, []string{"kafka-1:9092", "kafka-2:9092", "kafka-3:9092"}},
		{"bus.replicationFactor", c.Bus.ReplicationFactor, 3},
		{"bus.batchTimeout", c.Bus.BatchTimeout, 2 * time.Millisecond},
		{"hub.readHeaderTimeout", c.Hub.ReadHeaderTimeout, 3 * time.Second},
		{"hub.maxBodyBytes", c.Hub.MaxBodyBytes, 2 * config.GiB},
		{"blob.kind", c.Blob.Kind, config.BlobS3},
		{"blob.s3.secretKey", c.Blob.S3.SecretKey.Reveal(), "from-the-environment"},
		{"blob.s3.useTls", c.Blob.S3.UseTLS, false},
		{"trust.allowSha1", c.Trust.AllowSHA1, true},
		{"limits.maxZipRatio", c.Limits.MaxZipRatio, int64(50)},
		{"policy.v1", c.Policy.V1, config.SigCMS},
		{"hub.name", c.Hub.Name, "from-file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if !reflect.DeepEqual(tt.give, tt.want) {
				t.Errorf("%s = %#v, want %#v", tt.name, tt.give, tt.want)
			}
		})
	}
}

func TestLoadFlags(t *testing.T) {
	fs := pflag.NewFlagSet("serve", pflag.ContinueOnError)
	fs.String("data", "./data", "data directory")
	fs.StringSlice("bus.brokers", nil, "brokers")
	fs.Bool("bus.embedded", true, "embedded broker")
	fs.Duration("hub.read-timeout", time.Minute, "read timeout")
	fs.Int("bus.partitions", 6, "partitions")
	fs.String("check-config", "", "a flag that is not a setting")
	fs.String("hub.name", "flag-default", "set nowhere: the file wins")
	if err := config.BindFlag(fs, "data", "hub.dataDir"); err != nil {
		t.Fatal(err)
	}
	err := fs.Parse([]string{
		"--data", "/srv/lienthong", "--bus.brokers", "k1:9092,k2:9092", "--bus.embedded=false",
		"--hub.read-timeout", "90s", "--bus.partitions", "12", "--check-config", "x.yaml",
	})
	if err != nil {
		t.Fatal(err)
	}
	c, err := config.Load(writeFile(t, "c.yaml", "hub:\n  name: file\n"), fs)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		give any
		want any
	}{
		{"hub.dataDir", c.Hub.DataDir, "/srv/lienthong"},
		{"blob.fs.dir follows hub.dataDir", c.Blob.FS.Dir, filepath.Join("/srv/lienthong", "blobs")},
		{"bus.dataDir follows hub.dataDir", c.Bus.DataDir, filepath.Join("/srv/lienthong", "kafka")},
		{"bus.brokers", c.Bus.Brokers, []string{"k1:9092", "k2:9092"}},
		{"bus.embedded", c.Bus.Embedded, false},
		{"hub.readTimeout", c.Hub.ReadTimeout, 90 * time.Second},
		{"bus.partitions", c.Bus.Partitions, 12},
		{"hub.name", c.Hub.Name, "file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if !reflect.DeepEqual(tt.give, tt.want) {
				t.Errorf("%s = %#v, want %#v", tt.name, tt.give, tt.want)
			}
		})
	}
}

func TestBindFlagErrors(t *testing.T) {
	fs := pflag.NewFlagSet("serve", pflag.ContinueOnError)
	fs.String("data", "", "")
	if err := config.BindFlag(fs, "data", "hub.dataDri"); !errors.Is(err, config.ErrUnknownKey) {
		t.Errorf("BindFlag(unknown key) = %v, want ErrUnknownKey", err)
	}
	if err := config.BindFlag(fs, "nosuchflag", "hub.dataDir"); err == nil {
		t.Error("BindFlag(unknown flag) = nil, want an error")
	}
}

// The same settings in each file format.
func TestLoadFormats(t *testing.T) {
	tests := []struct {
		name string
		give string
	}{
		{"c.yaml", "hub:\n  organId: \"000.00.00.G01\"\n  readTimeout: 5m\nbus:\n  partitions: 3\n  brokers: [k1:9092]\n  embedded: false\nblob:\n  s3:\n    partSize: 32MiB\n"},
		{"c.yml", "hub: {organId: 000.00.00.G01, readTimeout: 5m}\nbus: {partitions: 3, brokers: ['k1:9092'], embedded: false}\nblob: {s3: {partSize: 33554432}}\n"},
		{"c.json", `{"hub": {"organId": "000.00.00.G01", "readTimeout": "5m"}, "bus": {"partitions": 3, "brokers": ["k1:9092"], "embedded": false}, "blob": {"s3": {"partSize": 33554432}}}`},
		{"c.toml", "[hub]\norganId = \"000.00.00.G01\"\nreadTimeout = \"5m\"\n[bus]\npartitions = 3\nbrokers = [\"k1:9092\"]\nembedded = false\n[blob.s3]\npartSize = \"32MiB\"\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := config.Load(writeFile(t, tt.name, tt.give), nil)
			if err != nil {
				t.Fatal(err)
			}
			got := []any{c.Hub.OrganID, c.Hub.ReadTimeout, c.Bus.Partitions, c.Bus.Brokers, c.Bus.Embedded, c.Blob.S3.PartSize}
			want := []any{"000.00.00.G01", 5 * time.Minute, 3, []string{"k1:9092"}, false, 32 * config.MiB}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("Load(%s) = %v, want %v", tt.name, got, want)
			}
		})
	}
}

func TestLoadAgencies(t *testing.T) {
	c, err := config.Load(writeFile(t, "c.yaml", `
agencies:
  - organId: "0101234567.001"
    name: Công ty ABC
    aliases: [000.00.00.G13]
    endpoint: https://dms.example.vn/hook
    tokens: ["sha256:`+strings.Repeat("ab", 32)+`", plain-token-0123456789]
    certSha256: ["`+fp1+`"]
    vdxpSystemId: abc-dms
    vdxpSecret: vdxp-secret-0123456789
    webhookSecret: webhook-secret-0123456789
`), nil)
	if err != nil {
		t.Fatal(err)
	}
	want := []config.Agency{{
		OrganID: "0101234567.001", Name: "Công ty ABC", Aliases: []string{"000.00.00.G13"},
		Endpoint:   "https://dms.example.vn/hook",
		Tokens:     []config.Secret{config.Secret("sha256:" + strings.Repeat("ab", 32)), "plain-token-0123456789"},
		CertSHA256: []string{fp1}, VDXPSystemID: "abc-dms", VDXPSecret: "vdxp-secret-0123456789",
		WebhookSecret: "webhook-secret-0123456789",
	}}
	if !reflect.DeepEqual(c.Agencies, want) {
		t.Errorf("agencies = %#v, want %#v", c.Agencies, want)
	}
}

func TestLoadUnknownKeys(t *testing.T) {
	tests := []struct {
		name string
		give string // file name, then content
		want []string
	}{
		{"section key", "c.yaml\nhub:\n  adr: 127.0.0.1:1\n", []string{"hub.adr"}},
		{"top level", "c.yaml\nhubb:\n  addr: 127.0.0.1:1\n", []string{"hubb"}},
		{"nested", "c.yaml\nblob:\n  s3:\n    secret: x\n", []string{"blob.s3.secret"}},
		{"agency entry", "c.yaml\nagencies:\n  - organId: 000.00.00.G22\n    tokn: [abc]\n", []string{"agencies[0].tokn"}},
		{"several", "c.yaml\nhub:\n  adr: x\nlog:\n  lvl: debug\n", []string{"hub.adr", "log.lvl"}},
		{"json", "c.json\n{\"metrics\": {\"enable\": true}}", []string{"metrics.enable"}},
		{"toml", "c.toml\n[bus]\nbroker = \"k:1\"\n", []string{"bus.broker"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			name, content, _ := strings.Cut(tt.give, "\n")
			_, err := config.Load(writeFile(t, name, content), nil)
			if !errors.Is(err, config.ErrUnknownKey) {
				t.Fatalf("Load() = %v, want ErrUnknownKey", err)
			}
			for _, k := range tt.want {
				if !strings.Contains(err.Error(), k+": unknown key") {
					t.Errorf("Load() = %q, want it to name %q", err, k)
				}
			}
		})
	}
}

func TestLoadErrors(t *testing.T) {
	tests := []struct {
		name     string
		give     string // file name, then content
		wantErr  error  // nil: only wantText is checked
		wantText string
	}{
		{"duration without unit", "c.yaml\nhub:\n  readTimeout: 600\n", nil, "hub.readTimeout: got the number 600"},
		{"bad duration", "c.yaml\nhub:\n  readTimeout: soon\n", nil, "hub.readTimeout: want a duration"},
		{"unquoted id", "c.yaml\nhub:\n  organId: 0101234567.001\n", nil, "hub.organId: got 1.01234567001e+08 where text is expected"},
		{"unquoted token", "c.yaml\nagencies:\n  - organId: 000.00.00.G22\n    tokens: [12345678901234567]\n", nil, "agencies[0].tokens[0]: got"},
		{"bad size", "c.yaml\nblob:\n  s3:\n    partSize: 16XB\n", nil, "blob.s3.partSize"},
		{"bad bool", "c.yaml\nbus:\n  embedded: sometimes\n", nil, "bus.embedded"},
		{"invalid", "c.yaml\nblob:\n  kind: s3\n  s3:\n    endpoint: m:9000\n    accessKey: a\n    secretKey: b\n", config.ErrRequired, "blob.s3.bucket: required when blob.kind is s3"},
		{"file type", "c.ini\n[hub]\n", config.ErrFileType, "c.ini"},
		{"malformed yaml", "c.yaml\nhub: [\n", nil, "c.yaml"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			name, content, _ := strings.Cut(tt.give, "\n")
			_, err := config.Load(writeFile(t, name, content), nil)
			if err == nil || !strings.Contains(err.Error(), tt.wantText) {
				t.Fatalf("Load() = %v, want an error containing %q", err, tt.wantText)
			}
			if tt.wantErr != nil && !errors.Is(err, tt.wantErr) {
				t.Errorf("Load() = %v, want errors.Is %v", err, tt.wantErr)
			}
		})
	}
}

func TestLoadMissingFile(t *testing.T) {
	_, err := config.Load(filepath.Join(t.TempDir(), "none.yaml"), nil)
	if !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Load(missing) = %v, want fs.ErrNotExist", err)
	}
}

func TestLoadChecksFiles(t *testing.T) {
	path := writeFile(t, "c.yaml", "trust:\n  roots: [/nonexistent/roots.pem]\n")
	if _, err := config.Load(path, nil); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Load() = %v, want fs.ErrNotExist", err)
	}
	if err := config.Check(path); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Check() = %v, want fs.ErrNotExist", err)
	}
	if err := (config.CheckOptions{}).Check(path); err != nil {
		t.Errorf("CheckOptions{}.Check() = %v, want nil", err)
	}
}

// Check with CheckFiles loads the directory file with the inline agencies.
func TestCheckDirectory(t *testing.T) {
	dir := writeFile(t, "agencies.yaml", "agencies:\n  - organId: 000.00.00.G22\n    name: VPCP\n")
	tests := []struct {
		name    string
		give    string
		wantErr bool
	}{
		{"disjoint", "  - organId: 000.00.00.H29\n", false},
		{"listed twice", "  - organId: 000.00.00.G22\n", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := writeFile(t, "c.yaml", "directory:\n  file: "+dir+"\nagencies:\n"+tt.give)
			if err := config.Check(path); (err != nil) != tt.wantErr {
				t.Errorf("Check() = %v, want error %v", err, tt.wantErr)
			}
		})
	}
}

func TestLoadDirectory(t *testing.T) {
	c := config.Default()
	c.Directory.File = writeFile(t, "agencies.json", `{"agencies": [{"organId": "000.00.00.G22", "name": "VPCP"}]}`)
	c.Agencies = []config.Agency{{OrganID: "000.00.12.H29", Name: "Sở", Endpoint: "https://dms.example.vn/hook", WebhookSecret: "webhook-secret-0123456789"}}
	d, err := c.LoadDirectory()
	if err != nil {
		t.Fatal(err)
	}
	if got := len(d.Agencies()); got != 2 {
		t.Errorf("directory has %d agencies, want 2", got)
	}
	a, ok := d.Lookup("000.00.12.H29")
	if !ok || a.Endpoint != "https://dms.example.vn/hook" {
		t.Errorf("Lookup(000.00.12.H29) = %+v, %v", a, ok)
	}
}
