package bench

import (
	"bytes"
	"context"
	"crypto"
	"crypto/rand"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime/pprof"
	"time"

	"github.com/lienthong/lienthong/internal/blob"
	"github.com/lienthong/lienthong/internal/bus"
	"github.com/lienthong/lienthong/internal/edxml"
	"github.com/lienthong/lienthong/internal/hub"
	"github.com/lienthong/lienthong/internal/pdfsig"
	"github.com/lienthong/lienthong/internal/pki"
	"github.com/lienthong/lienthong/internal/track"
	"github.com/lienthong/lienthong/internal/trust"
)

// necessary holds what the phase of the necessary work runs with, built
// before it is timed: the embedded hub's own verifier, limits, PDF engine
// and receipt key, and a fresh store, topic and view of the hub's kinds.
type necessary struct {
	verifier *trust.Verifier
	limits   edxml.Limits
	pdf      *pdfsig.Engine // nil when the hub does not check PDFs
	cert     *x509.Certificate
	chain    []*x509.Certificate
	key      crypto.Signer
	store    blob.Store
	prod     *bus.Producer
	topic    string
	view     *track.Store
	spoolDir string
}

// necessaryPhase runs, per packet, only the work the hub must do, in this
// process, without HTTP, with o.Concurrency workers: receive and spool (one
// copy out of the bodies file, SHA-256 computed on the way), the edXML
// parse under the hub's limits (base64 decoded, attachments hashed), one CMS
// verification over the digest already computed, the PDF's signatures when
// the hub checks them, one durable create of the packet in a fresh store of
// the hub's kind, one accepted-sized event marshalled and produced (acks=all,
// the hub's broker), the receipt's JSON marshalled once and CMS-signed with
// the hub's receipt key, and one view write. It reports the process's CPU
// per packet and the packets per second.
func necessaryPhase(ctx context.Context, o Options, env *environment, bodies *os.File, packets []*packet, res *Result) error {
	cfg := env.cfg
	n := &necessary{limits: cfg.Limits.Edxml()}
	var err error
	if n.verifier, err = o.NewVerifier(cfg); err != nil {
		return err
	}
	if cfg.PDF.Verify {
		popts, err := cfg.PDF.Engine(cfg.Hub.DataDir)
		if err != nil {
			return err
		}
		if n.pdf, err = pdfsig.New(ctx, popts); err != nil {
			return err
		}
		defer n.pdf.Close() //nolint:errcheck // verifying only
		res.NecessaryPDF = true
	}
	if cfg.Trust.HubCert != "" {
		if n.cert, n.chain, n.key, err = pki.LoadSigner(cfg.Trust.HubCert, cfg.Trust.HubChain, cfg.Trust.HubKey); err != nil {
			return err
		}
	}
	var tag [4]byte
	_, _ = rand.Read(tag[:])
	n.topic = "lienthong-bench-necessary-" + hex.EncodeToString(tag[:])
	// On the hub's data filesystem, as its spool and view are.
	work := filepath.Join(cfg.Hub.DataDir, n.topic)
	n.spoolDir = filepath.Join(work, "spool")
	if err := os.MkdirAll(n.spoolDir, 0o700); err != nil {
		return err
	}
	defer os.RemoveAll(work) //nolint:errcheck // best effort
	if n.view, err = track.Open(filepath.Join(work, "view.db")); err != nil {
		return err
	}
	defer n.view.Close() //nolint:errcheck // thrown away
	store, cleanup, err := env.store(ctx, n.topic)
	if err != nil {
		return err
	}
	defer cleanup()
	n.store = store
	bcfg := bus.Config{Brokers: env.brokers, ClientID: "lienthong-bench-necessary", BatchTimeout: env.batch}
	admin, err := bus.NewAdmin(bcfg)
	if err != nil {
		return err
	}
	defer admin.Close() //nolint:errcheck // admin client
	if err := admin.EnsureTopics(ctx, bus.TopicSpec{Name: n.topic, Partitions: env.parts}); err != nil {
		return err
	}
	if n.prod, err = bus.NewProducer(bcfg); err != nil {
		return err
	}
	defer n.prod.Close() //nolint:errcheck // flushed by the synchronous produces

	// Warm up as the hub was warm: the whole work of as many packets as
	// there are workers, at once, under keys of their own (the store's
	// connections, the producer's, the PDF engine's instances).
	if err := parallelErr(ctx, min(o.Concurrency, len(packets)), o.Concurrency, func(i int) error {
		return n.one(ctx, bodies, packets[i], "warmup/")
	}); err != nil {
		return fmt.Errorf("warm-up: %w", err)
	}
	if o.CPUProfile != "" {
		f, err := os.Create(o.CPUProfile + ".necessary")
		if err != nil {
			return err
		}
		defer f.Close() //nolint:errcheck // written
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}

	cpu0, _ := cpuTime()
	start := time.Now()
	err = parallelErr(ctx, len(packets), o.Concurrency, func(i int) error {
		if err := n.one(ctx, bodies, packets[i], ""); err != nil {
			return fmt.Errorf("packet %d: %w", i, err)
		}
		return nil
	})
	elapsed := time.Since(start)
	cpu1, ok := cpuTime()
	if err != nil {
		return err
	}
	res.NecessaryS = elapsed.Seconds()
	res.NecessaryPerS = float64(len(packets)) / res.NecessaryS
	if ok {
		res.NecessaryCPUMsPerPacket = cpuMsPer(cpu1-cpu0, len(packets))
	}
	return nil
}

// one does the necessary work for p; prefix, for the warm-up, keeps its
// blob apart from the packet's own.
func (n *necessary) one(ctx context.Context, bodies *os.File, p *packet, prefix string) error {
	// Receive and spool: the packet's bytes copied once into memory, as
	// the hub keeps a letter (hub.Spool), hashed on the way.
	buf := make([]byte, 0, p.pktLen)
	dr := trust.NewDigestReader(io.NewSectionReader(bodies, p.pktOff, p.pktLen), crypto.SHA256)
	w := bytes.NewBuffer(buf)
	if _, err := io.Copy(w, dr); err != nil {
		return err
	}
	packet := w.Bytes()
	digests := dr.Digests()
	sum := hex.EncodeToString(digests[crypto.SHA256])
	sig := make([]byte, p.sigLen)
	if _, err := bodies.ReadAt(sig, p.sigOff); err != nil {
		return err
	}

	popts := edxml.Options{Limits: n.limits, TempDir: n.spoolDir, Kind: edxml.KindEdoc}
	var pdfs *pdfsig.Spool
	if n.pdf != nil {
		pdfs = pdfsig.NewSpool(n.spoolDir)
		defer pdfs.Close()
		popts.Attachment = pdfs.Writer
	}
	pk, err := edxml.Parse(bytes.NewReader(packet), popts)
	if err != nil {
		return err
	}
	if !pk.Valid() {
		return fmt.Errorf("%s: %s", pk.Errors[0].Code, pk.Errors[0].Message)
	}

	now := time.Now()
	s := n.verifier.VerifyCMS(ctx, sig, digests, pk.From(), now)
	if !s.Valid {
		return fmt.Errorf("signature: %v", s.Errors)
	}
	report := &trust.Report{Valid: true, Signatures: []trust.Signature{*s}, Errors: []trust.Problem{}, Warnings: []trust.Problem{}}
	if n.pdf != nil {
		if report.Attachments, err = n.pdf.VerifyPacket(ctx, n.verifier, pk, pdfs, pdfsig.VerifyOptions{From: pk.From(), At: now}); err != nil {
			return err
		}
		if len(report.Attachments) == 0 {
			return errors.New("no PDF verdict")
		}
	}

	id, h := pk.ID(), pk.Header
	// Hashed: the one SHA-256 was taken above, as the hub's spool does.
	if _, err := n.store.Create(ctx, prefix+blob.PacketKey(id), bytes.NewReader(packet), pk.Size(), blob.Meta{ContentType: "application/xml", SHA256: sum, Hashed: true}); err != nil {
		return err
	}

	to := make([]string, 0, len(h.To))
	for _, o := range h.To {
		to = append(to, o.OrganID)
	}
	rc := hub.Receipt{ID: id, Kind: string(pk.Kind), DocumentID: h.DocumentID, From: pk.From(), To: to, SHA256: sum, Size: pk.Size(),
		AcceptedAt: now.UTC(), Verification: report}
	if err := n.signReceipt(&rc); err != nil {
		return err
	}

	ev := acceptedEvent{V: 1, ID: id, Kind: string(pk.Kind), From: pk.From(), To: to, DocumentID: h.DocumentID, Subject: h.Subject,
		Business: edxml.BusinessNew, BlobKey: blob.PacketKey(id), SHA256: sum, Size: pk.Size(), AcceptedAt: rc.AcceptedAt, Channel: "v1"}
	for _, t := range to {
		ev.Deliveries = append(ev.Deliveries, map[string]any{"endpoint": t, "organs": []string{t}})
	}
	event, err := json.Marshal(ev)
	if err != nil {
		return err
	}
	if err := n.prod.Produce(ctx, bus.Message{Topic: n.topic, Key: []byte(prefix + id), Value: event}); err != nil {
		return err
	}

	if prefix != "" {
		return nil // the warm-up's record would be the packet's own
	}
	return n.view.Accepted(track.Packet{ID: id, Kind: string(pk.Kind), From: pk.From(), To: to, Endpoints: to, DocumentID: h.DocumentID,
		Subject: h.Subject, BusinessType: edxml.BusinessNew, SHA256: sum, Size: pk.Size(), AcceptedAt: rc.AcceptedAt})
}

// signReceipt signs the receipt's JSON as the hub does (hub.SignReceipt).
func (n *necessary) signReceipt(rc *hub.Receipt) error {
	if n.key == nil {
		return nil
	}
	return hub.SignReceipt(rc, n.cert, n.key, n.chain)
}

// cpuMsPer is d in milliseconds per packet, to the microsecond.
func cpuMsPer(d time.Duration, packets int) float64 {
	if packets <= 0 {
		return 0
	}
	return float64(d.Microseconds()/int64(packets)) / 1000
}
