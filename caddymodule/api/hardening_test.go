package api

import (
	"bufio"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2/caddytest"

	"github.com/hookgate/hookgate/caddymodule/internal/hooktest"
	"github.com/hookgate/hookgate/pipeline/action"
)

// hardeningConfig is a gateway probed as an attacker would: a hook with
// a json variable that triggers a pipeline, a pass-through hook whose
// variable goes into a header, and the management API.
func hardeningConfig(dir string, up *hooktest.Receiver) string {
	return fmt.Sprintf(`{
`+serverOptions+`	hookgate {
		storage sqlite %[1]s/hookgate.db
		allow_targets 127.0.0.0/8
		pipeline deploy {
			step ok exec /bin/echo {vars.ref}
		}
		pipeline list {
			step ls exec /bin/ls -- {vars.ref}
		}
		pipeline archive {
			step keep exec /bin/cat -- {file:vars.doc}
		}
		pipeline background-ok {
			step leave exec /bin/sh -c "(sleep 1; touch %[1]s/late-ok) >/dev/null 2>&1 & echo left"
		}
		pipeline background-fail {
			step leave exec /bin/sh -c "(sleep 1; touch %[1]s/late-fail) >/dev/null 2>&1 & exit 3"
		}
	}
}
http://localhost:9180 {
	handle /deploy {
		hookgate hostile-deploy {
			signature github
			secret "%[2]s"
			var ref ref string required
			var doc doc json
			pipeline deploy
		}
	}
	handle /pass {
		hookgate pass {
			signature github
			secret "%[2]s"
			var ref ref string required
		}
		reverse_proxy %[3]s {
			header_up X-Ref {hookgate.vars.ref}
		}
	}
	handle_path /hooks/* {
		hookgate dynamic {
			read_timeout 1s
		}
	}
}
http://127.0.0.1:9180 {
	hookgate_api {
		token %[4]s write
		token %[5]s read
	}
}
`, dir, githubSecret, strings.TrimPrefix(up.URL, "http://"), writeToken, readToken)
}

// startHardening starts Caddy with hardeningConfig.
func startHardening(t *testing.T, up *hooktest.Receiver) *caddytest.Tester {
	tester, _ := startHardeningIn(t, up)
	return tester
}

// startHardeningIn is startHardening, which also tells the directory of
// the database, where the background pipelines write.
func startHardeningIn(t *testing.T, up *hooktest.Receiver) (*caddytest.Tester, string) {
	dir := t.TempDir()
	return startConfig(t, hardeningConfig(dir, up)), dir
}

// TestHostileJSON: a body nested 100,000 levels deep (200 KB) on a hook
// with a json variable is answered 400 invalid_payload at once (it took
// 16-32 s and 485 MB, and its stored action made every list of actions
// fail); a body in invalid UTF-8 too. Then a good hook is accepted, and
// listing and reading actions work.
func TestHostileJSON(t *testing.T) {
	tester := startHardening(t, hooktest.NewReceiver(t))
	deep := []byte(`{"ref": "main", "doc": ` + strings.Repeat("[", 100_000) + strings.Repeat("]", 100_000) + `}`)
	start := time.Now()
	status, _, answer := hooktest.Post(t, tester.Client, "POST", "http://localhost:9180/deploy", deep, signedGitHub(deep))
	took := time.Since(start)
	t.Logf("a body nested 100,000 deep answered in %s", took)
	if status != 400 || !strings.Contains(answer, `"invalid_payload"`) || !strings.Contains(answer, "deeper than 128") {
		t.Errorf("deep body: %d %s, want 400 invalid_payload naming the depth", status, answer)
	}
	if took > time.Second {
		t.Errorf("deep body answered in %s, want well under a second", took)
	}
	bad := []byte("{\"ref\": \"main\xc3\"}")
	status, _, answer = hooktest.Post(t, tester.Client, "POST", "http://localhost:9180/deploy", bad, signedGitHub(bad))
	if status != 400 || !strings.Contains(answer, "invalid UTF-8") {
		t.Errorf("invalid UTF-8: %d %s, want 400 invalid_payload", status, answer)
	}

	good := []byte(`{"ref": "main", "doc": {"a": [[1]]}}`)
	var queued struct {
		ActionID string `json:"action_id"`
	}
	status, _, answer = hooktest.Post(t, tester.Client, "POST", "http://localhost:9180/deploy", good, signedGitHub(good))
	if status != 202 || json.Unmarshal([]byte(answer), &queued) != nil {
		t.Fatalf("good hook: %d %s", status, answer)
	}
	waitForAction(t, tester, queued.ActionID)
	for _, path := range []string{"/actions", "/actions?status=succeeded", "/actions?pipeline=deploy", "/actions/" + queued.ActionID} {
		status, answer := apiAs(t, tester, readToken, "GET", path, "", nil)
		if status != 200 || !strings.Contains(answer, queued.ActionID) {
			t.Errorf("GET %s: %d %s", path, status, answer)
		}
	}
	var list page[action.Action]
	apiAs(t, tester, readToken, "GET", "/actions", "", &list)
	if len(list.Items) != 1 {
		t.Errorf("%d actions stored, want only the good hook's", len(list.Items))
	}
}

// TestVarsPlaceholdersHeaderSafe: CR, LF and NUL in a variable are
// stripped from {hookgate.vars.*}, so a header built from it stays one
// header.
func TestVarsPlaceholdersHeaderSafe(t *testing.T) {
	up := hooktest.NewReceiver(t)
	tester := startHardening(t, up)
	body := []byte(`{"ref": "refs/heads/main\r\nX-Evil: 1\u0000"}`)
	status, _, answer := hooktest.Post(t, tester.Client, "POST", "http://localhost:9180/pass", body, signedGitHub(body))
	if status != 200 {
		t.Fatalf("hook: %d %s", status, answer)
	}
	got := up.Wait(t, "/", 1)[0]
	if ref := got.Header.Get("X-Ref"); ref != "refs/heads/mainX-Evil: 1" || got.Header.Get("X-Evil") != "" {
		t.Errorf("X-Ref %q, X-Evil %q: want the value without CR, LF and NUL, in one header", ref, got.Header.Get("X-Evil"))
	}
}

// TestStepKillsItsBackground: a step that leaves a child in the
// background, and succeeds or fails, ends with its whole process group:
// the child never writes the file it would have written a second later.
func TestStepKillsItsBackground(t *testing.T) {
	tester, dir := startHardeningIn(t, hooktest.NewReceiver(t))
	want := map[string]action.Status{"background-ok": action.StatusSucceeded, "background-fail": action.StatusFailed}
	for pipeline, status := range want {
		var q struct {
			ActionID string `json:"action_id"`
		}
		if code, answer := api(t, tester, "POST", "/pipelines/"+pipeline+"/run", `{}`, &q); code != 202 {
			t.Fatalf("run %s: %d %s", pipeline, code, answer)
		}
		if a := waitForAction(t, tester, q.ActionID); a.Status != status {
			t.Errorf("%s: %s, want %s", pipeline, a.Status, status)
		}
	}
	time.Sleep(1500 * time.Millisecond)
	for _, f := range []string{"late-ok", "late-fail"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err == nil {
			t.Errorf("a background child of a finished step wrote %s", f)
		}
	}
}

// webhookHeaders is the part of a webhook object these tests read.
type webhookHeaders struct {
	ID      string            `json:"id"`
	URL     string            `json:"url"`
	Headers map[string]string `json:"headers"`
}

// TestWebhookCredentialsMasked: a webhook's header values are shown in
// full once, at creation, and masked in every read (to a read token as
// to a write token) while deliveries carry them whole; a PATCH that sends
// the masked value back keeps the real one. A URL with user:password@ is
// refused, naming headers as the place for credentials.
func TestWebhookCredentialsMasked(t *testing.T) {
	r := hooktest.NewReceiver(t)
	tester := startHardening(t, hooktest.NewReceiver(t))
	const bearer = "Bearer 0123456789abcdefWXYZ"
	var created webhookHeaders
	status, answer := api(t, tester, "POST", "/webhooks", fmt.Sprintf(`{"name": "creds", "url": "%s/creds",
		"headers": {"Authorization": "%s", "X-Short": "abc"}}`, r.URL, bearer), &created)
	if status != 201 || created.Headers["Authorization"] != bearer {
		t.Fatalf("create: %d %s, want the header in full once", status, answer)
	}
	masked := map[string]string{"Authorization": "****WXYZ", "X-Short": "****"}
	for _, token := range []string{readToken, writeToken} {
		for _, path := range []string{"/webhooks/" + created.ID, "/webhooks"} {
			status, answer := apiAs(t, tester, token, "GET", path, "", nil)
			if status != 200 || strings.Contains(answer, "0123456789abcdef") || !strings.Contains(answer, `"Authorization":"****WXYZ"`) {
				t.Errorf("GET %s: %d %s, want the header masked", path, status, answer)
			}
		}
	}
	var patched webhookHeaders
	status, answer = api(t, tester, "PATCH", "/webhooks/"+created.ID,
		`{"headers": {"Authorization": "****WXYZ", "X-Short": "****", "X-New": "new-value-123456"}}`, &patched)
	if status != 200 || patched.Headers["Authorization"] != masked["Authorization"] || patched.Headers["X-New"] != "****3456" {
		t.Fatalf("patch: %d %s", status, answer)
	}
	if status, answer := api(t, tester, "POST", "/webhooks/"+created.ID+"/test", "", nil); status != 200 {
		t.Fatalf("test: %d %s", status, answer)
	}
	got := r.Wait(t, "/creds", 1)[0]
	if got.Header.Get("Authorization") != bearer || got.Header.Get("X-Short") != "abc" || got.Header.Get("X-New") != "new-value-123456" {
		t.Errorf("delivery headers %v, want the real values", got.Header)
	}

	status, answer = api(t, tester, "POST", "/webhooks", `{"name": "userinfo", "url": "https://user:pass@hooks.example.com/x"}`, nil)
	expectError(t, "URL with userinfo", status, answer, 422, "invalid_field", "put them in a header")
	if strings.Contains(answer, "pass@") {
		t.Errorf("the refusal echoes the credentials: %s", answer)
	}
}

// TestAPILenientInput: a hook name with control or bidi-override
// characters is refused, a URL scheme in capitals is accepted, and
// webhook headers that the HTTP client owns are refused, all naming the
// field.
func TestAPILenientInput(t *testing.T) {
	r := hooktest.NewReceiver(t)
	tester := startHardening(t, hooktest.NewReceiver(t))
	for _, name := range []string{"deploy\u202etxt.exe", "a\u2066b", "tab\tname", "del\x7f", "c1\u0085"} {
		body, _ := json.Marshal(map[string]any{"name": name})
		status, answer := api(t, tester, "POST", "/pipelines/deploy/hooks/incoming", string(body), nil)
		expectError(t, fmt.Sprintf("hook name %q", name), status, answer, 422, "invalid_field", "name")
	}
	upper := strings.Replace(r.URL, "http://", "HTTP://", 1)
	var created webhookHeaders
	if status, answer := api(t, tester, "POST", "/webhooks", `{"name": "upper", "url": "`+upper+`/up"}`, &created); status != 201 {
		t.Fatalf("scheme in capitals: %d %s", status, answer)
	}
	if !strings.HasPrefix(created.URL, "http://") {
		t.Errorf("url %s, want the scheme in lower case", created.URL)
	}
	if status, answer := api(t, tester, "POST", "/webhooks/"+created.ID+"/test", "", nil); status != 200 {
		t.Errorf("test of the HTTP:// webhook: %d %s", status, answer)
	}
	for _, header := range []string{"Host", "content-length", "Transfer-Encoding", "CONNECTION"} {
		status, answer := api(t, tester, "POST", "/webhooks", fmt.Sprintf(`{"name": "h", "url": "%s/h", "headers": {%q: "x"}}`, r.URL, header), nil)
		expectError(t, "header "+header, status, answer, 422, "invalid_field", header)
	}
}

// TestDashDashKeepsValuesArguments: as the README advises, -- before a
// placeholder argument keeps a value that starts with - from being read
// as an option: ls looks for a file named --version instead of printing
// its version.
func TestDashDashKeepsValuesArguments(t *testing.T) {
	tester := startHardening(t, hooktest.NewReceiver(t))
	var q struct {
		ActionID string `json:"action_id"`
	}
	if code, answer := api(t, tester, "POST", "/pipelines/list/run", `{"variables": {"ref": "--version"}}`, &q); code != 202 {
		t.Fatalf("run: %d %s", code, answer)
	}
	a := waitForAction(t, tester, q.ActionID)
	if a.Status != action.StatusFailed || len(a.Steps) != 1 || !strings.Contains(a.Steps[0].Output, "--version") ||
		strings.Contains(a.Steps[0].Output, "GNU") {
		t.Errorf("ls -- --version: %s, steps %+v, want a failure naming the file --version", a.Status, a.Steps)
	}
}

// TestDynamicHookReadTimeout: a hook created through the API whose body
// trickles is answered 408 once the dynamic handler's read_timeout (1s
// here) has passed.
func TestDynamicHookReadTimeout(t *testing.T) {
	tester := startHardening(t, hooktest.NewReceiver(t))
	var created hookCreated
	if status, answer := api(t, tester, "POST", "/pipelines/deploy/hooks/incoming", `{"name": "slow"}`, &created); status != 201 {
		t.Fatalf("create: %d %s", status, answer)
	}
	conn, err := net.Dial("tcp", "127.0.0.1:9180")
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	start := time.Now()
	fmt.Fprintf(conn, "POST /hooks/%s HTTP/1.1\r\nHost: localhost:9180\r\nContent-Length: 1000\r\n\r\n{", created.ID)
	conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if took := time.Since(start); resp.StatusCode != http.StatusRequestTimeout || took < time.Second {
		t.Errorf("trickling body: %s after %s, want 408 after the 1s read timeout", resp.Status, took)
	}
}

// TestWithoutUserinfo: a URL stored before userinfo was refused is shown
// without it; others are shown as stored, placeholders included.
func TestWithoutUserinfo(t *testing.T) {
	for raw, want := range map[string]string{
		"https://user:pass@hooks.example.com/x?a=:action_id:": "https://hooks.example.com/x?a=:action_id:",
		"https://hooks.example.com/x?a=:action_id:&b=%20":     "https://hooks.example.com/x?a=:action_id:&b=%20",
		"http://token@127.0.0.1:8080/":                        "http://127.0.0.1:8080/",
	} {
		if got := withoutUserinfo(raw); got != want {
			t.Errorf("withoutUserinfo(%q) = %q, want %q", raw, got, want)
		}
	}
}

// signedGitHub is the headers of a GitHub push of body, signed with
// githubSecret.
func signedGitHub(body []byte) map[string]string {
	return map[string]string{"Content-Type": "application/json", "X-GitHub-Event": "push",
		"X-Hub-Signature-256": hooktest.GitHubSignature(githubSecret, body)}
}
