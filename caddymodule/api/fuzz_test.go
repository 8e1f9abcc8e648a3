package api

import (
	"testing"

	"github.com/hookgate/hookgate/pipeline/store"
)

// The API's request decoders must answer any body with a value or an
// error, never a panic; the seeds run with every `go test`.

func FuzzDecodeWebhookRequest(f *testing.F) {
	for _, seed := range []string{
		`{"name": "webhook-name-1", "url": "https://www.your-endpoint.com/messages1", "headers": {"x-api-key": "A"}, "eventTypes": ["action.queued"], "jsonPayloadEnabled": true}`,
		`{"url": "www.example.com", "eventTypes": [{"type": "action.failed", "version": "1.0.0"}], "state": "INTEGRATION_DEACTIVATED"}`,
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
