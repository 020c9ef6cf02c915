package client_test

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/lienthong/lienthong/internal/hubtest"
	"github.com/lienthong/lienthong/internal/pki"
)

// agencyProgram is an agency's program in a module of its own: it sends a
// signed packet, reads its inbox topic with the public event type, fetches
// the bytes, sees the item in its REST inbox and acknowledges it.
const agencyProgram = `package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/lienthong/lienthong/schemas/client"
	"github.com/lienthong/lienthong/schemas/events"
)

// Arguments: hub URL, sender's token, recipient's token, packet file,
// signature file, broker address, recipient's inbox topic.
func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

func run(a []string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	packet, err := os.ReadFile(a[3])
	if err != nil {
		return err
	}
	sig, err := os.ReadFile(a[4])
	if err != nil {
		return err
	}
	rc, created, err := client.New(a[0], a[1]).Send(ctx, bytes.NewReader(packet), int64(len(packet)), sig)
	if err != nil {
		return err
	}
	fmt.Println("sent", rc.ID, created)

	r := kafka.NewReader(kafka.ReaderConfig{Brokers: []string{a[5]}, Topic: a[6], Partition: 0})
	defer r.Close()
	var d events.Delivery
	for d.ID != rc.ID {
		m, err := r.ReadMessage(ctx)
		if err != nil {
			return err
		}
		if err := json.Unmarshal(m.Value, &d); err != nil {
			return err
		}
	}
	fmt.Println("delivered", d.Kind, d.From, d.BusinessType, d.DocumentID)

	recipient := client.New(a[0], a[2])
	var got bytes.Buffer
	sum, _, err := recipient.Fetch(ctx, d.ID, &got)
	if err != nil {
		return err
	}
	fmt.Println("fetched", sum == d.SHA256, bytes.Equal(got.Bytes(), packet))
	for listed := false; !listed; time.Sleep(50 * time.Millisecond) {
		page, err := recipient.Inbox(ctx, client.InboxQuery{Kind: events.KindEdoc})
		if err != nil {
			return err
		}
		for _, it := range page.Items {
			listed = listed || it.ID == d.ID
		}
	}
	if err := recipient.Ack(ctx, d.ID, "done", ""); err != nil {
		return err
	}
	var e *client.Error
	if err := recipient.Ack(ctx, d.ID, "done", ""); !errors.As(err, &e) {
		return fmt.Errorf("second ack: %v", err)
	}
	fmt.Println("acked, then", e.Code)
	return nil
}
`

// An agency's program outside this module imports schemas/client and
// schemas/events, builds and works against a hub; and the command installs
// by its import path (go install …/cmd/lienthong@latest, the README's).
// The build is offline, from the module cache the repository's own build
// filled: a cache missing a module skips here, never in CI.
func TestImportFromAnotherModule(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a module: not in -short")
	}
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command")
	}
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	gomod, err := os.ReadFile(filepath.Join(root, "go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	goLine := regexp.MustCompile(`(?m)^go [0-9.]+$`).Find(gomod)
	dir := t.TempDir()
	write := func(name string, data []byte) {
		t.Helper()
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write("go.mod", []byte("module example.org/agency-dms\n\n"+string(goLine)+"\n\n"+
		"require github.com/lienthong/lienthong v0.0.0\n\nreplace github.com/lienthong/lienthong => "+root+"\n"))
	sum, err := os.ReadFile(filepath.Join(root, "go.sum"))
	if err != nil {
		t.Fatal(err)
	}
	write("go.sum", sum)
	write("main.go", []byte(agencyProgram))

	gobin := filepath.Join(dir, "bin")
	goCmd := func(args ...string) {
		t.Helper()
		cmd := exec.Command(goBin, args...)
		cmd.Dir = dir
		// Offline: a module not in the cache fails rather than downloads.
		cmd.Env = append(os.Environ(), "GOFLAGS=-mod=mod -buildvcs=false", "GOPROXY=off", "GOWORK=off", "GOBIN="+gobin)
		out, err := cmd.CombinedOutput()
		if err == nil {
			return
		}
		if s := string(out); os.Getenv("CI") == "" && (strings.Contains(s, "GOPROXY=off") || strings.Contains(s, "missing go.sum entry")) {
			t.Skipf("the module cache lacks a module this build needs (run go mod download in the repository): go %s: %s", strings.Join(args, " "), out)
		}
		t.Fatalf("go %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	goCmd("build", "-o", filepath.Join(gobin, "agency-dms"), ".")
	goCmd("install", "github.com/lienthong/lienthong/cmd/lienthong")

	out, err := exec.Command(filepath.Join(gobin, "lienthong"), "version").CombinedOutput()
	if err != nil || len(bytes.TrimSpace(out)) == 0 {
		t.Errorf("installed lienthong version: %v\n%s", err, out)
	}

	h := hubtest.Start(t, hubtest.Options{})
	g22, h29 := h.Agencies["000.00.00.G22"], h.Agencies["000.00.00.H29"]
	packet := fixture(t, "edoc-new.xml") // from G22 to H29
	sig, err := pki.SignDetached(bytes.NewReader(packet), g22.Cert.Cert, g22.Cert.Key, g22.Cert.Chain, pki.SignOptions{})
	if err != nil {
		t.Fatal(err)
	}
	write("packet.xml", packet)
	write("packet.p7s", sig)
	cmd := exec.Command(filepath.Join(gobin, "agency-dms"), h.URL, g22.Token, h29.Token, filepath.Join(dir, "packet.xml"),
		filepath.Join(dir, "packet.p7s"), h.Broker.Addrs()[0], "lienthong.inbox.000.00.00.H29")
	out, err = cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("the agency's program: %v\n%s", err, out)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	want := []*regexp.Regexp{
		regexp.MustCompile(`^sent [0-9a-f]{64} true$`),
		regexp.MustCompile(`^delivered edoc 000\.00\.00\.G22 0 000\.00\.00\.G22,\S+$`),
		regexp.MustCompile(`^fetched true true$`),
		regexp.MustCompile(`^acked, then packet\.not_found$`),
	}
	if len(lines) != len(want) {
		t.Fatalf("the agency's program printed\n%s", out)
	}
	for i, re := range want {
		if !re.MatchString(lines[i]) {
			t.Errorf("line %d: %q, want %s", i+1, lines[i], re)
		}
	}
}
