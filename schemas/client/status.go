package client

import (
	"context"
	"errors"
	"io"

	"github.com/lienthong/lienthong/internal/edxml"
)

// FetchPacket fetches packet id and parses it as it arrives (attachments
// are decoded and dropped, nothing is kept but the model), with the digest
// checked as by Fetch. A packet with errors is returned with them in its
// Errors; a packet that is not edXML at all is an *edxml.Error.
func (c *Client) FetchPacket(ctx context.Context, id string) (*Packet, error) {
	pr, pw := io.Pipe()
	fetched := make(chan error, 1)
	go func() {
		_, _, err := c.Fetch(ctx, id, pw)
		pw.CloseWithError(err) //nolint:errcheck // always nil
		fetched <- err
	}()
	p, perr := edxml.Parse(pr, edxml.Options{NoZipCheck: true})
	if perr == nil {
		_, perr = io.Copy(io.Discard, pr) // let Fetch reach the end and check the digest
	}
	pr.CloseWithError(errSent) //nolint:errcheck // always nil
	if ferr := <-fetched; ferr != nil && !errors.Is(ferr, errSent) {
		return nil, ferr // the hub refused, the connection broke or the digest differs
	}
	if perr != nil {
		return nil, perr
	}
	return p, nil
}

// StatusInput is what BuildStatus needs beyond the document answered;
// the builder is edxml's, shared with the hub's console.
type StatusInput = edxml.StatusInput

// ErrStatus reports a status that cannot answer the document.
var ErrStatus = edxml.ErrStatus

// BuildStatus builds a status packet answering doc, a received edoc:
// ResponseFor names the document (its sender's OrganId, Code,
// PromulgationDate and DocumentId). A 13 (take back) is sent by the
// document's sender, and its ResponseFor/OrganId is instead the recipient
// in.To. It returns the packet's exact bytes, to be signed and sent.
func BuildStatus(doc *Packet, in StatusInput) ([]byte, error) {
	return edxml.BuildStatus(doc, in)
}

// NewStatus is BuildStatus returning the packet's model.
func NewStatus(doc *Packet, in StatusInput) (*Packet, error) {
	return edxml.NewStatus(doc, in)
}

// The edXML types the client's functions take and return, named here so a
// program outside this module can declare them (it cannot import
// internal/edxml).
type (
	// Packet is a parsed edXML packet (FetchPacket, BuildStatus).
	Packet = edxml.Packet
	// Organization is an agency block of a packet (StatusInput.From).
	Organization = edxml.Organization
	// StaffInfo is the person handling a status (StatusInput.Staff).
	StaffInfo = edxml.StaffInfo
	// StatusCode is a business status code ("01" … "16").
	StatusCode = edxml.StatusCode
)
