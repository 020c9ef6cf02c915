package metrics_test

import (
	"encoding/json"
	"os"
	"regexp"
	"strings"
	"testing"
)

// Every metric the Grafana dashboard in deploy/ queries is one the hub
// registers, so a rename breaks this test rather than a dashboard.
func TestDashboardQueriesExist(t *testing.T) {
	known := registeredMetrics(t)
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
