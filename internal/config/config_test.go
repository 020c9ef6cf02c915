package config_test

import (
	"crypto/tls"
	"log/slog"
	"path/filepath"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/lienthong/lienthong/internal/config"
	"github.com/lienthong/lienthong/internal/edxml"
	"github.com/lienthong/lienthong/internal/trust"
)

func TestDefault(t *testing.T) {
	c := config.Default()
	tests := []struct {
		name string
		give any
		want any
	}{
		{"hub.addr", c.Hub.Addr, "127.0.0.1:8080"},
		{"hub.dataDir", c.Hub.DataDir, "./data"},
		{"hub.readHeaderTimeout", c.Hub.ReadHeaderTimeout, 10 * time.Second},
		{"hub.readTimeout", c.Hub.ReadTimeout, 10 * time.Minute},
		{"hub.writeTimeout", c.Hub.WriteTimeout, 10 * time.Minute},
		{"hub.shutdownTimeout", c.Hub.ShutdownTimeout, 30 * time.Second},
		{"hub.maxBodyBytes", c.Hub.MaxBodyBytes, config.ByteSize(2 << 30)},
		{"hub.brokerWait", c.Hub.BrokerWait, 2 * time.Second},
		{"hub.minFreeSpace", c.Hub.MinFreeSpace, config.ByteSize(256 << 20)},
		{"tls.clientAuth", c.TLS.ClientAuth, config.ClientAuthNone},
		{"tls enabled", c.TLS.Enabled(), false},
		{"blob.kind", c.Blob.Kind, config.BlobFS},
		{"blob.fs.dir", c.Blob.FS.Dir, filepath.Join("data", "blobs")},
		{"blob.s3.partSize", c.Blob.S3.PartSize, config.ByteSize(16 << 20)},
		{"blob.s3.useTls", c.Blob.S3.UseTLS, true},
		{"bus.embedded", c.Bus.Embedded, true},
		{"bus.dataDir", c.Bus.DataDir, filepath.Join("data", "kafka")},
		{"bus.addr", c.Bus.Addr, "127.0.0.1:0"},
		{"bus.topicPrefix", c.Bus.TopicPrefix, "lienthong."},
		{"bus.partitions", c.Bus.Partitions, 6},
		{"bus.replicationFactor", c.Bus.ReplicationFactor, 1},
		{"bus.batchTimeout", c.Bus.BatchTimeout, 500 * time.Microsecond},
		{"trust.revocation", c.Trust.Revocation, trust.SoftFail},
		{"policy.v1", c.Policy.V1, config.SigRequire},
		{"policy.vdxp", c.Policy.VDXP, config.SigUnsignedOK},
		{"policy.allowLowercaseIds", c.Policy.AllowLowercaseIDs, false},
		{"limits", c.Limits, config.Limits{}},
		{"log.level", c.Log.Level, "info"},
		{"log.format", c.Log.Format, "text"},
		{"metrics.enabled", c.Metrics.Enabled, true},
		{"metrics.path", c.Metrics.Path, "/metrics"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if !reflect.DeepEqual(tt.give, tt.want) {
				t.Errorf("%s = %#v, want %#v", tt.name, tt.give, tt.want)
			}
		})
	}
}

func TestByteSize(t *testing.T) {
	tests := []struct {
		give    string
		want    config.ByteSize
		wantErr bool
	}{
		{give: "0", want: 0},
		{give: "1048576", want: config.MiB},
		{give: "16MiB", want: 16 * config.MiB},
		{give: "16 mib", want: 16 * config.MiB},
		{give: "1GiB", want: config.GiB},
		{give: "2KiB", want: 2 * config.KiB},
		{give: "1TiB", want: config.TiB},
		{give: "5MB", want: 5_000_000},
		{give: "1gb", want: 1_000_000_000},
		{give: "10B", want: 10},
		{give: "", wantErr: true},
		{give: "MiB", wantErr: true},
		{give: "1.5GiB", wantErr: true},
		{give: "-1", wantErr: true},
		{give: "16XB", wantErr: true},
		{give: "9999999999TiB", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.give, func(t *testing.T) {
			var got config.ByteSize
			err := got.UnmarshalText([]byte(tt.give))
			if (err != nil) != tt.wantErr || got != tt.want {
				t.Errorf("UnmarshalText(%q) = %d, %v; want %d, error %v", tt.give, got, err, tt.want, tt.wantErr)
			}
		})
	}
}

func TestByteSizeString(t *testing.T) {
	tests := []struct {
		give config.ByteSize
		want string
	}{
		{0, "0B"},
		{1000, "1000B"},
		{config.KiB, "1KiB"},
		{16 * config.MiB, "16MiB"},
		{config.GiB + 64*config.MiB, "1088MiB"},
		{3 * config.TiB, "3TiB"},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			if got := tt.give.String(); got != tt.want {
				t.Errorf("String() = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestEnvName(t *testing.T) {
	tests := []struct {
		give string
		want string
	}{
		{"blob.kind", "LIENTHONG_BLOB_KIND"},
		{"bus.brokers", "LIENTHONG_BUS_BROKERS"},
		{"hub.readHeaderTimeout", "LIENTHONG_HUB_READ_HEADER_TIMEOUT"},
		{"blob.s3.secretKey", "LIENTHONG_BLOB_S3_SECRET_KEY"},
		{"blob.s3.useTls", "LIENTHONG_BLOB_S3_USE_TLS"},
		{"trust.allowSha1", "LIENTHONG_TRUST_ALLOW_SHA1"},
		{"tls.clientCaFile", "LIENTHONG_TLS_CLIENT_CA_FILE"},
		{"policy.v1", "LIENTHONG_POLICY_V1"},
	}
	for _, tt := range tests {
		t.Run(tt.give, func(t *testing.T) {
			if got := config.EnvName(tt.give); got != tt.want {
				t.Errorf("EnvName(%q) = %q, want %q", tt.give, got, tt.want)
			}
		})
	}
}

func TestLimitsEdxml(t *testing.T) {
	give := config.Limits{
		MaxDepth: 1, MaxMarkupBytes: 2, MaxFieldBytes: 3, MaxElements: 4, MaxAttrs: 5, MaxTotalAttrs: 6,
		MaxRecipients: 7, MaxAttachments: 8, MaxAttachmentBytes: 9, MaxTotalBytes: 10, MaxZipEntries: 11,
		MaxZipBytes: 12, MaxZipRatio: 13,
	}
	want := edxml.Limits{
		MaxDepth: 1, MaxMarkupBytes: 2, MaxFieldBytes: 3, MaxElements: 4, MaxAttrs: 5, MaxTotalAttrs: 6,
		MaxRecipients: 7, MaxAttachments: 8, MaxAttachmentBytes: 9, MaxTotalBytes: 10, MaxZipEntries: 11,
		MaxZipBytes: 12, MaxZipRatio: 13,
	}
	if got := give.Edxml(); got != want {
		t.Errorf("Edxml() = %+v, want %+v", got, want)
	}
	if got := (config.Limits{}).Edxml(); got != (edxml.Limits{}) {
		t.Errorf("zero Limits.Edxml() = %+v, want zero (edxml defaults)", got)
	}
}

func TestClientAuthTLSType(t *testing.T) {
	tests := []struct {
		give config.ClientAuth
		want tls.ClientAuthType
	}{
		{config.ClientAuthNone, tls.NoClientCert},
		{config.ClientAuthOptional, tls.VerifyClientCertIfGiven},
		{config.ClientAuthRequire, tls.RequireAndVerifyClientCert},
	}
	for _, tt := range tests {
		t.Run(string(tt.give), func(t *testing.T) {
			if got := tt.give.TLSType(); got != tt.want {
				t.Errorf("TLSType() = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestLogSlogLevel(t *testing.T) {
	tests := []struct {
		give string
		want slog.Level
	}{
		{"debug", slog.LevelDebug},
		{"info", slog.LevelInfo},
		{"warn", slog.LevelWarn},
		{"error", slog.LevelError},
	}
	for _, tt := range tests {
		t.Run(tt.give, func(t *testing.T) {
			if got := (config.Log{Level: tt.give}).SlogLevel(); got != tt.want {
				t.Errorf("SlogLevel() = %v, want %v", got, tt.want)
			}
		})
	}
}

// TestLimitsMatchEdxml: every edxml limit is configurable, under its own
// name, and config has no limit edxml lacks (Edxml copies by name).
func TestLimitsMatchEdxml(t *testing.T) {
	names := func(v any) []string {
		var out []string
		typ := reflect.TypeOf(v)
		for i := range typ.NumField() {
			out = append(out, typ.Field(i).Name)
		}
		return out
	}
	if got, want := names(config.Limits{}), names(edxml.Limits{}); !slices.Equal(got, want) {
		t.Errorf("config.Limits fields %v, want edxml.Limits's %v", got, want)
	}
}
