package cli

import (
	"bytes"
	"context"
	crand "crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"mime/multipart"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/note"

	"github.com/lienthong/lienthong/internal/bus"
	"github.com/lienthong/lienthong/internal/config"
	"github.com/lienthong/lienthong/internal/evidence"
	"github.com/lienthong/lienthong/internal/pki"
	"github.com/lienthong/lienthong/internal/testwait"
)

// The crash test runs the hub as a child process: this test binary, re-run
// with LIENTHONG_CRASH_CONFIG set, serves that configuration.
func TestMain(m *testing.M) {
	if path := os.Getenv("LIENTHONG_CRASH_CONFIG"); path != "" {
		os.Exit(Run(context.Background(), []string{"serve", "--config", path}, io.Discard, os.Stderr))
	}
	// TestReadmeWalkthrough's bin/lienthong: this binary as the CLI.
	if os.Getenv("LIENTHONG_TEST_AS_CLI") != "" {
		os.Exit(Run(context.Background(), os.Args[1:], os.Stdout, os.Stderr))
	}
	os.Exit(m.Run())
}

type crashPacket struct {
	id    string // filled from the receipt
	data  []byte
	sig   []byte
	acked bool // got a 2xx
	// acceptedAt of every receipt it got, across retries and kills.
	acceptedAt []time.Time
	mu         sync.Mutex
}

// Packets are submitted concurrently while the hub is killed with SIGKILL
// at random moments and restarted. Afterwards every packet that got a 2xx
// is in the recipient's inbox exactly once, every inbox entry serves its
// exact bytes, and a packet that got no answer is either absent or whole:
// resubmitting it completes it.
func TestCrashSafety(t *testing.T) {
	if testing.Short() {
		t.Skip("kills and restarts a hub several times")
	}
	dir := t.TempDir()
	ca, g22 := testCA(t, dir)
	seed := uint64(time.Now().UnixNano())
	if env := os.Getenv("LIENTHONG_CRASH_SEED"); env != "" {
		var err error
		if seed, err = strconv.ParseUint(env, 10, 64); err != nil {
			t.Fatalf("LIENTHONG_CRASH_SEED: %v", err)
		}
	}
	t.Logf("seed %d (LIENTHONG_CRASH_SEED=%d repeats these kill times)", seed, seed)
	// The hub and its embedded broker listen on new ports at each start;
	// the child's log says which.
	skey, vkey, err := note.GenerateKey(crand.Reader, "lienthong.crash/log")
	if err != nil {
		t.Fatal(err)
	}
	logVerifier, err := note.NewVerifier(vkey)
	if err != nil {
		t.Fatal(err)
	}
	keyPath := filepath.Join(dir, "log.key")
	if err := os.WriteFile(keyPath, []byte(skey), 0o600); err != nil {
		t.Fatal(err)
	}
	cfgYAML := fmt.Sprintf(`hub:
  organId: "000.00.00.G01"
  addr: %s
  dataDir: %s
bus:
  addr: %s
trust:
  roots: [%s]
evidence:
  key: %s
  checkpointInterval: 100ms
agencies:
  - organId: "000.00.00.G22"
    name: VPCP
    tokens: ["%s"]
  - organId: "000.00.00.H29"
    name: UBND TP HCM
    tokens: ["h29-token-0123456789"]
`, anyAddr, filepath.Join(dir, "data"), anyAddr, ca.RootPath(), keyPath, config.HashToken("g22-token-0123456789"))
	cfgPath := filepath.Join(dir, "hub.yaml")
	if err := os.WriteFile(cfgPath, []byte(cfgYAML), 0o600); err != nil {
		t.Fatal(err)
	}

	base, err := os.ReadFile(filepath.Join("..", "edxml", "testdata", "fixtures", "edoc-new.xml"))
	if err != nil {
		t.Fatal(err)
	}
	const n = 1500
	packets := make([]*crashPacket, n)
	for i := range packets {
		docID := fmt.Sprintf("000.00.00.G22,2025/11/20,%d/VPCP-KSTT", 10000+i)
		data := bytes.ReplaceAll(base, []byte("000.00.00.G22,2025/11/20,1234/VPCP-KSTT"), []byte(docID))
		sig, err := pki.SignDetached(bytes.NewReader(data), g22.Cert, g22.Key, g22.Chain, pki.SignOptions{})
		if err != nil {
			t.Fatal(err)
		}
		packets[i] = &crashPacket{data: data, sig: sig}
	}

	child, addr, brokerAddr := startChild(t, cfgPath)
	var current atomic.Pointer[string] // the hub's address, for the workers
	current.Store(&addr)
	var inFlight atomic.Int64
	work := make(chan *crashPacket)
	var wg sync.WaitGroup
	for range 16 {
		wg.Go(func() {
			for p := range work {
				inFlight.Add(1)
				code, id := submitPacket(*current.Load(), "g22-token-0123456789", p)
				inFlight.Add(-1)
				if code == 200 || code == 201 {
					p.mu.Lock()
					p.acked, p.id = true, id
					p.mu.Unlock()
				}
			}
		})
	}
	go func() {
		for _, p := range packets {
			work <- p
		}
		close(work)
	}()
	// Kill at random moments while the work goes on.
	rng := rand.New(rand.NewPCG(seed, 1))
	landed := 0              // kills made while submissions were in flight
	var checkpoints [][]byte // taken just before each kill
	for kill := range 3 {
		time.Sleep(time.Duration(300+rng.IntN(1200)) * time.Millisecond)
		if resp, err := http.Get("http://" + addr + "/v1/log/checkpoint"); err == nil {
			if cp, err := io.ReadAll(resp.Body); err == nil && resp.StatusCode == 200 {
				checkpoints = append(checkpoints, cp)
			}
			resp.Body.Close()
		}
		busy := inFlight.Load()
		if err := child.Process.Signal(syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		_ = child.Wait()
		if busy > 0 {
			landed++
		}
		t.Logf("kill %d, %d submissions in flight", kill+1, busy)
		child, addr, brokerAddr = startChild(t, cfgPath)
		current.Store(&addr)
	}
	wg.Wait()
	acked := 0
	for _, p := range packets {
		if p.acked {
			acked++
		}
	}
	t.Logf("%d of %d packets got a 2xx across 3 kills, %d of them during the load", acked, n, landed)
	// A run whose kills missed the load proves nothing: fail it, naming the
	// seed, rather than pass.
	if landed == 0 || acked == 0 || acked == n {
		t.Fatalf("seed %d: the kills fell outside the load (%d landed while submissions were in flight, %d of %d packets got a 2xx)", seed, landed, acked, n)
	}

	// Every 2xx is delivered, once, whole. The inbox may also hold packets
	// accepted whose answer was lost to a kill, so wait for the ids, not a
	// count.
	var want []string
	for _, p := range packets {
		if p.acked {
			want = append(want, p.id)
		}
	}
	inbox := waitInboxIDs(t, addr, "h29-token-0123456789", want)
	for _, p := range packets {
		if p.acked && inbox[p.id] != 1 {
			t.Errorf("packet %s got a 2xx but is in the inbox %d times", p.id, inbox[p.id])
		}
	}
	for id, c := range inbox {
		if c != 1 {
			t.Errorf("packet %s is in the inbox %d times", id, c)
		}
		if !fetchMatches(t, addr, id, packets) {
			t.Errorf("packet %s in the inbox does not serve its exact bytes", id)
		}
	}
	// The rest complete when resubmitted, and then everything is there once.
	for _, p := range packets {
		if !p.acked {
			if code, id := submitPacket(addr, "g22-token-0123456789", p); code == 200 || code == 201 {
				p.acked, p.id = true, id
			} else {
				t.Fatalf("resubmission after the crashes: %d", code)
			}
		}
	}
	inbox = waitInboxCount(t, addr, "h29-token-0123456789", n)
	for id, c := range inbox {
		if c != 1 {
			t.Errorf("after resubmission, packet %s is in the inbox %d times", id, c)
		}
	}
	// One acceptance per packet: every receipt it got, before a kill or
	// after, is dated as its timeline is, and its messages on the accepted
	// and the inbox topics are byte-identical (a retry after a kill may
	// repeat one, never change it).
	for _, p := range packets {
		at := timelineAcceptedAt(t, addr, p.id)
		for _, got := range p.acceptedAt {
			if !got.Equal(at) {
				t.Errorf("packet %s: a receipt says accepted at %v, the timeline %v", p.id, got, at)
			}
		}
	}
	for _, topic := range []string{"lienthong.accepted", "lienthong.inbox.000.00.00.H29"} {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		msgs, err := bus.ReadTopic(ctx, bus.Config{Brokers: []string{brokerAddr}}, topic, 0)
		cancel()
		if err != nil {
			t.Fatal(err)
		}
		first, repeats := map[string][]byte{}, 0
		for _, m := range msgs {
			k := string(m.Key)
			if v, ok := first[k]; !ok {
				first[k] = m.Value
			} else if repeats++; !bytes.Equal(v, m.Value) {
				t.Errorf("%s: two different messages for packet %s:\n%s\n%s", topic, k, v, m.Value)
			}
		}
		t.Logf("%s: %d messages for %d packets (%d byte-identical repeats)", topic, len(msgs), len(first), repeats)
	}
	checkLogAfterKills(t, addr, logVerifier, checkpoints, packets)
	_ = child.Process.Signal(syscall.SIGTERM)
	_ = child.Wait()
}

// checkLogAfterKills holds the verifiable log to what the kills must not
// break: every checkpoint published before a kill is a prefix of the log
// after them, and every packet accepted has its acceptance proven in it.
func checkLogAfterKills(t *testing.T, addr string, v note.Verifier, before [][]byte, packets []*crashPacket) {
	t.Helper()
	if len(before) == 0 {
		t.Fatal("no checkpoint was taken before the kills")
	}
	get := func(path, token string) (int, []byte) { return logGet(t, "http://"+addr+path, token) }
	// Wait until every packet's acceptance is proven, then take the
	// checkpoint the proofs are against.
	var final []byte
	for _, p := range packets {
		testwait.EventuallyState(t, "packet "+p.id+"'s acceptance in the log", func() (bool, string) {
			code, body := get("/v1/packets/"+p.id+"/proof", "g22-token-0123456789")
			var b evidence.Bundle
			if code != 200 || json.Unmarshal(body, &b) != nil {
				return false, fmt.Sprint(code, string(body))
			}
			leaves, _, err := evidence.VerifyBundle(b, v)
			if err != nil {
				t.Fatalf("packet %s: %v", p.id, err)
			}
			for _, l := range leaves {
				if l.Type == evidence.LeafAccepted {
					return true, ""
				}
			}
			return false, string(body)
		})
	}
	_, final = get("/v1/log/checkpoint", "")
	last, err := evidence.OpenCheckpoint(final, v)
	if err != nil {
		t.Fatal(err)
	}
	for _, cp := range before {
		old, err := evidence.OpenCheckpoint(cp, v)
		if err != nil {
			t.Fatalf("a checkpoint before a kill: %v", err)
		}
		code, body := get(fmt.Sprintf("/v1/log/proof/consistency?from=%d&to=%d", old.Size, last.Size), "")
		var p struct {
			Proof [][]byte `json:"proof"`
		}
		if code != 200 || json.Unmarshal(body, &p) != nil {
			t.Fatalf("consistency %d → %d: %d %s", old.Size, last.Size, code, body)
		}
		if err := evidence.VerifyConsistency(cp, final, p.Proof, v); err != nil {
			t.Errorf("the checkpoint of size %d before a kill is not a prefix of the log after: %v", old.Size, err)
		}
	}
	t.Logf("log: %d checkpoints taken before kills are consistent with the final one, of size %d", len(before), last.Size)
}

// startChild starts the hub as a child process and returns it with the
// addresses its log gives: the API's and the embedded broker's.
func startChild(t *testing.T, cfgPath string) (cmd *exec.Cmd, addr, brokerAddr string) {
	t.Helper()
	cmd = exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "LIENTHONG_CRASH_CONFIG="+cfgPath)
	logs := &lockedWriter{}
	cmd.Stderr = logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill() })
	brokerAddr = logAddr(t, logs, 0, "embedded kafka broker")
	addr = logAddr(t, logs, 0, "hub serving")
	if err := waitReady("http://"+addr, http.DefaultClient); err != nil {
		t.Fatalf("hub not ready after a restart: %v\n%s", err, logs.String())
	}
	return cmd, addr, brokerAddr
}

func submitPacket(addr, token string, p *crashPacket) (int, string) {
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	w, _ := mw.CreateFormFile("packet", "p.xml")
	_, _ = w.Write(p.data)
	w, _ = mw.CreateFormFile("signature", "p.p7s")
	_, _ = w.Write(p.sig)
	_ = mw.Close()
	req, _ := http.NewRequest(http.MethodPost, "http://"+addr+"/v1/packets", &body)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	req.Header.Set("Authorization", "Bearer "+token)
	client := &http.Client{Timeout: 30 * time.Second}
	resp, err := client.Do(req)
	if err != nil {
		return 0, ""
	}
	defer resp.Body.Close()
	var rc struct {
		ID         string    `json:"id"`
		AcceptedAt time.Time `json:"acceptedAt"`
	}
	_ = json.NewDecoder(resp.Body).Decode(&rc)
	if resp.StatusCode == 200 || resp.StatusCode == 201 {
		p.mu.Lock()
		p.acceptedAt = append(p.acceptedAt, rc.AcceptedAt)
		p.mu.Unlock()
	}
	return resp.StatusCode, rc.ID
}

// timelineAcceptedAt is the acceptance a packet's timeline shows.
func timelineAcceptedAt(t *testing.T, addr, id string) time.Time {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, "http://"+addr+"/v1/packets/"+id+"/timeline", nil)
	req.Header.Set("Authorization", "Bearer g22-token-0123456789")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var tl struct {
		Recipients []struct {
			Events []struct {
				Type string    `json:"type"`
				At   time.Time `json:"at"`
			} `json:"events"`
		} `json:"recipients"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&tl); err != nil || resp.StatusCode != 200 {
		t.Fatalf("timeline %s: %d %v", id, resp.StatusCode, err)
	}
	for _, r := range tl.Recipients {
		for _, e := range r.Events {
			if e.Type == "accepted" {
				return e.At
			}
		}
	}
	t.Fatalf("timeline %s has no accepted event", id)
	return time.Time{}
}

// waitInboxIDs lists the whole inbox until it holds every id in want.
func waitInboxIDs(t *testing.T, addr, token string, want []string) map[string]int {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		counts := waitInboxCount(t, addr, token, len(want))
		missing := 0
		for _, id := range want {
			if counts[id] == 0 {
				missing++
			}
		}
		if missing == 0 || time.Now().After(deadline) {
			return counts
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// waitInboxCount lists the whole inbox until it holds at least want items
// (and a little longer, to catch late duplicates), counting each id.
func waitInboxCount(t *testing.T, addr, token string, want int) map[string]int {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	var counts map[string]int
	for {
		counts = map[string]int{}
		total := 0
		cursor := ""
		for {
			req, _ := http.NewRequest(http.MethodGet, "http://"+addr+"/v1/inbox?limit=1000&cursor="+cursor, nil)
			req.Header.Set("Authorization", "Bearer "+token)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			var page struct {
				Items []struct {
					ID string `json:"id"`
				} `json:"items"`
				Next *string `json:"next"`
			}
			err = json.NewDecoder(resp.Body).Decode(&page)
			resp.Body.Close()
			if err != nil {
				t.Fatal(err)
			}
			for _, it := range page.Items {
				counts[it.ID]++
				total++
			}
			if page.Next == nil {
				break
			}
			cursor = *page.Next
		}
		if total >= want {
			return counts
		}
		if time.Now().After(deadline) {
			t.Fatalf("inbox has %d items, want at least %d", total, want)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func fetchMatches(t *testing.T, addr, id string, packets []*crashPacket) bool {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, "http://"+addr+"/v1/packets/"+id, nil)
	req.Header.Set("Authorization", "Bearer h29-token-0123456789")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	got, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		return false
	}
	for _, p := range packets {
		if bytes.Equal(p.data, got) {
			return true
		}
	}
	return false
}
