package metrics_test

import (
	"context"
	"encoding/json"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/lienthong/lienthong/internal/blob"
	"github.com/lienthong/lienthong/internal/metrics"
)

// Every metric the Grafana dashboard in deploy/ queries is one the hub
// registers, so a rename breaks this test rather than a dashboard.
func TestDashboardQueriesExist(t *testing.T) {
	reg := prometheus.NewRegistry()
	m, err := metrics.NewHub(reg, []string{"000.00.00.G22"})
	if err != nil {
		t.Fatal(err)
	}
	// The health series exist once the hub gives its probe.
	m.ObserveHealth(func(context.Context) metrics.Health {
		return metrics.Health{Up: map[string]bool{metrics.ComponentBroker: true}, Lags: []metrics.Lag{{Group: "router", Topic: "lienthong.accepted"}}}
	})
	fs, err := blob.NewFS(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	// The blob decorator registers its series on first use.
	store := blob.WithMetrics(fs, reg)
	if _, err := store.Stat(context.Background(), "x"); err == nil {
		t.Fatal("a missing object was found")
	}
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	known := map[string]bool{}
	for _, f := range families {
		known[f.GetName()] = true
	}
	raw, err := os.ReadFile("../../deploy/grafana/lienthong-hub.json")
	if err != nil {
		t.Fatal(err)
	}
	var dash struct {
		Panels []struct {
			Title   string `json:"title"`
			Targets []struct {
				Expr string `json:"expr"`
			} `json:"targets"`
		} `json:"panels"`
	}
	if err := json.Unmarshal(raw, &dash); err != nil {
		t.Fatal(err)
	}
	name := regexp.MustCompile(`lienthong_[a-z_]+`)
	queried := 0
	for _, p := range dash.Panels {
		for _, tg := range p.Targets {
			for _, m := range name.FindAllString(tg.Expr, -1) {
				queried++
				base := strings.TrimSuffix(strings.TrimSuffix(strings.TrimSuffix(m, "_bucket"), "_sum"), "_count")
				if !known[base] {
					t.Errorf("panel %q queries %s, which the hub does not register", p.Title, m)
				}
			}
		}
	}
	if queried < 10 {
		t.Errorf("only %d metric references in the dashboard", queried)
	}
}
