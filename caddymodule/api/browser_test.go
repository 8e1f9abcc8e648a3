package api

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	cdppage "github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
)

// The dashboard's tests drive a real Chromium (Debian's chromium) with
// chromedp: one browser for the package, a tab per test, as google/pprof
// tests its web UI. Without Chromium they skip saying so, except in CI
// (CI=true), where they fail.

// browser is the package's browser, started by the first test that needs
// one and stopped by TestMain.
var browser struct {
	once   sync.Once
	ctx    context.Context
	cancel context.CancelFunc
	dir    string
	err    error
}

// chromiumPath finds Chromium or Chrome.
func chromiumPath() (string, error) {
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"} {
		if p, err := exec.LookPath(name); err == nil {
			return p, nil
		}
	}
	return "", fmt.Errorf("no chromium, chromium-browser or google-chrome in PATH")
}

// needBrowser is the package's browser, or skips the test without one (a
// failure when CI=true).
func needBrowser(t *testing.T) context.Context {
	t.Helper()
	if testing.Short() {
		t.Skip("browser tests skipped with -short")
	}
	browser.once.Do(func() {
		path, err := chromiumPath()
		if err != nil {
			browser.err = err
			return
		}
		browser.dir, browser.err = os.MkdirTemp("", "hookgate-chromium-")
		if browser.err != nil {
			return
		}
		alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(),
			chromedp.ExecPath(path), chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU,
			chromedp.NoFirstRun, chromedp.NoDefaultBrowserCheck, chromedp.UserDataDir(browser.dir),
			chromedp.Flag("disable-quic", true), chromedp.Flag("disable-background-networking", true),
			chromedp.Flag("disable-component-update", true), chromedp.Flag("disable-sync", true),
			chromedp.Flag("disable-dev-shm-usage", true), chromedp.WindowSize(1280, 900))
		ctx, cancelBrowser := chromedp.NewContext(alloc)
		browser.ctx = ctx
		browser.cancel = func() { cancelBrowser(); cancelAlloc() }
		_, browser.err = chromedp.Run(ctx, chromedp.Func(func(context.Context, *chromedp.Target) error { return nil })) // starts the browser
	})
	if browser.err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("CI=true: the browser tests must run, but Chromium cannot start: %v (apt-get install chromium)", browser.err)
		}
		t.Skipf("browser tests skipped: %v (apt-get install chromium to run them)", browser.err)
	}
	return browser.ctx
}

// closeBrowser stops the package's browser, if one started.
func closeBrowser() {
	if browser.cancel != nil {
		browser.cancel()
	}
	if browser.dir != "" {
		os.RemoveAll(browser.dir)
	}
}

// tab is a browser tab that records every JS exception, console error
// or warning and CSP violation, and fails the test with them when it ends.
type tab struct {
	ctx context.Context
	t   *testing.T
	mu  sync.Mutex
	bad []string
}

// newTab opens a tab of width x height pixels.
func newTab(t *testing.T, width, height int64) *tab {
	t.Helper()
	parent := needBrowser(t)
	ctx, cancel := chromedp.NewContext(parent)
	tb := &tab{ctx: ctx, t: t}
	if _, err := chromedp.Run(ctx, chromedp.Func(func(context.Context, *chromedp.Target) error { return nil })); err != nil {
		t.Fatalf("opening a tab: %v", err)
	}
	messages := chromedp.Console(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for m, err := range messages {
			if err != nil {
				return
			}
			// The API's refusals (401, 403, 404) are logged by the browser
			// as failed resources: expected, the tests provoke them.
			// Anything else that is an error or a warning is not.
			if m.Source == "network" {
				continue
			}
			if m.IsException() || m.Type == chromedp.ConsoleError || m.Type == chromedp.ConsoleWarning {
				tb.mu.Lock()
				tb.bad = append(tb.bad, m.String())
				tb.mu.Unlock()
			}
		}
	}()
	tb.run(
		chromedp.EmulateViewport(width, height),
		// From the DevTools protocol, outside the page's CSP: report
		// every violation as a console error.
		chromedp.Func(func(ctx context.Context, target *chromedp.Target) error {
			_, err := cdp.Call(ctx, target, cdppage.AddScriptToEvaluateOnNewDocument, cdppage.AddScriptToEvaluateOnNewDocumentParams{
				Source: `document.addEventListener('securitypolicyviolation',
					(e) => console.error('CSP violation: ' + e.violatedDirective + ' ' + e.blockedURI + ' ' + e.sample))`,
			})
			return err
		}),
	)
	t.Cleanup(func() {
		time.Sleep(100 * time.Millisecond) // the last messages
		cancel()
		<-done
		tb.mu.Lock()
		defer tb.mu.Unlock()
		for _, p := range tb.bad {
			t.Errorf("in the page: %s", p)
		}
	})
	return tb
}

// run runs browser actions, failing the test on an error or after 20 s.
func (tb *tab) run(actions ...chromedp.Action[chromedp.Void]) {
	tb.t.Helper()
	ctx, cancel := context.WithTimeout(tb.ctx, 20*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		tb.t.Fatalf("browser: %v", err)
	}
}

// eval evaluates a JavaScript expression in the page.
func eval[T any](tb *tab, expr string) T {
	tb.t.Helper()
	ctx, cancel := context.WithTimeout(tb.ctx, 20*time.Second)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr))
	if err != nil {
		tb.t.Fatalf("evaluating %s: %v", expr, err)
	}
	return v
}

// waitText waits until the page shows a text.
func (tb *tab) waitText(want string) {
	tb.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		body := eval[string](tb, `document.body.innerText`)
		if strings.Contains(body, want) {
			return
		}
		if time.Now().After(deadline) {
			tb.t.Fatalf("the page never showed %q; it shows:\n%s", want, body)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// clickButton clicks the first enabled button whose text is label.
func (tb *tab) clickButton(label string) {
	tb.t.Helper()
	sel := chromedp.Search(fmt.Sprintf(`//button[normalize-space()=%q and not(@disabled)]`, label))
	tb.run(chromedp.WaitVisible(sel), chromedp.Click(sel))
}

// signIn signs in from the sign-in form.
func (tb *tab) signIn(url, token string) {
	tb.t.Helper()
	tb.run(chromedp.Navigate(url), chromedp.WaitVisible(chromedp.CSS(`#token`)),
		chromedp.SendKeys(chromedp.CSS(`#token`), token), chromedp.Click(chromedp.CSS(`form.signin button`)))
}

// screenshot takes a PNG of the tab's viewport.
func (tb *tab) screenshot() []byte {
	tb.t.Helper()
	ctx, cancel := context.WithTimeout(tb.ctx, 20*time.Second)
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
	if err != nil {
		tb.t.Fatalf("screenshot: %v", err)
	}
	return png
}
