package edge

import (
	"net/http"

	"github.com/lienthong/lienthong/internal/bus"
)

// HeaderCorrelationID is the request header a caller (a peer hub
// forwarding a packet) may send its correlation id in, and the response
// header the hub answers it in.
const HeaderCorrelationID = "X-Correlation-Id"

// Correlate mints the x-correlation-id of each request at the edge, or
// continues a well-formed one the caller sent (a peer hub's forward), puts
// it in the request's context, from where every message the request causes
// takes it (bus.Producer.Produce), and answers it in the response.
func Correlate(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := r.Header.Get(HeaderCorrelationID)
		if !wellFormedID(id) {
			id = bus.NewCorrelationID()
		}
		w.Header().Set(HeaderCorrelationID, id)
		next.ServeHTTP(w, r.WithContext(bus.WithCorrelationID(r.Context(), id)))
	})
}

// wellFormedID: 1 to 64 letters, digits, '-', '_' or '.': what ends up in
// logs and headers stays a plain token.
func wellFormedID(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for _, c := range []byte(s) {
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '-', c == '_', c == '.':
		default:
			return false
		}
	}
	return true
}
