package cli

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/lienthong/lienthong/internal/config"
	"github.com/lienthong/lienthong/internal/config/configtest"
)

// The production deployment in deploy/: the compose file and the
// Kubernetes manifests start the hub with deploy/lienthong.yaml and some
// LIENTHONG_* variables. These tests hold them to the configuration: every
// variable names a real key, the file passes `lienthong serve
// --check-config` with each one's environment, and the ports and paths
// they wire (proxy, probes, Prometheus) are the hub's.

const deployDir = "../../deploy"

func readYAMLDocs(t *testing.T, path string) []map[string]any {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var docs []map[string]any
	dec := yaml.NewDecoder(bytes.NewReader(raw))
	for {
		var d map[string]any
		if err := dec.Decode(&d); err != nil {
			if errors.Is(err, io.EOF) {
				break
			}
			t.Fatalf("%s: %v", path, err)
		}
		if d != nil {
			docs = append(docs, d)
		}
	}
	return docs
}

// dig walks maps by keys.
func dig(v any, keys ...string) any {
	for _, k := range keys {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = m[k]
	}
	return v
}

// composeHubEnv returns the hub services' environment in compose.yaml,
// with ${VAR:?...} references replaced by placeholder values.
func composeHubEnv(t *testing.T) (map[string]string, map[string]any) {
	t.Helper()
	docs := readYAMLDocs(t, filepath.Join(deployDir, "compose.yaml"))
	if len(docs) != 1 {
		t.Fatalf("compose.yaml: %d documents", len(docs))
	}
	services, _ := docs[0]["services"].(map[string]any)
	env := map[string]string{}
	hubs := 0
	for name, svc := range services {
		if !strings.HasPrefix(name, "hub-") {
			continue
		}
		hubs++
		m, _ := dig(svc, "environment").(map[string]any)
		if len(m) == 0 {
			t.Fatalf("compose service %s has no environment", name)
		}
		for k, v := range m {
			env[k] = placeholder(k, v)
		}
	}
	if hubs != 2 {
		t.Errorf("compose.yaml runs %d hub replicas, want 2", hubs)
	}
	return env, services
}

// placeholder gives a variable a value valid for its key: the secrets the
// files take from the site's .env or Secret.
func placeholder(name string, v any) string {
	s, _ := v.(string)
	if s != "" && !strings.Contains(s, "${") {
		return s
	}
	switch name {
	case config.SecretsKeyEnv:
		return strings.Repeat("ab", 32)
	case "LIENTHONG_CONSOLE_SESSION_KEY":
		return strings.Repeat("k", 40)
	default:
		return "placeholder-secret-0123456789"
	}
}

// k8sHubEnv returns the hub container's environment and the manifests.
func k8sHubEnv(t *testing.T) (map[string]string, []map[string]any) {
	t.Helper()
	var all []map[string]any
	files, _ := filepath.Glob(filepath.Join(deployDir, "k8s", "*.yaml"))
	for _, f := range files {
		all = append(all, readYAMLDocs(t, f)...)
	}
	env := map[string]string{}
	found := false
	for _, d := range all {
		if d["kind"] != "StatefulSet" || dig(d, "metadata", "name") != "lienthong-hub" {
			continue
		}
		found = true
		if n, _ := dig(d, "spec", "replicas").(int); n != 2 {
			t.Errorf("the hub StatefulSet runs %v replicas, want 2", dig(d, "spec", "replicas"))
		}
		cs, _ := dig(d, "spec", "template", "spec", "containers").([]any)
		for _, c := range cs {
			for _, e := range dig(c, "env").([]any) {
				name, _ := dig(e, "name").(string)
				env[name] = placeholder(name, dig(e, "value"))
			}
		}
	}
	if !found {
		t.Fatal("no lienthong-hub StatefulSet in deploy/k8s")
	}
	return env, all
}

func TestDeployEnvNamesAreConfigKeys(t *testing.T) {
	known := map[string]bool{config.SecretsKeyEnv: true}
	for _, k := range config.Keys() {
		known[config.EnvName(k)] = true
	}
	// Go's runtime reads these; the hub sets GOGC itself (cli.serverGC).
	known["GOMEMLIMIT"], known["GOGC"] = true, true
	composeEnv, _ := composeHubEnv(t)
	k8sEnv, _ := k8sHubEnv(t)
	for where, env := range map[string]map[string]string{"compose.yaml": composeEnv, "k8s": k8sEnv} {
		if len(env) < 5 {
			t.Errorf("%s: only %d variables for the hub", where, len(env))
		}
		for name := range env {
			if !known[name] {
				t.Errorf("%s sets %s, which is no configuration key", where, name)
			}
		}
	}
	if !slices.Equal(keysOf(composeEnv), keysOf(k8sEnv)) {
		t.Errorf("compose and k8s give the hub different variables: %v and %v", keysOf(composeEnv), keysOf(k8sEnv))
	}
}

func keysOf(m map[string]string) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// deployConfigInTemp writes deploy/lienthong.yaml with its /etc/lienthong
// files created under a temporary directory.
func deployConfigInTemp(t *testing.T) string {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(deployDir, "lienthong.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	path, _ := configtest.InTemp(t, string(raw))
	return path
}

// The containers' configuration passes `lienthong serve --check-config`
// with the environment each deployment gives it, and fails without it.
func TestDeployConfigChecks(t *testing.T) {
	composeEnv, _ := composeHubEnv(t)
	k8sEnv, _ := k8sHubEnv(t)
	for where, env := range map[string]map[string]string{"compose.yaml": composeEnv, "k8s": k8sEnv} {
		t.Run(where, func(t *testing.T) {
			path := deployConfigInTemp(t)
			for k, v := range env {
				t.Setenv(k, v)
			}
			var out, errb bytes.Buffer
			if code := Run(context.Background(), []string{"serve", "--check-config", path}, &out, &errb); code != ExitOK {
				t.Fatalf("serve --check-config with %s's environment: %d\n%s%s", where, code, out.String(), errb.String())
			}
			c, err := config.Load(path, nil)
			if err != nil {
				t.Fatal(err)
			}
			if c.Bus.Embedded || len(c.Bus.Brokers) != 3 || c.Bus.ReplicationFactor != 3 || c.Blob.Kind != config.BlobS3 || c.Console.SessionKey == "" {
				t.Errorf("%s: brokers %v rf %d blob %s console %v", where, c.Bus.Brokers, c.Bus.ReplicationFactor, c.Blob.Kind, c.Console.SessionKey != "")
			}
		})
	}
	// Without the S3 secret the file alone is refused: the variables matter.
	path := deployConfigInTemp(t)
	var out, errb bytes.Buffer
	if code := Run(context.Background(), []string{"serve", "--check-config", path}, &out, &errb); code == ExitOK {
		t.Error("the container configuration passes without its environment")
	}
}

// The ports and paths the deployments wire are the hub's.
func TestDeployPortsAndPaths(t *testing.T) {
	env, services := composeHubEnv(t)
	for k, v := range env {
		t.Setenv(k, v)
	}
	c, err := config.Load(deployConfigInTemp(t), nil)
	if err != nil {
		t.Fatal(err)
	}
	_, port, err := net.SplitHostPort(c.Hub.Addr)
	if err != nil {
		t.Fatal(err)
	}
	if c.Metrics.Path != "/metrics" || !c.Metrics.Enabled {
		t.Errorf("metrics at %q (enabled %v), which Prometheus scrapes at /metrics", c.Metrics.Path, c.Metrics.Enabled)
	}
	// Metrics on their own port, so the public one never answers them.
	_, mport, err := net.SplitHostPort(c.Metrics.Addr)
	if err != nil || mport == port || c.Metrics.Pprof {
		t.Fatalf("metrics.addr %q (pprof %v): want a port of its own, pprof off", c.Metrics.Addr, c.Metrics.Pprof)
	}

	for _, name := range []string{"hub-1", "hub-2"} {
		if exp := dig(services[name], "expose"); !slices.Contains(exp.([]any), any(port)) || !slices.Contains(exp.([]any), any(mport)) {
			t.Errorf("compose %s exposes %v, the hub listens on %s and %s", name, exp, port, mport)
		}
	}
	nginx, err := os.ReadFile(filepath.Join(deployDir, "compose", "nginx.conf"))
	if err != nil {
		t.Fatal(err)
	}
	for _, h := range []string{"hub-1", "hub-2"} {
		if !strings.Contains(string(nginx), "server "+h+":"+port) {
			t.Errorf("nginx.conf does not send to %s:%s", h, port)
		}
	}
	prom, err := os.ReadFile(filepath.Join(deployDir, "compose", "prometheus.yml"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(prom), `"hub-1:`+mport+`", "hub-2:`+mport+`"`) {
		t.Errorf("prometheus.yml does not scrape both hubs on %s", mport)
	}
	if strings.Contains(string(nginx), "/metrics") {
		t.Error("nginx.conf still routes or hides /metrics: the public port does not serve it")
	}

	_, docs := k8sHubEnv(t)
	for _, d := range docs {
		switch {
		case d["kind"] == "StatefulSet" && dig(d, "metadata", "name") == "lienthong-hub":
			c0 := dig(d, "spec", "template", "spec", "containers").([]any)[0]
			ports := dig(c0, "ports").([]any)
			if p, _ := dig(ports[0], "containerPort").(int); strconv.Itoa(p) != port || dig(ports[0], "name") != "http" {
				t.Errorf("the hub container's port %v, the hub listens on %s", p, port)
			}
			if p, _ := dig(ports[1], "containerPort").(int); strconv.Itoa(p) != mport || dig(ports[1], "name") != "metrics" {
				t.Errorf("the hub container's metrics port %v, metrics.addr is on %s", p, mport)
			}
			if dig(c0, "readinessProbe", "httpGet", "path") != "/readyz" || dig(c0, "livenessProbe", "httpGet", "path") != "/healthz" {
				t.Error("the hub's probes are not /readyz and /healthz")
			}
		case d["kind"] == "ConfigMap" && dig(d, "metadata", "name") == "prometheus-config":
			if cfg, _ := dig(d, "data", "prometheus.yml").(string); !strings.Contains(cfg, "port: "+mport) {
				t.Errorf("Prometheus in k8s does not scrape port %s", mport)
			}
		case d["kind"] == "Ingress":
			if _, ok := dig(d, "metadata", "annotations").(map[string]any)["nginx.ingress.kubernetes.io/server-snippet"]; ok {
				t.Error("the ingress has a server-snippet, which recent ingress-nginx refuses; metrics have their own port")
			}
		}
	}
}

// The hubs believe X-Forwarded-* from nginx's fixed address alone, never
// from a range a client could be in (it could then name itself).
func TestDeployTrustsTheProxyOnly(t *testing.T) {
	env, services := composeHubEnv(t)
	c, err := configWith(t, env)
	if err != nil {
		t.Fatal(err)
	}
	nginx, _ := dig(services["proxy"], "networks", "default", "ipv4_address").(string)
	if nginx == "" || !slices.Equal(c.Hub.TrustedProxies, []string{nginx}) {
		t.Errorf("compose: the hubs trust %v, nginx is at %q", c.Hub.TrustedProxies, nginx)
	}
	k8sEnv, _ := k8sHubEnv(t)
	if c, err = configWith(t, k8sEnv); err != nil {
		t.Fatal(err)
	}
	if len(c.Hub.TrustedProxies) == 0 || len(c.Hub.ClientCertProxies) != 0 {
		t.Errorf("k8s: trusted proxies %v, certificate proxies %v", c.Hub.TrustedProxies, c.Hub.ClientCertProxies)
	}
}

func configWith(t *testing.T, env map[string]string) (*config.Config, error) {
	t.Helper()
	for k, v := range env {
		t.Setenv(k, v)
	}
	return config.Load(deployConfigInTemp(t), nil)
}
