package config_test

import (
	"os"
	"reflect"
	"regexp"
	"strings"
	"testing"

	"github.com/lienthong/lienthong/internal/config"
	"github.com/lienthong/lienthong/internal/config/configtest"
	"github.com/lienthong/lienthong/internal/edxml"
	"github.com/lienthong/lienthong/internal/trust"
)

// The production example names files under /etc/lienthong. It is checked
// twice: as is without file checks (CheckOptions{}), and with every
// /etc/lienthong path moved to a temporary directory where the files exist,
// with the full Check that lienthong serve --check-config runs.
const examplePath = "../../deploy/lienthong.example.yaml"

// exampleEnv is what the example expects from the environment: the hub's
// Kafka password, which it keeps out of the file.
func exampleEnv(t *testing.T) {
	t.Setenv("LIENTHONG_BUS_SASL_PASSWORD", "hub-kafka-password-from-env")
}

func readExample(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile(examplePath)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// exampleInTemp writes the example, after edit, with its /etc/lienthong
// files created under a temporary directory, and returns its path.
func exampleInTemp(t *testing.T, edit func(string) string) string {
	t.Helper()
	path, n := configtest.InTemp(t, edit(readExample(t)))
	if n < 10 {
		t.Fatalf("found %d /etc/lienthong paths in the example, want the TLS, trust and directory files", n)
	}
	return path
}

func TestExampleChecksWithoutFiles(t *testing.T) {
	exampleEnv(t)
	if err := (config.CheckOptions{}).Check(examplePath); err != nil {
		t.Fatalf("CheckOptions{}.Check(example) = %v", err)
	}
	// The files it names are not on this machine, which the full check sees.
	if _, err := os.Stat("/etc/lienthong/tls/hub.crt"); err == nil {
		t.Skip("/etc/lienthong exists here")
	}
	if err := config.Check(examplePath); err == nil {
		t.Error("Check(example) = nil, want missing-file errors")
	}
}

func TestExampleChecksWithFiles(t *testing.T) {
	exampleEnv(t)
	path := exampleInTemp(t, func(s string) string { return s })
	if err := config.Check(path); err != nil {
		t.Fatalf("Check(example) = %v", err)
	}
	c, err := config.Load(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		give any
		want any
	}{
		{"bus.embedded", c.Bus.Embedded, false},
		{"bus.brokers", c.Bus.Brokers, []string{"kafka-1:9094", "kafka-2:9094", "kafka-3:9094"}},
		{"bus.replicationFactor", c.Bus.ReplicationFactor, 3},
		{"blob.kind", c.Blob.Kind, config.BlobS3},
		{"tls enabled", c.TLS.Enabled(), true},
		{"trust.revocation", c.Trust.Revocation, trust.HardFail},
		{"agencies", len(c.Agencies), 2},
		{"hub.maxBodyBytes", c.Hub.MaxBodyBytes, config.Default().Hub.MaxBodyBytes},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if !reflect.DeepEqual(tt.give, tt.want) {
				t.Errorf("%s = %#v, want %#v", tt.name, tt.give, tt.want)
			}
		})
	}
	d, err := c.LoadDirectory()
	if err != nil {
		t.Fatal(err)
	}
	if a, exact, ok := d.Route("000.00.12.H29"); !ok || !exact || a.Name != "Sở Nội vụ Hà Nội" {
		t.Errorf("Route(000.00.12.H29) = %+v, %v, %v; want the directory file's entry", a, exact, ok)
	}
}

// The limits the example shows commented out are the edxml defaults.
func TestExampleLimitsAreDefaults(t *testing.T) {
	exampleEnv(t)
	path := exampleInTemp(t, func(s string) string {
		return regexp.MustCompile(`(?m)^  # (max\w+: )`).ReplaceAllString(s, "  $1")
	})
	c, err := config.Load(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := c.Limits.Edxml(); got != edxml.DefaultLimits {
		t.Errorf("example limits = %+v, want edxml.DefaultLimits %+v", got, edxml.DefaultLimits)
	}
}

// Every setting appears in the example, set or commented out.
func TestExampleComplete(t *testing.T) {
	text := readExample(t)
	var walk func(typ reflect.Type, prefix string)
	walk = func(typ reflect.Type, prefix string) {
		for f := range typ.Fields() {
			name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
			if !regexp.MustCompile(`(?m)^[ #-]*` + name + `:`).MatchString(text) {
				t.Errorf("the example lacks %s%s", prefix, name)
			}
			switch {
			case f.Type.Kind() == reflect.Struct:
				walk(f.Type, prefix+name+".")
			case f.Type.Kind() == reflect.Slice && f.Type.Elem().Kind() == reflect.Struct:
				walk(f.Type.Elem(), prefix+name+"[].")
			}
		}
	}
	walk(reflect.TypeFor[config.Config](), "")
}

// The example keeps the hub's Kafka password out of the file, as its
// comment asks: it comes from LIENTHONG_BUS_SASL_PASSWORD.
func TestExampleBusPasswordFromEnv(t *testing.T) {
	text := readExample(t)
	_, bus, _ := strings.Cut(text, "\nbus:\n")
	bus, _, _ = strings.Cut(bus, "\n\n")
	if regexp.MustCompile(`(?m)^\s+password:`).MatchString(bus) {
		t.Error("the example's bus section holds a password")
	}
}
