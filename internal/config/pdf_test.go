package config_test

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lienthong/lienthong/internal/config"
)

func TestValidatePDF(t *testing.T) {
	tests := []struct {
		name     string
		give     func(c *config.Config)
		wantPath string
		wantErr  error
	}{
		{"channel policy", func(c *config.Config) { c.PDF.Policy.V1 = "strict" }, "pdf.policy.v1", config.ErrUnknownValue},
		{"vdxp policy", func(c *config.Config) { c.PDF.Policy.VDXP = "" }, "pdf.policy.vdxp", config.ErrUnknownValue},
		{"organ without the check", func(c *config.Config) { c.PDF.Verify, c.PDF.Policy.VDXP = false, "organ" }, "pdf.policy", config.ErrConflict},
		{"memory", func(c *config.Config) { c.PDF.MemoryLimit = config.MiB }, "pdf.memoryLimit", config.ErrOutOfRange},
		{"deadline", func(c *config.Config) { c.PDF.Deadline = 0 }, "pdf.deadline", config.ErrOutOfRange},
		{"tsa roots", func(c *config.Config) { c.PDF.TSARoots = []string{"/nonexistent/tsa.pem"} }, "pdf.tsaRoots[0]", fs.ErrNotExist},
		{"agency policy", func(c *config.Config) {
			c.Agencies = []config.Agency{{OrganID: "000.00.00.G22", Name: "VPCP", PDFPolicy: "seal"}}
		}, "agencies[0].pdfPolicy", config.ErrUnknownValue},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := config.Default()
			tt.give(c)
			err := c.Validate()
			if got := errs(err); len(got) != 1 {
				t.Fatalf("Validate() = %d errors, want 1:\n%v", len(got), err)
			}
			if !errors.Is(err, tt.wantErr) || !strings.HasPrefix(err.Error(), tt.wantPath+": ") {
				t.Errorf("Validate() = %v, want %s: %v", err, tt.wantPath, tt.wantErr)
			}
		})
	}
}

// pdfium's compiled copy goes to the user's cache directory, unless it
// cannot be written there (a container's read-only root): then to the
// data directory. A configured directory wins.
func TestPDFCacheDir(t *testing.T) {
	data := t.TempDir()
	cache := t.TempDir()
	t.Setenv("XDG_CACHE_HOME", cache)
	if got := cacheDirOf(t, config.Default().PDF, data); got != filepath.Join(cache, "lienthong", "pdfium") {
		t.Errorf("writable cache home: %s", got)
	}
	file := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("XDG_CACHE_HOME", filepath.Join(file, "below")) // cannot be made, even by root
	if got := cacheDirOf(t, config.Default().PDF, data); got != filepath.Join(data, "cache", "pdfium") {
		t.Errorf("unwritable cache home: %s", got)
	}
	if got := cacheDirOf(t, config.Default().PDF, ""); got != "" {
		t.Errorf("unwritable cache home, no data directory: %s, want none", got)
	}
	c := config.Default()
	c.PDF.CacheDir = "/srv/pdfium"
	if got := cacheDirOf(t, c.PDF, data); got != "/srv/pdfium" {
		t.Errorf("configured: %s", got)
	}
}

func cacheDirOf(t *testing.T, c config.PDF, dataDir string) string {
	t.Helper()
	o, err := c.Engine(dataDir)
	if err != nil {
		t.Fatal(err)
	}
	return o.CacheDir
}
