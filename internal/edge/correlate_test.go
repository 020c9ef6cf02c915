package edge_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/lienthong/lienthong/internal/bus"
	"github.com/lienthong/lienthong/internal/edge"
)

func TestCorrelate(t *testing.T) {
	tests := []struct {
		name string
		give string // the caller's X-Correlation-Id
		want string // "" means a new id
	}{
		{name: "mints one", give: ""},
		{name: "continues a peer's", give: "0123abcd-peer.1", want: "0123abcd-peer.1"},
		{name: "replaces a malformed one", give: "a b\x7f"},
		{name: "replaces a long one", give: strings.Repeat("a", 65)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var inCtx string
			h := edge.Correlate(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
				inCtx = bus.CorrelationID(r.Context())
			}))
			req := httptest.NewRequest(http.MethodPost, "/v1/packets", nil)
			if tt.give != "" {
				req.Header.Set(edge.HeaderCorrelationID, tt.give)
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			got := rec.Header().Get(edge.HeaderCorrelationID)
			if got == "" || got != inCtx {
				t.Fatalf("answered %q, in the context %q; want equal and set", got, inCtx)
			}
			if tt.want != "" && got != tt.want {
				t.Errorf("id %q, want %q", got, tt.want)
			}
			if tt.want == "" && len(got) != 32 {
				t.Errorf("minted %q, want 32 hex digits", got)
			}
		})
	}
}
