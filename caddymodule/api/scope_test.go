package api

import (
	"fmt"
	"slices"
	"testing"
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
	r := newReceiver(t)
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
	r := newReceiver(t)
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
