package console_test

import (
	"errors"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/net/html"

	"github.com/lienthong/lienthong/internal/bus"
	"github.com/lienthong/lienthong/internal/config"
	"github.com/lienthong/lienthong/internal/console"
	"github.com/lienthong/lienthong/internal/hubtest"
	"github.com/lienthong/lienthong/internal/metrics"
	"github.com/lienthong/lienthong/internal/organ"
	"github.com/lienthong/lienthong/internal/push"
	"github.com/lienthong/lienthong/internal/testwait"
	"github.com/lienthong/lienthong/internal/track"
)

// English and developer words a clerk or operator saw on Vietnamese
// pages (issue 14). Whole words, any case.
var englishWords = regexp.MustCompile(`(?i)\b(revocation|unknown|status|histogram|topic|router|view|error|ok|pull|done|fail|cms|xmldsig|parse|digest|signature|validity|key-usage|chain|binding|MiB|docs/\w+\.md)\b`)

// Raw codes that belong behind "Chi tiết kỹ thuật" or after a name, never
// in a page's own words: OrganIds, error codes, packet ids, the raw
// document type field.
var rawCodes = regexp.MustCompile(`\b\d{3}\.\d{2}\.\d{2}\.[A-Z]\d{2}\b|\b(sig|edxml|auth|request|packet|pdf|log|status|hub)\.[a-z_]+\b|\b[0-9a-f]{64}\b|Mã loại văn bản|0\.9\.2342`)

var testCertName = regexp.MustCompile(`Cơ quan \d{3}\.\d{2}\.\d{2}\.[A-Z]\d{2}`)

// visibleText is what a person reads on a page: its text, and apart the
// attributes shown to them (placeholders, labels, tooltips), without the
// technical disclosure (details.tech), technical names (code.tech, the
// glossary's) and the codes shown after a name (.secondary). A tooltip
// may hold a code (the code behind a name), never English.
func visibleText(t *testing.T, page string) (text, attrs string) {
	t.Helper()
	z := html.NewTokenizer(strings.NewReader(page))
	var b, a strings.Builder
	var stack []bool // per open element: whether it hides its content
	hidden := func() bool {
		for _, h := range stack {
			if h {
				return true
			}
		}
		return false
	}
	void := map[string]bool{"meta": true, "link": true, "input": true, "br": true, "img": true, "hr": true, "source": true}
	for {
		switch z.Next() {
		case html.ErrorToken:
			if !errors.Is(z.Err(), io.EOF) {
				t.Fatal(z.Err())
			}
			return b.String(), a.String()
		case html.TextToken:
			if !hidden() {
				b.Write(z.Text())
				b.WriteByte(' ')
			}
		case html.StartTagToken, html.SelfClosingTagToken:
			name, hasAttr := z.TagName()
			tag := string(name)
			hide := tag == "script" || tag == "style"
			var shown []string
			for hasAttr {
				var k, v []byte
				k, v, hasAttr = z.TagAttr()
				switch string(k) {
				case "class":
					classes := strings.Fields(string(v))
					for _, c := range classes {
						if c == "secondary" || (c == "tech" && (tag == "details" || tag == "code")) || (c == "code" && tag == "small") {
							hide = true
						}
					}
				case "title", "placeholder", "aria-label", "alt":
					shown = append(shown, string(v))
				}
			}
			if !hidden() && !hide {
				for _, s := range shown {
					a.WriteString(s + " ")
				}
			}
			if !void[tag] && z.Token().Type != html.SelfClosingTagToken {
				stack = append(stack, hide)
			}
		case html.EndTagToken:
			if len(stack) > 0 {
				stack = stack[:len(stack)-1]
			}
		}
	}
}

// Every page a clerk or an operator opens reads in Vietnamese: none of
// the English words the clerk saw, and no raw code outside the technical
// disclosure or the secondary code after a name.
func TestPagesInVietnamese(t *testing.T) {
	reg := prometheus.NewRegistry()
	m, err := metrics.NewHub(reg, hubtest.Agencies)
	if err != nil {
		t.Fatal(err)
	}
	h := hubtest.Start(t, hubtest.Options{Metrics: m})
	dir, err := organ.NewDirectory([]organ.Agency{
		{ID: g22, Name: "Văn phòng Chính phủ"}, {ID: h29, Name: "UBND Thành phố Hồ Chí Minh"}, {ID: g12, Name: "Bộ Nội vụ"}})
	if err != nil {
		t.Fatal(err)
	}
	hash, err := console.HashPassword("mật khẩu đúng")
	if err != nil {
		t.Fatal(err)
	}
	var configured []config.Agency
	for _, a := range dir.Agencies() {
		c := config.Agency{OrganID: string(a.ID), Name: a.Name}
		if a.ID == g22 {
			// The admin's form tells which credentials exist.
			c.VDXPSystemID, c.VDXPSecret, c.WebhookSecret = "vpcp-dms", "vpcp-secret-0123456789", "vpcp-webhook-0123456789"
		}
		configured = append(configured, c)
	}
	checkpoints, logKey := testLog(t, 5, true, true)
	base := serveConsole(t, console.Options{
		Evidence: cosigned(t, checkpoints, logKey),
		Agencies: startAgencies(t, h, dir, configured),
		Hub:      h.Hub,
		Accounts: []console.Account{
			{Username: "vanthu.h29", PasswordHash: hash, Role: console.RoleClerk, OrganID: h29},
			{Username: "vanthu.g22", PasswordHash: hash, Role: console.RoleClerk, OrganID: g22},
			{Username: "vanhanh", PasswordHash: hash, Role: console.RoleOperator},
			{Username: "quantri", PasswordHash: hash, Role: console.RoleAdmin},
		},
		Signers:     hosted(h, g22, h29),
		Gatherer:    reg,
		Directory:   dir,
		DeadLetters: &push.DeadLetters{Bus: bus.Config{Brokers: h.Broker.Addrs()}},
	})
	people := map[string]*browser{}
	for _, u := range []string{"vanthu.h29", "vanthu.g22", "vanhanh", "quantri"} {
		people[u] = newBrowser(t, base)
		if code, _ := people[u].login(u, "mật khẩu đúng"); code != http.StatusSeeOther {
			t.Fatalf("%s sign in: %d", u, code)
		}
	}
	id := sendREST(t, h)
	recipient := people["vanthu.h29"]
	testwait.Eventually(t, "the letter at H29", func() bool {
		_, err := h.Hub.Timeline(h29, id)
		return err == nil
	})
	body := recipient.page("/doc/" + id) // sends the 01
	code, _, _ := recipient.do(http.MethodPost, "/doc/"+id+"/status", url.Values{"csrf": {csrf(t, body)}, "code": {"03"}})
	if code != http.StatusSeeOther {
		t.Fatalf("03: %d", code)
	}
	var status string
	testwait.Eventually(t, "the 03 on G22's timeline", func() bool {
		tl, err := h.Hub.Timeline(g22, id)
		if err != nil || len(tl.Recipients) != 1 {
			return false
		}
		for _, e := range tl.Recipients[0].Events {
			if e.Type == track.EventStatus && e.Code == "03" {
				status = e.Packet
			}
		}
		return status != ""
	})
	year := strconv.Itoa(time.Now().Year())
	pages := map[string][]string{
		"":           {"/"},
		"vanthu.h29": {"/inbox", "/inbox?view=handled", "/inbox?view=all", "/doc/" + id, "/registers", "/registers/in/" + year},
		"vanthu.g22": {"/outbox", "/outbox?view=all", "/doc/" + id, "/doc/" + status, "/compose", "/registers/out/" + year},
		"vanhanh":    {"/ops", "/ops/search", "/ops/search?from=" + g22, "/ops/packet/" + id, "/ops/dead-letters", "/ops/directory", "/ops/log", "/ops/glossary"},
		"quantri":    {"/ops/directory", "/ops/agencies/new", "/ops/agencies/" + g12 + "/edit", "/ops/agencies/" + g22 + "/edit", "/ops/agencies/" + g22 + "/retire"},
	}
	for who, paths := range pages {
		b := people[who]
		if b == nil {
			b = newBrowser(t, base)
		}
		for _, path := range paths {
			t.Run(who+path, func(t *testing.T) {
				code, raw, _ := b.raw(path + sep(path) + "lang=vi")
				if code != http.StatusOK {
					t.Fatalf("GET %s: %d %s", path, code, raw)
				}
				text, attrs := visibleText(t, string(raw))
				for _, w := range contexts(englishWords, text+" "+attrs) {
					t.Errorf("English word: %s", w)
				}
				if path == "/ops/glossary" {
					return // it explains codes, by example
				}
				// The test PKI names each agency's certificate "Cơ quan
				// <OrganId>": a certificate's name, shown as it is.
				text = testCertName.ReplaceAllString(text, "")
				for _, c := range contexts(rawCodes, text) {
					t.Errorf("raw code outside the technical disclosure: %s", c)
				}
			})
		}
	}
}

func sep(path string) string {
	if strings.Contains(path, "?") {
		return "&"
	}
	return "?"
}

// contexts quotes each match of re in text with some text around it.
func contexts(re *regexp.Regexp, text string) []string {
	var out []string
	for _, m := range re.FindAllStringIndex(text, -1) {
		from, to := max(m[0]-60, 0), min(m[1]+60, len(text))
		out = append(out, strings.Join(strings.Fields(text[from:m[0]]+"«"+text[m[0]:m[1]]+"»"+text[m[1]:to]), " "))
	}
	return out
}
