package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/lienthong/lienthong/internal/pki"
	"github.com/lienthong/lienthong/internal/testwait"
	"github.com/lienthong/lienthong/internal/tooltest"
)

// examplePython is a python3 that imports confluent_kafka: Debian's
// python3-confluent-kafka is in /usr/bin/python3's packages, which a
// python3 of pyenv or a venv earlier on PATH does not see.
func examplePython(t *testing.T) string {
	t.Helper()
	var tried []string
	for _, p := range []string{"python3", "/usr/bin/python3"} {
		path, err := exec.LookPath(p)
		if err != nil {
			continue
		}
		if exec.CommandContext(t.Context(), path, "-c", "import confluent_kafka").Run() == nil {
			return path
		}
		tried = append(tried, path)
	}
	if os.Getenv("CI") != "" {
		t.Fatalf("no python3 imports confluent_kafka (tried %v); CI must run the examples (scripts/install-test-tools.sh)", tried)
	}
	t.Skipf("no python3 imports confluent_kafka (tried %v; scripts/install-test-tools.sh installs python3-confluent-kafka)", tried)
	return ""
}

// The consumers of scripts/examples/ read H29's inbox topic from `lienthong
// dev --secure-bus` over TLS with SCRAM, with the credentials dev writes,
// print each delivery, and acknowledge it through REST: afterwards the
// REST inbox no longer lists the packet and its timeline shows the ack.
func TestExampleConsumers(t *testing.T) {
	tooltest.Require(t, "kcat")
	tooltest.Require(t, "curl")
	python := examplePython(t)
	examples, err := filepath.Abs(filepath.Join("..", "..", "scripts", "examples"))
	if err != nil {
		t.Fatal(err)
	}

	data := t.TempDir()
	addr, out, _ := startDevOut(t, data, nil, "--secure-bus", "--kafka-addr", anyAddr)
	var k devKafka
	if b, err := os.ReadFile(filepath.Join(data, "dev", "kafka", "kafka.json")); err != nil || json.Unmarshal(b, &k) != nil {
		t.Fatalf("kafka.json: %v", err)
	}
	// dev says where its broker is, on stdout and in kafka.json.
	m := regexp.MustCompile(`kafka broker: +(\S+)`).FindStringSubmatch(out.String())
	if m == nil || len(k.Brokers) != 1 || m[1] != k.Brokers[0] || strings.HasSuffix(m[1], ":0") {
		t.Fatalf("the broker's address: printed %q, kafka.json %v\n%s", m, k.Brokers, out.String())
	}
	var agencies []map[string]string
	if b, err := os.ReadFile(filepath.Join(data, "dev", "agencies.json")); err != nil || json.Unmarshal(b, &agencies) != nil {
		t.Fatalf("agencies.json: %v", err)
	}
	by := map[string]map[string]string{}
	for _, a := range agencies {
		by[a["organId"]] = a
	}
	const h29 = "000.00.00.H29"
	var kh devKafkaAgency
	for _, a := range k.Agencies {
		if a.OrganID == h29 {
			kh = a
		}
	}
	g22 := by["000.00.00.G22"]
	rel := func(p string) string { return filepath.Join(data, "dev", p) }
	certs, err := pki.LoadCertificates(rel(g22["cert"]))
	if err != nil {
		t.Fatal(err)
	}
	key, err := pki.LoadPrivateKey(rel(g22["key"]))
	if err != nil {
		t.Fatal(err)
	}
	chain, err := pki.LoadCertificates(rel(g22["chain"]))
	if err != nil {
		t.Fatal(err)
	}
	send := func(fixture string) string {
		t.Helper()
		packet, err := os.ReadFile(filepath.Join(fixtures, fixture))
		if err != nil {
			t.Fatal(err)
		}
		sig, err := pki.SignDetached(bytes.NewReader(packet), certs[0], key, chain, pki.SignOptions{})
		if err != nil {
			t.Fatal(err)
		}
		code, rc := fedPost(t, addr, g22["token"], packet, sig)
		if code != 201 {
			t.Fatalf("submit %s: %d %v", fixture, code, rc)
		}
		return rc["id"].(string)
	}
	env := append(os.Environ(),
		"KAFKA_BROKERS="+k.Brokers[0], "KAFKA_CA="+k.CA, "KAFKA_MECHANISM="+k.Mechanism,
		"KAFKA_USER="+kh.User, "KAFKA_PASSWORD="+kh.Password, "KAFKA_TOPIC="+kh.Topic,
		"LIENTHONG_HUB=http://"+addr, "LIENTHONG_TOKEN="+by[h29]["token"])
	pending := func(id string) bool {
		t.Helper()
		code, page := fedGet(t, addr, by[h29]["token"], "/v1/inbox")
		if code != 200 {
			t.Fatalf("inbox: %d %v", code, page)
		}
		b, _ := json.Marshal(page)
		return strings.Contains(string(b), id)
	}

	tests := []struct {
		name    string
		fixture string
		cmd     []string
	}{
		{name: "kcat", fixture: "edoc-new.xml", cmd: []string{"bash", filepath.Join(examples, "kcat.sh")}},
		{name: "python", fixture: "edoc-new-two-recipients.xml", cmd: []string{python, filepath.Join(examples, "consume.py"), "--idle", "5"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			id := send(tt.fixture)
			testwait.Eventually(t, "the packet in H29's REST inbox", func() bool { return pending(id) })
			ctx, cancel := context.WithTimeout(t.Context(), 90*time.Second)
			defer cancel()
			cmd := exec.CommandContext(ctx, tt.cmd[0], tt.cmd[1:]...)
			cmd.Env = append(env, "KAFKA_GROUP="+kh.GroupPrefix+tt.name)
			cmd.Dir = t.TempDir()
			var stdout, stderr bytes.Buffer
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			if err := cmd.Run(); err != nil {
				t.Fatalf("%s: %v\nstdout:\n%s\nstderr:\n%s", tt.name, err, stdout.String(), stderr.String())
			}
			// It printed the delivery event of this packet...
			var found bool
			for _, line := range strings.Split(strings.TrimSpace(stdout.String()), "\n") {
				var ev map[string]any
				if line == "" {
					continue
				}
				if err := json.Unmarshal([]byte(line), &ev); err != nil {
					t.Fatalf("not a JSON line: %q", line)
				}
				found = found || (ev["id"] == id && ev["endpoint"] == h29 && ev["from"] == "000.00.00.G22")
			}
			if !found || !strings.Contains(stderr.String(), "acked "+id) {
				t.Fatalf("%s did not print and ack %s\nstdout:\n%s\nstderr:\n%s", tt.name, id, stdout.String(), stderr.String())
			}
			// ...and the ack took effect.
			if pending(id) {
				t.Errorf("%s is still pending for H29 after %s acked it", id, tt.name)
			}
			code, tl := fedGet(t, addr, by[h29]["token"], "/v1/packets/"+id+"/timeline")
			b, _ := json.Marshal(tl)
			if code != 200 || !strings.Contains(string(b), `"type":"acked"`) {
				t.Errorf("timeline after the ack: %d %s", code, b)
			}
		})
	}
}

// The Java example compiles. Its client (kafka-clients) is not a Debian
// package, so it compiles against stubs of the few signatures it uses,
// copied from kafka-clients' API; skipped without a JDK.
func TestJavaExampleCompiles(t *testing.T) {
	javac, err := exec.LookPath("javac")
	if err != nil {
		t.Skip("no javac (the Java example is not run by CI)")
	}
	dir := t.TempDir()
	stubs := map[string]string{
		"org/apache/kafka/clients/consumer/KafkaConsumer.java": `package org.apache.kafka.clients.consumer;
public class KafkaConsumer<K, V> implements AutoCloseable {
  public KafkaConsumer(java.util.Properties properties) {}
  public void subscribe(java.util.Collection<String> topics) {}
  public ConsumerRecords<K, V> poll(java.time.Duration timeout) { return null; }
  public void commitSync() {}
  public void close() {}
}`,
		"org/apache/kafka/clients/consumer/ConsumerRecords.java": `package org.apache.kafka.clients.consumer;
public class ConsumerRecords<K, V> implements Iterable<ConsumerRecord<K, V>> {
  public boolean isEmpty() { return true; }
  public java.util.Iterator<ConsumerRecord<K, V>> iterator() { return null; }
}`,
		"org/apache/kafka/clients/consumer/ConsumerRecord.java": `package org.apache.kafka.clients.consumer;
public class ConsumerRecord<K, V> {
  public K key() { return null; }
  public V value() { return null; }
}`,
		"org/apache/kafka/common/serialization/StringDeserializer.java": `package org.apache.kafka.common.serialization;
public class StringDeserializer {}`,
	}
	var files []string
	for name, src := range stubs {
		path := filepath.Join(dir, "stubs", name)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
		files = append(files, path)
	}
	example := filepath.Join("..", "..", "scripts", "examples", "java", "InboxConsumer.java")
	args := append([]string{"-Xlint:all", "-Werror", "-d", filepath.Join(dir, "out"), example}, files...)
	if out, err := exec.CommandContext(t.Context(), javac, args...).CombinedOutput(); err != nil {
		t.Errorf("javac: %v\n%s", err, out)
	}
}
