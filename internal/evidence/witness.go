package evidence

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/transparency-dev/formats/log"
	"github.com/transparency-dev/merkle/proof"
	"github.com/transparency-dev/merkle/rfc6962"
	"golang.org/x/mod/sumdb/note"

	"github.com/lienthong/lienthong/internal/atomicfile"
)

// Federated hubs witness each other's logs (C2SP tlog-witness): a hub
// sends each new checkpoint, with a consistency proof from the last one
// the witness cosigned, to its peers; a peer that knows the log's key
// checks both and cosigns (C2SP tlog-cosignature). A log that forks (shows
// a history that does not extend what a witness saw) gets no cosignature
// from it, and the witness logs the fork.

// maxAddCheckpoint bounds an add-checkpoint request: a checkpoint and a
// consistency proof of at most 64 hashes.
const maxAddCheckpoint = 16 << 10

// Witness is the witnessing side: it cosigns the checkpoints of the logs
// it knows and keeps, per log, the last checkpoint it cosigned in a file.
type Witness struct {
	signer note.Signer
	logs   map[string]note.Verifier // by origin
	path   string
	log    *slog.Logger

	mu    sync.Mutex
	state map[string]witnessed
	forks int
}

type witnessed struct {
	Size int64  `json:"size"`
	Hash []byte `json:"hash"`
}

// NewWitness cosigns with signer the checkpoints of the logs whose keys
// are given (a key's name is its log's origin), keeping its state in the
// file at statePath.
func NewWitness(signer note.Signer, logs []note.Verifier, statePath string, logger *slog.Logger) (*Witness, error) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	w := &Witness{signer: signer, logs: map[string]note.Verifier{}, path: statePath, log: logger, state: map[string]witnessed{}}
	for _, v := range logs {
		w.logs[v.Name()] = v
	}
	raw, err := os.ReadFile(statePath)
	switch {
	case errors.Is(err, os.ErrNotExist):
	case err != nil:
		return nil, err
	default:
		if err := json.Unmarshal(raw, &w.state); err != nil {
			return nil, fmt.Errorf("evidence: witness state %s: %w", statePath, err)
		}
	}
	return w, nil
}

// Forks counts the checkpoints refused as not consistent with what this
// witness cosigned before.
func (w *Witness) Forks() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.forks
}

// WitnessError is a refusal with the HTTP status C2SP tlog-witness gives it.
type WitnessError struct {
	Status int
	Size   int64 // for 409: the size the witness has
	Err    error
}

func (e *WitnessError) Error() string { return fmt.Sprintf("witness: %d: %v", e.Status, e.Err) }

// AddCheckpoint checks signed against the log's key and, with proof,
// against the checkpoint of size old the witness cosigned last; it
// returns the witness's cosignature line.
func (w *Witness) AddCheckpoint(old int64, consistency [][]byte, signed []byte) ([]byte, error) {
	n, err := note.Open(signed, note.VerifierList(w.verifiers()...))
	if err != nil {
		return nil, &WitnessError{Status: http.StatusForbidden, Err: fmt.Errorf("not signed by a log this witness knows: %w", err)}
	}
	var cp log.Checkpoint
	if _, err := cp.Unmarshal([]byte(n.Text)); err != nil {
		return nil, &WitnessError{Status: http.StatusBadRequest, Err: err}
	}
	if _, ok := w.logs[cp.Origin]; !ok || n.Sigs[0].Name != cp.Origin {
		return nil, &WitnessError{Status: http.StatusForbidden, Err: fmt.Errorf("checkpoint of %q not signed by that log's key", cp.Origin)}
	}
	size := int64(cp.Size)
	w.mu.Lock()
	defer w.mu.Unlock()
	last := w.state[cp.Origin]
	switch {
	case old != last.Size:
		return nil, &WitnessError{Status: http.StatusConflict, Size: last.Size, Err: fmt.Errorf("old size %d, the witness has %d", old, last.Size)}
	case old > size:
		return nil, &WitnessError{Status: http.StatusBadRequest, Err: fmt.Errorf("old size %d beyond the checkpoint's %d", old, size)}
	}
	var verr error
	switch old {
	case 0:
	case size:
		if !bytes.Equal(last.Hash, cp.Hash) {
			verr = errors.New("same size, another root")
		}
	default:
		verr = proof.VerifyConsistency(rfc6962.DefaultHasher, uint64(old), uint64(size), consistency, last.Hash, cp.Hash)
	}
	if verr != nil {
		w.forks++
		w.log.Error("evidence: a log showed a checkpoint inconsistent with what this witness cosigned: a fork", "code", CodeFork,
			"origin", cp.Origin, "witnessed", last.Size, "size", size, "err", verr)
		return nil, &WitnessError{Status: http.StatusUnprocessableEntity, Err: fmt.Errorf("%s: %w", CodeFork, verr)}
	}
	cosigned, err := note.Sign(&note.Note{Text: n.Text}, w.signer)
	if err != nil {
		return nil, err
	}
	next := witnessed{Size: size, Hash: cp.Hash}
	if size > last.Size || last.Hash == nil {
		w.state[cp.Origin] = next
		raw, _ := json.Marshal(w.state)
		// Durable before the cosignature leaves: a witness that forgot
		// what it signed could sign a fork after a crash.
		if err := atomicfile.WriteBytes(w.path, raw, 0o600); err != nil {
			w.state[cp.Origin] = last
			return nil, err
		}
	}
	_, sig, _ := strings.Cut(string(cosigned), "\n\n")
	return []byte(sig), nil
}

func (w *Witness) verifiers() []note.Verifier {
	out := make([]note.Verifier, 0, len(w.logs))
	for _, v := range w.logs {
		out = append(out, v)
	}
	return out
}

// ServeHTTP serves POST …/add-checkpoint: "old N", the proof's hashes in
// base64 one per line, a blank line, the signed checkpoint.
func (w *Witness) ServeHTTP(rw http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		rw.Header().Set("Allow", http.MethodPost)
		http.Error(rw, "POST only", http.StatusMethodNotAllowed)
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(rw, r.Body, maxAddCheckpoint))
	if err != nil {
		http.Error(rw, "request too large", http.StatusRequestEntityTooLarge)
		return
	}
	old, consistency, cp, err := parseAddCheckpoint(body)
	if err != nil {
		http.Error(rw, err.Error(), http.StatusBadRequest)
		return
	}
	sig, err := w.AddCheckpoint(old, consistency, cp)
	var we *WitnessError
	switch {
	case errors.As(err, &we) && we.Status == http.StatusConflict:
		rw.Header().Set("Content-Type", "text/x.tlog.size")
		rw.WriteHeader(http.StatusConflict)
		fmt.Fprintf(rw, "%d\n", we.Size)
	case errors.As(err, &we):
		http.Error(rw, we.Err.Error(), we.Status)
	case err != nil:
		w.log.Error("evidence: witness", "err", err)
		http.Error(rw, "witness failure", http.StatusInternalServerError)
	default:
		rw.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = rw.Write(sig)
	}
}

func parseAddCheckpoint(body []byte) (int64, [][]byte, []byte, error) {
	head, cp, ok := bytes.Cut(body, []byte("\n\n"))
	if !ok {
		return 0, nil, nil, errors.New("want old N, proof lines, a blank line, the checkpoint")
	}
	sc := bufio.NewScanner(bytes.NewReader(head))
	if !sc.Scan() {
		return 0, nil, nil, errors.New("no old line")
	}
	oldText, ok := strings.CutPrefix(sc.Text(), "old ")
	old, err := strconv.ParseInt(oldText, 10, 64)
	if !ok || err != nil || old < 0 {
		return 0, nil, nil, errors.New("bad old line")
	}
	var hashes [][]byte
	for sc.Scan() {
		h, err := base64.StdEncoding.DecodeString(sc.Text())
		if err != nil || len(h) != 32 || len(hashes) == 63 {
			return 0, nil, nil, errors.New("bad proof line")
		}
		hashes = append(hashes, h)
	}
	return old, hashes, cp, nil
}

// WitnessPeer is a witness this hub asks to cosign its checkpoints.
type WitnessPeer struct {
	Name string // for logs
	// URL is the witness's add-checkpoint endpoint, e.g.
	// https://peer.example/v1/log/witness/add-checkpoint.
	URL      string
	Verifier note.Verifier // the witness's cosignature key
	HTTP     *http.Client
}

// cosign asks p to cosign signed, a checkpoint of size n, given the size
// it cosigned last (*old, updated); it returns the checked cosignature
// line.
func (c *Checkpointer) cosign(ctx context.Context, p WitnessPeer, old *int64, signed []byte, n int64) ([]byte, error) {
	for try := 0; try < 2; try++ {
		var body bytes.Buffer
		fmt.Fprintf(&body, "old %d\n", *old)
		if *old > 0 && *old < n {
			hs, err := c.Log.Consistency(*old, n)
			if err != nil {
				return nil, err
			}
			for _, h := range hs {
				fmt.Fprintln(&body, base64.StdEncoding.EncodeToString(h))
			}
		}
		body.WriteString("\n")
		body.Write(signed)
		ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, p.URL, &body)
		if err != nil {
			cancel()
			return nil, err
		}
		client := p.HTTP
		if client == nil {
			client = http.DefaultClient
		}
		resp, err := client.Do(req)
		if err != nil {
			cancel()
			return nil, err
		}
		answer, err := io.ReadAll(io.LimitReader(resp.Body, 4<<10))
		_ = resp.Body.Close()
		cancel()
		if err != nil {
			return nil, err
		}
		switch resp.StatusCode {
		case http.StatusOK:
			line, err := oneCosignature(answer, p.Verifier, signed)
			if err != nil {
				return nil, fmt.Errorf("witness %s: %w", p.Name, err)
			}
			*old = n
			return line, nil
		case http.StatusConflict:
			size, err := strconv.ParseInt(strings.TrimSpace(string(answer)), 10, 64)
			if err != nil || size < 0 || size > n {
				return nil, fmt.Errorf("witness %s: 409 with size %q", p.Name, answer)
			}
			*old = size // and again, from the size it has
		default:
			return nil, fmt.Errorf("witness %s: HTTP %d: %s", p.Name, resp.StatusCode, bytes.TrimSpace(answer))
		}
	}
	return nil, fmt.Errorf("witness %s: size conflict twice", p.Name)
}

// oneCosignature is the witness's answer reduced to what is appended to
// the checkpoint: exactly one signature line, by the witness's key, over
// the checkpoint's text. Anything else in the answer is refused: lines
// under other names would break verifiers that trust those names, and
// many lines would push the note past what note.Open reads.
func oneCosignature(answer []byte, v note.Verifier, signed []byte) ([]byte, error) {
	line := strings.TrimSuffix(string(answer), "\n")
	if line == "" || strings.Contains(line, "\n") {
		return nil, errors.New("want exactly one cosignature line")
	}
	rest, ok := strings.CutPrefix(line, "— ")
	name, b64, _ := strings.Cut(rest, " ")
	sig, err := base64.StdEncoding.DecodeString(b64)
	if !ok || err != nil || name != v.Name() || len(sig) < 4 || binary.BigEndian.Uint32(sig) != v.KeyHash() {
		return nil, errors.New("the answer is not a cosignature by its key")
	}
	text, _, _ := strings.Cut(string(signed), "\n\n")
	if _, err := note.Open([]byte(text+"\n\n"+line+"\n"), note.VerifierList(v)); err != nil {
		return nil, fmt.Errorf("its cosignature does not verify: %w", err)
	}
	return []byte(line + "\n"), nil
}
