package push

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"math/rand/v2"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/lienthong/lienthong/internal/bus"
	"github.com/lienthong/lienthong/internal/organ"
	"github.com/lienthong/lienthong/internal/tracing"
)

// Defaults applied to zero Config fields.
const (
	DefaultMaxAttempts    = 8
	DefaultInitialBackoff = time.Second
	DefaultMaxBackoff     = 5 * time.Minute
	DefaultHTTPTimeout    = 30 * time.Second
	DefaultSessionTimeout = 10 * time.Second
	DefaultPrefix         = bus.DefaultTopicPrefix
)

// MinSecretLen is the shortest webhook secret New accepts, in bytes.
const MinSecretLen = 16

// HeaderEndpoint is added to a dead-lettered delivery: the OrganId of the
// endpoint whose webhook failed.
const HeaderEndpoint = "x-endpoint"

// bodySnippet bounds how much of a failed answer goes into the error.
const bodySnippet = 256

// Topics names the topics and the group the Pusher uses, the way the hub
// names them (docs/hub.md).
type Topics struct {
	Prefix            string // default DefaultPrefix
	ReplicationFactor int    // for topics Run creates; default: the broker's
}

func (t Topics) prefix() string {
	if t.Prefix == "" {
		return DefaultPrefix
	}
	return t.Prefix
}

// Inbox is the inbox topic of an endpoint: <prefix>inbox.<OrganId>.
func (t Topics) Inbox(organID string) string { return t.prefix() + "inbox." + organID }

// DeadLetter is <prefix>dead-letter, where failed deliveries are parked.
func (t Topics) DeadLetter() string { return t.prefix() + "dead-letter" }

// Replays is <prefix>dead-letter.replays, where Replay records what it
// replayed.
func (t Topics) Replays() string { return t.prefix() + "dead-letter.replays" }

// Group is the consumer group of every Pusher: <prefix>push.
func (t Topics) Group() string { return t.prefix() + "push" }

// Endpoint is an agency that takes its deliveries by webhook.
type Endpoint struct {
	OrganID string
	// URL is https, or http to a loopback host (local tests); it must not
	// carry credentials.
	URL string
	// Secret keys the HMAC-SHA256 signatures; at least MinSecretLen bytes,
	// shared with the receiver only.
	Secret []byte
}

// Config configures a Pusher.
type Config struct {
	Bus    bus.Config
	Topics Topics
	// Publisher and Admin, when set, are the process's shared clients
	// (the dead letters are produced through Publisher, the topics made
	// with Admin); the caller closes them after Run returns. When nil, Run
	// opens its own from Bus.
	Publisher bus.Publisher
	Admin     *bus.Admin
	// Restart is what Run does when an endpoint's consumer fails
	// (default: bus.RestartPolicy's).
	Restart bus.RestartPolicy
	// Endpoints are the webhook endpoints at start; agencies that pull are
	// not listed (see IsWebhook). SetEndpoints changes them.
	Endpoints []Endpoint
	// HTTP posts the deliveries. Default: a client with a 30 s timeout that
	// does not follow redirects (a 3xx is a failure, retried).
	HTTP *http.Client
	// MaxAttempts counts the first try (default 8). After that many
	// failures the item is dead-lettered.
	MaxAttempts int
	// The wait after failed attempt n is Jitter(min(MaxBackoff,
	// InitialBackoff·2^(n-1))); defaults 1 s and 5 min.
	InitialBackoff time.Duration
	MaxBackoff     time.Duration
	// Jitter maps the capped backoff to the actual wait. Default: full
	// jitter, uniform over [0, d]. func(d time.Duration) time.Duration
	// { return d } turns it off.
	Jitter func(d time.Duration) time.Duration
	// SessionTimeout is the group session and rebalance timeout (default
	// 10 s, as the hub's consumers).
	SessionTimeout time.Duration
	Log            *slog.Logger
	// OnDelivered, when set, is called after a receiver answered 2xx and
	// before the item is committed (so it may be called again for the same
	// item after a restart). It must not block for long; the hub can use
	// it to put a "pushed" step on the timeline.
	OnDelivered func(ctx context.Context, organID, packetID string, attempts int)
	// Done, when set, tells the items an agency already acknowledged (by
	// pulling them): they are not pushed. An agency switched from pull to
	// a webhook at run time would otherwise get its inbox topic's whole
	// history again, its consumer starting at the topic's first offset.
	Done func(organID, id string) bool
	// OnAttempt, when set, is called after each POST with its error (nil
	// for a 2xx); the hub counts them (metrics.Hub.WebhookAttempt).
	OnAttempt func(organID string, err error)
	// Tracer, when set, continues each item's trace in a "deliver" span
	// (internal/tracing); nil is off.
	Tracer *tracing.Tracer
	// Now stamps X-Lienthong-Timestamp (default time.Now).
	Now func() time.Time
}

// Pusher delivers inbox items to webhook endpoints.
type Pusher struct {
	cfg     Config
	ownHTTP *http.Transport // the default client's, closed when Run ends
	changed chan struct{}   // a token after SetEndpoints

	mu      sync.Mutex
	eps     map[string]*endpoint // by OrganId
	running []string             // the OrganIds Run delivers to now
}

// Running lists the OrganIds whose deliveries run now.
func (p *Pusher) Running() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return slices.Clone(p.running)
}

// endpoint is one agency's delivery; its target may change while its
// consumer runs (a new URL or secret applies from the next attempt).
type endpoint struct {
	OrganID string
	target  atomic.Pointer[target]
}

type target struct {
	URL     string
	Secret  []byte
	display string // the URL without query or fragment, for logs and errors
}

// New checks cfg and returns a Pusher. It does not contact the brokers.
func New(cfg Config) (*Pusher, error) {
	if err := cfg.Bus.Validate(); err != nil {
		return nil, fmt.Errorf("push: %w", err)
	}
	if cfg.MaxAttempts < 0 || cfg.InitialBackoff < 0 || cfg.MaxBackoff < 0 || cfg.SessionTimeout < 0 {
		return nil, errors.New("push: negative attempts or duration")
	}
	if cfg.MaxAttempts == 0 {
		cfg.MaxAttempts = DefaultMaxAttempts
	}
	if cfg.InitialBackoff == 0 {
		cfg.InitialBackoff = DefaultInitialBackoff
	}
	if cfg.MaxBackoff == 0 {
		cfg.MaxBackoff = DefaultMaxBackoff
	}
	cfg.MaxBackoff = max(cfg.MaxBackoff, cfg.InitialBackoff)
	if cfg.Jitter == nil {
		cfg.Jitter = fullJitter
	}
	if cfg.SessionTimeout == 0 {
		cfg.SessionTimeout = DefaultSessionTimeout
	}
	var own *http.Transport
	if cfg.HTTP == nil {
		own = http.DefaultTransport.(*http.Transport).Clone()
		cfg.HTTP = &http.Client{
			Timeout:       DefaultHTTPTimeout,
			Transport:     own,
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		}
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	cfg.Topics.Prefix = cfg.Topics.prefix()
	p := &Pusher{cfg: cfg, ownHTTP: own, changed: make(chan struct{}, 1), eps: map[string]*endpoint{}}
	if err := p.SetEndpoints(cfg.Endpoints); err != nil {
		return nil, err
	}
	p.cfg.Endpoints = nil // the copies in eps are the ones used
	return p, nil
}

// SetEndpoints replaces the webhook endpoints, for agencies set at run
// time (internal/agencies): Run starts delivering to new ones, stops for
// those gone, and an endpoint whose URL or secret changed uses the new
// ones from its next attempt. Nothing changes when one is invalid.
func (p *Pusher) SetEndpoints(list []Endpoint) error {
	var errs []error
	next := map[string]*target{}
	for _, e := range list {
		display, err := checkURL(e.URL)
		switch {
		case e.OrganID == "":
			errs = append(errs, errors.New("push: an endpoint without an OrganId"))
			continue
		case next[e.OrganID] != nil:
			errs = append(errs, fmt.Errorf("push: endpoint %s listed twice", e.OrganID))
		case err != nil:
			errs = append(errs, fmt.Errorf("push: endpoint %s: %w", e.OrganID, err))
		case len(e.Secret) < MinSecretLen:
			errs = append(errs, fmt.Errorf("push: endpoint %s: webhook secret shorter than %d bytes", e.OrganID, MinSecretLen))
		}
		next[e.OrganID] = &target{URL: e.URL, Secret: slices.Clone(e.Secret), display: display}
	}
	if len(errs) > 0 {
		return errors.Join(errs...)
	}
	p.mu.Lock()
	for id := range p.eps {
		if next[id] == nil {
			delete(p.eps, id)
		}
	}
	for id, t := range next {
		e := p.eps[id]
		if e == nil {
			e = &endpoint{OrganID: id}
			p.eps[id] = e
		}
		e.target.Store(t)
	}
	p.mu.Unlock()
	select {
	case p.changed <- struct{}{}:
	default:
	}
	return nil
}

// endpoints are the current endpoints.
func (p *Pusher) endpoints() map[string]*endpoint {
	p.mu.Lock()
	defer p.mu.Unlock()
	return maps.Clone(p.eps)
}

// checkURL applies the directory's rule for webhook URLs (internal/organ)
// and returns the URL as it may be shown.
func checkURL(s string) (string, error) {
	u, err := url.Parse(s)
	if err != nil {
		return "", errors.New("webhook URL does not parse")
	}
	shown := (&url.URL{Scheme: u.Scheme, Host: u.Host, Path: u.Path}).String()
	switch {
	case u.User != nil:
		return "", errors.New("credentials in a webhook URL")
	case u.Scheme == "https" && u.Host != "":
	case u.Scheme == "http" && organ.IsLoopback(u.Hostname()):
	default:
		return "", fmt.Errorf("webhook URL %q: want https (http only to a loopback host)", clip(shown))
	}
	return shown, nil
}

func fullJitter(d time.Duration) time.Duration {
	if d <= 0 {
		return 0
	}
	return rand.N(d + 1)
}

// backoff is the wait after failed attempt n (1-based).
func (p *Pusher) backoff(n int) time.Duration {
	d := p.cfg.InitialBackoff
	for i := 1; i < n && d < p.cfg.MaxBackoff; i++ {
		d *= 2
	}
	return max(0, p.cfg.Jitter(min(d, p.cfg.MaxBackoff)))
}

// Run delivers until ctx ends, then returns nil. It creates the inbox and
// dead-letter topics if they are missing (as the hub does), and runs one
// consumer per endpoint in the group Topics.Group(), so that a receiver
// that is slow or down holds back its own inbox only; endpoints added or
// removed by SetEndpoints start and stop while it runs. A consumer that
// stops on an error (the broker unreachable while parking a message) is
// restarted as Config.Restart says; a failure to set up the topics, or a
// consumer whose restarts are spent, is returned.
func (p *Pusher) Run(ctx context.Context) error {
	defer func() {
		if p.ownHTTP != nil {
			p.ownHTTP.CloseIdleConnections()
		}
	}()
	type running struct {
		e      *endpoint
		cancel context.CancelFunc
		done   chan struct{}
	}
	live := map[string]*running{}
	failed := make(chan error, 1)
	stop := func(r *running) {
		r.cancel()
		<-r.done
	}
	defer func() {
		for _, r := range live {
			stop(r)
		}
	}()
	var admin *bus.Admin
	var producer bus.Publisher
	t := p.cfg.Topics
	// setupFailed is the error of an endpoint that could not start: at
	// the first pass it is Run's (as a failure at start); later it is
	// logged and the endpoint tried again after retrySetup, so an outage
	// while an operator adds an agency does not stop the process.
	var retry <-chan time.Time
	for first := true; ; first = false {
		var setupFailed error
		want := p.endpoints()
		for id, r := range live {
			if want[id] != r.e {
				stop(r)
				delete(live, id)
			}
		}
		for _, id := range slices.Sorted(maps.Keys(want)) {
			if live[id] != nil {
				continue
			}
			if producer == nil {
				// Set up at the first endpoint: a hub without webhooks
				// never needs them.
				a, release, err := bus.AdminOf(p.cfg.Bus, p.cfg.Admin)
				if err == nil {
					err = a.EnsureTopics(ctx, bus.TopicSpec{Name: t.DeadLetter(), Partitions: 1, ReplicationFactor: t.ReplicationFactor})
					if err != nil {
						release()
					}
				}
				if ctx.Err() != nil {
					return nil
				}
				if err != nil {
					setupFailed = fmt.Errorf("push: topics: %w", err)
					break
				}
				defer release()
				admin, producer = a, p.cfg.Publisher
				if producer == nil {
					own, err := bus.NewProducer(p.cfg.Bus)
					if err != nil {
						return fmt.Errorf("push: %w", err)
					}
					defer own.Close() //nolint:errcheck // nothing is pending once the consumers are done
					producer = own
				}
			}
			e := want[id]
			if err := admin.EnsureTopics(ctx, bus.TopicSpec{Name: t.Inbox(id), Partitions: 1, ReplicationFactor: t.ReplicationFactor}); err != nil {
				if ctx.Err() != nil {
					return nil
				}
				setupFailed = errors.Join(setupFailed, fmt.Errorf("push: topics: %w", err))
				continue
			}
			// Recover inside DeadLetter: a panic parks the item like any failure.
			c, err := bus.NewConsumer(p.cfg.Bus, bus.ConsumerConfig{
				Group: t.Group(), Topics: []string{t.Inbox(id)},
				SessionTimeout: p.cfg.SessionTimeout, RebalanceTimeout: p.cfg.SessionTimeout, Logger: p.cfg.Log,
			}, p.handler(e), bus.CarryCorrelation(), p.cfg.Tracer.Consume("deliver"), tagEndpoint(id), bus.DeadLetter(producer, t.DeadLetter()), bus.Recover())
			if err != nil {
				setupFailed = errors.Join(setupFailed, fmt.Errorf("push: %w", err))
				continue
			}
			// The hub's restart policy (bus.Router): one endpoint's
			// consumer restarts on its own, and the pusher fails once its
			// restarts are spent.
			r := &bus.Router{Policy: p.cfg.Restart, Log: p.cfg.Log}
			r.Add("push "+id, c.Run)
			rctx, cancel := context.WithCancel(ctx)
			run := &running{e: e, cancel: cancel, done: make(chan struct{})}
			live[id] = run
			go func() {
				defer close(run.done)
				if err := r.Run(rctx); err != nil && rctx.Err() == nil {
					select {
					case failed <- err:
					default:
					}
				}
			}()
			p.cfg.Log.InfoContext(ctx, "webhook delivery running", "organ", id, "url", e.target.Load().display, "group", t.Group())
		}
		switch {
		case setupFailed != nil && first:
			return setupFailed
		case setupFailed != nil:
			p.cfg.Log.ErrorContext(ctx, "webhook delivery not started, trying again", "wait", retrySetup, "err", setupFailed)
			retry = time.After(retrySetup)
		}
		p.mu.Lock()
		p.running = slices.Sorted(maps.Keys(live))
		p.mu.Unlock()
		select {
		case <-ctx.Done():
			return nil
		case err := <-failed:
			return fmt.Errorf("push: %w", err)
		case <-p.changed:
		case <-retry:
		}
	}
}

// retrySetup is the wait before an endpoint that could not start is
// tried again.
var retrySetup = 5 * time.Second

// tagEndpoint adds the x-endpoint header, which DeadLetter copies.
func tagEndpoint(organID string) bus.Middleware {
	return func(next bus.Handler) bus.Handler {
		return func(ctx context.Context, m bus.Message) error {
			h := make(map[string]string, len(m.Headers)+1)
			for k, v := range m.Headers {
				h[k] = v
			}
			h[HeaderEndpoint] = organID
			m.Headers = h
			return next(ctx, m)
		}
	}
}

// handler delivers one inbox item, retrying until it is delivered, the
// attempts run out (the error then has DeadLetter park it) or ctx ends (the
// item stays uncommitted and comes again).
func (p *Pusher) handler(e *endpoint) bus.Handler {
	return func(ctx context.Context, m bus.Message) error {
		id := string(m.Key)
		if id == "" || !json.Valid(m.Value) {
			return bus.Permanent(fmt.Errorf("not an inbox item (key %q, %d bytes of value)", clip(id), len(m.Value)))
		}
		if p.cfg.Done != nil && p.cfg.Done(e.OrganID, id) {
			return nil
		}
		log := p.cfg.Log.With("organ", e.OrganID, "id", id, "correlation_id", bus.CorrelationID(ctx))
		for attempt := 1; ; attempt++ {
			start := time.Now()
			tg := e.target.Load()
			log := log.With("url", tg.display)
			err := p.post(ctx, tg, id, m.Value, attempt)
			if p.cfg.OnAttempt != nil && ctx.Err() == nil {
				p.cfg.OnAttempt(e.OrganID, err)
			}
			if err == nil {
				log.DebugContext(ctx, "webhook delivered", "attempt", attempt, "took", time.Since(start))
				if p.cfg.OnDelivered != nil {
					p.cfg.OnDelivered(ctx, e.OrganID, id, attempt)
				}
				return nil
			}
			if ctx.Err() != nil {
				return ctx.Err()
			}
			if attempt >= p.cfg.MaxAttempts {
				log.ErrorContext(ctx, "webhook delivery failed, dead-lettering", "attempts", attempt, "err", err)
				return fmt.Errorf("webhook of %s: gave up after %d attempts: %w", e.OrganID, attempt, err)
			}
			wait := p.backoff(attempt)
			log.WarnContext(ctx, "webhook delivery failed, retrying", "attempt", attempt, "wait", wait, "err", err)
			t := time.NewTimer(wait)
			select {
			case <-ctx.Done():
				t.Stop()
				return ctx.Err()
			case <-t.C:
			}
		}
	}
}

// StatusError is a webhook's answer other than 2xx.
type StatusError struct {
	Status int
	Body   string // the start of the answer's body, made printable
}

func (e *StatusError) Error() string {
	s := fmt.Sprintf("HTTP %d", e.Status)
	if t := http.StatusText(e.Status); t != "" {
		s += " " + t
	}
	if e.Body != "" {
		s += ": " + strconv.Quote(e.Body)
	}
	return s
}

// post makes one attempt.
func (p *Pusher) post(ctx context.Context, e *target, id string, body []byte, attempt int) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, e.URL, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("POST %s: %w", e.display, err)
	}
	ts := p.cfg.Now().Unix()
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "lienthong-push/1")
	req.Header.Set(HeaderEvent, EventDelivery)
	req.Header.Set(HeaderID, id)
	req.Header.Set(HeaderTimestamp, strconv.FormatInt(ts, 10))
	req.Header.Set(HeaderSignature, Sign(e.Secret, ts, body))
	req.Header.Set(HeaderAttempt, strconv.Itoa(attempt))
	// With tracing on, the agency's receiver may continue the packet's trace.
	p.cfg.Tracer.InjectHTTP(ctx, req.Header)
	resp, err := p.cfg.HTTP.Do(req)
	if err != nil {
		// url.Error quotes the whole URL, query included: name it ourselves.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return fmt.Errorf("POST %s: %w", e.display, err)
	}
	defer resp.Body.Close() //nolint:errcheck // read-only
	head, _ := io.ReadAll(io.LimitReader(resp.Body, bodySnippet))
	// Drain a little more so the connection can be reused.
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		return nil
	}
	return fmt.Errorf("POST %s: %w", e.display, &StatusError{Status: resp.StatusCode, Body: printable(head)})
}

// printable keeps the valid, printable part of an untrusted answer.
func printable(b []byte) string {
	var s strings.Builder
	for len(b) > 0 {
		r, n := utf8.DecodeRune(b)
		b = b[n:]
		switch {
		case r == utf8.RuneError && n <= 1:
		case unicode.IsSpace(r):
			s.WriteByte(' ')
		case unicode.IsPrint(r):
			s.WriteRune(r)
		}
	}
	return strings.Join(strings.Fields(s.String()), " ")
}
