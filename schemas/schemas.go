// Package schemas embeds the hub's published contracts: the OpenAPI document
// of the REST API and the JSON Schemas of the Kafka events (README.md).
// internal/schemas loads and tests them.
package schemas

import "embed"

// FS holds openapi.yaml, vdxp.openapi.yaml, events/*.schema.json and
// log/leaf.schema.json.
//
//go:embed openapi.yaml vdxp.openapi.yaml events/*.schema.json log/*.schema.json
var FS embed.FS
