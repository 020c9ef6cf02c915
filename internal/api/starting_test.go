package api_test

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/lienthong/lienthong/internal/api"
)

// startingTokens knows no token, and says whether it has read them all.
type startingTokens struct{ ready bool }

func (startingTokens) Organ(string) (string, bool) { return "", false }
func (s startingTokens) IsReady() bool             { return s.ready }

// While the run-time tokens are not read, a bearer token cannot be judged:
// 503 with Retry-After, not 401. Once read, an unknown token is 401.
func TestAuthWhileStarting(t *testing.T) {
	for _, tt := range []struct {
		ready bool
		want  int
	}{{false, http.StatusServiceUnavailable}, {true, http.StatusUnauthorized}} {
		srv := httptest.NewServer((&api.Server{Tokens: startingTokens{tt.ready}}).Handler())
		req, _ := http.NewRequest(http.MethodGet, srv.URL+"/v1/inbox", nil)
		req.Header.Set("Authorization", "Bearer some-token-0123456789")
		resp, err := http.DefaultClient.Do(req)
		srv.Close()
		if err != nil {
			t.Fatal(err)
		}
		_ = resp.Body.Close()
		if resp.StatusCode != tt.want || (tt.want == http.StatusServiceUnavailable) != (resp.Header.Get("Retry-After") != "") {
			t.Errorf("ready %v: %d (Retry-After %q), want %d", tt.ready, resp.StatusCode, resp.Header.Get("Retry-After"), tt.want)
		}
	}
}
