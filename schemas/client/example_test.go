package client_test

import (
	"bytes"
	"context"
	"crypto/x509"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/lienthong/lienthong/internal/hubtest"
	"github.com/lienthong/lienthong/internal/pki"
	"github.com/lienthong/lienthong/schemas/client"
)

// A DMS integrator's loop: the sending agency signs and sends a packet and
// checks the hub's receipt; the receiving agency lists its inbox, fetches
// the exact bytes, stores them and acknowledges.
func Example() {
	h, stop := exampleHub() // a whole hub with three agencies, for this example
	defer stop()
	ctx := context.Background()
	packet, err := os.ReadFile("../../internal/edxml/testdata/fixtures/edoc-new.xml") // from 000.00.00.G22 to 000.00.00.H29
	if err != nil {
		panic(err)
	}

	// The sender (000.00.00.G22) signs with its certificate and sends.
	g22 := h.Agencies["000.00.00.G22"]
	sender := client.New(h.URL, g22.Token, client.WithUserAgent("my-dms/1.0"))
	sig, err := pki.SignDetached(bytes.NewReader(packet), g22.Cert.Cert, g22.Cert.Key, g22.Cert.Chain, pki.SignOptions{})
	if err != nil {
		panic(err)
	}
	rc, created, err := sender.Send(ctx, bytes.NewReader(packet), int64(len(packet)), sig)
	if err != nil {
		panic(err)
	}
	fmt.Println("sent:", rc.Kind, "created:", created, "signature valid:", rc.Verification.Valid)
	if err := client.VerifyReceiptBy(rc, []*x509.Certificate{h.CA.Root()}, "000.00.00.G01"); err != nil {
		panic(err)
	}
	fmt.Println("receipt signed by the hub")

	// The recipient (000.00.00.H29) polls its inbox: delivery is asynchronous.
	recipient := client.New(h.URL, h.Agencies["000.00.00.H29"].Token)
	poll, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	var items []client.InboxItem
	for len(items) == 0 {
		for it, err := range recipient.InboxAll(poll, "edoc") {
			if err != nil {
				panic(err)
			}
			items = append(items, it)
		}
		if len(items) == 0 {
			time.Sleep(50 * time.Millisecond)
		}
	}
	for _, it := range items {
		var stored bytes.Buffer // the DMS's storage
		sum, n, err := recipient.Fetch(ctx, it.ID, &stored)
		if err != nil {
			panic(err) // a digest mismatch too: discard what was stored
		}
		fmt.Println("fetched from", it.From, "identical:", bytes.Equal(stored.Bytes(), packet), "size matches:", n == it.Size, "sha256 matches:", sum == rc.SHA256)
		if err := recipient.Ack(ctx, it.ID, "done", ""); err != nil {
			panic(err)
		}
	}
	page, err := recipient.Inbox(ctx, client.InboxQuery{Kind: "edoc"})
	if err != nil {
		panic(err)
	}
	fmt.Println("pending after ack:", len(page.Items))
	// Output:
	// sent: edoc created: true signature valid: true
	// receipt signed by the hub
	// fetched from 000.00.00.G22 identical: true size matches: true sha256 matches: true
	// pending after ack: 0
}

// exampleHub starts a test hub outside a test: examples get no testing.T.
func exampleHub() (*hubtest.Hub, func()) {
	t := &exampleT{cleanups: new([]func())}
	h := hubtest.Start(t, hubtest.Options{})
	return h, func() {
		for i := len(*t.cleanups) - 1; i >= 0; i-- {
			(*t.cleanups)[i]()
		}
	}
}

// exampleT is the part of testing.TB that hubtest uses; a failure panics.
// The embedded interface is nil: any other method would panic too.
type exampleT struct {
	testing.TB
	cleanups *[]func()
}

func (exampleT) Helper()                           {}
func (exampleT) Fatal(args ...any)                 { panic(fmt.Sprint(args...)) }
func (exampleT) Fatalf(format string, args ...any) { panic(fmt.Sprintf(format, args...)) }
func (exampleT) Errorf(format string, args ...any) { panic(fmt.Sprintf(format, args...)) }
func (exampleT) Logf(string, ...any)               {}
func (t exampleT) Cleanup(f func())                { *t.cleanups = append(*t.cleanups, f) }
func (t exampleT) TempDir() string {
	dir, err := os.MkdirTemp("", "lienthong-example-*")
	if err != nil {
		panic(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	return dir
}
