package cli

import (
	"os"
	"runtime/debug"
	"testing"
)

func TestServerGC(t *testing.T) {
	tests := []struct {
		name string
		env  string // GOGC; "" leaves it unset
		want int
	}{
		{"default", "", serverGCPercent},
		{"empty GOGC is unset", "empty", serverGCPercent},
		{"operator's GOGC wins", "150", 100},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.env == "empty" {
				t.Setenv("GOGC", "")
			} else if tt.env != "" {
				t.Setenv("GOGC", tt.env)
			} else {
				t.Setenv("GOGC", "") // restored after the test
				if err := os.Unsetenv("GOGC"); err != nil {
					t.Fatal(err)
				}
			}
			old := debug.SetGCPercent(100)
			t.Cleanup(func() { debug.SetGCPercent(old) })
			serverGC()
			if got := debug.SetGCPercent(100); got != tt.want {
				t.Fatalf("GC percent %d, want %d", got, tt.want)
			}
		})
	}
}
