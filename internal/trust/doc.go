// Package trust verifies the signatures on packets: detached CMS/PKCS#7
// over the exact packet bytes and enveloped XML-DSig inside edXMLHeader.
// It checks each signer's chain to the configured roots, validity and
// revocation at the time the hub received the packet (the signer's own
// signingTime is reported, never trusted), key usage, and that the signer
// is the packet's sender. Every failure maps to a stable sig.* code, and
// the result is a Report stored with the packet and returned to the sender.
package trust
