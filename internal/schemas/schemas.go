// Package schemas loads the hub's published contracts (the module's schemas/
// directory: the JSON Schemas of the Kafka events and the OpenAPI document of
// the REST API) and validates payloads against them. Its tests check that
// what a running hub writes to Kafka and answers over HTTP matches them.
//
// The published schemas let unknown fields through, because consumers must
// ignore fields added later (schemas/README.md). Load(true) derives strict
// copies for producers' tests: a field the Go code writes that no schema
// names, such as a renamed one, then fails validation.
package schemas

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"path"
	"strconv"
	"strings"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"go.yaml.in/yaml/v3"

	published "github.com/lienthong/lienthong/schemas"
)

// FS holds openapi.yaml, vdxp.openapi.yaml and events/*.schema.json, as
// published.
var FS = published.FS

// Event schema names: the file names under events/ without .schema.json.
const (
	EventAccepted  = "accepted"
	EventDelivery  = "delivery"
	EventTransport = "transport"
)

// OpenAPIURL is the location the OpenAPI document is loaded under, for
// references into it.
const OpenAPIURL = "https://lienthong.example/schemas/openapi.yaml"

// EventFor names the schema of the messages on a hub topic, or "" for a
// topic without one (dead-letter holds copies of other topics' messages).
func EventFor(prefix, topic string) string {
	name, ok := strings.CutPrefix(topic, prefix)
	switch {
	case !ok:
		return ""
	case name == "accepted":
		return EventAccepted
	case name == "events":
		return EventTransport
	case strings.HasPrefix(name, "inbox."):
		return EventDelivery
	}
	return ""
}

// Set is the loaded contracts.
type Set struct {
	c      *jsonschema.Compiler
	events map[string]string // name → $id
	// Events holds each event schema's document, by name.
	Events map[string]map[string]any
	// OpenAPI is the parsed OpenAPI document, as JSON values.
	OpenAPI map[string]any
}

// Load reads every schema in FS. strict adds additionalProperties: false to
// every object schema that has properties and says nothing of additional
// ones (see Strict).
func Load(strict bool) (*Set, error) {
	s := &Set{events: map[string]string{}, Events: map[string]map[string]any{}}
	s.c = jsonschema.NewCompiler()
	s.c.DefaultDraft(jsonschema.Draft2020)
	s.c.AssertFormat()
	s.c.AssertContent()
	names, err := fs.Glob(FS, "events/*.schema.json")
	if err != nil {
		return nil, err
	}
	if len(names) == 0 {
		return nil, errors.New("schemas: no event schemas embedded")
	}
	for _, n := range names {
		raw, err := fs.ReadFile(FS, n)
		if err != nil {
			return nil, err
		}
		doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(raw))
		if err != nil {
			return nil, fmt.Errorf("%s: %w", n, err)
		}
		obj, ok := doc.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("%s: not a JSON object", n)
		}
		id, _ := obj["$id"].(string)
		if id == "" {
			return nil, fmt.Errorf("%s: no $id", n)
		}
		if strict {
			Strict(obj)
		}
		if err := s.c.AddResource(id, obj); err != nil {
			return nil, fmt.Errorf("%s: %w", n, err)
		}
		name := strings.TrimSuffix(path.Base(n), ".schema.json")
		s.events[name], s.Events[name] = id, obj
	}
	doc, err := ReadOpenAPI()
	if err != nil {
		return nil, err
	}
	if strict {
		Strict(doc)
	}
	if err := s.c.AddResource(OpenAPIURL, doc); err != nil {
		return nil, fmt.Errorf("openapi.yaml: %w", err)
	}
	s.OpenAPI = doc
	return s, nil
}

// OpenAPI documents in FS: the REST API's and the national axis's.
const (
	OpenAPIFile     = "openapi.yaml"
	VDXPOpenAPIFile = "vdxp.openapi.yaml"
)

// ReadOpenAPI parses openapi.yaml into JSON values (numbers as json.Number),
// failing on anything JSON cannot hold, such as a non-string mapping key.
func ReadOpenAPI() (map[string]any, error) { return ReadYAML(OpenAPIFile) }

// ReadYAML parses a YAML file of FS into JSON values, as ReadOpenAPI.
func ReadYAML(name string) (map[string]any, error) {
	raw, err := fs.ReadFile(FS, name)
	if err != nil {
		return nil, err
	}
	var y any
	if err := yaml.Unmarshal(raw, &y); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	js, err := json.Marshal(y)
	if err != nil {
		return nil, fmt.Errorf("%s is not JSON-compatible: %w", name, err)
	}
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(js))
	if err != nil {
		return nil, err
	}
	obj, ok := doc.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("%s: not a mapping", name)
	}
	return obj, nil
}

// Strict turns the object schemas in doc closed, in place: every schema with
// "type": "object" and "properties" but no "additionalProperties" gets
// "additionalProperties": false. Subschemas under if and not are left as
// they are, since closing them would change what they test.
func Strict(doc any) {
	switch v := doc.(type) {
	case map[string]any:
		if v["type"] == "object" {
			_, props := v["properties"]
			_, extra := v["additionalProperties"]
			if props && !extra {
				v["additionalProperties"] = false
			}
		}
		for k, sub := range v {
			switch k {
			case "if", "not", "const", "enum", "examples", "default", "example":
				continue
			}
			Strict(sub)
		}
	case []any:
		for _, sub := range v {
			Strict(sub)
		}
	}
}

// EventNames lists the loaded event schemas.
func (s *Set) EventNames() []string {
	out := make([]string, 0, len(s.events))
	for n := range s.events {
		out = append(out, n)
	}
	return out
}

// Event returns the compiled schema of an event.
func (s *Set) Event(name string) (*jsonschema.Schema, error) {
	id, ok := s.events[name]
	if !ok {
		return nil, fmt.Errorf("schemas: no event schema %q", name)
	}
	return s.c.Compile(id)
}

// Component returns the compiled schema components/schemas/name of the
// OpenAPI document.
func (s *Set) Component(name string) (*jsonschema.Schema, error) {
	return s.compilePointer("components", "schemas", name)
}

// Response returns the schema the OpenAPI document gives the body of a
// response: of operation method on the path template (as written in the
// document, e.g. /v1/packets/{id}), for status and media type. It fails when
// the document does not declare that response.
func (s *Set) Response(method, pathTemplate string, status int, mediaType string) (*jsonschema.Schema, error) {
	ptr := []string{"paths", pathTemplate, strings.ToLower(method), "responses", strconv.Itoa(status)}
	resp, err := lookup(s.OpenAPI, ptr)
	if err != nil {
		return nil, fmt.Errorf("openapi: %s %s: no %d response: %w", method, pathTemplate, status, err)
	}
	if obj, ok := resp.(map[string]any); ok {
		if ref, ok := obj["$ref"].(string); ok {
			ref, ok = strings.CutPrefix(ref, "#/")
			if !ok {
				return nil, fmt.Errorf("openapi: %s %s %d: external $ref %s", method, pathTemplate, status, obj["$ref"])
			}
			ptr = nil
			for _, tok := range strings.Split(ref, "/") {
				ptr = append(ptr, strings.NewReplacer("~1", "/", "~0", "~").Replace(tok))
			}
		}
	}
	ptr = append(ptr, "content", mediaType, "schema")
	if _, err := lookup(s.OpenAPI, ptr); err != nil {
		return nil, fmt.Errorf("openapi: %s %s %d: no %s body: %w", method, pathTemplate, status, mediaType, err)
	}
	return s.compilePointer(ptr...)
}

func (s *Set) compilePointer(tokens ...string) (*jsonschema.Schema, error) {
	var b strings.Builder
	for _, t := range tokens {
		t = strings.NewReplacer("~", "~0", "/", "~1").Replace(t)
		b.WriteString("/" + url.PathEscape(t))
	}
	return s.c.Compile(OpenAPIURL + "#" + b.String())
}

func lookup(doc any, ptr []string) (any, error) {
	v := doc
	for _, tok := range ptr {
		obj, ok := v.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("%q is not under an object", tok)
		}
		if v, ok = obj[tok]; !ok {
			return nil, fmt.Errorf("no %q", tok)
		}
	}
	return v, nil
}

// Validate checks a JSON document against a schema.
func Validate(sch *jsonschema.Schema, raw []byte) error {
	v, err := jsonschema.UnmarshalJSON(bytes.NewReader(raw))
	if err != nil {
		return fmt.Errorf("not JSON: %w", err)
	}
	return sch.Validate(v)
}
