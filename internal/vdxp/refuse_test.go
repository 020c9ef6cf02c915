package vdxp_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/lienthong/lienthong/internal/edxml"
	"github.com/lienthong/lienthong/internal/testwait"
	"github.com/lienthong/lienthong/internal/vdxp"
)

// resign replaces a request's signed header with raw, signed with secret
// (sign-header-key is dropped: it is optional).
func resign(req *http.Request, secret, raw string) {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(raw))
	req.Header.Set(vdxp.HeaderSignHeader, raw)
	req.Header.Set(vdxp.HeaderHashHeader, hex.EncodeToString(mac.Sum(nil)))
	req.Header.Del(vdxp.HeaderSignHeaderKey)
}

// reply sends req and returns the reply envelope, whatever its status.
func reply(t *testing.T, req *http.Request) (int, vdxp.SendReply) {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Fatalf("Content-Type %q, body %.300s", ct, raw)
	}
	var out vdxp.SendReply
	if err := json.Unmarshal(raw, &out); err != nil {
		t.Fatalf("%v: %.300s", err, raw)
	}
	return resp.StatusCode, out
}

// sendToH29 has G22's system send doc and waits until it is in H29's
// inbox.
func sendToH29(t *testing.T, e *env, doc []byte) *vdxp.SendReply {
	t.Helper()
	ctx := context.Background()
	sent, err := e.clients["SYS-G22"].SendEdoc(ctx, g22, edxml.KindEdoc, doc)
	if err != nil {
		t.Fatal(err)
	}
	testwait.EventuallyState(t, "H29's inbox", func() (bool, string) {
		n, err := e.clients["SYS-H29"].CountReceiveEdoc(ctx)
		return n == 1, printf(n, err)
	})
	return sent
}

// Refused requests, each with the code it must get in ErrorCode.
func TestRefusals(t *testing.T) {
	e := start(t)
	ctx := context.Background()
	doc, status03 := read(t, "edoc-new.xml"), read(t, "status-03.xml")
	sysG22, sysH29 := e.clients["SYS-G22"], e.clients["SYS-H29"]
	sent := sendToH29(t, e, doc)
	id := sent.DocID

	// get builds a signed getEdoc request for the packet.
	get := func(c *vdxp.Client, params ...vdxp.Param) *http.Request {
		if params == nil {
			params = []vdxp.Param{{Name: "docId", Value: id}, {Name: "filePath", Value: "/tmp/edoc"}}
		}
		req, err := c.NewRequest(ctx, http.MethodPost, "getEdoc", params, "application/json", strings.NewReader("{}"))
		if err != nil {
			t.Fatal(err)
		}
		return req
	}
	send := func(c *vdxp.Client, from, messageType string, packet []byte, hash string) *http.Request {
		params := []vdxp.Param{{Name: "from", Value: from}, {Name: "servicetype", Value: "eDoc"}}
		if messageType != "" {
			params = append(params, vdxp.Param{Name: "messagetype", Value: messageType})
		}
		if hash == "" {
			hash = vdxp.HashFile(packet, false)
		}
		params = append(params, vdxp.Param{Name: "hash-file", Value: hash})
		req, err := c.NewSendRequest(ctx, params, packet)
		if err != nil {
			t.Fatal(err)
		}
		return req
	}
	wrongSecret := *sysH29
	wrongSecret.Secret = vdxp.Secret("not-the-secret-of-h29-at-all")
	stranger := *sysH29
	stranger.SystemID = "SYS-UNKNOWN"

	tests := []struct {
		name string
		give func() *http.Request
		want string
	}{
		{"bad HMAC: another secret", func() *http.Request { return get(&wrongSecret) }, "auth.required"},
		{"bad HMAC: hash-header altered", func() *http.Request {
			req := get(sysH29)
			h := []byte(req.Header.Get(vdxp.HeaderHashHeader))
			if h[len(h)-1] == '0' {
				h[len(h)-1] = '1'
			} else {
				h[len(h)-1] = '0'
			}
			req.Header.Set(vdxp.HeaderHashHeader, string(h))
			return req
		}, "auth.required"},
		{"bad HMAC: sign-header altered after signing", func() *http.Request {
			req := get(sysH29)
			req.Header.Set(vdxp.HeaderSignHeader, strings.Replace(req.Header.Get(vdxp.HeaderSignHeader), id, strings.Repeat("0", 64), 1))
			return req
		}, "auth.required"},
		{"unknown system", func() *http.Request { return get(&stranger) }, "auth.required"},
		{"missing XroadVnpt-systemid", func() *http.Request {
			req := get(sysH29)
			req.Header.Del(vdxp.HeaderSystemID)
			return req
		}, "auth.required"},
		{"missing XroadVnpt-sign-header", func() *http.Request {
			req := get(sysH29)
			req.Header.Del(vdxp.HeaderSignHeader)
			return req
		}, "auth.required"},
		{"missing XroadVnpt-hash-header", func() *http.Request {
			req := get(sysH29)
			req.Header.Del(vdxp.HeaderHashHeader)
			return req
		}, "auth.required"},
		{"no headers at all", func() *http.Request {
			req, _ := http.NewRequest(http.MethodPost, e.url+"/getEdoc", strings.NewReader("{}"))
			return req
		}, "auth.required"},
		{"signed header differs from the header sent", func() *http.Request {
			req := get(sysH29)
			req.Header.Set("XroadVnpt-docId", strings.Repeat("a", 64))
			return req
		}, "auth.forbidden"},
		{"signed timestamp differs from the one sent", func() *http.Request {
			req := get(sysH29)
			req.Header.Set(vdxp.HeaderTimestamp, vdxp.FormatTimestamp(time.Now().Add(time.Minute), time.UTC))
			return req
		}, "auth.forbidden"},
		{"signed header not sent", func() *http.Request {
			req := get(sysH29)
			req.Header.Del("XroadVnpt-filePath")
			return req
		}, "auth.forbidden"},
		{"signed systemid differs from the one sent", func() *http.Request {
			req := get(sysH29)
			req.Header.Set(vdxp.HeaderSystemID, "SYS-G22")
			return req
		}, "auth.required"},
		{"parameter used but not signed: docId", func() *http.Request {
			req := get(sysH29, vdxp.Param{Name: "filePath", Value: "/tmp"})
			req.Header.Set("XroadVnpt-docId", id)
			return req
		}, "auth.forbidden"},
		{"parameter used but not signed: a second docid beside the signed docId", func() *http.Request {
			req := get(sysH29)
			req.Header.Add("XroadVnpt-docid", strings.Repeat("b", 64))
			return req
		}, "auth.forbidden"},
		{"parameter used but not signed: messagetype", func() *http.Request {
			req, _ := sysH29.NewRequest(ctx, http.MethodPost, "getReceivedEdocList", []vdxp.Param{{Name: "servicetype", Value: "eDoc"}}, "application/json", nil)
			req.Header.Set("XroadVnpt-messagetype", "status")
			return req
		}, "auth.forbidden"},
		{"parameter used but not signed: status of updateStatus", func() *http.Request {
			req, _ := sysH29.NewRequest(ctx, http.MethodPost, "updateStatus", []vdxp.Param{{Name: "docid", Value: id}}, "", nil)
			req.Header.Set("XroadVnpt-status", "done")
			return req
		}, "auth.forbidden"},
		{"systemid not signed", func() *http.Request {
			req := get(sysH29)
			resign(req, secrets["SYS-H29"], `{"XroadVnpt-docId":"`+id+`"}`)
			return req
		}, "auth.forbidden"},
		{"sign-header not a JSON object of strings", func() *http.Request {
			req := get(sysH29)
			resign(req, secrets["SYS-H29"], `{"XroadVnpt-systemid":"SYS-H29","XroadVnpt-docId":1}`)
			return req
		}, "auth.forbidden"},
		{"sign-header with a key twice", func() *http.Request {
			req := get(sysH29)
			resign(req, secrets["SYS-H29"], `{"XroadVnpt-systemid":"SYS-H29","XroadVnpt-docId":"`+id+`","XroadVnpt-docId":"x"}`)
			return req
		}, "auth.forbidden"},
		{"sign-header-key lists a header not signed", func() *http.Request {
			req := get(sysH29)
			req.Header.Set(vdxp.HeaderSignHeaderKey, req.Header.Get(vdxp.HeaderSignHeaderKey)+";status")
			return req
		}, "auth.forbidden"},
		{"sign-header-key leaves a signed header out", func() *http.Request {
			req := get(sysH29)
			req.Header.Set(vdxp.HeaderSignHeaderKey, "systemid;timestamp")
			return req
		}, "auth.forbidden"},
		{"getEdoc without docId", func() *http.Request {
			return get(sysH29, vdxp.Param{Name: "filePath", Value: "/tmp"})
		}, "request.missing_parameter"},
		{"getEdoc of an unknown packet", func() *http.Request {
			return get(sysH29, vdxp.Param{Name: "docId", Value: strings.Repeat("c", 64)})
		}, "packet.not_found"},
		// A non-party is answered as for an unknown id: an id must not
		// tell a stranger the packet exists.
		{"getEdoc by a system whose agencies are no party", func() *http.Request {
			return get(e.clients["SYS-G12"])
		}, "packet.not_found"},
		{"a system acting for an agency it does not serve", func() *http.Request {
			return send(sysH29, g22, "edoc", doc, "")
		}, "auth.forbidden"},
		{"a served agency sending another agency's packet", func() *http.Request {
			return send(sysH29, h29, "edoc", doc, "")
		}, "auth.forbidden"},
		{"hash-file mismatch", func() *http.Request {
			return send(sysG22, g22, "edoc", doc, vdxp.HashFile(status03, true))
		}, "packet.hash_mismatch"},
		{"hash-file of the file with the CRLF the SDK appends", func() *http.Request {
			return send(sysG22, g22, "edoc", doc, vdxp.HashFile(append(append([]byte(nil), doc...), '\r', '\n', 'x'), true))
		}, "packet.hash_mismatch"},
		{"messagetype contradicting the content", func() *http.Request {
			return send(sysH29, h29, "edoc", status03, "")
		}, "edxml.kind_mismatch"},
		{"messagetype neither edoc nor status", func() *http.Request {
			return send(sysH29, h29, "fax", status03, "")
		}, "request.bad_parameter"},
		{"multipart without file_doc", func() *http.Request {
			c := *sysG22
			c.Upload = vdxp.UploadMultipart
			req := send(&c, g22, "edoc", doc, "")
			body, _ := io.ReadAll(req.Body)
			req.Body = io.NopCloser(strings.NewReader(strings.Replace(string(body), `name="file_doc"`, `name="file"`, 1)))
			req.ContentLength = -1
			return req
		}, "request.multipart"},
		{"updateStatus with a business status code", func() *http.Request {
			req, _ := sysH29.NewRequest(ctx, http.MethodPost, "updateStatus", []vdxp.Param{{Name: "docid", Value: id}, {Name: "status", Value: "03"}}, "", nil)
			return req
		}, "request.bad_parameter"},
		{"updateStatus by a stranger", func() *http.Request {
			req, _ := e.clients["SYS-G12"].NewRequest(ctx, http.MethodPost, "updateStatus", []vdxp.Param{{Name: "docid", Value: id}, {Name: "status", Value: "done"}}, "", nil)
			return req
		}, "packet.not_found"},
		{"bad fromDate", func() *http.Request {
			req, _ := sysH29.NewRequest(ctx, http.MethodPost, "getReceivedEdocList", []vdxp.Param{{Name: "messagetype", Value: "edoc"}, {Name: "fromDate", Value: "2025/02/30"}}, "", nil)
			return req
		}, "request.bad_parameter"},
		{"unknown operation", func() *http.Request {
			req, _ := sysH29.NewRequest(ctx, http.MethodPost, "registerAgency", nil, "", nil)
			return req
		}, "request.unknown_operation"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, out := reply(t, tt.give())
			if out.Status != vdxp.StatusFail || out.ErrorCode != tt.want || out.ErrorDesc == "" {
				t.Errorf("got %s %q (%s), want FAIL %q", out.Status, out.ErrorCode, out.ErrorDesc, tt.want)
			}
			if status != http.StatusOK {
				t.Errorf("HTTP %d: failures answer 200 unless Options.HTTPStatus", status)
			}
		})
	}

	if log := e.log.String(); !strings.Contains(log, `"code":"auth.required"`) || !strings.Contains(log, `"system":"SYS-H29"`) {
		t.Errorf("refusals are not logged with their code and system:\n%.2000s", log)
	}

	// None of that touched H29's inbox or stored anything new.
	if n, err := sysH29.CountReceiveEdoc(ctx); err != nil || n != 1 {
		t.Errorf("H29's inbox after the refusals: %d %v", n, err)
	}
	if n, err := e.clients["SYS-G22"].CountReceiveStatus(ctx); err != nil || n != 0 {
		t.Errorf("G22's statuses after the refusals: %d %v", n, err)
	}
}

// What the SDK sends that is odd but valid passes.
func TestLenientSDKShapes(t *testing.T) {
	e := start(t)
	ctx := context.Background()
	doc := read(t, "edoc-new.xml")
	sysH29 := e.clients["SYS-H29"]
	sent := sendToH29(t, e, doc)
	tests := []struct {
		name string
		give func() *http.Request
	}{
		{"sign-header-key names with the XroadVnpt- prefix", func() *http.Request {
			req, _ := sysH29.NewRequest(ctx, http.MethodGet, "countReceiveEdoc", nil, "", nil)
			req.Header.Set(vdxp.HeaderSignHeaderKey, "XroadVnpt-systemid;XroadVnpt-timestamp")
			return req
		}},
		{"no sign-header-key", func() *http.Request {
			req, _ := sysH29.NewRequest(ctx, http.MethodGet, "countReceiveEdoc", nil, "", nil)
			req.Header.Del(vdxp.HeaderSignHeaderKey)
			return req
		}},
		{"header names in other cases", func() *http.Request {
			req, _ := sysH29.NewRequest(ctx, http.MethodGet, "countReceiveEdoc", nil, "", nil)
			for k, v := range req.Header {
				delete(req.Header, k)
				req.Header[strings.ToLower(k)] = v // sent as is, read case-insensitively
			}
			return req
		}},
		{"hash-header in uppercase", func() *http.Request {
			req, _ := sysH29.NewRequest(ctx, http.MethodGet, "countReceiveEdoc", nil, "", nil)
			req.Header.Set(vdxp.HeaderHashHeader, strings.ToUpper(req.Header.Get(vdxp.HeaderHashHeader)))
			return req
		}},
		{"stale headers the SDK keeps across calls: docId and docid, hash-file, from", func() *http.Request {
			req, _ := sysH29.NewRequest(ctx, http.MethodPost, "getEdoc", []vdxp.Param{
				{Name: "docid", Value: strings.Repeat("d", 64)}, {Name: "docId", Value: sent.DocID},
				{Name: "hash-file", Value: "abc"}, {Name: "from", Value: h29}, {Name: "messagetype", Value: "status"}}, "application/json", nil)
			return req
		}},
		{"the SDK's own timestamp, an hour old (freshness is not enforced by default)", func() *http.Request {
			c := *sysH29
			c.Timestamp = time.Now().Add(-time.Hour)
			req, _ := c.NewRequest(ctx, http.MethodGet, "countReceiveStatus", nil, "", nil)
			return req
		}},
		{"from carrying the system id, for a one-agency system", func() *http.Request {
			req, _ := sysH29.NewRequest(ctx, http.MethodPost, "getReceivedEdocList", []vdxp.Param{{Name: "from", Value: "SYS-H29"}, {Name: "messagetype", Value: "edoc"}}, "", nil)
			return req
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, out := reply(t, tt.give()); !out.OK() {
				t.Errorf("got %s %s: %s", out.Status, out.ErrorCode, out.ErrorDesc)
			}
		})
	}
}

// The strictness switches.
func TestStrictOptions(t *testing.T) {
	e := start(t)
	ctx := context.Background()
	strict := e.mount(t, vdxp.Options{RequireTimestamp: true, MaxClockSkew: 5 * time.Minute, RejectUnpaddedHash: true,
		RequireHashFile: true, HTTPStatus: true})
	doc := read(t, "edoc-new.xml")
	for vdxp.HashFile(doc, true) == vdxp.HashFile(doc, false) {
		doc = append(doc, '\n')
	}
	c := func(ts time.Time) *vdxp.Client {
		cl := e.client("SYS-G22", strict)
		cl.Timestamp = ts
		return cl
	}
	now := time.Now()
	tests := []struct {
		name       string
		give       func() *http.Request
		wantCode   string
		wantStatus int
	}{
		{"fresh timestamp", func() *http.Request {
			req, _ := c(now).NewRequest(ctx, http.MethodGet, "countReceiveEdoc", nil, "", nil)
			return req
		}, "0", http.StatusOK},
		{"timestamp an hour old", func() *http.Request {
			req, _ := c(now.Add(-time.Hour)).NewRequest(ctx, http.MethodGet, "countReceiveEdoc", nil, "", nil)
			return req
		}, "auth.required", http.StatusUnauthorized},
		{"timestamp not signed", func() *http.Request {
			req, _ := c(now).NewRequest(ctx, http.MethodGet, "countReceiveEdoc", nil, "", nil)
			resign(req, secrets["SYS-G22"], `{"XroadVnpt-systemid":"SYS-G22"}`)
			return req
		}, "auth.forbidden", http.StatusForbidden},
		{"unpadded hash-file refused", func() *http.Request {
			req, _ := c(now).NewSendRequest(ctx, []vdxp.Param{{Name: "from", Value: g22}, {Name: "hash-file", Value: vdxp.HashFile(doc, false)}}, doc)
			return req
		}, "packet.hash_mismatch", http.StatusBadRequest},
		{"no hash-file refused", func() *http.Request {
			req, _ := c(now).NewSendRequest(ctx, []vdxp.Param{{Name: "from", Value: g22}}, doc)
			return req
		}, "request.missing_parameter", http.StatusBadRequest},
		{"padded hash-file accepted", func() *http.Request {
			req, _ := c(now).NewSendRequest(ctx, []vdxp.Param{{Name: "from", Value: g22}, {Name: "hash-file", Value: vdxp.HashFile(doc, true)}}, doc)
			return req
		}, "0", http.StatusOK},
	}
	small := e.mount(t, vdxp.Options{MaxBodyBytes: 512})
	for _, upload := range []vdxp.Upload{vdxp.UploadSDK, vdxp.UploadMultipart} {
		tests = append(tests, struct {
			name       string
			give       func() *http.Request
			wantCode   string
			wantStatus int
		}{fmt.Sprintf("a body over MaxBodyBytes (upload %d)", upload), func() *http.Request {
			cl := e.client("SYS-G22", small)
			cl.Upload = upload
			req, _ := cl.NewSendRequest(ctx, []vdxp.Param{{Name: "from", Value: g22}}, doc)
			return req
		}, "xml.too_large", http.StatusOK})
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, out := reply(t, tt.give())
			if out.ErrorCode != tt.wantCode || status != tt.wantStatus {
				t.Errorf("got HTTP %d %q (%s), want %d %q", status, out.ErrorCode, out.ErrorDesc, tt.wantStatus, tt.wantCode)
			}
		})
	}
}
