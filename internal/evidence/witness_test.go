package evidence_test

import (
	"crypto/rand"
	"encoding/base64"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	fnote "github.com/transparency-dev/formats/note"
	"golang.org/x/mod/sumdb/note"

	"github.com/lienthong/lienthong/internal/evidence"
)

func witnessKeys(t *testing.T, name string) (note.Signer, note.Verifier) {
	t.Helper()
	skey, vkey, err := note.GenerateKey(rand.Reader, name)
	if err != nil {
		t.Fatal(err)
	}
	s, err := fnote.NewSignerForCosignatureV1(skey)
	if err != nil {
		t.Fatal(err)
	}
	v, err := fnote.NewVerifierForCosignatureV1(vkey)
	if err != nil {
		t.Fatal(err)
	}
	return s, v
}

// A peer witness cosigns each checkpoint after checking it extends the
// last it cosigned, over HTTP as C2SP tlog-witness has it; the bundle
// verifies with its key required; a log that forks gets no cosignature,
// and the witness remembers what it cosigned across a restart.
func TestWitness(t *testing.T) {
	logS, logV := keys(t)
	ws, wv := witnessKeys(t, "peer.example/witness")
	state := filepath.Join(t.TempDir(), "witness.json")
	w, err := evidence.NewWitness(ws, []note.Verifier{logV}, state, nil)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(w)
	defer srv.Close()
	peer := evidence.WitnessPeer{Name: "peer", URL: srv.URL, Verifier: wv}

	l := filled(t, 10, logS)
	c := &evidence.Checkpointer{Log: l, Witnesses: []evidence.WitnessPeer{peer}}
	p, err := c.Now(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if sigs := p.Signatures(); len(sigs) != 2 || sigs[1].Name != "peer.example/witness" || sigs[1].At.IsZero() {
		t.Fatalf("signatures of the first checkpoint: %+v", sigs)
	}
	for i := 10; i < 300; i++ {
		if err := l.Append(leaf(i)); err != nil {
			t.Fatal(err)
		}
	}
	p, _ = c.Now(t.Context())
	if len(p.Signatures()) != 2 {
		t.Fatalf("the grown log's checkpoint was not cosigned: %s", p.Checkpoint)
	}
	pr, _ := l.Inclusion(123, p.Size)
	lf, _ := l.Leaf(123)
	b := evidence.Bundle{V: 1, Checkpoint: string(p.Checkpoint), Leaves: []evidence.Proven{{Index: 123, Leaf: lf, Proof: pr}}}
	if _, _, err := evidence.VerifyBundle(b, logV, wv); err != nil {
		t.Errorf("a cosigned bundle: %v", err)
	}
	_, otherV := witnessKeys(t, "other.example/witness")
	if _, _, err := evidence.VerifyBundle(b, logV, otherV); evidence.Code(err) != evidence.CodeBadCheckpoint {
		t.Errorf("a witness that did not cosign: %v", err)
	}

	// The same log key signs a rewritten history: the witness, restarted
	// from its state, refuses it as a fork.
	w2, err := evidence.NewWitness(ws, []note.Verifier{logV}, state, nil)
	if err != nil {
		t.Fatal(err)
	}
	srv2 := httptest.NewServer(w2)
	defer srv2.Close()
	forked, _ := evidence.New(evidence.Config{Signer: logS, Origin: origin})
	for i := range 400 {
		b := leaf(i)
		if i == 5 {
			b = leaf(99_999)
		}
		_ = forked.Append(b)
	}
	fc := &evidence.Checkpointer{Log: forked, Witnesses: []evidence.WitnessPeer{{Name: "peer", URL: srv2.URL, Verifier: wv}}}
	fp, err := fc.Now(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if len(fp.Signatures()) != 1 || w2.Forks() != 1 {
		t.Errorf("a fork: %d signatures, %d forks seen", len(fp.Signatures()), w2.Forks())
	}
	// A checkpoint signed by an unknown log is refused.
	strangerS, _ := keys(t)
	sc := &evidence.Checkpointer{Log: filled(t, 3, strangerS), Witnesses: []evidence.WitnessPeer{{Name: "peer", URL: srv2.URL, Verifier: wv}}}
	if sp, _ := sc.Now(t.Context()); len(sp.Signatures()) != 1 {
		t.Error("a stranger's checkpoint was cosigned")
	}
}

// A witness's answer adds one line, its own cosignature, or nothing:
// extra lines (another witness's name, junk by the hundred) would make
// the checkpoint unreadable to verifiers.
func TestHostileWitnessAnswers(t *testing.T) {
	logS, logV := keys(t)
	ws, wv := witnessKeys(t, "peer.example/witness")
	w, err := evidence.NewWitness(ws, []note.Verifier{logV}, filepath.Join(t.TempDir(), "w.json"), nil)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name  string
		after func(answer []byte) []byte
	}{
		{name: "junk lines", after: func(answer []byte) []byte {
			return append(answer, []byte(strings.Repeat("— junk AAAAAAAA\n", 120))...)
		}},
		{name: "another witness's name", after: func(answer []byte) []byte {
			return append(answer, []byte("— other.example/witness "+base64.StdEncoding.EncodeToString(make([]byte, 72))+"\n")...)
		}},
		{name: "only a stranger's line", after: func([]byte) []byte {
			return []byte("— peer.example/witness " + base64.StdEncoding.EncodeToString(make([]byte, 72)) + "\n")
		}},
	}
	for i, tt := range tests {
		srv := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
			rec := httptest.NewRecorder()
			w.ServeHTTP(rec, r)
			rw.WriteHeader(rec.Code)
			_, _ = rw.Write(tt.after(rec.Body.Bytes()))
		}))
		l := filled(t, 10+i, logS)
		c := &evidence.Checkpointer{Log: l, Witnesses: []evidence.WitnessPeer{{Name: "peer", URL: srv.URL, Verifier: wv}}}
		p, err := c.Now(t.Context())
		srv.Close()
		if err != nil {
			t.Fatal(err)
		}
		if n := len(p.Signatures()); n != 1 {
			t.Errorf("%s: %d signature lines published", tt.name, n)
		}
		if _, err := evidence.OpenCheckpoint(p.Checkpoint, logV); err != nil {
			t.Errorf("%s: the checkpoint no longer opens: %v", tt.name, err)
		}
	}
}
