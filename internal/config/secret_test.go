package config_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/lienthong/lienthong/internal/config"
)

const secretValue = "hunter2-the-real-secret"

func TestSecretRedaction(t *testing.T) {
	s := config.Secret(secretValue)
	s3 := config.S3{Bucket: "b", SecretKey: s}
	agency := config.Agency{OrganID: "000.00.00.G22", Tokens: []config.Secret{s}, VDXPSecret: s}
	logText := func(args ...any) string {
		var b bytes.Buffer
		slog.New(slog.NewTextHandler(&b, nil)).Info("m", args...)
		return b.String()
	}
	logJSON := func(args ...any) string {
		var b bytes.Buffer
		slog.New(slog.NewJSONHandler(&b, nil)).Info("m", args...)
		return b.String()
	}
	marshal := func(v any) string {
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	marshalYAML := func(v any) string {
		b, err := yaml.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	tests := []struct {
		name string
		give string
	}{
		{"%v", fmt.Sprintf("%v", s)},
		{"%+v", fmt.Sprintf("%+v", s)},
		{"%#v", fmt.Sprintf("%#v", s)},
		{"%s", fmt.Sprintf("%s", s)},
		{"%q", fmt.Sprintf("%q", s)},
		{"%x", fmt.Sprintf("%x", s)},
		{"%d", fmt.Sprintf("%d", s)},
		{"Sprint", fmt.Sprint(s)},
		{"String", s.String()},
		{"struct %v", fmt.Sprintf("%v", s3)},
		{"struct %+v", fmt.Sprintf("%+v", s3)},
		{"struct %#v", fmt.Sprintf("%#v", s3)},
		{"pointer %+v", fmt.Sprintf("%+v", &agency)},
		{"slice %v", fmt.Sprintf("%v", agency.Tokens)},
		{"config %+v", fmt.Sprintf("%+v", config.Config{Blob: config.Blob{S3: s3}, Agencies: []config.Agency{agency}})},
		{"slog text", logText("secret", s)},
		{"slog text struct", logText("s3", s3)},
		{"slog text any", logText(slog.Any("agency", agency))},
		{"slog json", logJSON("secret", s)},
		{"slog json struct", logJSON("s3", s3)},
		{"slog json agency", logJSON("agency", agency)},
		{"json", marshal(s)},
		{"json struct", marshal(s3)},
		{"json config", marshal(config.Config{Blob: config.Blob{S3: s3}, Agencies: []config.Agency{agency}})},
		{"yaml", marshalYAML(agency)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if strings.Contains(tt.give, secretValue) || !strings.Contains(tt.give, "[redacted]") {
				t.Errorf("got %q, want [redacted] and not the secret", tt.give)
			}
		})
	}
	if s.Reveal() != secretValue {
		t.Errorf("Reveal() = %q, want %q", s.Reveal(), secretValue)
	}
}

func TestMatchToken(t *testing.T) {
	const tok = "d6f1c0a8-token-of-agency"
	tests := []struct {
		name string
		give []config.Secret
		tok  string
		want bool
	}{
		{"plain", []config.Secret{tok}, tok, true},
		{"hashed", []config.Secret{config.Secret(config.HashToken(tok))}, tok, true},
		{"hashed upper case", []config.Secret{config.Secret(strings.ToUpper(config.HashToken(tok)))}, tok, true},
		{"second of several", []config.Secret{"other-token-0123456789", config.Secret(config.HashToken(tok))}, tok, true},
		{"wrong plain", []config.Secret{tok}, tok + "x", false},
		{"wrong hashed", []config.Secret{config.Secret(config.HashToken(tok))}, tok[1:], false},
		{"hash given as token", []config.Secret{config.Secret(config.HashToken(tok))}, config.HashToken(tok), false},
		{"prefix of plain", []config.Secret{tok}, tok[:5], false},
		{"empty token", []config.Secret{tok}, "", false},
		{"empty stored", []config.Secret{""}, "", false},
		{"malformed stored hash", []config.Secret{"sha256:zz"}, "sha256:zz", false},
		{"no tokens", nil, tok, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := config.Agency{OrganID: "000.00.00.G22", Tokens: tt.give}
			if got := a.MatchToken(tt.tok); got != tt.want {
				t.Errorf("MatchToken(%q) = %v, want %v", tt.tok, got, tt.want)
			}
		})
	}
}

func TestHashToken(t *testing.T) {
	// echo -n abc | sha256sum
	const want = "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
	if got := config.HashToken("abc"); got != want {
		t.Errorf("HashToken(abc) = %q, want %q", got, want)
	}
}
