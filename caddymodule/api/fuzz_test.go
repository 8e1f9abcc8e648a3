package api

import (
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"

	"github.com/hookgate/hookgate/pipeline/store"
	"github.com/hookgate/hookgate/pipeline/webhook"
)

// The API's request decoders must answer any body with a value or an
// error, never a panic; the seeds run with every `go test`.

func FuzzDecodeWebhookRequest(f *testing.F) {
	for _, seed := range []string{
		`{"name": "webhook-name-1", "url": "https://www.your-endpoint.com/messages1", "headers": {"x-api-key": "A"}, "eventTypes": ["action.queued"], "jsonPayloadEnabled": true}`,
		`{"url": "www.example.com", "eventTypes": [{"type": "action.failed", "version": "1.0.0"}], "state": "INTEGRATION_DEACTIVATED"}`,
		`{"name": "webhook-name-1", "url": "https://www.your-endpoint.com/messages1", "headers": {"x-api-key": "ABCDEFGHIJKLMNOPQRSTUVWXYZ"}, "eventTypes": [{ "type": "TELEMETRY_DATA" }]}`,
		`{"eventTypes": [{"type": "LIFECYCLE"}], "url": "www.example.com", "jsonPayloadEnabled": false}`,
		`{"name": 1}`, `{"eventTypes": [{"type": 1}]}`, `{"url": "ftp://x"}`, `[]`, `null`, `{"headers": null}`, ``,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var req webhookRequest
		if decodeJSON(data, &req, false) != nil {
			return
		}
		_ = req.check(true)
		_ = req.check(false)
		_ = req.eventTypes()
	})
}

func FuzzDecodeHookRequest(f *testing.F) {
	for _, seed := range []string{
		`{"name": "my hook", "action_type": "deploy", "requires_secret": true, "secret_algorithm": "sha256", "secret_header_name": "X-Hub-Signature-256", "settings": {"variables": [{"name": "ref", "path": "ref", "type": "string", "required": true, "default_value": "main"}]}}`,
		`{"name": "n", "settings": {"variables": [{"name": "n", "path": "a.b", "type": "integer", "default_value": 3}]}, "when": "n > 2"}`,
		`{"settings": {"variables": [{"default_value": {}}]}}`, `{"requires_secret": "yes"}`, `{"secret_algorithm": "md5"}`, `{}`, `x`,
		`{"id": "hk_1", "name": "replaced", "active": false, "secret_header_name": "x-hub-signature-256"}`, `{"active": "no"}`,
		`{"name": "Deploy` + "`main`" + ` branch", "requires_secret": true, "secret_algorithm": "sha256", "secret_header_name": "x-hub-signature-256", "action_type": "deploy", "settings": {"variables": [{"name": "source_type", "type": "string", "required": false, "default_value": "branch"}, {"name": "pull_request_id", "path": "pull_request.number", "type": "integer", "required": false}]}}`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var req hookRequest
		if decodeJSON(data, &req, false) != nil {
			return
		}
		rec := store.HookRecord{Pipeline: "p", RequiresSecret: true}
		_ = req.apply(&rec)
		_ = req.checkID("hk_1")
	})
}

func FuzzDecodeSmallRequests(f *testing.F) {
	for _, seed := range []string{`{"variables": {"a": 1, "b": [true]}}`, `{"keepOldFor": "24h"}`, `{"variables": "x"}`, ``} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var run runRequest
		_ = decodeJSON(data, &run, true)
		var rotate rotateRequest
		_ = decodeJSON(data, &rotate, true)
	})
}

func FuzzDecodeRicloudRequest(f *testing.F) {
	for _, seed := range []string{
		`{"url": "https://www.mywebhook.com/webhooks/"}`, `{"url": "https://www.myupdatedwebhook.com/webhooks/",}`,
		`{"state": "deactivated"}`, `{"state": "valid"}`, `{"url": 1}`, `{"url": "ftp://x", "state": "new"}`, ``,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var req ricloudConfigRequest
		if decodeJSON(data, &req, false) != nil {
			return
		}
		_ = (&webhookRequest{URL: req.URL}).check(false)
	})
}

func FuzzRicloudTaskID(f *testing.F) {
	f.Add(taskRef{Webhook: "whk_1", At: "2026-01-01T00:00:00.000Z", State: "failed", Status: 500, Error: "x"}.task().ID)
	for _, seed := range []string{"tsk_", "tsk_e30", "tsk_!!", "nope", ""} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, id string) {
		var ref taskRef
		raw, err := base64.RawURLEncoding.DecodeString(strings.TrimPrefix(id, taskPrefix))
		if err != nil || json.Unmarshal(raw, &ref) != nil {
			return
		}
		if again := ref.task(); !strings.HasPrefix(again.ID, taskPrefix) {
			t.Fatalf("task id %q", again.ID)
		}
	})
}

func FuzzDecodeOutgoingHookRequest(f *testing.F) {
	for _, seed := range []string{
		`{"name": "deploy-status", "target_url": "https://ci.example/status", "settings": {"request_headers": [{"name": "x-api-key", "value": "K"}], "request_body": {"text": "deploy :status: of :action_id: (:ref:)"}}}`,
		`{"id": "x", "name": "n", "url": "https://a.example", "active": false, "settings": {"request_body": "plain :pipeline: \" \\ text"}}`,
		`{"name": "n", "url": "https://a", "target_url": "https://b"}`, `{"settings": {"request_headers": [{"name": 1}]}}`, `{}`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var req outgoingRequest
		if decodeJSON(data, &req, false) != nil {
			return
		}
		def, err := req.definition("deploy")
		if err != nil || req.Settings == nil {
			return
		}
		if _, err := webhook.Compile(def, nil); err != nil && def.Body != "" && strings.Contains(err.Error(), "body") {
			t.Fatalf("the body made from %s does not compile: %v\n%s", req.Settings.RequestBody, err, def.Body)
		}
		if template, _ := requestBodyTemplate(req.Settings.RequestBody); bodyTemplate(def.Body) != template {
			t.Fatalf("template %q shown again as %q", template, bodyTemplate(def.Body))
		}
	})
}
