package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"runtime/pprof"
	"strings"
	"sync"
	"time"
)

// The load generator of the hub phase: the submits, then the inbox polls.
// It runs in a child process when it can (child.go), so that the hub's
// CPU figure holds the hub and its broker only, or in this process.

// load is all the generator needs, as the parent hands it to a child.
type load struct {
	Bodies      string        `json:"bodies"` // the bodies file
	Base        string        `json:"base"`   // inboxes are read here
	Submit      []string      `json:"submit"` // where submits go, in turn (default Base)
	Agencies    []loadAgency  `json:"agencies"`
	Packets     []loadPacket  `json:"packets"`
	Concurrency int           `json:"concurrency"`
	Timeout     time.Duration `json:"timeout"`               // what is left of --duration
	CPUProfile  string        `json:"cpu_profile,omitempty"` // the child's own profile
}

type loadAgency struct {
	OrganID string `json:"organ_id"`
	Token   string `json:"token"`
}

type loadPacket struct {
	Off         int64  `json:"off"`
	Len         int64  `json:"len"`
	ContentType string `json:"type"`
	From        int    `json:"from"`
	To          []int  `json:"to"`
}

// newLoad describes the hub phase's load on env.
func newLoad(o Options, env *environment, bodies string, packets []*packet, timeout time.Duration) *load {
	l := &load{Bodies: bodies, Base: env.base, Submit: env.submit, Concurrency: o.Concurrency, Timeout: timeout,
		Packets: make([]loadPacket, len(packets))}
	for _, a := range env.agencies {
		l.Agencies = append(l.Agencies, loadAgency{OrganID: a.organID, Token: a.token})
	}
	for i, p := range packets {
		l.Packets[i] = loadPacket{Off: p.bodyOff, Len: p.bodyLen, ContentType: p.contentType, From: p.from, To: p.to}
	}
	return l
}

// submitted is what the submits gave, sent once the last has its answer.
type submitted struct {
	Answers  []answer `json:"answers"`  // per packet; zero when not accepted
	Answered int      `json:"answered"` // submits with an answer or a failure of their own
	Errors   int      `json:"errors"`
	Samples  []string `json:"samples,omitempty"`
	AcceptNs int64    `json:"accept_ns"` // first submit → last 2xx
}

// answer is a 2xx answer to one submit.
type answer struct {
	ID        string `json:"id,omitempty"`
	LatencyNs int64  `json:"latency_ns,omitempty"`
}

// delivered is what the inbox polls saw.
type delivered struct {
	Deliveries int    `json:"deliveries"` // inbox entries due for the accepted packets
	Delivered  int    `json:"delivered"`
	Done       bool   `json:"done"`        // every one was seen
	DurationNs int64  `json:"duration_ns"` // first submit → last delivered, or → the end when not Done
	Err        string `json:"err,omitempty"`
}

// generate submits every packet with l.Concurrency workers, calls
// onSubmitted once each has its answer, then polls the recipients' inboxes
// until they list every accepted packet or ctx ends.
func generate(ctx context.Context, l *load, bodies io.ReaderAt, onSubmitted func(*submitted)) *delivered {
	tr := &http.Transport{MaxIdleConns: 2 * l.Concurrency, MaxIdleConnsPerHost: 2 * l.Concurrency, IdleConnTimeout: 90 * time.Second,
		DisableCompression: true}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr}
	// The label bench=client tells the generator from the hub in a profile
	// taken of an in-process run (pprof -tagignore bench=client).
	var del *delivered
	pprof.Do(ctx, pprof.Labels("bench", "client"), func(ctx context.Context) {
		del = generateWith(ctx, client, l, bodies, onSubmitted)
	})
	return del
}

func generateWith(ctx context.Context, client *http.Client, l *load, bodies io.ReaderAt, onSubmitted func(*submitted)) *delivered {
	sub := &submitted{Answers: make([]answer, len(l.Packets))}
	var (
		mu     sync.Mutex
		lastOK time.Time
	)
	start := time.Now()
	parallel(ctx, len(l.Packets), l.Concurrency, func(i int) {
		base := l.Base
		if len(l.Submit) > 0 {
			base = l.Submit[i%len(l.Submit)]
		}
		status, id, lat, msg, err := submit(ctx, client, base, l.Agencies[l.Packets[i].From].Token, bodies, l.Packets[i])
		if err != nil && ctx.Err() != nil {
			return // cut by --duration: not the hub's error
		}
		mu.Lock()
		defer mu.Unlock()
		sub.Answered++
		if err == nil && (status == http.StatusOK || status == http.StatusCreated) {
			sub.Answers[i] = answer{ID: id, LatencyNs: int64(lat)}
			if now := time.Now(); now.After(lastOK) {
				lastOK = now
			}
			return
		}
		sub.Errors++
		if len(sub.Samples) < 5 {
			if err != nil {
				msg = err.Error()
			}
			sub.Samples = append(sub.Samples, fmt.Sprintf("%d %s", status, msg))
		}
	})
	if !lastOK.IsZero() {
		sub.AcceptNs = int64(lastOK.Sub(start))
	}
	onSubmitted(sub)

	del := &delivered{}
	expected := map[int]map[string]bool{} // agency → packet ids due in its inbox
	for i, a := range sub.Answers {
		if a.ID == "" {
			continue
		}
		for _, t := range l.Packets[i].To {
			if expected[t] == nil {
				expected[t] = map[string]bool{}
			}
			expected[t][a.ID] = true
			del.Deliveries++
		}
	}
	if sub.Answered < len(l.Packets) || ctx.Err() != nil {
		del.Delivered = countOnce(ctx, client, l, expected)
		del.DurationNs = int64(time.Since(start))
		return del
	}
	// Poll the inboxes of the agencies still missing items, once every
	// submit has its answer (polling earlier would slow the hub down;
	// nothing is fully delivered before it is all accepted).
	seen := map[int]int{}
	for {
		done := true
		for a, ids := range expected {
			if seen[a] == len(ids) {
				continue
			}
			n, err := inboxCount(ctx, client, l.Base, l.Agencies[a].Token, ids)
			if err != nil {
				if ctx.Err() == nil {
					del.Err = fmt.Sprintf("inbox of %s: %v", l.Agencies[a].OrganID, err)
				}
				del.DurationNs = int64(time.Since(start))
				return del
			}
			seen[a] = n
			if n < len(ids) {
				done = false
			}
		}
		del.Delivered = 0
		for _, n := range seen {
			del.Delivered += n
		}
		del.DurationNs = int64(time.Since(start))
		if done {
			del.Done = true
			return del
		}
		// Listing whole inboxes costs the hub too: poll at about 2% of
		// the time elapsed, which bounds the error of the delivered time
		// at about 2%.
		wait := min(max(time.Since(start)/50, 20*time.Millisecond), 500*time.Millisecond)
		select {
		case <-ctx.Done():
			del.DurationNs = int64(time.Since(start))
			return del
		case <-time.After(wait):
		}
	}
}

func submit(ctx context.Context, client *http.Client, base, token string, bodies io.ReaderAt, p loadPacket) (status int, id string, lat time.Duration, msg string, err error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, base+"/v1/packets", io.NewSectionReader(bodies, p.Off, p.Len))
	if err != nil {
		return 0, "", 0, "", err
	}
	req.ContentLength = p.Len
	req.Header.Set("Content-Type", p.ContentType)
	req.Header.Set("Authorization", "Bearer "+token)
	t := time.Now()
	resp, err := client.Do(req)
	if err != nil {
		return 0, "", 0, "", err
	}
	defer resp.Body.Close() //nolint:errcheck // read to the end below
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	lat = time.Since(t)
	if err != nil {
		return resp.StatusCode, "", lat, "", err
	}
	var rc struct {
		ID    string `json:"id"`
		Code  string `json:"code"`
		Title string `json:"title"`
	}
	_ = json.Unmarshal(raw, &rc)
	if resp.StatusCode/100 == 2 && rc.ID == "" {
		return resp.StatusCode, "", lat, "", fmt.Errorf("a %s answer without a receipt id", resp.Status)
	}
	return resp.StatusCode, rc.ID, lat, strings.TrimSpace(rc.Code + " " + rc.Title), nil
}

// inboxCount lists an agency's whole pending edoc inbox and counts the
// ids of want in it.
func inboxCount(ctx context.Context, client *http.Client, base, token string, want map[string]bool) (int, error) {
	n, cursor := 0, ""
	for {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/v1/inbox?kind=edoc&limit=1000&cursor="+url.QueryEscape(cursor), nil)
		if err != nil {
			return 0, err
		}
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := client.Do(req)
		if err != nil {
			return 0, err
		}
		var page struct {
			Items []struct {
				ID string `json:"id"`
			} `json:"items"`
			Next *string `json:"next"`
		}
		err = json.NewDecoder(resp.Body).Decode(&page)
		resp.Body.Close() //nolint:errcheck // decoded
		if err == nil && resp.StatusCode != http.StatusOK {
			err = fmt.Errorf("GET /v1/inbox: %s", resp.Status)
		}
		if err != nil {
			return 0, err
		}
		for _, it := range page.Items {
			if want[it.ID] {
				n++
			}
		}
		if page.Next == nil || *page.Next == "" {
			return n, nil
		}
		cursor = *page.Next
	}
}

// countOnce counts what was delivered, for a cut run's report.
func countOnce(ctx context.Context, client *http.Client, l *load, expected map[int]map[string]bool) int {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	total := 0
	for a, ids := range expected {
		n, _ := inboxCount(ctx, client, l.Base, l.Agencies[a].Token, ids)
		total += n
	}
	return total
}
