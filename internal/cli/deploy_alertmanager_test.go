package cli

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/lienthong/lienthong/internal/testwait"
	"github.com/lienthong/lienthong/internal/tooltest"
)

const alertmanagerConfig = deployDir + "/alertmanager/alertmanager.yml"

// shippedAlert is an alert of deploy/prometheus/rules.
type shippedAlert struct {
	Alert  string            `yaml:"alert"`
	Expr   string            `yaml:"expr"`
	Labels map[string]string `yaml:"labels"`
}

func shippedAlerts(t *testing.T) []shippedAlert {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(deployDir, "prometheus", "rules", "*.yml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no rule files: %v", err)
	}
	var out []shippedAlert
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var doc struct {
			Groups []struct {
				Rules []shippedAlert `yaml:"rules"`
			} `yaml:"groups"`
		}
		if err := yaml.Unmarshal(raw, &doc); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		for _, g := range doc.Groups {
			for _, r := range g.Rules {
				if r.Alert != "" {
					out = append(out, r)
				}
			}
		}
	}
	return out
}

// amtool accepts the Alertmanager configuration, and every shipped alert
// reaches the receiver of its severity: critical pages, warning makes a
// ticket, with an agency's alerts or without.
func TestDeployAlertmanagerRoutes(t *testing.T) {
	if out, ok := tooltest.Run(t, "amtool", "check-config", alertmanagerConfig); !ok {
		t.Fatalf("amtool check-config:\n%s", out)
	}
	receiver := map[string]string{"critical": "page", "warning": "ticket"}
	seen := map[string]bool{}
	for _, a := range shippedAlerts(t) {
		sev := a.Labels["severity"]
		want, ok := receiver[sev]
		if !ok {
			t.Errorf("alert %s has severity %q, which no route names", a.Alert, sev)
			continue
		}
		seen[sev] = true
		labels := []string{"alertname=" + a.Alert, "severity=" + sev}
		if strings.Contains(a.Expr, "agency") {
			labels = append(labels, "agency=000.00.00.H29")
		}
		args := append([]string{"config", "routes", "test", "--config.file=" + alertmanagerConfig, "--verify.receivers=" + want}, labels...)
		if out, ok := tooltest.Run(t, "amtool", args...); !ok {
			t.Errorf("%s: reaches %s, want %s", strings.Join(labels, " "), firstLine(out), want)
		}
	}
	for sev := range receiver {
		if !seen[sev] {
			t.Errorf("no shipped alert has severity %s", sev)
		}
	}
	// An unknown severity still reaches someone.
	if out, ok := tooltest.Run(t, "amtool", "config", "routes", "test", "--config.file="+alertmanagerConfig, "--verify.receivers=ticket", "alertname=Other"); !ok {
		t.Errorf("an alert without severity: %s", out)
	}
}

// firstLine is the receiver amtool resolved.
func firstLine(s string) string {
	line, _, _ := strings.Cut(strings.TrimSpace(s), "\n")
	return line
}

// The inhibitions name alerts the rules define, so a rename cannot leave
// one that never matches.
func TestDeployAlertmanagerInhibitsShippedAlerts(t *testing.T) {
	var names []string
	for _, a := range shippedAlerts(t) {
		names = append(names, a.Alert)
	}
	raw, err := os.ReadFile(alertmanagerConfig)
	if err != nil {
		t.Fatal(err)
	}
	var cfg struct {
		Inhibit []struct {
			Source []string `yaml:"source_matchers"`
			Target []string `yaml:"target_matchers"`
		} `yaml:"inhibit_rules"`
	}
	if err := yaml.Unmarshal(raw, &cfg); err != nil {
		t.Fatal(err)
	}
	if len(cfg.Inhibit) == 0 {
		t.Fatal("no inhibit_rules")
	}
	matcher := regexp.MustCompile(`^alertname=~?"([^"]+)"$`)
	for _, r := range cfg.Inhibit {
		for _, m := range append(slices.Clone(r.Source), r.Target...) {
			sub := matcher.FindStringSubmatch(m)
			if sub == nil {
				t.Errorf("matcher %q: want alertname=\"…\" or alertname=~\"A|B\"", m)
				continue
			}
			for _, n := range strings.Split(sub[1], "|") {
				if !slices.Contains(names, n) {
					t.Errorf("inhibit rule names %s, which no rule defines", n)
				}
			}
		}
	}
}

// Both deployments run the Alertmanager with this file and point their
// Prometheus at it.
func TestDeployAlertmanagerWired(t *testing.T) {
	_, services := composeHubEnv(t)
	am := services["alertmanager"]
	if am == nil {
		t.Fatal("compose.yaml has no alertmanager service")
	}
	vols, _ := dig(am, "volumes").([]any)
	if !slices.Contains(vols, any("./alertmanager/alertmanager.yml:/etc/alertmanager/alertmanager.yml:ro")) {
		t.Errorf("compose alertmanager mounts %v, not alertmanager/alertmanager.yml", vols)
	}
	if !strings.Contains(prometheusAlerting(t, "compose", mustRead(t, filepath.Join(deployDir, "compose", "prometheus.yml"))), "alertmanager:9093") {
		t.Error("compose's Prometheus does not send to alertmanager:9093")
	}

	kust := mustRead(t, filepath.Join(deployDir, "kustomization.yaml"))
	if !strings.Contains(kust, "name: alertmanager-config") || !strings.Contains(kust, "files: [alertmanager/alertmanager.yml]") {
		t.Error("kustomization.yaml makes no alertmanager-config ConfigMap of alertmanager/alertmanager.yml")
	}
	_, docs := k8sHubEnv(t)
	var service, mounted bool
	for _, d := range docs {
		switch {
		case d["kind"] == "ConfigMap" && dig(d, "metadata", "name") == "prometheus-config":
			cfg, _ := dig(d, "data", "prometheus.yml").(string)
			if !strings.Contains(prometheusAlerting(t, "k8s", cfg), "alertmanager:9093") {
				t.Error("k8s Prometheus does not send to alertmanager:9093")
			}
		case d["kind"] == "Service" && dig(d, "metadata", "name") == "alertmanager":
			ports, _ := dig(d, "spec", "ports").([]any)
			service = len(ports) == 1 && dig(ports[0], "port") == 9093
		case d["kind"] == "StatefulSet" && dig(d, "metadata", "name") == "alertmanager":
			vols, _ := dig(d, "spec", "template", "spec", "volumes").([]any)
			for _, v := range vols {
				mounted = mounted || dig(v, "configMap", "name") == "alertmanager-config"
			}
		}
	}
	if !service || !mounted {
		t.Errorf("k8s: alertmanager Service on 9093 %v, StatefulSet with alertmanager-config %v", service, mounted)
	}
}

// prometheusAlerting returns the alertmanagers' targets of a Prometheus
// configuration.
func prometheusAlerting(t *testing.T, name, cfg string) string {
	t.Helper()
	var doc struct {
		Alerting struct {
			Alertmanagers []struct {
				Static []struct {
					Targets []string `yaml:"targets"`
				} `yaml:"static_configs"`
			} `yaml:"alertmanagers"`
		} `yaml:"alerting"`
	}
	if err := yaml.Unmarshal([]byte(cfg), &doc); err != nil {
		t.Fatalf("%s prometheus.yml: %v", name, err)
	}
	var out []string
	for _, am := range doc.Alerting.Alertmanagers {
		for _, s := range am.Static {
			out = append(out, s.Targets...)
		}
	}
	return strings.Join(out, " ")
}

func mustRead(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// The shipped configuration in a real Alertmanager (Debian's
// prometheus-alertmanager): an agency's alerts form one group, and the
// brokers out of reach suppress the backlogs while the page stays active.
func TestDeployAlertmanagerGroupsAndInhibits(t *testing.T) {
	bin := tooltest.Require(t, "prometheus-alertmanager")
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	_ = l.Close() // Alertmanager takes no listener; the port is free again
	cmd := exec.CommandContext(t.Context(), bin, "--config.file="+alertmanagerConfig, "--storage.path="+t.TempDir(),
		"--web.listen-address="+addr, "--cluster.listen-address=")
	var logs bytes.Buffer
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		if t.Failed() {
			t.Logf("alertmanager:\n%s", logs.String())
		}
	})
	base := "http://" + addr + "/api/v2"
	ready := false
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline) && !ready; time.Sleep(100 * time.Millisecond) {
		resp, err := http.Get("http://" + addr + "/-/ready")
		if err == nil {
			ready = resp.StatusCode == http.StatusOK
			_ = resp.Body.Close()
		}
	}
	if !ready {
		t.Fatal("alertmanager did not become ready")
	}
	post := func(alerts ...map[string]string) {
		t.Helper()
		var body []map[string]any
		for _, a := range alerts {
			body = append(body, map[string]any{"labels": a, "startsAt": time.Now().Add(-time.Minute).Format(time.RFC3339)})
		}
		b, _ := json.Marshal(body)
		resp, err := http.Post(base+"/alerts", "application/json", bytes.NewReader(b))
		if err != nil {
			t.Fatal(err)
		}
		_ = resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("post alerts: %s", resp.Status)
		}
	}
	get := func(path string, v any) {
		t.Helper()
		resp, err := http.Get(base + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close() //nolint:errcheck // test
		if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
			t.Fatal(err)
		}
	}
	type alert struct {
		Labels map[string]string `json:"labels"`
		Status struct {
			State       string   `json:"state"`
			InhibitedBy []string `json:"inhibitedBy"`
		} `json:"status"`
		Receivers []struct{ Name string } `json:"receivers"`
	}
	warning := func(name, agency string) map[string]string {
		return map[string]string{"alertname": name, "severity": "warning", "agency": agency}
	}
	post(warning("LienthongInboxBacklogOld", "000.00.00.H29"), warning("LienthongWebhookFailing", "000.00.00.H29"),
		warning("LienthongInboxBacklogLarge", "000.00.00.K01"))
	var groups []struct {
		Labels   map[string]string `json:"labels"`
		Receiver struct{ Name string }
		Alerts   []alert `json:"alerts"`
	}
	// Alertmanager takes posted alerts in asynchronously: wait for all
	// three, then check how they are grouped.
	got := map[string]int{}
	testwait.EventuallyState(t, "the three alerts grouped", func() (bool, string) {
		groups = nil
		get("/alerts/groups", &groups)
		got = map[string]int{}
		n := 0
		for _, g := range groups {
			got[g.Labels["agency"]] += len(g.Alerts)
			n += len(g.Alerts)
		}
		return n == 3, fmt.Sprint(got)
	})
	for _, g := range groups {
		if g.Receiver.Name != "ticket" || len(g.Labels) != 1 {
			t.Errorf("group %v to %s, want by agency alone to ticket", g.Labels, g.Receiver.Name)
		}
	}
	if len(got) != 2 || got["000.00.00.H29"] != 2 || got["000.00.00.K01"] != 1 {
		t.Errorf("alerts per agency group %v, want H29's two in one group and K01's one", got)
	}

	post(map[string]string{"alertname": "LienthongBrokerUnavailable", "severity": "critical", "component": "broker", "instance": "hub-1:9464"})
	var alerts []alert
	testwait.EventuallyState(t, "the broker alert in, inhibiting", func() (bool, string) {
		alerts = nil
		get("/alerts", &alerts)
		suppressed := 0
		for _, a := range alerts {
			if a.Status.State == "suppressed" {
				suppressed++
			}
		}
		return len(alerts) == 4 && suppressed == 3, fmt.Sprint(len(alerts), " alerts, ", suppressed, " suppressed")
	})
	tests := []struct {
		give string // alertname
		want string // state
	}{
		{"LienthongBrokerUnavailable", "active"},
		{"LienthongInboxBacklogOld", "suppressed"},
		{"LienthongInboxBacklogLarge", "suppressed"},
		{"LienthongWebhookFailing", "suppressed"},
	}
	for _, tt := range tests {
		found := false
		for _, a := range alerts {
			if a.Labels["alertname"] != tt.give {
				continue
			}
			found = true
			if a.Status.State != tt.want {
				t.Errorf("%s %v: %s, want %s", tt.give, a.Labels, a.Status.State, tt.want)
			}
		}
		if !found {
			t.Errorf("%s: not in Alertmanager", tt.give)
		}
	}
}
