package main

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// apiCaddyfile serves the management API and API-created hooks; STORAGE
// is replaced with a storage line.
const apiCaddyfile = `{
	admin off
	hookgate {
		STORAGE
		allow_targets 127.0.0.0/8
		pipeline deploy {
			step ok exec /bin/echo {vars.ref}
		}
	}
}
http://127.0.0.1:{PORT} {
	handle_path /hooks/* {
		hookgate dynamic
	}
	handle_path /api/* {
		hookgate_api {
			token test-admin-token write
		}
	}
	handle {
		respond "ready"
	}
}
`

// callAPI calls the management API of p and decodes a 2xx answer into
// out; it fails the test on another status than want.
func callAPI(t *testing.T, p *caddyProcess, method, path, body string, want int, out any) {
	t.Helper()
	req, err := http.NewRequest(method, p.base+"/api"+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer test-admin-token")
	req.Header.Set("Content-Type", "application/json")
	resp, err := hookClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	answer, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != want {
		t.Fatalf("%s %s on %s: %d %s, want %d", method, path, p.name, resp.StatusCode, answer, want)
	}
	if out != nil {
		if err := json.Unmarshal(answer, out); err != nil {
			t.Fatalf("%s %s: %v: %s", method, path, err, answer)
		}
	}
}

// sendSigned posts a GitHub-style signed push to an API-created hook and
// returns the status and the answer.
func sendSigned(t *testing.T, p *caddyProcess, id, secret, ref string) (int, string) {
	t.Helper()
	body := []byte(fmt.Sprintf(`{"ref":%q}`, ref))
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write(body)
	req, _ := http.NewRequest("POST", p.base+"/hooks/"+id, strings.NewReader(string(body)))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Hub-Signature-256", "sha256="+hex.EncodeToString(mac.Sum(nil)))
	resp, err := hookClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	answer, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(answer)
}

// eventReceiver is an endpoint for outgoing webhooks that checks each
// Standard Webhooks signature by hand and counts events by type.
type eventReceiver struct {
	*httptest.Server
	mu     sync.Mutex
	secret string
	types  map[string]int
	forged int
}

func newEventReceiver(t *testing.T) *eventReceiver {
	r := &eventReceiver{types: make(map[string]int)}
	r.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		r.mu.Lock()
		defer r.mu.Unlock()
		key, _ := base64.StdEncoding.DecodeString(strings.TrimPrefix(r.secret, "whsec_"))
		mac := hmac.New(sha256.New, key)
		fmt.Fprintf(mac, "%s.%s.%s", req.Header.Get("webhook-id"), req.Header.Get("webhook-timestamp"), body)
		if !strings.Contains(req.Header.Get("webhook-signature"), "v1,"+base64.StdEncoding.EncodeToString(mac.Sum(nil))) {
			r.forged++
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		var ev struct {
			Type string `json:"type"`
		}
		json.Unmarshal(body, &ev)
		r.types[ev.Type]++
	}))
	t.Cleanup(r.Close)
	return r
}

// setSecret sets the secret signatures are checked with.
func (r *eventReceiver) setSecret(s string) {
	r.mu.Lock()
	r.secret = s
	r.mu.Unlock()
}

// count is how many verified events of type t arrived.
func (r *eventReceiver) count(t string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.types[t]
}

// createHookAndWebhook creates, through p's API, an incoming hook for
// deploy and a webhook to r; it returns the hook's id and secret.
func createHookAndWebhook(t *testing.T, p *caddyProcess, r *eventReceiver) (string, string) {
	t.Helper()
	var hook struct {
		ID     string `json:"id"`
		Secret string `json:"secret"`
	}
	callAPI(t, p, "POST", "/pipelines/deploy/hooks/incoming", `{"name": "push", "requires_secret": true,
		"secret_algorithm": "sha256", "secret_header_name": "X-Hub-Signature-256",
		"settings": {"variables": [{"name": "ref", "path": "ref", "required": true}]}}`, 201, &hook)
	var webhook struct {
		Secret string `json:"secret"`
	}
	callAPI(t, p, "POST", "/webhooks", fmt.Sprintf(`{"name": "status", "url": "%s/events", "eventTypes": ["action.succeeded"]}`, r.URL), 201, &webhook)
	r.setSecret(webhook.Secret)
	return hook.ID, hook.Secret
}

// TestAPIChangesSurviveRestart: a hook and a webhook created through the
// API are there after Caddy restarts: the hook's URL triggers the
// pipeline, and the webhook gets the action's event, signed with the
// secret shown at creation.
func TestAPIChangesSurviveRestart(t *testing.T) {
	dir := t.TempDir()
	caddyfile := strings.ReplaceAll(apiCaddyfile, "STORAGE", "storage sqlite "+filepath.Join(dir, "hookgate.db"))
	r := newEventReceiver(t)
	first := startCaddy(t, "first", dir, caddyfile)
	id, secret := createHookAndWebhook(t, first, r)
	first.stop()

	second := startCaddy(t, "second", dir, caddyfile)
	if status, answer := sendSigned(t, second, id, secret, "refs/heads/main"); status != 202 {
		t.Fatalf("hook after restart: %d %s", status, answer)
	}
	waitUntil(t, 30*time.Second, "the action's succeeded event", func() bool { return r.count("action.succeeded") == 1 })
	var list struct {
		Items []struct {
			Name string `json:"name"`
		} `json:"items"`
	}
	callAPI(t, second, "GET", "/webhooks", "", 200, &list)
	if len(list.Items) != 1 || list.Items[0].Name != "status" {
		t.Errorf("webhooks after restart: %+v", list.Items)
	}
	if r.forged > 0 {
		t.Errorf("%d deliveries not signed with the secret shown at creation", r.forged)
	}
}

// TestAPITwoInstancesOnePostgres: two instances on one PostgreSQL
// database see each other's API changes: a hook created on one is served
// by the other, changed or deleted there at once; a webhook created on
// one gets the events of actions triggered on the other.
func TestAPITwoInstancesOnePostgres(t *testing.T) {
	dsn := freshDatabase(t)
	dir := t.TempDir()
	caddyfile := strings.ReplaceAll(apiCaddyfile, "STORAGE", fmt.Sprintf("storage postgres %q", dsn))
	a := startCaddy(t, "a", dir, caddyfile)
	b := startCaddy(t, "b", dir, caddyfile)
	r := newEventReceiver(t)
	id, secret := createHookAndWebhook(t, a, r)

	// b sees the new webhook at once: listed, and notified of the action
	// it runs right after, with no wait for its revision poll.
	var list struct {
		Items []any `json:"items"`
	}
	callAPI(t, b, "GET", "/webhooks", "", 200, &list)
	if len(list.Items) != 1 {
		t.Fatalf("b lists %d webhooks, want the one created on a", len(list.Items))
	}
	if status, answer := sendSigned(t, b, id, secret, "refs/heads/main"); status != 202 {
		t.Fatalf("hook created on a, sent to b: %d %s", status, answer)
	}
	waitUntil(t, 30*time.Second, "the succeeded event of b's action", func() bool { return r.count("action.succeeded") >= 1 })

	callAPI(t, a, "PATCH", "/hooks/"+id, `{"when": "ref == \"refs/heads/release\""}`, 200, nil)
	if status, answer := sendSigned(t, b, id, secret, "refs/heads/main"); status != 200 || !strings.Contains(answer, "skipped") {
		t.Errorf("hook changed on a, sent to b: %d %s", status, answer)
	}
	callAPI(t, a, "DELETE", "/hooks/"+id, "", 204, nil)
	if status, answer := sendSigned(t, b, id, secret, "refs/heads/release"); status != 404 {
		t.Errorf("hook deleted on a, sent to b: %d %s", status, answer)
	}
	if r.forged > 0 {
		t.Errorf("%d deliveries not signed with the webhook's secret", r.forged)
	}
}
