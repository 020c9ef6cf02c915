// Package route decides where packets go. It does no I/O: the hub gives it
// the packet, the directory and what it knows of the document a status is
// about, and acts on the decision.
package route

import (
	"slices"

	"github.com/lienthong/lienthong/internal/edxml"
	"github.com/lienthong/lienthong/internal/organ"
)

// Flags recorded with a decision (warning codes, docs/contracts.md).
const (
	FlagUnknownDocument = "status.unknown_document"
	FlagAlias           = "organ.alias"
)

// Packet is what routing needs of an accepted packet.
type Packet struct {
	Kind       string // "edoc" or "status"
	From       string
	To         []string         // edoc recipients
	StatusCode edxml.StatusCode // status, aliases resolved
	// ResponseForOrgan is the status's ResponseFor/OrganId: the original
	// sender for 01–06, 15, 16; the recalled recipient for 13.
	ResponseForOrgan string
}

// Document is what the hub knows of a document a status is about: its
// sender and recipients, from the edoc packets it carried.
type Document struct {
	From       string
	Recipients []string
	// Endpoints are the inboxes those packets were routed to: with the
	// sender, who may read the document, and so speak about it.
	Endpoints []string
}

// Delivery is one inbox a packet goes to: a registered endpoint and the
// addressees it receives for (itself, or unregistered units under it).
type Delivery struct {
	Endpoint string
	Organs   []string
}

// Decision is where a packet goes.
type Decision struct {
	Deliveries []Delivery
	// Unroutable lists addressees with no registered endpoint, themselves
	// or above them; submission refuses those (packet.unknown_recipient).
	Unroutable []string
	Flags      []string
}

// Decide routes p. doc is nil when the hub does not know the document a
// status is about (older than the hub, or from another hub).
func Decide(p Packet, dir *organ.Directory, doc *Document) Decision {
	var d Decision
	var targets []string
	switch {
	case p.Kind != "status":
		targets = p.To
	case doc == nil:
		targets = []string{p.ResponseForOrgan}
		d.Flags = append(d.Flags, FlagUnknownDocument)
	case p.StatusCode.FromSender():
		// To the recipient named, if it is one; else to every recipient.
		targets = doc.Recipients
		if slices.Contains(doc.Recipients, p.ResponseForOrgan) {
			targets = []string{p.ResponseForOrgan}
		}
	default:
		targets = []string{doc.From}
	}
	index := map[string]int{}
	for _, t := range targets {
		a, exact, ok := dir.Route(organ.ID(t))
		if !ok {
			d.Unroutable = append(d.Unroutable, t)
			continue
		}
		if exact && string(a.ID) != t && !slices.Contains(d.Flags, FlagAlias) {
			d.Flags = append(d.Flags, FlagAlias)
		}
		ep := string(a.ID)
		i, seen := index[ep]
		if !seen {
			i = len(d.Deliveries)
			index[ep] = i
			d.Deliveries = append(d.Deliveries, Delivery{Endpoint: ep})
		}
		if !slices.Contains(d.Deliveries[i].Organs, t) {
			d.Deliveries[i].Organs = append(d.Deliveries[i].Organs, t)
		}
	}
	return d
}

// Permitted tells whether the sender of a status may speak about doc: a
// recipient (or a unit under one) for 01–06, 15 and 16, the sender for 13.
// Anything else would be forged feedback (auth.forbidden). A status about
// an unknown document is permitted; it is flagged instead. This is the
// role alone: the hub also requires that the sender may read the document
// (a registered unit under a recipient has its own inbox, and may not).
func Permitted(p Packet, doc *Document) bool {
	if p.Kind != "status" || doc == nil {
		return true
	}
	if p.StatusCode.FromSender() {
		return p.From == doc.From
	}
	from := organ.ID(p.From)
	for _, r := range doc.Recipients {
		if p.From == r || from.IsUnder(organ.ID(r)) {
			return true
		}
	}
	return false
}
