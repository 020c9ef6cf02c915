package console_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/lienthong/lienthong/internal/hubtest"
	"github.com/lienthong/lienthong/internal/testwait"
)

// The sender revokes a document from its outbox: a reason is required,
// the recipient's copy turns revoked and receives the revoke packet, and
// no other agency can revoke it.
func TestRevoke(t *testing.T) {
	h := hubtest.Start(t, hubtest.Options{})
	sender, other := senderAndRecipient(t, h)
	id := sendREST(t, h)
	var body string
	testwait.Eventually(t, "the revoke action in G22's outbox", func() bool {
		body = sender.page("/outbox")
		return strings.Contains(body, `action="/doc/`+id+`/revoke"`)
	})

	// A reason is required.
	code, _, hdr := sender.do(http.MethodPost, "/doc/"+id+"/revoke", url.Values{"csrf": {csrf(t, body)}, "reason": {"  "}})
	if code != http.StatusSeeOther || hdr.Get("Location") != "/outbox?err=revoke_reason" {
		t.Fatalf("revoke without a reason: %d %s", code, hdr.Get("Location"))
	}
	if page := sender.page("/outbox?err=revoke_reason"); !strings.Contains(page, "Thu hồi văn bản phải nêu lý do.") {
		t.Error("the outbox does not say a reason is needed")
	}
	// The recipient cannot revoke the sender's document.
	_, obody, _ := other.do(http.MethodGet, "/inbox", nil)
	if code, _, _ := other.do(http.MethodPost, "/doc/"+id+"/revoke", url.Values{"csrf": {csrf(t, obody)}, "reason": {"giả mạo"}}); code != http.StatusForbidden {
		t.Errorf("H29 revoking G22's document: %d, want 403", code)
	}

	code, _, hdr = sender.do(http.MethodPost, "/doc/"+id+"/revoke", url.Values{"csrf": {csrf(t, body)}, "reason": {"Ban hành nhầm"}})
	if code != http.StatusSeeOther || hdr.Get("Location") != "/outbox?ok=revoked" {
		t.Fatalf("revoke: %d %s", code, hdr.Get("Location"))
	}
	testwait.Eventually(t, "H29's copy revoked in G22's outbox", func() bool {
		body = sender.page("/outbox?ok=revoked")
		return strings.Contains(body, `<li data-organ="`+h29+`"><span class="organ" title="`+h29+`">`+h29+`</span>: <span class="state" data-state="revoked">Đã thu hồi</span>`)
	})
	if !strings.Contains(body, "Đã gửi văn bản thu hồi.") || strings.Contains(body, `/revoke"`) {
		t.Errorf("after revoking, the outbox: %s", body)
	}
	// The revoke packet itself is not a row of its own.
	if n := strings.Count(body, `<a href="/doc/`); n != 1 {
		t.Errorf("%d rows in the outbox, want 1", n)
	}
	// H29 receives the revoke packet, with the original's subject.
	var inbox string
	testwait.Eventually(t, "the revoke packet in H29's inbox", func() bool {
		// The revoked letter is handled: it is among all, not pending.
		inbox = other.page("/inbox?view=all")
		return strings.Count(inbox, "V/v rà soát") == 2
	})
	// Its page says what it does and why.
	revokeID := regexpFind(t, inbox, `<a href="/doc/([^"]+)">V/v rà soát`)
	if revokeID == id {
		revokeID = regexpFind(t, inbox[strings.Index(inbox, "/doc/"+id)+5:], `<a href="/doc/([^"]+)">V/v rà soát`)
	}
	// The revoked document's id is a technical detail.
	if page := other.page("/doc/" + revokeID); !strings.Contains(page, "Văn bản này thu hồi một văn bản đã gửi trước đó của "+g22+". Lý do: Ban hành nhầm") ||
		!strings.Contains(page, "<dd>Thu hồi</dd>") || !strings.Contains(techOnly(page), "000.00.00.G22,2025/11/20,1234/VPCP-KSTT") {
		t.Errorf("the revoke packet's page: %s", page)
	}
	// Once revoked for every recipient, it cannot be revoked again.
	if code, _, hdr := sender.do(http.MethodPost, "/doc/"+id+"/revoke", url.Values{"csrf": {csrf(t, body)}, "reason": {"lần nữa"}}); code != http.StatusSeeOther || hdr.Get("Location") != "/outbox?err=bad_revoke" {
		t.Errorf("second revoke: %d %s", code, hdr.Get("Location"))
	}
}
