// Package vdxp serves the national document axis protocol (VDXP, FORMAT.md
// §8; docs/contracts.md) under /vdxp/, so agency software written against
// the axis's SDK connects to the hub without change, and provides a Client
// that speaks the same protocol (to the axis or to another hub).
//
// Every request carries its parameters in XroadVnpt-* headers and an
// HMAC-SHA256, under the connected system's secret, of a JSON copy of them
// (XroadVnpt-sign-header). The handler checks the HMAC, that the JSON
// tells the truth about the headers sent, and that every parameter an
// operation uses is signed; then it runs the operation over the hub's own
// pipeline (hub.Submit, Inbox, Fetch, Ack, Timeline) as the agency the
// system acts for. Replies use the axis's JSON shape, {status, ErrorCode,
// ErrorDesc, …}, with ErrorCode "0" on success and a stable code of
// docs/contracts.md on failure. docs/vdxp.md records every choice made where
// FORMAT.md leaves the protocol open.
package vdxp
