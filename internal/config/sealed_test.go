package config_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/lienthong/lienthong/internal/config"
)

func TestSealedSecrets(t *testing.T) {
	t.Setenv(config.SecretsKeyEnv, strings.Repeat("ab", 32))
	sealed, err := config.Seal("vdxp-secret-0123456789")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(sealed, config.SealedPrefix) || strings.Contains(sealed, "vdxp-secret") {
		t.Fatalf("sealed = %q", sealed)
	}
	yaml := `agencies:
  - organId: "000.00.00.G22"
    name: VPCP
    vdxpSystemId: vpcp-dms
    vdxpSecret: "` + sealed + `"
`
	c, err := config.Load(writeFile(t, "c.yaml", yaml), nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := c.Agencies[0].VDXPSecret.Reveal(); got != "vdxp-secret-0123456789" {
		t.Errorf("opened %q", got)
	}

	tests := []struct {
		name string
		key  string
		give string
	}{
		{"another key", strings.Repeat("cd", 32), sealed},
		{"no key", "", sealed},
		{"altered", strings.Repeat("ab", 32), sealed[:len(sealed)-4] + "AAA="},
		{"not base64", strings.Repeat("ab", 32), config.SealedPrefix + "%%%"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv(config.SecretsKeyEnv, tt.key)
			_, err := config.Load(writeFile(t, "c.yaml", strings.Replace(yaml, sealed, tt.give, 1)), nil)
			if !errors.Is(err, config.ErrSealed) || !strings.Contains(err.Error(), "agencies[0].vdxpSecret") {
				t.Errorf("err = %v", err)
			}
		})
	}
}
