// Package hub is the data path (docs/contracts.md): submit (parse, verify,
// store, produce the accepted event: the commit point), fan-out to inbox
// topics, and the view each instance builds from the topics for inboxes,
// fetches, acknowledgements and timelines.
package hub

import (
	"context"
	"crypto"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"time"

	"github.com/lienthong/lienthong/internal/blob"
	"github.com/lienthong/lienthong/internal/bus"
	"github.com/lienthong/lienthong/internal/edxml"
	"github.com/lienthong/lienthong/internal/metrics"
	"github.com/lienthong/lienthong/internal/organ"
	"github.com/lienthong/lienthong/internal/pdfsig"
	"github.com/lienthong/lienthong/internal/route"
	"github.com/lienthong/lienthong/internal/tracing"
	"github.com/lienthong/lienthong/internal/track"
	"github.com/lienthong/lienthong/internal/trust"
	"github.com/lienthong/lienthong/schemas/events"
)

// Signature policies per channel (docs/contracts.md, Identity and trust).
const (
	PolicyRequire    = "require"     // a valid CMS or XML-DSig
	PolicyCMS        = "cms"         // a valid CMS
	PolicyUnsignedOK = "unsigned-ok" // unsigned passes with sig.unsigned
)

// PDF policies (issue 17; docs/trust.md, PDF signatures).
const (
	PDFReport = "report" // report the PDFs' signatures, refuse nothing (the default)
	// PDFOrgan refuses an edoc whose main PDF lacks a valid signature of
	// the sending organ: pdf.organ_signature_missing.
	PDFOrgan = "organ"
)

// Options wire a Hub.
type Options struct {
	OrganID    string // the hub's own identifier, for its receipts
	InstanceID string // distinguishes this process's view consumer group
	Directory  *organ.Directory
	// DirectoryReady, when set, waits until Directory holds the agencies
	// added at run time (internal/agencies): Run reads the inbox topics of
	// the agencies listed then.
	DirectoryReady func(context.Context) error
	Store          blob.Store
	// Bus configures the hub's consumer groups (Run).
	Bus bus.Config
	// Publisher produces every event the hub writes and Admin makes its
	// topics and answers the probes. Both are required and owned by the
	// caller, which shares them between the process's components and
	// closes them after the hub (docs/bus.md, One client per process).
	Publisher bus.Publisher
	Admin     Admin
	Topics    Topics
	View      *track.Store
	Verifier  *trust.Verifier
	Policy    string
	Limits    edxml.Limits
	// LogLeaves puts in each receipt the hash of its acceptance's leaf in
	// the verifiable log (Receipt.LogLeaf), when the hub keeps one.
	LogLeaves bool
	// StampReceipt, when set, time-stamps each new receipt (RFC 3161, over
	// the SHA-256 of its CMS): Receipt.ReceiptTimestamp.
	StampReceipt func(ctx context.Context, digest []byte) ([]byte, error)
	SpoolDir     string
	// The hub's signing key for receipts.
	ReceiptCert  *x509.Certificate
	ReceiptKey   crypto.Signer
	ReceiptChain []*x509.Certificate
	Log          *slog.Logger
	Now          func() time.Time
	// AgencyPolicy overrides Policy for the packets of some agencies, by
	// OrganId (docs/contracts.md, Identity and trust).
	AgencyPolicy map[string]string
	// PDF, when set, verifies the signatures inside edocs' PDF attachments
	// into the report's attachments (issue 17).
	PDF *pdfsig.Checker
	// PDFPolicy is the PDF policy by channel ("v1", "vdxp", "console"), and
	// AgencyPDFPolicy by sending OrganId; the stricter applies. Unset is
	// PDFReport.
	PDFPolicy       map[string]string
	AgencyPDFPolicy map[string]string
	// Peers are the federated hubs, by name (agency endpoints "hub:<name>").
	Peers map[string]Peer
	// HTTP is the client for forwarding to peers (default: 2 min timeout).
	HTTP *http.Client
	// Metrics, when set, counts submissions and deliveries and reads the
	// inbox gauges from View (internal/metrics).
	Metrics *metrics.Hub
	// BrokerWait bounds how long a request waits for the broker to take
	// an event (default 2 s): while it is down, submit and ack answer 503
	// instead of hanging on kafka-go's own timeouts.
	BrokerWait time.Duration
	// Restart is what Run does when one of its consumers fails (default:
	// bus.RestartPolicy's).
	Restart bus.RestartPolicy
	// PushGroup is the webhook pusher's consumer group (push.Topics.Group),
	// whose lag Health reports.
	PushGroup string
	// MinFreeBytes, when set, makes Ready fail while a directory of
	// DiskDirs (default: SpoolDir) has less free space.
	MinFreeBytes int64
	DiskDirs     []string
	// Tracer, when set, traces each packet (internal/tracing); nil is off.
	Tracer *tracing.Tracer
	// OpenSpool, when set, replaces making an unlinked spool file in
	// SpoolDir (tests inject a full disk there).
	OpenSpool func() (*os.File, error)
	// SpoolMemory is how much of a packet is held in memory before it is
	// spooled to a file (Spool); 0 means DefaultSpoolMemory, negative none.
	SpoolMemory int64
}

// DefaultSpoolMemory keeps a letter (tens of kilobytes) in memory while it
// is submitted.
const DefaultSpoolMemory = 1 << 20

// Admin is what the hub asks of the bus's admin client (*bus.Admin).
type Admin interface {
	EnsureTopics(ctx context.Context, specs ...bus.TopicSpec) error
	Lag(ctx context.Context, group, topic string) (int64, error)
	Lags(ctx context.Context, group string, topics []string) (map[string]int64, error)
}

var _ Admin = (*bus.Admin)(nil)

// DefaultBrokerWait is Options.BrokerWait's default.
const DefaultBrokerWait = 2 * time.Second

// DefaultPartitions is the partition count of the accepted and events
// topics (config bus.partitions).
const DefaultPartitions = 6

// Topics names the hub's topics.
type Topics struct {
	Prefix            string // default bus.DefaultTopicPrefix
	Partitions        int    // default DefaultPartitions
	ReplicationFactor int    // default: the broker's
}

func (t Topics) accepted() string          { return t.Prefix + "accepted" }
func (t Topics) events() string            { return t.Prefix + "events" }
func (t Topics) deadLetter() string        { return t.Prefix + "dead-letter" }
func (t Topics) inbox(ep string) string    { return t.Prefix + "inbox." + ep }
func (t Topics) routerGroup() string       { return t.Prefix + "router" }
func (t Topics) forwardGroup() string      { return t.Prefix + "forward" }
func (t Topics) viewGroup(i string) string { return t.Prefix + "view." + i }

// Hub is one hub process. Many may share a Kafka cluster and a store.
type Hub struct {
	o      Options
	spools *spools
	// outboxWake tells the outbox drainer a fetched event waits.
	outboxWake chan struct{}
}

// Error is a refusal with an HTTP status and a stable code.
type Error struct {
	Status   int
	Code     string
	Message  string
	Problems []edxml.Problem `json:"errors,omitempty"`
	Report   *trust.Report   `json:"verification,omitempty"`
	Err      error           `json:"-"`
}

func (e *Error) Error() string { return e.Code + ": " + e.Message }
func (e *Error) Unwrap() error { return e.Err }

func refuse(status int, code, format string, args ...any) *Error {
	return &Error{Status: status, Code: code, Message: fmt.Sprintf(format, args...)}
}

func unavailable(what string, err error) *Error {
	return &Error{Status: http.StatusServiceUnavailable, Code: "hub.unavailable", Message: what + " is unavailable", Err: err}
}

// New makes a Hub and ensures its topics exist.
func New(ctx context.Context, o Options) (*Hub, error) {
	if o.Topics.Prefix == "" {
		o.Topics.Prefix = bus.DefaultTopicPrefix
	}
	if o.Topics.Partitions <= 0 {
		o.Topics.Partitions = DefaultPartitions
	}
	if o.Policy == "" {
		o.Policy = PolicyRequire
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.BrokerWait <= 0 {
		o.BrokerWait = DefaultBrokerWait
	}
	if len(o.DiskDirs) == 0 && o.SpoolDir != "" {
		o.DiskDirs = []string{o.SpoolDir}
	}
	if o.Directory == nil || o.Store == nil || o.View == nil || o.Verifier == nil || o.Publisher == nil || o.Admin == nil {
		return nil, errors.New("hub: Directory, Store, View, Verifier, Publisher and Admin are required")
	}
	if err := checkReceiptSigner(o.ReceiptCert, o.ReceiptKey, o.ReceiptChain); err != nil {
		return nil, err
	}
	specs := []bus.TopicSpec{
		{Name: o.Topics.accepted(), Partitions: o.Topics.Partitions, ReplicationFactor: o.Topics.ReplicationFactor},
		{Name: o.Topics.events(), Partitions: o.Topics.Partitions, ReplicationFactor: o.Topics.ReplicationFactor},
		{Name: o.Topics.deadLetter(), Partitions: 1, ReplicationFactor: o.Topics.ReplicationFactor},
	}
	for _, a := range o.Directory.Agencies() {
		specs = append(specs, bus.TopicSpec{Name: o.Topics.inbox(string(a.ID)), Partitions: 1, ReplicationFactor: o.Topics.ReplicationFactor})
	}
	if err := o.Admin.EnsureTopics(ctx, specs...); err != nil {
		return nil, fmt.Errorf("hub: topics: %w", err)
	}
	o.Metrics.ObservePending(o.View.Pending)
	switch {
	case o.SpoolMemory == 0:
		o.SpoolMemory = DefaultSpoolMemory
	case o.SpoolMemory < 0:
		o.SpoolMemory = 0
	}
	h := &Hub{o: o, spools: &spools{dir: o.SpoolDir, open: o.OpenSpool}, outboxWake: make(chan struct{}, 1)}
	o.Metrics.ObserveHealth(h.Health)
	return h, nil
}

// Ready reports whether the store and the broker answer and the disks
// have room (Options.MinFreeBytes).
func (h *Hub) Ready(ctx context.Context) error {
	if err := h.checkDisks(); err != nil {
		return err
	}
	if err := h.o.Store.Ping(ctx); err != nil {
		return fmt.Errorf("store: %w", err)
	}
	// A hung broker is not ready either: the probe answers within the
	// wait a request would have, instead of at kafka-go's dial timeouts.
	ctx, cancel := context.WithTimeout(ctx, h.o.BrokerWait)
	defer cancel()
	if _, err := h.o.Admin.Lag(ctx, h.o.Topics.routerGroup(), h.o.Topics.accepted()); err != nil {
		return fmt.Errorf("broker: %w", err)
	}
	return nil
}

// Health probes the store and the broker and reads the lag of this
// process's consumers: the router on the accepted topic, the view on every
// topic it reads, the forwarder on the federated inboxes, and the webhook
// pusher on the inboxes of agencies that take webhooks. Group labels
// are the roles, not the groups' full names, which carry the instance.
func (h *Hub) Health(ctx context.Context) metrics.Health {
	out := metrics.Health{Up: map[string]bool{
		metrics.ComponentStore:  h.o.Store.Ping(ctx) == nil,
		metrics.ComponentBroker: false,
	}}
	add := func(role, group string, topics []string) bool {
		lags, err := h.o.Admin.Lags(ctx, group, topics)
		if err != nil {
			return false
		}
		for _, t := range topics {
			out.Lags = append(out.Lags, metrics.Lag{Group: role, Topic: t, Messages: lags[t]})
		}
		return true
	}
	out.Up[metrics.ComponentBroker] = add("router", h.o.Topics.routerGroup(), []string{h.o.Topics.accepted()})
	if !out.Up[metrics.ComponentBroker] {
		return out
	}
	add("view", h.viewGroup(), h.viewTopics())
	if topics := h.forwardTopics(); len(topics) > 0 {
		add("forward", h.o.Topics.forwardGroup(), topics)
	}
	var hooks []string
	for _, a := range h.o.Directory.Agencies() {
		if organ.IsWebhook(a.Endpoint) {
			hooks = append(hooks, h.o.Topics.inbox(string(a.ID)))
		}
	}
	if len(hooks) > 0 && h.o.PushGroup != "" {
		add("push", h.o.PushGroup, hooks)
	}
	return out
}

// accepted is the claim-check event of an accepted packet: references and
// small metadata, never the payload (schemas/events/accepted.schema.json).
type accepted struct {
	V          int              `json:"v"`
	ID         string           `json:"id"`
	Kind       string           `json:"kind"`
	From       string           `json:"from"`
	To         []string         `json:"to,omitempty"`
	DocumentID string           `json:"documentId"`
	Subject    string           `json:"subject,omitempty"`
	Priority   int              `json:"priority"`
	Business   string           `json:"businessType,omitempty"`
	StatusCode edxml.StatusCode `json:"statusCode,omitempty"`
	RFOrgan    string           `json:"responseForOrgan,omitempty"`
	RFDocument string           `json:"responseForDocument,omitempty"`
	BlobKey    string           `json:"blobKey"`
	SHA256     string           `json:"sha256"`
	Size       int64            `json:"size"`
	AcceptedAt time.Time        `json:"acceptedAt"`
	Deliveries []delivery       `json:"deliveries"`
	Flags      []string         `json:"flags,omitempty"`
	Channel    string           `json:"channel"`
	DueDate    string           `json:"dueDate,omitempty"`
	Replaces   []string         `json:"replaces,omitempty"`
	// Hops are the hubs that relayed the packet here, first first.
	Hops []string `json:"hops,omitempty"`
	// An edoc's register fields (track.Packet), as the packet writes them.
	Code             string `json:"code,omitempty"`
	PromulgationDate string `json:"promulgationDate,omitempty"`
	TypeName         string `json:"typeName,omitempty"`
	Signer           string `json:"signer,omitempty"`
	FromName         string `json:"fromName,omitempty"`
	// Attachments: the edoc's PDF signatures in brief (briefPDFs).
	Attachments []events.AttachmentVerdict `json:"attachments,omitempty"`
}

// delivery is one routing decision of an accepted event.
type delivery = events.AcceptedDestination

// event is a transport event on the events topic: the public type, so what
// the hub writes is what agencies' and operators' programs decode.
type event = events.Transport

// deliveries are the routing decisions the event carries.
func (a accepted) deliveries() []route.Delivery {
	ds := make([]route.Delivery, len(a.Deliveries))
	for i, d := range a.Deliveries {
		ds[i] = route.Delivery{Endpoint: d.Endpoint, Organs: d.Organs}
	}
	return ds
}

// delivery is the inbox message of a for one of its destinations. It is
// derived from the accepted event alone (a status's name from its code),
// so a replay writes the same bytes: the same key, the same value.
func (a accepted) delivery(d delivery) events.Delivery {
	return events.Delivery{V: events.Version, ID: a.ID, Endpoint: d.Endpoint, Organs: d.Organs, Kind: a.Kind, From: a.From,
		DocumentID: a.DocumentID, Subject: a.Subject, Priority: a.Priority, AcceptedAt: a.AcceptedAt, SHA256: a.SHA256, Size: a.Size,
		BusinessType: a.Business, StatusCode: string(a.StatusCode), StatusName: a.StatusCode.Name(), Attachments: a.Attachments}
}

func (a accepted) packet() track.Packet {
	var to, endpoints []string
	to = append(to, a.To...)
	for _, d := range a.Deliveries {
		endpoints = append(endpoints, d.Endpoint)
	}
	return track.Packet{Endpoints: endpoints, ID: a.ID, Kind: a.Kind, From: a.From, To: to, DocumentID: a.DocumentID, Subject: a.Subject,
		Priority: a.Priority, BusinessType: a.Business, StatusCode: a.StatusCode, ResponseForOrgan: a.RFOrgan,
		ResponseForDocument: a.RFDocument, SHA256: a.SHA256, Size: a.Size, AcceptedAt: a.AcceptedAt, Flags: a.Flags,
		DueDate: a.DueDate, Replaces: a.Replaces, Hops: a.Hops,
		Code: a.Code, PromulgationDate: a.PromulgationDate, TypeName: a.TypeName, Signer: a.Signer, FromName: a.FromName,
		Attachments: a.Attachments}
}

func (h *Hub) produce(ctx context.Context, topic, key string, v any) error {
	raw, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return h.o.Publisher.Produce(ctx, bus.Message{Topic: topic, Key: []byte(key), Value: raw})
}

// publish produces for a request, waiting at most BrokerWait: a broker
// that is away costs the caller a 503 at once, not kafka-go's timeouts.
// The messages may still be written after the wait ends; what the hub
// produces is repeatable (the accepted event's bytes are recorded first).
func (h *Hub) publish(ctx context.Context, msgs ...bus.Message) error {
	ctx, cancel := context.WithTimeout(ctx, h.o.BrokerWait)
	defer cancel()
	return h.o.Publisher.Produce(ctx, msgs...)
}
