package console

import (
	"encoding/hex"
	"errors"
	"net/http"
	"time"

	"github.com/transparency-dev/formats/log"
	"golang.org/x/mod/sumdb/note"

	"github.com/lienthong/lienthong/internal/evidence"
)

// Evidence is the hub's verifiable log as the operators' page reads it:
// its latest published checkpoint (evidence.Checkpointer).
type Evidence interface {
	Latest() evidence.Published
}

type logView struct {
	On      bool // the hub keeps a log
	Pending bool // no checkpoint yet
	Broken  bool // the checkpoint does not read as one
	Origin  string
	Size    uint64
	Made    time.Time
	Root    string // hex
	Short   string // its first characters
	Own     *evidence.Signature
	// Witnesses are the other hubs' cosignatures.
	Witnesses []evidence.Signature
	Stamped   bool
	Note      string // the signed checkpoint as published
}

// evidenceLog shows the latest checkpoint of the hub's verifiable log
// and who signed it (docs/console.md).
func (s *server) evidenceLog(w http.ResponseWriter, r *http.Request, u *Account, ss *session) {
	p := s.page(w, r, u, ss)
	p.Title = p.M.T("log_title")
	v := &logView{}
	p.Log = v
	if s.o.Evidence == nil {
		s.render(w, http.StatusOK, "evidencelog", p)
		return
	}
	v.On = true
	pub := s.o.Evidence.Latest()
	if pub.Size < 0 {
		v.Pending = true
		s.render(w, http.StatusOK, "evidencelog", p)
		return
	}
	v.Made = pub.At
	v.Note, v.Stamped = string(pub.Checkpoint), pub.Timestamp != nil
	cp, err := readCheckpoint(pub.Checkpoint)
	if err != nil {
		s.o.Log.Warn("console: the log's checkpoint", "err", err)
		v.Broken = true
		s.render(w, http.StatusOK, "evidencelog", p)
		return
	}
	v.Origin, v.Size, v.Root = cp.Origin, cp.Size, hex.EncodeToString(cp.Hash)
	v.Short = v.Root[:min(len(v.Root), 12)]
	// The log's own signature comes first (evidence.Published.Signatures).
	for i, sg := range pub.Signatures() {
		if i == 0 {
			v.Own = &sg
			continue
		}
		v.Witnesses = append(v.Witnesses, sg)
	}
	s.render(w, http.StatusOK, "evidencelog", p)
}

// readCheckpoint reads a signed checkpoint's body without checking its
// signatures: the console holds none of the keys, and the checkpointer
// of this process signed it.
func readCheckpoint(signed []byte) (*log.Checkpoint, error) {
	_, err := note.Open(signed, nil)
	var unverified *note.UnverifiedNoteError
	if !errors.As(err, &unverified) {
		return nil, errors.New("console: not a signed note")
	}
	var cp log.Checkpoint
	if _, err := cp.Unmarshal([]byte(unverified.Note.Text)); err != nil {
		return nil, err
	}
	return &cp, nil
}
