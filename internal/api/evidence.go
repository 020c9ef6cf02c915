package api

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/lienthong/lienthong/internal/evidence"
)

// The verifiable log's routes (docs/evidence.md). Checkpoints, hash tiles
// and consistency proofs are public, as C2SP logs' are: they show how many
// exchanges there were, nothing of who or what. A packet's leaves and
// their proofs are for its parties only.
func (s *Server) logRoutes(mux *http.ServeMux) {
	mux.HandleFunc("GET /v1/log/checkpoint", s.logCheckpoint)
	mux.HandleFunc("GET /v1/log/tile/{path...}", s.logTile)
	mux.HandleFunc("GET /v1/log/proof/consistency", s.logConsistency)
	mux.HandleFunc("GET /v1/packets/{id}/proof", s.auth(s.packetProof))
	mux.HandleFunc("POST /v1/log/witness/add-checkpoint", s.witness)
}

// witness is C2SP tlog-witness's add-checkpoint. It needs no token: a
// checkpoint is cosigned only when signed by a log this hub witnesses.
func (s *Server) witness(w http.ResponseWriter, r *http.Request) {
	if s.Witness == nil {
		s.problem(w, http.StatusNotFound, "log.off", "this hub witnesses no log", nil)
		return
	}
	s.Witness.ServeHTTP(w, r)
}

func (s *Server) logOff(w http.ResponseWriter) bool {
	if s.Evidence == nil {
		s.problem(w, http.StatusNotFound, "log.off", "this hub keeps no verifiable log", nil)
		return true
	}
	return false
}

func (s *Server) logCheckpoint(w http.ResponseWriter, r *http.Request) {
	if s.logOff(w) {
		return
	}
	p := s.Evidence.Latest()
	if p.Size < 0 {
		var ok bool
		if p, ok = s.checkpointCovering(w, r, 0); !ok {
			return
		}
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-cache")
	_, _ = w.Write(p.Checkpoint)
}

func (s *Server) logTile(w http.ResponseWriter, r *http.Request) {
	if s.logOff(w) {
		return
	}
	path := "tile/" + r.PathValue("path")
	if strings.HasPrefix(path, "tile/entries/") {
		// The leaves name the parties: GET /v1/packets/{id}/proof.
		s.problem(w, http.StatusNotFound, "log.bad_range", "entry bundles are not published; a party gets its packet's leaves with their proofs", nil)
		return
	}
	data, err := s.Evidence.Log.Tile(path)
	if err != nil {
		s.problem(w, http.StatusNotFound, "log.bad_range", "no such tile in the log: "+err.Error(), nil)
		return
	}
	w.Header().Set("Content-Type", "application/octet-stream")
	// Full and partial tiles never change (a partial one's width is in
	// its path).
	w.Header().Set("Cache-Control", "public, max-age=31536000, immutable")
	_, _ = w.Write(data)
}

// consistencyProof is the answer of GET /v1/log/proof/consistency.
type consistencyProof struct {
	From  int64    `json:"from"`
	To    int64    `json:"to"`
	Proof [][]byte `json:"proof"`
}

func (s *Server) logConsistency(w http.ResponseWriter, r *http.Request) {
	if s.logOff(w) {
		return
	}
	from, err1 := strconv.ParseInt(r.URL.Query().Get("from"), 10, 64)
	to, err2 := strconv.ParseInt(r.URL.Query().Get("to"), 10, 64)
	if err1 != nil || err2 != nil {
		s.problem(w, http.StatusBadRequest, "log.bad_range", "from and to must be tree sizes, from ≤ to", nil)
		return
	}
	p, err := s.Evidence.Log.Consistency(from, to)
	if err != nil {
		s.problem(w, http.StatusBadRequest, "log.bad_range", "from and to must be tree sizes, from ≤ to ≤ the log's size", nil)
		return
	}
	writeJSON(w, http.StatusOK, consistencyProof{From: from, To: to, Proof: p})
}

func (s *Server) packetProof(w http.ResponseWriter, r *http.Request, caller string) {
	if s.logOff(w) {
		return
	}
	id := r.PathValue("id")
	// The timeline's access rule: the sender and the recipients.
	tl, err := s.Hub.Timeline(caller, id)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	idx := s.Evidence.Log.LeavesOf(id)
	if len(idx) == 0 {
		w.Header().Set("Retry-After", retryAfter)
		s.problem(w, http.StatusServiceUnavailable, "log.pending", "the packet's leaves are not in the log yet", nil)
		return
	}
	p := s.Evidence.Latest()
	if p.Size <= slices.Max(idx) {
		var ok bool
		if p, ok = s.checkpointCovering(w, r, slices.Max(idx)+1); !ok {
			return
		}
	}
	b := evidence.Bundle{V: 1, Checkpoint: string(p.Checkpoint), Timestamp: p.Timestamp}
	for _, i := range idx {
		if i >= p.Size {
			continue // appended since: the next checkpoint proves it
		}
		leaf, err1 := s.Evidence.Log.Leaf(i)
		// A recipient sees the acceptance and its own fetches and
		// acknowledgements, as its timeline does; the sender sees all.
		if tl.From != caller && err1 == nil {
			if lf, err := evidence.ParseLeaf(leaf); err != nil || lf.Type != evidence.LeafAccepted && lf.Endpoint != caller {
				continue
			}
		}
		proof, err2 := s.Evidence.Log.Inclusion(i, p.Size)
		if err := errors.Join(err1, err2); err != nil {
			s.fail(w, r, err)
			return
		}
		b.Leaves = append(b.Leaves, evidence.Proven{Index: i, Leaf: leaf, Proof: proof})
	}
	writeJSON(w, http.StatusOK, b)
}

// checkpointCovering is a checkpoint of at least size leaves, for a
// request the latest does not serve; false when it answered log.pending.
func (s *Server) checkpointCovering(w http.ResponseWriter, r *http.Request, size int64) (evidence.Published, bool) {
	ctx, cancel := detached(r)
	defer cancel()
	p, err := s.Evidence.Covering(ctx, size)
	if err != nil || p.Size < 0 {
		w.Header().Set("Retry-After", retryAfter)
		s.problem(w, http.StatusServiceUnavailable, "log.pending", "the log is not read yet", nil)
		return p, false
	}
	return p, true
}

// detached is the request's context without its cancellation, bounded: a
// checkpoint made for one request (witnesses asked, a TSA called) serves
// every later one, and must not be cut short by a client that left.
func detached(r *http.Request) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.WithoutCancel(r.Context()), time.Minute)
}
