package api_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"io"
	"net/http"
	"strings"
	"testing"
)

// sfByteSequences reads an RFC 8941 dictionary whose members are byte
// sequences (":base64:", parameters ignored), as a generic RFC 9530 checker
// does; a member of another type is an error.
func sfByteSequences(t *testing.T, field string) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	for m := range strings.SplitSeq(field, ",") {
		key, val, ok := strings.Cut(strings.TrimSpace(m), "=")
		if !ok || key != strings.ToLower(key) {
			t.Fatalf("Content-Digest %q: member %q is not key=value with a lowercase key", field, m)
		}
		val, _, _ = strings.Cut(val, ";")
		inner, open := strings.CutPrefix(val, ":")
		inner, closed := strings.CutSuffix(inner, ":")
		if !open || !closed {
			t.Fatalf("Content-Digest %q: %s is not a byte sequence", field, key)
		}
		b, err := base64.StdEncoding.DecodeString(inner)
		if err != nil {
			t.Fatalf("Content-Digest %q: %s: %v", field, key, err)
		}
		out[key] = b
	}
	return out
}

// GET /v1/packets/{id} announces the SHA-256 of the bytes it serves as
// RFC 9530 Content-Digest and RFC 3230 Digest (base64, not hex), and both
// match a digest recomputed from the body.
func TestContentDigest(t *testing.T) {
	th := startHub(t)
	g22, h29 := th.agencies["000.00.00.G22"], th.agencies["000.00.00.H29"]
	doc := read(t, "edoc-new.xml")
	code, rc := th.send(t, g22.token, doc, g22)
	if code != 201 {
		t.Fatalf("submit: %d %v", code, rc)
	}
	req, _ := http.NewRequest(http.MethodGet, th.url+"/v1/packets/"+rc["id"].(string), nil)
	req.Header.Set("Authorization", "Bearer "+h29.token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != 200 || !bytes.Equal(body, doc) {
		t.Fatalf("fetch: %d %v (identical %v)", resp.StatusCode, err, bytes.Equal(body, doc))
	}
	sum := sha256.Sum256(body)

	cd := resp.Header.Values("Content-Digest")
	if len(cd) != 1 {
		t.Fatalf("Content-Digest %q, want one field", cd)
	}
	if got := sfByteSequences(t, cd[0])["sha-256"]; !bytes.Equal(got, sum[:]) {
		t.Errorf("Content-Digest %q: sha-256 %x, body's %x", cd[0], got, sum)
	}

	// RFC 3230: algorithm names are case-insensitive, the value base64.
	alg, val, ok := strings.Cut(resp.Header.Get("Digest"), "=")
	if got, err := base64.StdEncoding.DecodeString(val); !ok || !strings.EqualFold(alg, "sha-256") || err != nil || !bytes.Equal(got, sum[:]) {
		t.Errorf("Digest %q, want SHA-256=%s", resp.Header.Get("Digest"), base64.StdEncoding.EncodeToString(sum[:]))
	}
}
