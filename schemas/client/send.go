package client

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"mime/multipart"
	"net/http"
	"net/textproto"
)

// errSent closes the request body's pipe once the request is over.
var errSent = errors.New("client: the request is over")

// Send posts a packet, with a detached CMS signature over its exact bytes
// when signature is not nil, as multipart/form-data (parts signature and
// packet). The packet is streamed from packet through a pipe, never held
// in memory; size is its length in bytes, or -1 when unknown (the request
// is then chunked). A packet that yields another number of bytes than a
// non-negative size is an error.
//
// created is true when the hub accepted the packet now (201) and false
// when it had already accepted these exact bytes (200, the original
// receipt). Send also checks that the receipt's sha256 and size are those
// of the bytes sent (an error wrapping ErrReceipt otherwise); the hub's
// signature on the receipt is checked by VerifyReceipt.
func (c *Client) Send(ctx context.Context, packet io.Reader, size int64, signature []byte) (rc *Receipt, created bool, err error) {
	boundary := multipart.NewWriter(io.Discard).Boundary()
	length := int64(-1)
	if size >= 0 {
		var cw countWriter
		m := multipart.NewWriter(&cw)
		if err := m.SetBoundary(boundary); err != nil {
			return nil, false, err
		}
		if _, err := writeHead(m, signature); err != nil {
			return nil, false, err
		}
		if err := m.Close(); err != nil {
			return nil, false, err
		}
		length = cw.n + size
	}

	pr, pw := io.Pipe()
	req, err := c.newRequest(ctx, http.MethodPost, "/v1/packets", pr)
	if err != nil {
		return nil, false, err
	}
	body := &sendReader{r: packet, h: sha256.New(), total: size, progress: c.progress}
	done := make(chan error, 1)
	go func() {
		err := writeBody(pw, boundary, signature, body, size)
		pw.CloseWithError(err) //nolint:errcheck // always nil
		done <- err
	}()
	req.ContentLength = length
	req.Header.Set("Content-Type", "multipart/form-data; boundary="+boundary)
	req.Header.Set("Accept", "application/json")
	resp, err := c.do(req, http.StatusOK, http.StatusCreated)
	pr.CloseWithError(errSent) //nolint:errcheck // always nil
	werr := <-done
	if err != nil {
		var herr *Error
		if !errors.As(err, &herr) && werr != nil && !errors.Is(werr, io.ErrClosedPipe) && !errors.Is(werr, errSent) {
			return nil, false, werr // reading the packet failed, and so the request
		}
		return nil, false, err
	}
	defer resp.Body.Close() //nolint:errcheck // read-only
	if werr != nil {
		return nil, false, werr
	}
	rc = &Receipt{}
	if err := decodeJSON(resp.Body, rc); err != nil {
		return nil, false, err
	}
	sum := hex.EncodeToString(body.h.Sum(nil))
	if rc.SHA256 != sum || rc.Size != body.sent {
		return rc, false, fmt.Errorf("%w: the hub acknowledged %d bytes with sha256 %s, but %d bytes with sha256 %s were sent",
			ErrReceipt, rc.Size, rc.SHA256, body.sent, sum)
	}
	return rc, resp.StatusCode == http.StatusCreated, nil
}

// writeHead writes the signature part, if any, and the packet part's
// header, and returns the packet part's writer.
func writeHead(m *multipart.Writer, signature []byte) (io.Writer, error) {
	if signature != nil {
		h := textproto.MIMEHeader{}
		h.Set("Content-Disposition", `form-data; name="signature"; filename="packet.p7s"`)
		h.Set("Content-Type", "application/pkcs7-signature")
		w, err := m.CreatePart(h)
		if err != nil {
			return nil, err
		}
		if _, err := w.Write(signature); err != nil {
			return nil, err
		}
	}
	h := textproto.MIMEHeader{}
	h.Set("Content-Disposition", `form-data; name="packet"; filename="packet.xml"`)
	h.Set("Content-Type", "application/xml")
	return m.CreatePart(h)
}

// writeBody writes the whole multipart body to w.
func writeBody(w io.Writer, boundary string, signature []byte, packet *sendReader, size int64) error {
	m := multipart.NewWriter(w)
	if err := m.SetBoundary(boundary); err != nil {
		return err
	}
	pw, err := writeHead(m, signature)
	if err != nil {
		return err
	}
	if packet.progress != nil {
		packet.progress(0, size)
	}
	src := io.Reader(packet)
	if size >= 0 {
		src = io.LimitReader(packet, size+1) // one more, to notice a longer packet
	}
	n, err := io.Copy(pw, src)
	if err != nil {
		return err
	}
	switch {
	case size >= 0 && n > size:
		return fmt.Errorf("send: the packet is longer than the %d bytes announced", size)
	case size >= 0 && n < size:
		return fmt.Errorf("send: the packet has %d bytes, not the %d announced", n, size)
	}
	return m.Close()
}

// sendReader hashes and counts the packet as it is read, and reports
// progress.
type sendReader struct {
	r        io.Reader
	h        hash.Hash
	sent     int64
	total    int64
	progress func(sent, total int64)
}

func (s *sendReader) Read(p []byte) (int, error) {
	n, err := s.r.Read(p)
	if n > 0 {
		s.h.Write(p[:n])
		s.sent += int64(n)
		if s.progress != nil {
			s.progress(s.sent, s.total)
		}
	}
	return n, err
}

type countWriter struct{ n int64 }

func (c *countWriter) Write(p []byte) (int, error) {
	c.n += int64(len(p))
	return len(p), nil
}
