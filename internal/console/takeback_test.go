package console_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/lienthong/lienthong/internal/hubtest"
	"github.com/lienthong/lienthong/internal/testwait"
)

func TestReportAndTakeBack(t *testing.T) {
	h := hubtest.Start(t, hubtest.Options{})
	sender, clerk := senderAndRecipient(t, h)

	id := sendREST(t, h)
	testwait.Eventually(t, "the letter in H29's inbox", func() bool {
		return strings.Contains(clerk.page("/inbox"), "/doc/"+id)
	})

	// H29 sees the verification report, and no take-back action.
	body := clerk.page("/doc/" + id)
	for _, want := range []string{"Chữ ký số của gói tin", "Chữ ký số hợp lệ", "Cơ quan ký", "<dd>" + g22 + "</dd>", "Chữ ký rời (CMS)"} {
		if !strings.Contains(body, want) {
			t.Fatalf("document page lacks %q: %s", want, body)
		}
	}
	if strings.Contains(body, "/takeback") || strings.Contains(body, `value="15"`) {
		t.Fatalf("H29 is offered a take-back action: %s", body)
	}
	if en := clerk.page("/doc/" + id + "?lang=en"); !strings.Contains(en, "The digital signature is valid") {
		t.Fatalf("English report: %s", en)
	}
	clerk.page("/inbox?lang=vi")
	htoken := csrf(t, body)

	// H29 cannot take the letter back: a forged POST is refused, and a 13
	// or an unrequested 15 on the status form is not sent.
	if code, _, _ := clerk.do(http.MethodPost, "/doc/"+id+"/takeback", url.Values{"csrf": {htoken}, "to": {h29}, "reason": {"giả mạo"}}); code != http.StatusForbidden {
		t.Fatalf("H29 takes back: %d", code)
	}
	if _, _, hdr := clerk.do(http.MethodPost, "/doc/"+id+"/status", url.Values{"csrf": {htoken}, "code": {"13"}, "reason": {"giả mạo"}}); !strings.Contains(hdr.Get("Location"), "err=bad_code") {
		t.Fatalf("a 13 on the status form: %s", hdr.Get("Location"))
	}
	if _, _, hdr := clerk.do(http.MethodPost, "/doc/"+id+"/status", url.Values{"csrf": {htoken}, "code": {"15"}}); !strings.Contains(hdr.Get("Location"), "err=no_takeback") {
		t.Fatalf("a 15 without a request: %s", hdr.Get("Location"))
	}

	// G22 sees a take-back action per recipient, on the page and in the outbox.
	body = sender.page("/doc/" + id)
	if !strings.Contains(body, `action="/doc/`+id+`/takeback"`) || !strings.Contains(body, `name="to" value="`+h29+`"`) || !strings.Contains(body, "Lấy lại") {
		t.Fatalf("no take-back action for G22: %s", body)
	}
	if out := sender.page("/outbox"); !strings.Contains(out, `action="/doc/`+id+`/takeback"`) {
		t.Fatalf("no take-back action in the outbox: %s", out)
	}
	gtoken := csrf(t, body)
	// Without a reason: refused.
	if code, _, hdr := sender.do(http.MethodPost, "/doc/"+id+"/takeback", url.Values{"csrf": {gtoken}, "to": {h29}}); code != http.StatusSeeOther || !strings.Contains(hdr.Get("Location"), "err=takeback_reason") {
		t.Fatalf("13 without a reason: %d %s", code, hdr.Get("Location"))
	}
	// Not from a non-recipient.
	if _, _, hdr := sender.do(http.MethodPost, "/doc/"+id+"/takeback", url.Values{"csrf": {gtoken}, "to": {g12}, "reason": {"x"}}); !strings.Contains(hdr.Get("Location"), "err=bad_takeback") {
		t.Fatalf("13 for a non-recipient: %s", hdr.Get("Location"))
	}
	code, _, hdr := sender.do(http.MethodPost, "/doc/"+id+"/takeback", url.Values{"csrf": {gtoken}, "to": {h29}, "reason": {"Văn bản ban hành nhầm"}})
	if code != http.StatusSeeOther || hdr.Get("Location") != "/doc/"+id+"?ok=13" {
		t.Fatalf("take back: %d %s", code, hdr.Get("Location"))
	}
	if body := sender.page("/doc/" + id + "?ok=13"); !strings.Contains(body, "Đã gửi trạng thái: Lấy lại") {
		t.Fatalf("no confirmation: %s", body)
	}

	// H29's document system has acknowledged the letter: the request is
	// answered from the page all the same.
	if err := h.Hub.Ack(context.Background(), h29, id, "done", ""); err != nil {
		t.Fatal(err)
	}
	testwait.Eventually(t, "the letter acknowledged", func() bool {
		items, _, err := h.Hub.Inbox(h29, "edoc", 100, "")
		return err == nil && len(items) == 0
	})
	// H29 sees the request and the 15/16 buttons, on the document and on
	// the 13 itself.
	testwait.Eventually(t, "the take-back request at H29", func() bool {
		body := clerk.page("/doc/" + id)
		return strings.Contains(body, "Yêu cầu lấy lại văn bản") && strings.Contains(body, "Đồng ý thu hồi") && strings.Contains(body, "Không đồng ý")
	})
	var statusID string
	testwait.Eventually(t, "the 13 in H29's inbox", func() bool {
		items, _, err := h.Hub.Inbox(h29, "status", 100, "")
		if err != nil || len(items) != 1 {
			return false
		}
		statusID = items[0].ID
		return true
	})
	if body := clerk.page("/doc/" + statusID); !strings.Contains(body, "Lấy lại") || !strings.Contains(body, `action="/doc/`+id+`/status"`) || !strings.Contains(body, `value="15"`) {
		t.Fatalf("the 13's page offers no answer: %s", body)
	}
	// A refusal needs a reason.
	if _, _, hdr := clerk.do(http.MethodPost, "/doc/"+id+"/status", url.Values{"csrf": {htoken}, "code": {"16"}}); !strings.Contains(hdr.Get("Location"), "err=refuse_reason") {
		t.Fatalf("16 without a reason: %s", hdr.Get("Location"))
	}
	code, _, hdr = clerk.do(http.MethodPost, "/doc/"+id+"/status", url.Values{"csrf": {htoken}, "code": {"15"}})
	if code != http.StatusSeeOther || hdr.Get("Location") != "/doc/"+id+"?ok=15" {
		t.Fatalf("agree: %d %s", code, hdr.Get("Location"))
	}
	testwait.Eventually(t, "the 15 on G22's timeline", func() bool {
		tl, err := h.Hub.Timeline(g22, id)
		return err == nil && len(tl.Recipients) == 1 && tl.Recipients[0].OrganID == h29 && tl.Recipients[0].State == "15"
	})
	if body := clerk.page("/doc/" + id); strings.Contains(body, "Đồng ý thu hồi") {
		t.Fatalf("the answered request is still offered: %s", body)
	}
	if body := sender.page("/doc/" + id); strings.Contains(body, `/takeback"`) {
		t.Fatalf("a taken-back document is offered again: %s", body)
	}
}
