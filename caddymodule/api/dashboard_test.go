package api

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2/caddytest"
	"github.com/chromedp/chromedp"
	"github.com/hookgate/hookgate/caddymodule/internal/hooktest"
)

// uiBase is where the dashboard's test config serves it, mounted under
// /api/ as Caddyfile.example does.
const uiBase = "http://127.0.0.1:9180/api/ui/"

// Hostile values put into payloads, variables, headers, hook names and
// webhooks: shown as text, they never run. (The CSP would refuse an
// inline handler anyway; the tab fails on such a violation too.)
const (
	hostileImg    = `<img src=x onerror="window.__xss=1">`
	hostileScript = `<script>window.__xss=1</script>`
	// hostileURLPart is valid in a URL's query, as sent.
	hostileURLPart = `<img/src=x/onerror=window.__xss=1>`
)

// dashboardConfig mounts the API at /api/ beside a GitHub hook and the
// dynamic hooks, on one site, with short retries so that a failed
// delivery happens fast.
func dashboardConfig(dir string) string {
	return fmt.Sprintf(`{
`+serverOptions+`	hookgate {
		storage sqlite %[1]s/hookgate.db
		allow_targets 127.0.0.0/8
		delivery {
			retry_schedule 50ms
			fail_after 5
			timeout 5s
		}
		pipeline deploy {
			step build exec /bin/echo building {vars.ref}
		}
	}
}
http://127.0.0.1:9180 {
	handle /deploy {
		hookgate github-deploy {
			signature github
			secret "%[2]s"
			var ref ref string required
			var note note
			pipeline deploy
		}
	}
	handle_path /hooks/* {
		hookgate dynamic
	}
	handle_path /api/* {
		hookgate_api {
			token %[3]s write
			token %[4]s read
		}
	}
}
`, dir, githubSecret, writeToken, readToken)
}

// dashAPI calls the API of the dashboard's config with the write token.
func dashAPI(t *testing.T, tester *caddytest.Tester, method, path, body string, out any) int {
	t.Helper()
	var payload []byte
	if body != "" {
		payload = []byte(body)
	}
	status, _, answer := hooktest.Post(t, tester.Client, method, "http://127.0.0.1:9180/api/"+path, payload,
		map[string]string{"Authorization": "Bearer " + writeToken, "Content-Type": "application/json"})
	if out != nil {
		if err := json.Unmarshal([]byte(answer), out); err != nil {
			t.Fatalf("%s %s: %d %q", method, path, status, answer)
		}
	}
	return status
}

// waitDelivery polls a webhook's deliveries until one is in status.
func waitDelivery(t *testing.T, tester *caddytest.Tester, webhookID, status string) string {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		var pg struct {
			Items []struct {
				ID     string `json:"id"`
				Status string `json:"status"`
			} `json:"items"`
		}
		dashAPI(t, tester, "GET", "webhooks/"+webhookID+"/deliveries?status="+status, "", &pg)
		if len(pg.Items) > 0 {
			return pg.Items[0].ID
		}
		if time.Now().After(deadline) {
			t.Fatalf("webhook %s has no %s delivery", webhookID, status)
		}
		time.Sleep(30 * time.Millisecond)
	}
}

// TestDashboard signs in, walks every view with hostile data in it,
// follows a request to its action and deliveries, creates a webhook
// through the form, retries failed deliveries one and all, and takes the
// README's screenshots; read-only mode and the phone width are checked in
// tabs of their own.
func TestDashboard(t *testing.T) {
	needBrowser(t)
	stopAtEnd(t)
	start := time.Now().UTC().Format(time.RFC3339Nano) // the request log outlives configs: this test's requests since then
	tester := caddytest.NewTester(t)
	tester.InitServer(dashboardConfig(t.TempDir()), "caddyfile")
	ok, flaky := hooktest.NewReceiver(t), hooktest.NewReceiver(t)
	flaky.Status.Store(500)

	// Webhooks: one that answers, one that fails, with hostile headers
	// and URL query.
	var okHook, flakyHook webhookJSON
	if s := dashAPI(t, tester, "POST", "webhooks", fmt.Sprintf(`{"name":"status-ok","url":%q,
		"headers":{"X-Note":%q},"eventTypes":[{"type":"action.succeeded"},{"type":"hook.rejected"}]}`,
		ok.URL+"/ok?x="+hostileURLPart, hostileScript), &okHook); s != 201 {
		t.Fatalf("creating a webhook: %d", s)
	}
	if s := dashAPI(t, tester, "POST", "webhooks", fmt.Sprintf(`{"name":"status-flaky","url":%q,"eventTypes":["action.succeeded"]}`,
		flaky.URL+"/flaky"), &flakyHook); s != 201 {
		t.Fatalf("creating a webhook: %d", s)
	}
	// A hook made through the API with a hostile name and variable
	// default.
	var hookAnswer map[string]any
	if s := dashAPI(t, tester, "POST", "pipelines/deploy/hooks/incoming", fmt.Sprintf(`{"name":%q,
		"settings":{"variables":[{"name":"source","path":"source","default_value":%q}]}}`, hostileImg, hostileScript), &hookAnswer); s != 201 {
		t.Errorf("a hook with a hostile name and default: %d %v", s, hookAnswer)
	}

	// A forged hook and a signed one, both with hostile content.
	body := []byte(fmt.Sprintf(`{"ref":%q,"note":%q}`, hostileImg, hostileScript))
	status, _, _ := hooktest.Post(t, tester.Client, "POST", "http://127.0.0.1:9180/deploy", body, map[string]string{
		"X-Hub-Signature-256": "sha256=0000", "X-Evil": hostileScript, "Content-Type": "application/json"})
	if status != 401 {
		t.Fatalf("forged hook: %d", status)
	}
	status, _, answer := hooktest.Post(t, tester.Client, "POST", "http://127.0.0.1:9180/deploy", body, map[string]string{
		"X-Hub-Signature-256": hooktest.GitHubSignature(githubSecret, body), "X-GitHub-Event": "push", "Content-Type": "application/json"})
	if status != 202 {
		t.Fatalf("signed hook: %d %s", status, answer)
	}
	var queued struct {
		ActionID string `json:"action_id"`
	}
	json.Unmarshal([]byte(answer), &queued)
	failed := waitDelivery(t, tester, flakyHook.ID, "failed")
	waitDelivery(t, tester, okHook.ID, "succeeded")

	// The request log through the API: the rejection with its reason,
	// secrets redacted, the accepted one linked to its action.
	var reqs page[map[string]any]
	dashAPI(t, tester, "GET", "requests?result=signature_invalid&since="+start, "", &reqs)
	if len(reqs.Items) != 1 {
		t.Fatalf("rejected requests: %+v", reqs)
	}
	headers := reqs.Items[0]["headers"].(map[string]any)
	if headers["X-Hub-Signature-256"] != "[redacted]" || headers["X-Evil"] != hostileScript {
		t.Errorf("logged headers %v", headers)
	}
	dashAPI(t, tester, "GET", "requests?result=queued&since="+start, "", &reqs)
	if len(reqs.Items) != 1 || reqs.Items[0]["actionId"] != queued.ActionID {
		t.Errorf("accepted requests: %+v", reqs)
	}

	// The stats of the last hour count what happened.
	var stats struct {
		Hooks struct {
			Total  map[string]int   `json:"total"`
			Series []map[string]int `json:"series"`
		} `json:"hooks"`
		Actions struct {
			Total  map[string]int   `json:"total"`
			Series []map[string]int `json:"series"`
		} `json:"actions"`
		Deliveries struct {
			Succeeded, Failed int
			LatencyMs         struct{ P50, P95 int } `json:"latencyMs"`
		} `json:"deliveries"`
	}
	if s := dashAPI(t, tester, "GET", "stats?since=1h", "", &stats); s != 200 || stats.Actions.Total["succeeded"] != 1 ||
		stats.Deliveries.Succeeded < 1 || stats.Deliveries.Failed < 1 || stats.Hooks.Total["signature_invalid"] < 1 ||
		stats.Actions.Series[len(stats.Actions.Series)-1]["succeeded"] != 1 {
		t.Errorf("stats: %d %+v", s, stats)
	}
	// They arrived seconds ago: in the last interval, or the one before
	// when a minute began meanwhile.
	if n := len(stats.Hooks.Series); n < 2 || stats.Hooks.Series[n-1]["signature_invalid"]+stats.Hooks.Series[n-2]["signature_invalid"] !=
		stats.Hooks.Total["signature_invalid"] {
		t.Errorf("the hooks of the last seconds are not in the series' last intervals: %+v", stats.Hooks)
	}

	tb := newTab(t, 1100, 760)
	t.Run("sign-in", func(t *testing.T) {
		tb.t = t
		tb.run(chromedp.Navigate(uiBase), chromedp.WaitVisible(chromedp.CSS(`#token`)))
		if n := eval[int](tb, `document.querySelectorAll('main table').length`); n != 0 {
			t.Errorf("signed out, the page shows %d tables", n)
		}
		tb.signIn(uiBase, "not-a-token")
		tb.waitText("This token is not valid.")
		if n := eval[int](tb, `document.querySelectorAll('main table').length`); n != 0 {
			t.Errorf("a wrong token shows %d tables", n)
		}
		tb.signIn(uiBase, writeToken)
		tb.waitText("Incoming requests")
		if href := eval[string](tb, `location.href`); strings.Contains(href, writeToken) {
			t.Errorf("the token is in the URL %s", href)
		}
		if got := eval[string](tb, `sessionStorage.getItem('hookgate.token')`); got != writeToken {
			t.Errorf("sessionStorage holds %q", got)
		}
	})
	tb.t = t

	t.Run("every view", func(t *testing.T) {
		tb.t = t
		for _, v := range []struct{ link, shows string }{
			{"Overview", "Delivery attempts"},
			{"Requests", "signature_invalid"},
			{"Hooks", "github-deploy"},
			{"Actions", "Pipelines and actions"},
			{"Webhooks", "status-flaky"},
			{"Events", "hook.rejected"},
		} {
			eval[bool](tb, fmt.Sprintf(`[...document.querySelectorAll('#nav a')].find((a) => a.textContent === %q).click(), true`, v.link))
			tb.waitText(v.shows)
		}
		// The hostile values are on screen as text.
		tb.run(chromedp.Navigate(uiBase + "#/requests"))
		tb.waitText("signature_invalid")
		tb.run(chromedp.Click(chromedp.Search(`//summary[normalize-space()="headers and body"]`)))
		tb.waitText(hostileScript)
		tb.waitText(`<img src=x onerror=`) // in the body, as JSON text
		tb.run(chromedp.Navigate(uiBase + "#/webhooks"))
		tb.waitText(hostileURLPart)
		tb.run(chromedp.Navigate(uiBase + "#/hooks"))
		tb.waitText(hostileImg)
		tb.waitText("source = " + hostileScript)
	})
	tb.t = t

	t.Run("chain", func(t *testing.T) {
		tb.t = t
		// request → action → steps → events → deliveries → attempts
		tb.run(chromedp.Navigate(uiBase + "#/requests?result=queued"))
		tb.run(chromedp.Click(chromedp.Search(fmt.Sprintf(`//a[normalize-space()=%q]`, queued.ActionID))))
		tb.run(chromedp.Click(chromedp.Search(`//summary[normalize-space()="output"]`)))
		tb.waitText("building " + hostileImg) // the step's output
		tb.waitText("To status-ok")
		tb.waitText("action.succeeded")
		tb.waitText("POST /deploy from")
	})
	tb.t = t

	t.Run("create a webhook", func(t *testing.T) {
		tb.t = t
		tb.run(chromedp.Navigate(uiBase+"#/webhooks"), chromedp.WaitVisible(chromedp.CSS(`#wh-name`)),
			chromedp.SendKeys(chromedp.CSS(`#wh-name`), "from-the-form"),
			chromedp.SendKeys(chromedp.CSS(`#wh-url`), ok.URL+"/form"),
			chromedp.SendKeys(chromedp.CSS(`[name=h-value]`), "Bearer abc"),
			chromedp.Click(chromedp.CSS(`#ev-hook\.rejected`)), chromedp.Click(chromedp.CSS(`#scope-deploy`)))
		if curl := eval[string](tb, `document.querySelector('form.create details.curl code').textContent`); !strings.Contains(curl, `"name":"from-the-form"`) {
			t.Errorf("the form's curl line %q", curl)
		}
		tb.clickButton("Create webhook")
		tb.waitText("Webhook from-the-form created")
		var w webhookJSON
		if s := dashAPI(t, tester, "GET", "webhooks/from-the-form", "", &w); s != 200 || w.URL != ok.URL+"/form" ||
			w.Headers["Authorization"] != maskValue("Bearer abc") || len(w.EventTypes) != 6 ||
			len(w.Pipelines) != 1 || w.Pipelines[0] != "deploy" {
			t.Errorf("the webhook made by the form: %d %+v", s, w)
		}
	})
	tb.t = t

	t.Run("retry", func(t *testing.T) {
		tb.t = t
		flaky.Status.Store(200)
		tb.run(chromedp.Navigate(uiBase + "#/webhooks/" + flakyHook.ID + "?status=failed"))
		tb.waitText(failed)
		if n := eval[int](tb, `[...document.querySelectorAll('button')].filter((b) => b.textContent === 'Retry' && b.parentElement.querySelector('details.curl code')).length`); n == 0 {
			t.Error("no Retry button with its curl line")
		}
		tb.clickButton("Retry")
		tb.waitText("sent again")
		waitDelivery(t, tester, flakyHook.ID, "succeeded")

		// Bulk: another failed delivery, retried with the filter.
		flaky.Status.Store(500)
		hooktest.Post(t, tester.Client, "POST", "http://127.0.0.1:9180/deploy", []byte(`{"ref":"main"}`), map[string]string{
			"X-Hub-Signature-256": hooktest.GitHubSignature(githubSecret, []byte(`{"ref":"main"}`)), "X-GitHub-Event": "push"})
		second := waitDelivery(t, tester, flakyHook.ID, "failed")
		flaky.Status.Store(200)
		tb.run(chromedp.Navigate(uiBase + "#/webhooks/" + flakyHook.ID + "?status=failed&page=1"))
		tb.waitText(second)
		tb.clickButton("Retry every failed delivery")
		tb.waitText("1 deliveries sent again")
		deadline := time.Now().Add(20 * time.Second)
		for {
			var pg page[map[string]any]
			dashAPI(t, tester, "GET", "webhooks/"+flakyHook.ID+"/deliveries?status=succeeded", "", &pg)
			if len(pg.Items) == 2 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("after the bulk retry: %d succeeded", len(pg.Items))
			}
			time.Sleep(30 * time.Millisecond)
		}
	})
	tb.t = t

	t.Run("create a hook and run a pipeline", func(t *testing.T) {
		tb.t = t
		tb.run(chromedp.Navigate(uiBase+"#/hooks"), chromedp.WaitVisible(chromedp.CSS(`#hook-name`)),
			chromedp.SendKeys(chromedp.CSS(`#hook-name`), "from-the-form"))
		tb.clickButton("Add a variable")
		tb.run(chromedp.SendKeys(chromedp.CSS(`[name=var-name]`), "branch"), chromedp.SendKeys(chromedp.CSS(`[name=var-path]`), "ref"))
		tb.clickButton("Create hook")
		tb.waitText("Secret (shown this once)")
		tb.waitText("openssl dgst -sha256 -hmac") // the signed curl line to try it
		var hooks, listed []map[string]any
		dashAPI(t, tester, "GET", "pipelines/deploy/hooks?per_page=100", "", &listed)
		for _, h := range listed {
			if h["name"] == "from-the-form" && h["type"] == "incoming" {
				hooks = append(hooks, h)
			}
		}
		if len(hooks) != 1 {
			t.Errorf("the hook made by the form: %v", listed)
		}

		tb.run(chromedp.Navigate(uiBase+"#/actions"), chromedp.WaitVisible(chromedp.CSS(`#run-variables`)),
			chromedp.SetValue(chromedp.CSS(`#run-variables`), `{"ref":"from-the-run-form"}`))
		tb.clickButton("Run")
		tb.waitText("Action act_")
		tb.run(chromedp.Click(chromedp.Search(`//summary[normalize-space()="output"]`)))
		tb.waitText("building from-the-run-form")
	})
	tb.t = t

	t.Run("screenshots", func(t *testing.T) {
		tb.t = t
		dir := t.TempDir()
		if os.Getenv("HOOKGATE_SCREENSHOTS") == "1" {
			dir = filepath.Join("..", "..", "docs")
		}
		for _, shot := range []struct{ name, hash, shows, open string }{
			{"dashboard-overview.png", "#/", "Delivery attempts", ""},
			{"dashboard-requests.png", "#/requests?result=rejected", "signature_invalid", "headers and body"},
			{"dashboard-action.png", "#/actions/" + queued.ActionID, "To status-ok", ""},
		} {
			tb.run(chromedp.Navigate(uiBase + shot.hash))
			tb.waitText(shot.shows)
			if shot.open != "" {
				tb.run(chromedp.Click(chromedp.Search(fmt.Sprintf(`//summary[normalize-space()=%q]`, shot.open))))
			}
			if err := os.WriteFile(filepath.Join(dir, shot.name), tb.screenshot(), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	})
	tb.t = t

	// Nothing hostile ran, no element came from a payload.
	if eval[bool](tb, `window.__xss !== undefined || document.querySelectorAll('img').length > 0 || document.scripts.length !== 1`) {
		t.Error("a hostile value became markup in the page")
	}

	t.Run("read-only", func(t *testing.T) {
		ro := newTab(t, 1100, 760)
		ro.signIn(uiBase, readToken)
		ro.waitText("read-only")
		ro.run(chromedp.Navigate(uiBase + "#/webhooks"))
		ro.waitText("status-flaky")
		if eval[bool](ro, `document.querySelector('form.create') !== null`) {
			t.Error("a read token sees the create form")
		}
		if n := eval[int](ro, `[...document.querySelectorAll('button')].filter((b) => b.textContent === 'Test' && !b.disabled).length`); n != 0 {
			t.Errorf("%d Test buttons are enabled for a read token", n)
		}
		// A write the API refuses is shown as an error.
		eval[bool](ro, `sessionStorage.setItem('hookgate.readOnly', '0'), true`)
		ro.run(chromedp.Reload())
		ro.waitText("status-flaky")
		ro.clickButton("Test")
		ro.waitText("403 forbidden")
	})

	t.Run("phone", func(t *testing.T) {
		phone := newTab(t, 390, 844)
		phone.signIn(uiBase, writeToken)
		phone.waitText("Incoming requests")
		for _, hash := range []string{"#/requests", "#/webhooks", "#/actions/" + queued.ActionID} {
			phone.run(chromedp.Navigate(uiBase + hash))
			phone.waitText("Sign out")
			time.Sleep(200 * time.Millisecond)
			if wide := eval[int](phone, `document.documentElement.scrollWidth - window.innerWidth`); wide > 1 {
				t.Errorf("%s is %d px wider than a phone: %s", hash, wide, eval[string](phone,
					`[...document.querySelectorAll('body *')].filter((e) => !e.closest('.scroll, pre') && e.getBoundingClientRect().right > window.innerWidth + 1).slice(0, 5).map((e) => e.tagName + '.' + e.className).join(' ')`))
			}
		}
	})
}

// The dashboard's files: content types, cache headers, CSP, GET and HEAD
// only, without a token.
func TestDashboardFiles(t *testing.T) {
	stopAtEnd(t)
	tester := caddytest.NewTester(t)
	tester.InitServer(dashboardConfig(t.TempDir()), "caddyfile")
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	get := func(method, path string, header map[string]string) (int, http.Header, string) {
		req, err := http.NewRequest(method, "http://127.0.0.1:9180/api/"+path, nil)
		if err != nil {
			t.Fatal(err)
		}
		for k, v := range header {
			req.Header.Set(k, v)
		}
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, resp.Header, string(b)
	}
	for path, ctype := range map[string]string{"ui/": "text/html; charset=utf-8", "ui/app.js": "text/javascript; charset=utf-8",
		"ui/style.css": "text/css; charset=utf-8"} {
		status, h, body := get("GET", path, nil)
		if status != 200 || h.Get("Content-Type") != ctype || h.Get("Cache-Control") != "no-cache" || h.Get("ETag") == "" ||
			!strings.Contains(h.Get("Content-Security-Policy"), "script-src 'self'") || h.Get("X-Content-Type-Options") != "nosniff" || body == "" {
			t.Errorf("GET %s: %d %v", path, status, h)
		}
		if status, _, _ := get("GET", path, map[string]string{"If-None-Match": h.Get("ETag")}); status != 304 {
			t.Errorf("GET %s again: %d, want 304", path, status)
		}
		if status, _, body := get("HEAD", path, nil); status != 200 || body != "" {
			t.Errorf("HEAD %s: %d %q", path, status, body)
		}
		if status, h, _ := get("POST", path, nil); status != 405 || h.Get("Allow") != "GET, HEAD" {
			t.Errorf("POST %s: %d, Allow %q", path, status, h.Get("Allow"))
		}
	}
	if status, h, _ := get("GET", "ui", nil); status != 301 || h.Get("Location") != "ui/" {
		t.Errorf("GET /api/ui: %d to %q", status, h.Get("Location"))
	}
	if status, _, _ := get("GET", "ui/nothing.js", nil); status != 404 {
		t.Errorf("GET a missing file: %d", status)
	}
	if status, _, _ := get("GET", "requests", nil); status != 401 {
		t.Errorf("data without a token: %d", status)
	}
}
