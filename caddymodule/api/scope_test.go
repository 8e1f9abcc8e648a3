package api

import (
	"encoding/json"
	"fmt"
	"slices"
	"testing"

	"github.com/hookgate/hookgate/caddymodule/internal/hooktest"
)

// webhookScopeJSON is the scope of a webhook as the API shows it.
type webhookScopeJSON struct {
	ID        string   `json:"id"`
	Pipelines []string `json:"pipelines"`
	Default   bool     `json:"default"`
}

// The API takes a webhook's scope ("pipelines" or "default"), shows it on
// every webhook, changes it by PATCH, and refuses a pipeline that is not
// configured or both at once.
func TestAPIWebhookScope(t *testing.T) {
	r := hooktest.NewReceiver(t)
	tester := startAPI(t, r)

	var w webhookScopeJSON
	status, answer := api(t, tester, "POST", "/webhooks", fmt.Sprintf(`{"name": "deploys", "url": "%s/d", "pipelines": ["deploy"]}`, r.URL), &w)
	if status != 201 || !slices.Equal(w.Pipelines, []string{"deploy"}) || w.Default {
		t.Fatalf("create: %d %s", status, answer)
	}
	status, answer = api(t, tester, "POST", "/webhooks", fmt.Sprintf(`{"name": "other", "url": "%s/o", "pipelines": ["build"]}`, r.URL), nil)
	expectError(t, "unknown pipeline", status, answer, 422, "invalid_field", `pipelines: unknown pipeline "build"`)
	status, answer = api(t, tester, "POST", "/webhooks", fmt.Sprintf(`{"name": "other", "url": "%s/o", "pipelines": ["deploy"], "default": true}`, r.URL), nil)
	expectError(t, "scoped and default", status, answer, 422, "invalid_field", "default")

	status, answer = api(t, tester, "PATCH", "/webhooks/"+w.ID, `{"pipelines": [], "default": true}`, &w)
	if status != 200 || len(w.Pipelines) != 0 || w.Pipelines == nil || !w.Default {
		t.Fatalf("patch: %d %s", status, answer)
	}
	var got webhookScopeJSON
	if status, answer = api(t, tester, "GET", "/webhooks/config-status", "", &got); status != 200 || got.Pipelines == nil || got.Default {
		t.Errorf("a global webhook: %d %s", status, answer)
	}
}

// The 1NCE aliases are accepted as event types and echoed back as given.
func TestAPIEventTypeAliases(t *testing.T) {
	r := hooktest.NewReceiver(t)
	tester := startAPI(t, r)
	var w webhookObjectJSON
	status, answer := api(t, tester, "POST", "/webhooks", fmt.Sprintf(`{"name": "telemetry", "url": "%s/t",
		"eventTypes": [{"type": "TELEMETRY_DATA"}, "LIFECYCLE"]}`, r.URL), &w)
	if status != 201 || len(w.EventTypes) != 2 || w.EventTypes[0].Type != "TELEMETRY_DATA" || w.EventTypes[1].Type != "LIFECYCLE" ||
		w.EventTypes[0].Version != "1.0.0" {
		t.Fatalf("create: %d %s", status, answer)
	}
	status, answer = api(t, tester, "PATCH", "/webhooks/"+w.ID, `{"eventTypes": ["LIFECYCLE"]}`, &w)
	if status != 200 || len(w.EventTypes) != 1 || w.EventTypes[0].Type != "LIFECYCLE" {
		t.Fatalf("patch: %d %s", status, answer)
	}
	status, answer = api(t, tester, "PATCH", "/webhooks/"+w.ID, `{"eventTypes": ["DATA_BROKER"]}`, nil)
	expectError(t, "unknown type", status, answer, 422, "invalid_field", "TELEMETRY_DATA")
}

// A hook created through the API with "relay": true keeps each hook it
// triggers with as a hook.received event, forwarded to the webhooks that
// subscribe to it: the 202 carries the event id, which is the delivery's
// webhook-id, and the hook shows "relay": true.
func TestAPIHookRelay(t *testing.T) {
	r := hooktest.NewReceiver(t)
	tester := startAPI(t, r)
	var hook struct {
		ID, URL, Secret string
		Relay           bool
	}
	status, answer := api(t, tester, "POST", "/pipelines/deploy/hooks/incoming", `{"name": "relayed push",
		"requires_secret": true, "secret_algorithm": "sha256", "secret_header_name": "X-Hub-Signature-256",
		"settings": {"variables": [{"name": "ref", "path": "ref", "type": "string", "required": true}]}, "relay": true}`, &hook)
	if status != 201 || !hook.Relay {
		t.Fatalf("create: %d %s", status, answer)
	}
	if status, answer = api(t, tester, "POST", "/webhooks", fmt.Sprintf(`{"name": "copy", "url": "%s/copy",
		"eventTypes": ["TELEMETRY_DATA"], "payload": "raw", "forwardHeaders": ["X-Stage"], "recoverEvery": "1m"}`, r.URL), nil); status != 201 {
		t.Fatalf("create webhook: %d %s", status, answer)
	}
	body := []byte(`{"ref":"refs/heads/main"}`)
	status, _, answer = hooktest.Post(t, tester.Client, "POST", hook.URL, body, map[string]string{"Content-Type": "application/json",
		"X-Stage": "prod", "X-Hub-Signature-256": hooktest.GitHubSignature(hook.Secret, body)})
	var queued struct {
		Status  string `json:"status"`
		EventID string `json:"event_id"`
	}
	if err := json.Unmarshal([]byte(answer), &queued); err != nil || status != 202 || queued.Status != "queued" || queued.EventID == "" {
		t.Fatalf("signed push: %d %s", status, answer)
	}
	got := r.Wait(t, "/copy", 1)[0]
	if string(got.Body) != string(body) || got.Header.Get("X-Stage") != "prod" || got.Header.Get("webhook-id") != queued.EventID ||
		got.Header.Get("X-Hub-Signature-256") != "" {
		t.Errorf("copy got %s %v", got.Body, got.Header)
	}
}
