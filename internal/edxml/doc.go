// Package edxml reads, checks and writes edXML packets (QCVN 102:2016).
//
// Parse reads a packet in one streaming pass. The markup (envelope, header,
// manifest, attachment metadata) becomes an etree document and a typed model;
// attachment content is base64-decoded as it is read, hashed and counted, and
// handed to a caller-supplied sink, so memory stays flat whatever the size of
// the files. Hostile input (DTDs, entities, deep nesting, oversized markup,
// zip bombs) is refused with the stable codes of docs/contracts.md.
//
// Stored and served bytes are never rewritten: WithTrace writes a derived copy
// for peers that expect the hub's TraceHeader.
package edxml
