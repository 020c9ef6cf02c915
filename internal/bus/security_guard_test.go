package bus_test

import (
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// Every Kafka connection gets bus.Config's TLS and SASL because only
// security.go builds kafka-go transports and dialers, and every reader and
// client takes one of them. A client built anywhere else would connect in
// the clear and unauthenticated: this keeps it from happening unseen.
func TestOnlySecurityGoBuildsConnections(t *testing.T) {
	onTransport := regexp.MustCompile(`Transport:\s*t\b`)
	direct := regexp.MustCompile(`kafka\.(Transport|Dialer|Writer|Client|ReaderConfig)\{|kafka\.(Dial|DialContext|DialLeader|DialPartition|NewConn|NewReader|NewWriter)\(`)
	err := filepath.WalkDir("..", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return err
		}
		src, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		for _, line := range strings.Split(string(src), "\n") {
			m := direct.FindString(line)
			if m == "" {
				continue
			}
			rel := filepath.ToSlash(path)
			switch {
			case rel == "../bus/security.go" && (m == "kafka.Transport{" || m == "kafka.Dialer{"):
			case strings.HasPrefix(rel, "../bus/") && (strings.Contains(line, "Transport: t") || strings.Contains(line, "transport()") ||
				strings.Contains(line, "kafka.NewReader(kafka.ReaderConfig{") || m == "kafka.Writer{"):
				// a client or writer on a transport from transport(), or
				// a reader whose Dialer field is checked below
			default:
				t.Errorf("%s builds a Kafka connection outside bus/security.go: %s", rel, strings.TrimSpace(line))
			}
		}
		if strings.HasPrefix(filepath.ToSlash(path), "../bus/") {
			readers := strings.Count(string(src), "kafka.ReaderConfig{")
			if got := strings.Count(string(src), "dialer(),"); got != readers {
				t.Errorf("%s: %d readers, %d with the package's dialer()", path, readers, got)
			}
			clients := strings.Count(string(src), "kafka.Writer{") + strings.Count(string(src), "kafka.Client{")
			if got := len(onTransport.FindAllString(string(src), -1)); got != clients {
				t.Errorf("%s: %d clients and writers, %d on the package's transport()", path, clients, got)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
