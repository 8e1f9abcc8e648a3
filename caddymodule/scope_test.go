package caddymodule

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
