package cli

import (
	"bytes"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
)

// lockedBuffer is a log sink the hub writes to while the test reads it.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

var metricsAddrLog = regexp.MustCompile(`msg="metrics serving" addr=(\S+)`)

// With metrics.addr the public listener answers neither /metrics nor pprof;
// the metrics listener serves /metrics, and pprof only with metrics.pprof.
func TestServeMetricsListener(t *testing.T) {
	tests := []struct {
		name                string
		give                string // the metrics section
		wantPublicMetrics   int
		wantPrivateMetrics  int // 0: no metrics listener
		wantPrivatePprof    int
		wantPublicPprofCode int
	}{
		{"public", "metrics:\n  enabled: true\n", 200, 0, 0, 404},
		{"separate", "metrics:\n  enabled: true\n  addr: " + anyAddr + "\n" +
			"console:\n  sessionKey: 0123456789abcdef0123456789abcdef\n", 404, 200, 404, 404},
		{"separate with pprof", "metrics:\n  enabled: true\n  addr: " + anyAddr + "\n  pprof: true\n", 404, 200, 200, 404},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			ca, _ := testCA(t, dir)
			yaml := "hub:\n  organId: \"000.00.00.G01\"\n  addr: " + anyAddr + "\n  dataDir: " + filepath.Join(dir, "data") + "\n" +
				"trust:\n  roots: [" + ca.RootPath() + "]\n" +
				"agencies:\n  - organId: \"000.00.00.H29\"\n    name: UBND TP HCM\n    tokens: [\"h29-token-0123456789\"]\n" + tt.give
			path := filepath.Join(dir, "lienthong.yaml")
			if err := os.WriteFile(path, []byte(yaml), 0o600); err != nil {
				t.Fatal(err)
			}
			var logs lockedBuffer
			addr := serveConfig(t, path, &logs)
			get := func(url string) int {
				t.Helper()
				resp, err := http.Get(url)
				if err != nil {
					t.Fatalf("GET %s: %v", url, err)
				}
				_ = resp.Body.Close()
				return resp.StatusCode
			}
			if got := get("http://" + addr + "/metrics"); got != tt.wantPublicMetrics {
				t.Errorf("public /metrics: %d, want %d", got, tt.wantPublicMetrics)
			}
			if got := get("http://" + addr + "/debug/pprof/"); got != tt.wantPublicPprofCode {
				t.Errorf("public /debug/pprof/: %d, want %d", got, tt.wantPublicPprofCode)
			}
			m := metricsAddrLog.FindStringSubmatch(logs.String())
			if tt.wantPrivateMetrics == 0 {
				if m != nil {
					t.Fatalf("a metrics listener without metrics.addr: %s", m[0])
				}
				return
			}
			if m == nil {
				t.Fatalf("no metrics listener in the log:\n%s", logs.String())
			}
			private := strings.Trim(m[1], `"`)
			if private == addr {
				t.Fatalf("metrics on the public address %s", addr)
			}
			if got := get("http://" + private + "/metrics"); got != tt.wantPrivateMetrics {
				t.Errorf("metrics listener /metrics: %d, want %d", got, tt.wantPrivateMetrics)
			}
			// The trust root's end, for the expiry alerts, and kafka-go's
			// writer statistics.
			body := scrape(t, "http://"+private+"/metrics")
			if want := `lienthong_certificate_expiry_timestamp_seconds{serial=`; !strings.Contains(body, want) || !strings.Contains(body, `use="trust_root"`) {
				t.Errorf("no trust root expiry in /metrics")
			}
			if !strings.Contains(body, `lienthong_kafka_writer_messages_total{client="lienthong"}`) {
				t.Errorf("no kafka-go writer statistics in /metrics")
			}
			if strings.Contains(tt.give, "sessionKey") {
				// The run-time tokens were read once the hub is ready.
				if err := waitReady("http://"+addr, http.DefaultClient); err != nil {
					t.Fatal(err)
				}
				body = scrape(t, "http://"+private+"/metrics")
				m := regexp.MustCompile(`(?m)^lienthong_credentials_last_read_timestamp_seconds (\S+)$`).FindStringSubmatch(body)
				if m == nil || m[1] == "0" {
					t.Errorf("credentials last read: %v", m)
				}
			}
			if got := get("http://" + private + "/debug/pprof/"); got != tt.wantPrivatePprof {
				t.Errorf("metrics listener /debug/pprof/: %d, want %d", got, tt.wantPrivatePprof)
			}
		})
	}
}

func scrape(t *testing.T, url string) string {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
