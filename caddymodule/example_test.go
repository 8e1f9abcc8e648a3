package caddymodule

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2/caddytest"
	"github.com/hookgate/hookgate/caddymodule/internal/hooktest"
)

// startExample serves Caddyfile.example as `make run` does, only the
// admin address moved to caddytest's and the storage to a temporary
// directory.
func startExample(t *testing.T) *caddytest.Tester {
	return startExampleIn(t, t.TempDir())
}

// startExampleIn is startExample with the stand-in app's down switch
// (the file hookgate-app-down, in /tmp for `make run`) looked for in dir.
func startExampleIn(t *testing.T, dir string) *caddytest.Tester {
	raw, err := os.ReadFile(filepath.Join("..", "Caddyfile.example"))
	if err != nil {
		t.Fatal(err)
	}
	config := strings.Replace(string(raw), "admin localhost:2019", "admin localhost:2999\n\tskip_install_trust\n\tgrace_period 1ns", 1)
	config = strings.Replace(config, "storage sqlite\n", "storage sqlite "+filepath.Join(t.TempDir(), "hookgate.db")+"\n", 1)
	config = strings.Replace(config, "root /tmp\n", "root "+dir+"\n", 1)
	if !strings.Contains(config, "localhost:2999") || !strings.Contains(config, "hookgate.db") || !strings.Contains(config, dir) {
		t.Fatal("Caddyfile.example no longer sets admin localhost:2019 and storage sqlite")
	}
	tester := caddytest.NewTester(t)
	tester.InitServer(config, "caddyfile")
	stopAtEnd(t)
	return tester
}

// TestExampleAsUserTriesIt serves Caddyfile.example as `make run` does
// (only the admin address moved to caddytest's) and follows the README:
// a signed push reaches the app with its variables, a wrong secret is 401
// and never reaches it, another event is skipped.
func TestExampleAsUserTriesIt(t *testing.T) {
	tester := startExample(t)
	push := hooktest.Payload(t, "github-push.json")
	url := "http://127.0.0.1:8080/hooks/github"

	status, _, body := hooktest.Post(t, tester.Client, "POST", url, push, signedGitHub("dev-github-secret", push, "push"))
	if status != 200 || !strings.Contains(body, "hook: github-push") || !strings.Contains(body, "ref: refs/heads/master") ||
		!strings.Contains(body, "commit: 6113728f27ae82c7b1a177c8d03f9e96e0adf246") {
		t.Errorf("signed push: %d %q", status, body)
	}
	status, _, body = hooktest.Post(t, tester.Client, "POST", url, push, signedGitHub("wrong", push, "push"))
	if status != 401 || strings.Contains(body, "app received") {
		t.Errorf("wrong secret: %d %q", status, body)
	}
	hooktest.AssertJSON(t, body, `{"error":"signature_invalid"}`)
	status, _, body = hooktest.Post(t, tester.Client, "POST", url, push, signedGitHub("dev-github-secret", push, "issues"))
	if status != 200 {
		t.Errorf("issues event: %d %q", status, body)
	}
	hooktest.AssertJSON(t, body, `{"status":"skipped","reason":"condition"}`)

	reading := []byte(`{"device":{"id":"boiler-1"},"reading":{"celsius":31.5}}`)
	custom := map[string]string{"Content-Type": "application/json", "X-Signature": hooktest.GitHubSignature("dev-custom-secret", reading)}
	status, _, body = hooktest.Post(t, tester.Client, "POST", "http://127.0.0.1:8080/hooks/custom", reading, custom)
	if status != 200 || !strings.Contains(body, "device: boiler-1") {
		t.Errorf("custom hmac: %d %q", status, body)
	}
	charge := []byte(`{"id":"evt_1","type":"charge.succeeded","data":{"object":{"amount":2000,"currency":"eur"}}}`)
	stripe := map[string]string{"Content-Type": "application/json",
		"Stripe-Signature": stripeSignature("whsec_dev-stripe-secret", charge, time.Now())}
	status, _, body = hooktest.Post(t, tester.Client, "POST", "http://127.0.0.1:8080/hooks/stripe", charge, stripe)
	if status != 200 || !strings.Contains(body, "hook: stripe-events") || !strings.Contains(body, "event: charge.succeeded") {
		t.Errorf("stripe: %d %q", status, body)
	}
	refund := []byte(`{"id":"evt_2","type":"charge.refunded","data":{"object":{"amount":2000,"currency":"usd"}}}`)
	stripe["Stripe-Signature"] = stripeSignature("whsec_dev-stripe-secret", refund, time.Now())
	status, _, body = hooktest.Post(t, tester.Client, "POST", "http://127.0.0.1:8080/hooks/stripe", refund, stripe)
	if status != 202 || !strings.Contains(body, "skipped") {
		t.Errorf("stripe, another currency: %d %q", status, body)
	}
	status, _, body = hooktest.Post(t, tester.Client, "GET", "http://127.0.0.1:8080/elsewhere", nil, nil)
	if status != 200 || !strings.Contains(body, "app received GET /elsewhere") {
		t.Errorf("pass-through: %d %q", status, body)
	}

	// Users type localhost as often as 127.0.0.1: both reach every site,
	// where a site for 127.0.0.1 alone answered localhost an empty 200,
	// unsigned hooks included.
	local := "http://localhost:8080/hooks/github"
	status, _, body = hooktest.Post(t, tester.Client, "POST", local, push, signedGitHub("dev-github-secret", push, "push"))
	if status != 200 || !strings.Contains(body, "hook: github-push") || !strings.Contains(body, "ref: refs/heads/master") {
		t.Errorf("signed push to localhost: %d %q", status, body)
	}
	status, _, body = hooktest.Post(t, tester.Client, "POST", local, push, nil)
	if status != 401 {
		t.Errorf("unsigned push to localhost: %d %q", status, body)
	}
	hooktest.AssertJSON(t, body, `{"error":"signature_missing"}`)
	auth := map[string]string{"Authorization": "Bearer dev-admin-token"}
	status, _, body = hooktest.Post(t, tester.Client, "GET", "http://localhost:8082/pipelines", nil, auth)
	if status != 200 || !strings.Contains(body, `"deploy"`) {
		t.Errorf("the API at localhost:8082: %d %q", status, body)
	}
	status, _, body = hooktest.Post(t, tester.Client, "GET", "http://localhost:8080/api/ui/", nil, nil)
	if status != 200 || !strings.Contains(body, "<html") {
		t.Errorf("the dashboard at localhost:8080: %d %.200q", status, body)
	}
}

// TestExampleListensOnLoopbackOnly: the example's sites hold secrets and
// an API token meant for trying it out, so only this machine reaches them.
func TestExampleListensOnLoopbackOnly(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join("..", "Caddyfile.example"))
	if err != nil {
		t.Fatal(err)
	}
	var config struct {
		Apps struct {
			HTTP struct {
				Servers map[string]struct {
					Listen []string `json:"listen"`
				} `json:"servers"`
			} `json:"http"`
		} `json:"apps"`
	}
	if err := json.Unmarshal(adapt(t, string(raw)), &config); err != nil {
		t.Fatal(err)
	}
	if len(config.Apps.HTTP.Servers) != 3 {
		t.Errorf("%d servers, want the gateway, the app and the API", len(config.Apps.HTTP.Servers))
	}
	for name, srv := range config.Apps.HTTP.Servers {
		for _, addr := range srv.Listen {
			if !strings.HasPrefix(addr, "127.0.0.1:") {
				t.Errorf("%s listens on %s, beyond this machine", name, addr)
			}
		}
	}
}

// exampleAPI calls the example's management API with its default token.
func exampleAPI(t *testing.T, tester *caddytest.Tester, method, path, body string, out any) int {
	t.Helper()
	header := map[string]string{"Authorization": "Bearer dev-admin-token", "Content-Type": "application/json"}
	status, _, answer := hooktest.Post(t, tester.Client, method, "http://127.0.0.1:8080/api"+path, []byte(body), header)
	if out != nil && status < 300 {
		if err := json.Unmarshal([]byte(answer), out); err != nil {
			t.Fatalf("%s %s: %v: %s", method, path, err, answer)
		}
	}
	if status >= 300 {
		t.Logf("%s %s: %d %s", method, path, status, answer)
	}
	return status
}

// TestExampleManagementAPI follows the README with the example: create a
// hook and a webhook through the API, send a signed payload to the hook's
// URL, see the webhook's receiver get the action's events and read the
// delivery log; then stop the receiver, trigger 10 actions, see the
// webhook FAILED, start it again, restart the webhook and see every event
// arrive.
func TestExampleManagementAPI(t *testing.T) {
	tester := startExample(t)
	r := hooktest.NewReceiver(t)
	var hook struct {
		ID, URL, Secret string
	}
	if status := exampleAPI(t, tester, "POST", "/pipelines/deploy/hooks/incoming", `{"name": "github push",
		"requires_secret": true, "secret_algorithm": "sha256", "secret_header_name": "X-Hub-Signature-256",
		"settings": {"variables": [{"name": "ref", "path": "ref", "type": "string", "required": true}]}}`, &hook); status != 201 {
		t.Fatalf("create hook: %d", status)
	}
	var wh struct {
		ID, Secret, State string
	}
	if status := exampleAPI(t, tester, "POST", "/webhooks", fmt.Sprintf(`{"name": "status", "url": "%s/status",
		"eventTypes": ["action.queued", "action.running", "action.succeeded"],
		"when": "action.pipeline == \"deploy\""}`, r.URL), &wh); status != 201 {
		t.Fatalf("create webhook: %d", status)
	}
	push := hooktest.Payload(t, "github-push.json")
	send := func() {
		t.Helper()
		header := map[string]string{"Content-Type": "application/json", "X-Hub-Signature-256": hooktest.GitHubSignature(hook.Secret, push)}
		if status, _, answer := hooktest.Post(t, tester.Client, "POST", hook.URL, push, header); status != 202 {
			t.Fatalf("signed push to %s: %d %s", hook.URL, status, answer)
		}
	}
	send()
	for _, d := range r.Wait(t, "/status", 3) {
		hooktest.CheckSignature(t, d, wh.Secret)
	}
	var log struct {
		Items []struct{ Status string } `json:"items"`
	}
	deadline := time.Now().Add(10 * time.Second)
	for exampleAPI(t, tester, "GET", "/webhooks/"+wh.ID+"/deliveries?status=succeeded", "", &log); len(log.Items) < 3; {
		if time.Now().After(deadline) {
			t.Fatalf("delivery log: %+v", log.Items)
		}
		time.Sleep(20 * time.Millisecond)
		exampleAPI(t, tester, "GET", "/webhooks/"+wh.ID+"/deliveries?status=succeeded", "", &log)
	}

	r.Status.Store(503) // the receiver is down
	for range 10 {
		send()
	}
	deadline = time.Now().Add(30 * time.Second)
	for exampleAPI(t, tester, "GET", "/webhooks/"+wh.ID, "", &wh); wh.State != "INTEGRATION_FAILED"; {
		if time.Now().After(deadline) {
			t.Fatalf("webhook state %s, want INTEGRATION_FAILED", wh.State)
		}
		time.Sleep(20 * time.Millisecond)
		exampleAPI(t, tester, "GET", "/webhooks/"+wh.ID, "", &wh)
	}
	r.Status.Store(200)
	if status := exampleAPI(t, tester, "POST", "/webhooks/"+wh.ID+"/restart", "", nil); status != 200 {
		t.Fatalf("restart: %d", status)
	}
	// Every event of the 11 actions arrives (some of the 10 more than
	// once: an attempt that failed is retried with the same webhook-id).
	deadline = time.Now().Add(30 * time.Second)
	for {
		delivered := make(map[string]bool)
		for _, d := range r.Got("") {
			if d.Answered == 200 {
				delivered[d.Header.Get("webhook-id")] = true
			}
		}
		if len(delivered) == 33 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d distinct events delivered, want 33", len(delivered))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestExampleRelayOutage follows the README's outage walk-through: with
// the stand-in app down, relayed pushes are answered 202 and held; once
// it is back they all arrive, with no restart by hand (recover), and the
// delivery log shows the failed attempts and the success.
func TestExampleRelayOutage(t *testing.T) {
	dir := t.TempDir()
	down := filepath.Join(dir, "hookgate-app-down")
	if err := os.WriteFile(down, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	tester := startExampleIn(t, dir)
	push := hooktest.Payload(t, "github-push.json")
	const n = 5
	for i := range n {
		header := signedGitHub("dev-github-secret", push, "push")
		header["X-GitHub-Delivery"] = fmt.Sprint("outage-", i)
		status, _, answer := hooktest.Post(t, tester.Client, "POST", "http://127.0.0.1:8080/hooks/relay", push, header)
		if status != 202 || !strings.Contains(answer, `"status":"accepted"`) {
			t.Fatalf("relay while the app is down: %d %s", status, answer)
		}
	}
	var wh struct{ State string }
	deadline := time.Now().Add(30 * time.Second)
	for exampleAPI(t, tester, "GET", "/webhooks/app-relay", "", &wh); wh.State != "INTEGRATION_FAILED"; {
		if time.Now().After(deadline) {
			t.Fatalf("app-relay is %s, want INTEGRATION_FAILED", wh.State)
		}
		time.Sleep(50 * time.Millisecond)
		exampleAPI(t, tester, "GET", "/webhooks/app-relay", "", &wh)
	}
	if err := os.Remove(down); err != nil {
		t.Fatal(err)
	}
	var log struct {
		Items []struct {
			Status   string
			Attempts []struct{ StatusCode int }
		} `json:"items"`
	}
	for exampleAPI(t, tester, "GET", "/webhooks/app-relay/deliveries?status=succeeded", "", &log); len(log.Items) < n; {
		if time.Now().After(deadline) {
			t.Fatalf("%d relayed pushes reached the app, want %d", len(log.Items), n)
		}
		time.Sleep(50 * time.Millisecond)
		exampleAPI(t, tester, "GET", "/webhooks/app-relay/deliveries?status=succeeded", "", &log)
	}
	for _, d := range log.Items {
		if first, last := d.Attempts[0], d.Attempts[len(d.Attempts)-1]; first.StatusCode != 503 || last.StatusCode != 202 {
			t.Errorf("attempts %+v: want a 503 first and the app's 202 last", d.Attempts)
		}
	}
	if exampleAPI(t, tester, "GET", "/webhooks/app-relay", "", &wh); wh.State != "INTEGRATION_ACTIVE" {
		t.Errorf("app-relay is %s after the outage", wh.State)
	}
}
