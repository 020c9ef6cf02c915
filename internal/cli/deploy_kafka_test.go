package cli

import (
	"fmt"
	"net"
	"slices"
	"strings"
	"testing"

	"github.com/lienthong/lienthong/internal/config"
)

// kafkaEnv is one broker's environment in a deployment.
type kafkaEnv struct {
	where string
	env   map[string]string
	// advertised is KAFKA_ADVERTISED_LISTENERS, which the k8s pods set in
	// their command.
	advertised string
	ports      []string // published (compose) or NodePort (k8s) agency ports
}

func composeKafka(t *testing.T) []kafkaEnv {
	t.Helper()
	_, services := composeHubEnv(t)
	var out []kafkaEnv
	for _, name := range []string{"kafka-1", "kafka-2", "kafka-3"} {
		m, _ := dig(services[name], "environment").(map[string]any)
		env := map[string]string{}
		for k, v := range m {
			env[k] = fmt.Sprint(v)
		}
		var ports []string
		for _, p := range asSlice(dig(services[name], "ports")) {
			ports = append(ports, fmt.Sprint(p))
		}
		out = append(out, kafkaEnv{where: "compose " + name, env: env, advertised: env["KAFKA_ADVERTISED_LISTENERS"], ports: ports})
	}
	return out
}

func asSlice(v any) []any { s, _ := v.([]any); return s }

func k8sKafka(t *testing.T) kafkaEnv {
	t.Helper()
	_, docs := k8sHubEnv(t)
	k := kafkaEnv{where: "k8s kafka", env: map[string]string{}}
	for _, d := range docs {
		switch {
		case d["kind"] == "StatefulSet" && dig(d, "metadata", "name") == "kafka":
			c0 := asSlice(dig(d, "spec", "template", "spec", "containers"))[0]
			for _, e := range asSlice(dig(c0, "env")) {
				name, _ := dig(e, "name").(string)
				k.env[name] = fmt.Sprint(dig(e, "value"))
			}
			for _, a := range asSlice(dig(c0, "args")) {
				s := fmt.Sprint(a)
				if i := strings.Index(s, "KAFKA_ADVERTISED_LISTENERS="); i >= 0 {
					k.advertised = strings.Fields(s[i+len("KAFKA_ADVERTISED_LISTENERS="):])[0]
				}
			}
		case d["kind"] == "Service" && dig(d, "spec", "type") == "NodePort":
			for _, p := range asSlice(dig(d, "spec", "ports")) {
				k.ports = append(k.ports, fmt.Sprint(dig(p, "nodePort")))
			}
		}
	}
	return k
}

// listenerPort is the port of the listener name in a KAFKA_LISTENERS value.
func listenerPort(listeners, name string) string {
	for l := range strings.SplitSeq(listeners, ",") {
		if n, addr, ok := strings.Cut(l, "://"); ok && n == name {
			_, p, _ := net.SplitHostPort(addr)
			return p
		}
	}
	return ""
}

// The deployments' Kafka speaks only SASL_SSL, with ACLs, a listener for
// the hubs and one for agencies, both SCRAM-SHA-512; the hubs reach the
// hubs' listener with SCRAM over TLS as a super user that kafka-init
// creates.
func TestDeployKafkaSecured(t *testing.T) {
	brokers := append(composeKafka(t), k8sKafka(t))
	composeEnv, _ := composeHubEnv(t)
	k8sEnv, _ := k8sHubEnv(t)
	for _, env := range []map[string]string{composeEnv, k8sEnv} {
		if env["LIENTHONG_BUS_SASL_PASSWORD"] == "" {
			t.Error("a deployment gives the hub no LIENTHONG_BUS_SASL_PASSWORD")
		}
	}
	for k, v := range composeEnv {
		t.Setenv(k, v)
	}
	cfg, err := config.Load(deployConfigInTemp(t), nil)
	if err != nil {
		t.Fatal(err)
	}
	if !cfg.Bus.TLS.Enabled || cfg.Bus.TLS.CAFile == "" || cfg.Bus.SASL.User == "" || !strings.HasPrefix(cfg.Bus.SASL.Mechanism, "SCRAM-") {
		t.Fatalf("deploy/lienthong.yaml: the hub's bus is not SCRAM over TLS: tls %+v, sasl %s", cfg.Bus.TLS, cfg.Bus.SASL.Mechanism)
	}

	for _, b := range brokers {
		t.Run(b.where, func(t *testing.T) {
			e := b.env
			for pair := range strings.SplitSeq(e["KAFKA_LISTENER_SECURITY_PROTOCOL_MAP"], ",") {
				if name, proto, _ := strings.Cut(pair, ":"); proto != "SASL_SSL" {
					t.Errorf("listener %s is %s, want SASL_SSL", name, proto)
				}
			}
			for _, l := range []string{"HUBS", "AGENCIES"} {
				if listenerPort(e["KAFKA_LISTENERS"], l) == "" {
					t.Errorf("no %s listener in %q", l, e["KAFKA_LISTENERS"])
				}
				if !strings.Contains(b.advertised, l+"://") {
					t.Errorf("%s is not advertised: %q", l, b.advertised)
				}
				if got := e["KAFKA_LISTENER_NAME_"+l+"_SASL_ENABLED_MECHANISMS"]; got != "SCRAM-SHA-512" {
					t.Errorf("%s takes %q, want SCRAM-SHA-512 only", l, got)
				}
			}
			if e["KAFKA_AUTHORIZER_CLASS_NAME"] != "org.apache.kafka.metadata.authorizer.StandardAuthorizer" || e["KAFKA_ALLOW_EVERYONE_IF_NO_ACL_FOUND"] != "false" {
				t.Errorf("ACLs are off: authorizer %q, allow everyone %q", e["KAFKA_AUTHORIZER_CLASS_NAME"], e["KAFKA_ALLOW_EVERYONE_IF_NO_ACL_FOUND"])
			}
			supers := strings.Split(e["KAFKA_SUPER_USERS"], ";")
			if !slices.Contains(supers, "User:"+cfg.Bus.SASL.User) {
				t.Errorf("super users %v lack the hub's %s", supers, cfg.Bus.SASL.User)
			}
			if !strings.Contains(e["KAFKA_OPTS"], "java.security.auth.login.config=") {
				t.Error("no JAAS file in KAFKA_OPTS (the image requires it with SASL)")
			}
			if len(b.ports) == 0 {
				t.Error("the agencies' listener is reachable from nowhere")
			}
			hubsPort := listenerPort(e["KAFKA_LISTENERS"], "HUBS")
			hubEnv := composeEnv
			if strings.HasPrefix(b.where, "k8s") {
				hubEnv = k8sEnv
			}
			for br := range strings.SplitSeq(hubEnv["LIENTHONG_BUS_BROKERS"], ",") {
				if _, p, _ := net.SplitHostPort(br); p != hubsPort {
					t.Errorf("the hub connects to %s, not to the HUBS listener's port %s", br, hubsPort)
				}
			}
		})
	}

	// kafka-init gives the hub's user its SCRAM credentials.
	_, services := composeHubEnv(t)
	init := fmt.Sprint(dig(services["kafka-init"], "command"))
	_, docs := k8sHubEnv(t)
	for _, d := range docs {
		if d["kind"] == "Job" && dig(d, "metadata", "name") == "kafka-init" {
			init += fmt.Sprint(dig(d, "spec", "template", "spec", "containers"))
		}
	}
	if n := strings.Count(init, "--entity-name "+cfg.Bus.SASL.User); n != 2 {
		t.Errorf("kafka-init sets %s's credentials in %d of 2 deployments", cfg.Bus.SASL.User, n)
	}
	if strings.Count(init, "SCRAM-SHA-512=iterations=") != 2 || strings.Count(init, "--add-config-file ") != 2 {
		t.Error("kafka-init does not make SCRAM-SHA-512 credentials from a file in both deployments")
	}
	// ps shows a command line to every user of the host: the password
	// goes to kafka-configs.sh in a file, made by the shell's printf.
	for _, cmd := range strings.Split(init, "kafka-configs.sh")[1:] {
		cmd, _, _ = strings.Cut(cmd, "&&")
		cmd, _, _ = strings.Cut(cmd, "]") // the end of the args list
		if strings.Contains(cmd, "PASSWORD") || strings.Contains(cmd, "password=") {
			t.Errorf("kafka-configs.sh gets a password on its command line: %s", cmd)
		}
	}
}
