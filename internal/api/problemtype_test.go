package api_test

import (
	"encoding/json"
	"html"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/lienthong/lienthong/internal/api"
	"github.com/lienthong/lienthong/internal/apiref"
)

// getText GETs a URL and returns the status and the body.
func getText(t *testing.T, u, token string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, u, nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(b)
}

// The type of a real problem response, resolved against the request's URL
// as RFC 9457 says, is a page of the same hub that answers 200 with that
// code's explanation in Vietnamese and English, without authentication.
func TestProblemTypeResolves(t *testing.T) {
	th := startHub(t)
	h29 := th.agencies["000.00.00.H29"]
	tests := []struct {
		give, token, wantCode string
		wantStatus            int
	}{
		{"/v1/inbox", "", "auth.required", 401},
		{"/v1/packets/" + strings.Repeat("0", 64), h29.token, "packet.not_found", 404},
		{"/v1/inbox?kind=fax", h29.token, "request.bad_kind", 400},
	}
	for _, tt := range tests {
		t.Run(tt.wantCode, func(t *testing.T) {
			reqURL := th.url + tt.give
			status, body := getText(t, reqURL, tt.token)
			var p struct{ Type, Code string }
			if err := json.Unmarshal([]byte(body), &p); err != nil || status != tt.wantStatus || p.Code != tt.wantCode {
				t.Fatalf("%d %s, want %d %s", status, body, tt.wantStatus, tt.wantCode)
			}
			base, _ := url.Parse(reqURL)
			ref, err := url.Parse(p.Type)
			if err != nil {
				t.Fatalf("type %q: %v", p.Type, err)
			}
			at := base.ResolveReference(ref).String()
			if at != th.url+"/problems/"+tt.wantCode {
				t.Errorf("type %q resolves to %s", p.Type, at)
			}
			status, page := getText(t, at, "")
			page = html.UnescapeString(page)
			var want apiref.Problem
			for _, e := range apiref.Problems {
				if e.Code == tt.wantCode {
					want = e
				}
			}
			if status != 200 || want.Code == "" || !strings.Contains(page, want.VI.Title) || !strings.Contains(page, want.EN.Title) {
				t.Errorf("GET %s: %d, want 200 with %q and %q", at, status, want.VI.Title, want.EN.Title)
			}
		})
	}
}

// With the hub's public address configured, problem types are absolute
// URLs under it (RFC 9457 recommends absolute ones).
func TestProblemTypeUnderPublicURL(t *testing.T) {
	srv := httptest.NewServer((&api.Server{Tokens: startingTokens{true}, ProblemBase: "https://hub.example.vn/problems/"}).Handler())
	defer srv.Close()
	_, body := getText(t, srv.URL+"/v1/inbox", "")
	var p struct{ Type string }
	if err := json.Unmarshal([]byte(body), &p); err != nil || p.Type != "https://hub.example.vn/problems/auth.required" {
		t.Errorf("type %q (%v), want https://hub.example.vn/problems/auth.required", p.Type, err)
	}
}
