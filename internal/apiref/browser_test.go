package apiref_test

import (
	"context"
	"fmt"
	"go/build"
	"io/fs"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
	"go.yaml.in/yaml/v3"

	"github.com/lienthong/lienthong/internal/apiref"
	"github.com/lienthong/lienthong/internal/tooltest"
	"github.com/lienthong/lienthong/schemas"
)

// The reference pages render every operation of their document in headless
// Chromium under the served CSP, and the browser reports no CSP violation,
// no console error and no uncaught exception.
func TestBrowserReference(t *testing.T) {
	path := tooltest.Require(t, "chromium")
	h, err := apiref.New()
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	defer srv.Close()

	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.NoSandbox, // CI runs as root
		chromedp.DisableGPU,
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-quic", true),
	)
	alloc, cancel := chromedp.NewExecAllocator(context.Background(), opts...)
	defer cancel()
	browser, cancelBrowser := chromedp.NewContext(alloc)
	defer cancelBrowser()
	if err := chromedp.Do(browser); err != nil {
		t.Fatalf("start chromium: %v", err)
	}

	tests := []struct {
		give    string
		wantOps int      // operations the document describes
		wantIn  []string // text the rendered page shows
	}{
		{"/docs/api", operations(t, "openapi.yaml"), []string{"/v1/packets/{id}/timeline", "/v1/inbox/{id}/ack", "lienthong REST API"}},
		{"/docs/api/vdxp", operations(t, "vdxp.openapi.yaml"), []string{"/vdxp/sendEdoc", "/vdxp/updateStatus", "national-axis"}},
	}
	for _, tt := range tests {
		t.Run(tt.give, func(t *testing.T) {
			tab, cancel := chromedp.NewContext(browser)
			defer cancel()
			var mu sync.Mutex
			var reports []string
			if err := chromedp.Listen(tab, func(ev any) {
				mu.Lock()
				defer mu.Unlock()
				switch e := ev.(type) {
				case *log.EventEntryAdded:
					if e.Entry.Level == log.EntryLevelError || e.Entry.Level == log.EntryLevelWarning || strings.Contains(e.Entry.Text, "Content Security Policy") {
						reports = append(reports, fmt.Sprintf("log %s %s: %s (%s)", e.Entry.Source, e.Entry.Level, e.Entry.Text, e.Entry.URL))
					}
				case *runtime.EventConsoleAPICalled:
					if e.Type == runtime.ConsoleAPICalledTypeError || e.Type == runtime.ConsoleAPICalledTypeWarning {
						reports = append(reports, fmt.Sprintf("console.%s", e.Type))
					}
				case *runtime.EventExceptionThrown:
					reports = append(reports, "exception: "+e.ExceptionDetails.Text)
				}
			}); err != nil {
				t.Fatal(err)
			}
			ctx, cancelTimeout := context.WithTimeout(tab, 60*time.Second)
			defer cancelTimeout()
			if tt.wantOps < 9 {
				t.Fatalf("%d operations in the document", tt.wantOps)
			}
			if err := chromedp.Do(ctx, chromedp.Navigate(srv.URL+tt.give)); err != nil {
				t.Fatal(err)
			}
			n, err := chromedp.Run(ctx, chromedp.Poll[int](fmt.Sprintf(`document.querySelectorAll(".opblock").length >= %d && document.querySelectorAll(".opblock").length`, tt.wantOps), chromedp.WithPollingTimeout(15*time.Second)))
			if err != nil {
				html, _ := chromedp.Run(tab, chromedp.Evaluate[string](`document.documentElement.outerHTML.slice(0, 2000)`))
				mu.Lock()
				t.Fatalf("waiting for %d operations: %v\nreports: %q\npage: %s", tt.wantOps, err, reports, html)
			}
			text, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.body.innerText`))
			if err != nil {
				t.Fatal(err)
			}
			for _, s := range tt.wantIn {
				if !strings.Contains(text, s) {
					t.Errorf("the page does not show %q", s)
				}
			}
			// Swagger UI's warning about the 2020-12 dialect is hidden.
			if strings.Contains(text, "jsonSchemaDialect") {
				t.Errorf("the page shows Swagger UI's jsonSchemaDialect warning")
			}
			// Late reports (images of expanded parts) come within a tick.
			time.Sleep(500 * time.Millisecond)
			mu.Lock()
			defer mu.Unlock()
			for _, r := range reports {
				t.Errorf("%s: %s", tt.give, r)
			}
			t.Logf("%s: %d operations rendered", tt.give, n)
		})
	}
}

// operations counts the operations of an embedded OpenAPI document.
func operations(t *testing.T, name string) int {
	t.Helper()
	raw, err := fs.ReadFile(schemas.FS, name)
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Paths map[string]map[string]any `yaml:"paths"`
	}
	if err := yaml.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, item := range doc.Paths {
		for m := range item {
			if slices.Contains([]string{"get", "put", "post", "delete", "options", "head", "patch", "trace"}, m) {
				n++
			}
		}
	}
	return n
}

// The problem pages, which are ours (Swagger UI's markup is not), pass
// axe-core with no serious or critical violation, as the console's pages
// do (internal/cli, TestBrowser).
func TestBrowserProblemsAccessible(t *testing.T) {
	path := tooltest.Require(t, "chromium")
	axePath := os.Getenv("LIENTHONG_AXE")
	if axePath == "" {
		axePath = filepath.Join(build.Default.GOPATH, "lienthong-tools", "node_modules", "axe-core", "axe.min.js")
	}
	axeJS, err := os.ReadFile(axePath)
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("axe-core is missing (%v); CI must run the accessibility checks (scripts/install-test-tools.sh)", err)
		}
		t.Skipf("axe-core is missing (%v); scripts/install-test-tools.sh installs it", err)
	}
	h, err := apiref.New()
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	defer srv.Close()
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-quic", true),
	)
	alloc, cancel := chromedp.NewExecAllocator(context.Background(), opts...)
	defer cancel()
	browser, cancelBrowser := chromedp.NewContext(alloc)
	defer cancelBrowser()
	if err := chromedp.Do(browser); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	for _, page := range []string{"/problems", "/problems/sig.expired"} {
		ctx, cancelTimeout := context.WithTimeout(browser, 30*time.Second)
		// axe-core is evaluated over CDP: the page's CSP stays as served.
		found, err := chromedp.Run(ctx, func(ctx context.Context, tg *chromedp.Target) ([]string, error) {
			if _, err := chromedp.Navigate(srv.URL+page)(ctx, tg); err != nil {
				return nil, err
			}
			if _, err := chromedp.Evaluate[any](string(axeJS)+"\n;0")(ctx, tg); err != nil {
				return nil, err
			}
			return chromedp.Evaluate[[]string](`axe.run(document, {resultTypes: ["violations"]}).then(r =>
				r.violations.filter(v => v.impact === "serious" || v.impact === "critical").map(v => v.id + ": " + v.help + " " + v.nodes.slice(0, 3).map(n => n.html.slice(0, 120)).join(" | ")))`,
				chromedp.EvalAwaitPromise)(ctx, tg)
		})
		cancelTimeout()
		if err != nil {
			t.Fatalf("%s: %v", page, err)
		}
		for _, v := range found {
			t.Errorf("%s: axe %s", page, v)
		}
	}
}
