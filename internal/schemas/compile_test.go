package schemas_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/lienthong/lienthong/internal/schemas"
)

// Every schema compiles, published and strict, and declares what the
// contract promises: draft 2020-12, an $id, a title, a description.
func TestSchemasCompile(t *testing.T) {
	for _, strict := range []bool{false, true} {
		s, err := schemas.Load(strict)
		if err != nil {
			t.Fatal(err)
		}
		names := s.EventNames()
		slices.Sort(names)
		if want := []string{schemas.EventAccepted, schemas.EventDelivery, schemas.EventTransport}; !slices.Equal(names, want) {
			t.Errorf("event schemas %v, want %v", names, want)
		}
		for _, n := range names {
			if _, err := s.Event(n); err != nil {
				t.Errorf("%s (strict %v): %v", n, strict, err)
			}
			doc := s.Events[n]
			if doc["$schema"] != "https://json-schema.org/draft/2020-12/schema" {
				t.Errorf("%s: $schema %v", n, doc["$schema"])
			}
			if id, _ := doc["$id"].(string); !strings.HasSuffix(id, "/events/"+n+".schema.json") {
				t.Errorf("%s: $id %q", n, id)
			}
			for _, k := range []string{"title", "description"} {
				if s, _ := doc[k].(string); s == "" {
					t.Errorf("%s: no %s", n, k)
				}
			}
		}
	}
}
