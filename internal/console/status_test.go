package console_test

import (
	"net/http"
	"net/url"
	"testing"

	"github.com/lienthong/lienthong/internal/hubtest"
)

// The sender of a document may read it but never answer it: a business
// status posted on its own document is refused with 403, not redirected
// back to the page as if it were a form mistake or a failed send.
func TestSenderCannotAnswerOwnDocument(t *testing.T) {
	h := hubtest.Start(t, hubtest.Options{})
	sender, _ := senderAndRecipient(t, h)
	id := sendREST(t, h)
	body := sender.page("/doc/" + id)
	token := csrf(t, body)
	tests := []struct {
		name string
		give url.Values
	}{
		{"accept", url.Values{"code": {"03"}}},
		{"reject with reason", url.Values{"code": {"02"}, "reason": {"không đúng thẩm quyền"}}},
		{"done", url.Values{"code": {"06"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			form := url.Values{"csrf": {token}}
			for k, v := range tt.give {
				form[k] = v
			}
			code, _, hdr := sender.do(http.MethodPost, "/doc/"+id+"/status", form)
			if code != http.StatusForbidden {
				t.Fatalf("the sender answers its own document: %d %s, want 403", code, hdr.Get("Location"))
			}
		})
	}
	if items, _, err := h.Hub.Inbox(g22, "status", 100, ""); err != nil || len(items) != 0 {
		t.Fatalf("a status reached the sender: %v %v", items, err)
	}
}
