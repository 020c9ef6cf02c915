package api_test

import (
	"bytes"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"

	"github.com/lienthong/lienthong/internal/api"
	"github.com/lienthong/lienthong/internal/hubtest"
	"github.com/lienthong/lienthong/internal/pki"
)

// readSizes records the buffer sizes a reader is read with.
type readSizes struct {
	r     io.Reader
	sizes []int
}

func (s *readSizes) Read(p []byte) (int, error) {
	s.sizes = append(s.sizes, len(p))
	return s.r.Read(p)
}

// A multipart body is read in large reads, not multipart's 4 KiB ones: a
// letter was a dozen reads of the connection, each a system call. The
// receipt is answered with its length.
func TestMultipartBodyReadInLargeReads(t *testing.T) {
	h := hubtest.Start(t, hubtest.Options{})
	g22 := h.Agencies["000.00.00.G22"]
	srv := &api.Server{Hub: h.Hub, Tokens: api.NewTokens(map[string][]string{g22.ID: {g22.Token}})}
	packet := read(t, "edoc-new.xml")
	sig, err := pki.SignDetached(bytes.NewReader(packet), g22.Cert.Cert, g22.Cert.Key, g22.Cert.Chain, pki.SignOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	w, _ := mw.CreateFormFile("signature", "packet.p7s")
	_, _ = w.Write(sig)
	w, _ = mw.CreateFormFile("packet", "packet.xml")
	_, _ = w.Write(packet)
	mw.Close()
	rs := &readSizes{r: &body}
	req := httptest.NewRequest(http.MethodPost, "/v1/packets", rs)
	req.Header.Set("Authorization", "Bearer "+g22.Token)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	rec := httptest.NewRecorder()
	srv.Handler().ServeHTTP(rec, req)
	if rec.Code != http.StatusCreated {
		t.Fatalf("submit: %d %s", rec.Code, rec.Body)
	}
	// The receipt goes with its length, not chunked.
	if cl := rec.Header().Get("Content-Length"); cl != strconv.Itoa(rec.Body.Len()) {
		t.Errorf("Content-Length %q, body %d bytes", cl, rec.Body.Len())
	}
	for _, n := range rs.sizes {
		if n < 32<<10 {
			t.Fatalf("the body was read with buffers of %v bytes, want each at least 32 KiB", rs.sizes)
		}
	}
}
