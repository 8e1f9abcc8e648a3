package api

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2/caddytest"

	"github.com/hookgate/hookgate/caddymodule/internal/hooktest"
	"github.com/hookgate/hookgate/pipeline/action"
)

// apiBase is where the test config mounts the API.
const apiBase = "http://127.0.0.1:9180"

// Tokens of the API test config.
const (
	writeToken = "write-token-0123456789abcdef"
	readToken  = "read-token-0123456789abcdef"
)

// apiConfig serves the management API at the root of a host of its own
// (127.0.0.1:9180), as the dialects' clients expect (SPEC 12), API-created
// hooks under localhost:9180/hooks, and a Caddyfile hook and webhook that
// the API shows read-only.
func apiConfig(dir string, r *hooktest.Receiver) string {
	return fmt.Sprintf(`{
`+serverOptions+`	hookgate {
		storage sqlite %[1]s/hookgate.db
		public_url http://localhost:9180/hooks
		allow_targets 127.0.0.0/8
		delivery {
			retry_schedule 50ms 50ms 50ms
			fail_after 2
			timeout 5s
		}
		pipeline deploy {
			step ok exec /bin/echo {vars.ref}
		}
		pipeline release {
			step ok exec /bin/true
		}
		webhook config-status {
			url %[2]s/config-status
			events action.succeeded
			secret %[3]s
		}
	}
}
http://localhost:9180 {
	handle /deploy {
		hookgate github-deploy {
			signature github
			secret "%[4]s"
			var ref ref string required
			pipeline deploy
		}
	}
	handle_path /hooks/* {
		hookgate dynamic
	}
}
http://127.0.0.1:9180 {
	hookgate_api {
		token {env.HOOKGATE_TEST_WRITE_TOKEN} write
		token %[5]s read
		organisation acme
	}
}
`, dir, r.URL, hooktest.ReceiverSecret, githubSecret, readToken)
}

// startAPI starts Caddy with apiConfig.
func startAPI(t *testing.T, r *hooktest.Receiver) *caddytest.Tester {
	t.Setenv("HOOKGATE_TEST_WRITE_TOKEN", writeToken)
	return startConfig(t, apiConfig(t.TempDir(), r))
}

// startConfig starts Caddy with a Caddyfile whose API is at the root of
// 127.0.0.1:9180; every request of the test to the API, and its answer,
// is validated against openapi.json.
func startConfig(t *testing.T, config string) *caddytest.Tester {
	tester := caddytest.NewTester(t)
	tester.InitServer(config, "caddyfile")
	stopAtEnd(t)
	base := tester.Client.Transport
	if base == nil {
		base = http.DefaultTransport
	}
	tester.Client.Transport = &validatingTransport{t: t, base: base}
	return tester
}

// api calls the management API with the write token and decodes the
// answer into out (when not nil); it returns the status and the body.
func api(t *testing.T, tester *caddytest.Tester, method, path, body string, out any) (int, string) {
	t.Helper()
	return apiAs(t, tester, writeToken, method, path, body, out)
}

// apiWithHeader is api answering the headers too.
func apiWithHeader(t *testing.T, tester *caddytest.Tester, method, path, body string) (int, http.Header, string) {
	t.Helper()
	header := map[string]string{"Content-Type": "application/json", "Authorization": "Bearer " + writeToken}
	return hooktest.Post(t, tester.Client, method, apiBase+path, []byte(body), header)
}

// apiAs is api with a token of choice.
func apiAs(t *testing.T, tester *caddytest.Tester, token, method, path, body string, out any) (int, string) {
	t.Helper()
	header := map[string]string{"Content-Type": "application/json"}
	if token != "" {
		header["Authorization"] = "Bearer " + token
	}
	status, _, answer := hooktest.Post(t, tester.Client, method, apiBase+path, []byte(body), header)
	if out != nil && status < 300 && status != 204 {
		if err := json.Unmarshal([]byte(answer), out); err != nil {
			t.Fatalf("%s %s: %v: %s", method, path, err, answer)
		}
	}
	return status, answer
}

// apiError is an error answer of the API.
type apiErrorJSON struct {
	Error   string `json:"error"`
	Detail  string `json:"detail"`
	Message string `json:"message"`
}

// expectError checks an error answer's status and code, and that its
// detail names what it is about.
func expectError(t *testing.T, what string, status int, answer string, wantStatus int, wantCode, wantDetail string) {
	t.Helper()
	var e apiErrorJSON
	if err := json.Unmarshal([]byte(answer), &e); err != nil || status != wantStatus || e.Error != wantCode ||
		!strings.Contains(e.Detail, wantDetail) || e.Message != e.Detail {
		t.Errorf("%s: %d %s, want %d %s naming %q", what, status, strings.TrimSpace(answer), wantStatus, wantCode, wantDetail)
	}
}

// TestAPIAuth: no token or an unknown one is 401, a read token may only
// GET (403 otherwise), both Bearer and Token schemes work; an unknown
// route is 404 and a known path with another method is 405.
func TestAPIAuth(t *testing.T) {
	tester := startAPI(t, hooktest.NewReceiver(t))
	cases := []struct {
		name, header, method, path string
		status                     int
	}{
		{"no token", "", "GET", "/pipelines", 401},
		{"unknown token", "Bearer nope", "GET", "/pipelines", 401},
		{"token without scheme", writeToken, "GET", "/pipelines", 401},
		{"basic scheme", "Basic " + writeToken, "GET", "/pipelines", 401},
		{"read token reads", "Bearer " + readToken, "GET", "/pipelines", 200},
		{"Token scheme", "Token " + readToken, "GET", "/webhooks", 200},
		{"read token writes", "Bearer " + readToken, "POST", "/pipelines/deploy/run", 403},
		{"read token deletes", "Bearer " + readToken, "DELETE", "/webhooks/config-status", 403},
		{"write token writes", "Bearer " + writeToken, "POST", "/pipelines/deploy/run", 202},
		{"lower-case scheme", "bearer " + writeToken, "GET", "/actions", 200},
		{"unknown route", "Bearer " + writeToken, "GET", "/nope", 404},
		{"wrong method", "Bearer " + writeToken, "PUT", "/webhooks", 405},
	}
	for _, c := range cases {
		header := map[string]string{}
		if c.header != "" {
			header["Authorization"] = c.header
		}
		status, h, answer := hooktest.Post(t, tester.Client, c.method, apiBase+c.path, nil, header)
		if status != c.status {
			t.Errorf("%s: %d %s, want %d", c.name, status, answer, c.status)
		}
		if status >= 400 && !strings.Contains(answer, `"error"`) {
			t.Errorf("%s: answer %s has no error code", c.name, answer)
		}
		if status == 401 && h.Get("WWW-Authenticate") == "" {
			t.Errorf("%s: 401 without WWW-Authenticate", c.name)
		}
		if status == 405 && h.Get("Allow") != "GET, POST" {
			t.Errorf("%s: Allow %q", c.name, h.Get("Allow"))
		}
	}
}

// hookCreated is the answer to creating an incoming hook.
type hookCreated struct {
	ID       string `json:"id"`
	URL      string `json:"url"`
	Secret   string `json:"secret"`
	Source   string `json:"source"`
	Pipeline string `json:"pipeline"`
	Settings struct {
		Variables []map[string]any `json:"variables"`
	} `json:"settings"`
}

// TestAPIDevopnessIncomingHook follows the Devopness seed: create an
// incoming hook for a pipeline, list the pipeline's hooks, deliver a real
// GitHub payload signed with the returned secret to the returned URL and
// see the action run; a change applies at once, a deleted hook is 404 at
// once, and the Caddyfile's hook is read-only.
func TestAPIDevopnessIncomingHook(t *testing.T) {
	tester := startAPI(t, hooktest.NewReceiver(t))
	var created hookCreated
	status, answer := api(t, tester, "POST", "/pipelines/deploy/hooks/incoming", `{
		"name": "github push to main",
		"action_type": "deploy",
		"requires_secret": true,
		"secret_algorithm": "sha256",
		"secret_header_name": "X-Hub-Signature-256",
		"settings": {"variables": [
			{"name": "ref", "path": "ref", "type": "string", "required": true},
			{"name": "commits", "path": "commits.#", "type": "integer", "required": false, "default_value": 0},
			{"name": "stage", "path": "header:X-Stage", "type": "string", "default_value": "production"}
		]}
	}`, &created)
	if status != 201 || created.ID == "" || len(created.Secret) < 32 || created.Source != "api" {
		t.Fatalf("create: %d %s", status, answer)
	}
	if want := "http://localhost:9180/hooks/" + created.ID; created.URL != want {
		t.Errorf("url %s, want %s", created.URL, want)
	}

	var list []hookCreated
	status, answer = api(t, tester, "GET", "/pipelines/deploy/hooks", "", &list)
	if status != 200 || len(list) != 2 {
		t.Fatalf("list: %d %s", status, answer)
	}
	if list[0].Source != "config" || list[0].ID != "github-deploy" || list[1].ID != created.ID {
		t.Errorf("list items: %s", answer)
	}
	if s := list[1].Secret; s == created.Secret || !strings.HasPrefix(s, "****") || strings.Contains(answer, created.Secret) {
		t.Errorf("listed secret %q is not masked", s)
	}

	body := hooktest.Payload(t, "github-push.json")
	header := map[string]string{"Content-Type": "application/json", "X-GitHub-Event": "push",
		"X-Hub-Signature-256": hooktest.GitHubSignature(created.Secret, body)}
	status, _, answer = hooktest.Post(t, tester.Client, "POST", created.URL, body, header)
	if status != 202 {
		t.Fatalf("signed delivery to %s: %d %s", created.URL, status, answer)
	}
	var queued struct {
		ActionID  string         `json:"action_id"`
		Variables map[string]any `json:"variables"`
	}
	json.Unmarshal([]byte(answer), &queued)
	a := waitForAction(t, tester, queued.ActionID)
	if a.Status != action.StatusSucceeded || a.Hook != "github push to main" || !strings.Contains(a.Steps[0].Output, "refs/heads/") {
		t.Errorf("action: %+v", a)
	}
	if queued.Variables["stage"] != "production" {
		t.Errorf("variables %v", queued.Variables)
	}
	var got action.Action
	if status, answer = api(t, tester, "GET", "/actions/"+queued.ActionID, "", &got); status != 200 || got.ID != queued.ActionID || len(got.Steps) != 1 {
		t.Errorf("GET action: %d %s", status, answer)
	}

	// Forged: the hook's own header, a wrong secret.
	header["X-Hub-Signature-256"] = hooktest.GitHubSignature("wrong", body)
	if status, _, answer = hooktest.Post(t, tester.Client, "POST", created.URL, body, header); status != 401 {
		t.Errorf("forged: %d %s", status, answer)
	}

	// A change applies at once: the condition now skips pushes.
	status, answer = api(t, tester, "PATCH", "/hooks/"+created.ID, `{"when": "vars.ref == \"refs/heads/never\""}`, nil)
	if status != 200 || strings.Contains(answer, created.Secret) {
		t.Fatalf("patch: %d %s", status, answer)
	}
	header["X-Hub-Signature-256"] = hooktest.GitHubSignature(created.Secret, body)
	status, _, answer = hooktest.Post(t, tester.Client, "POST", created.URL, body, header)
	hooktest.AssertJSON(t, answer, `{"status":"skipped","reason":"condition"}`)

	// The Caddyfile's hook is read-only.
	status, answer = api(t, tester, "PATCH", "/hooks/github-deploy", `{"name": "x"}`, nil)
	expectError(t, "patch a Caddyfile hook", status, answer, 409, "read_only", "Caddyfile")
	status, answer = api(t, tester, "DELETE", "/hooks/github-deploy", "", nil)
	expectError(t, "delete a Caddyfile hook", status, answer, 409, "read_only", "Caddyfile")

	if status, answer = api(t, tester, "DELETE", "/hooks/"+created.ID, "", nil); status != 204 {
		t.Fatalf("delete: %d %s", status, answer)
	}
	status, _, answer = hooktest.Post(t, tester.Client, "POST", created.URL, body, header)
	if status != 404 || !strings.Contains(answer, "not_found") {
		t.Errorf("deleted hook: %d %s", status, answer)
	}
	status, answer = api(t, tester, "GET", "/hooks/"+created.ID, "", nil)
	expectError(t, "get a deleted hook", status, answer, 404, "not_found", "")
}

// webhookObject is a webhook as the API answers it.
type webhookObjectJSON struct {
	ID                            string  `json:"id"`
	Name                          string  `json:"name"`
	State                         string  `json:"state"`
	Type                          string  `json:"type"`
	Source                        string  `json:"source"`
	URL                           string  `json:"url"`
	Secret                        string  `json:"secret"`
	JSONPayloadEnabled            bool    `json:"jsonPayloadEnabled"`
	LastSuccessfulMessageDelivery *string `json:"lastSuccessfulMessageDelivery"`
	EventTypes                    []struct {
		Type    string `json:"type"`
		Version string `json:"version"`
	} `json:"eventTypes"`
	Headers map[string]string `json:"headers"`
}

// TestAPI1NCEWebhooks follows the 1NCE seed: create a webhook, list it,
// edit it, test it, restart it; then rotate its secret, read its delivery
// log, redeliver one, deactivate and delete it.
func TestAPI1NCEWebhooks(t *testing.T) {
	r := hooktest.NewReceiver(t)
	tester := startAPI(t, r)

	var created webhookObjectJSON
	status, answer := api(t, tester, "POST", "/webhooks", fmt.Sprintf(`{
		"name": "webhook-name-1",
		"url": "%s/messages?action=:action_id:",
		"headers": {"x-api-key": "ABCDEFGHIJKLMNOPQRSTUVWXYZ"},
		"eventTypes": ["action.queued", {"type": "action.succeeded", "version": "1.0.0"}],
		"jsonPayloadEnabled": true
	}`, r.URL), &created)
	if status != 201 || created.ID == "" || !strings.HasPrefix(created.Secret, "whsec_") || created.State != "INTEGRATION_NEW" ||
		created.Type != "WEBHOOK" || created.Source != "api" || len(created.EventTypes) != 2 || !created.JSONPayloadEnabled {
		t.Fatalf("create: %d %s", status, answer)
	}
	secret := created.Secret

	var list page[webhookObjectJSON]
	if status, answer = api(t, tester, "GET", "/webhooks", "", &list); status != 200 || len(list.Items) != 2 || list.PageAmount != 1 {
		t.Fatalf("list: %d %s", status, answer)
	}
	if list.Items[0].Source != "config" || list.Items[1].ID != created.ID || strings.Contains(answer, secret) {
		t.Errorf("list: %s", answer)
	}
	if status, answer = api(t, tester, "GET", "/webhooks?page=1&pageSize=1", "", &list); status != 200 || len(list.Items) != 1 || list.PageAmount != 2 {
		t.Errorf("page of 1: %d %s", status, answer)
	}

	// Edit as the 1NCE example does: a URL without a scheme is https.
	var edited webhookObjectJSON
	status, answer = api(t, tester, "PATCH", "/webhooks/"+created.ID, `{"name": "updated-webhook-name", "url": "www.example.com"}`, &edited)
	if status != 200 || edited.URL != "https://www.example.com" || edited.Name != "updated-webhook-name" || edited.State != "INTEGRATION_NEW" {
		t.Fatalf("patch: %d %s", status, answer)
	}
	api(t, tester, "PATCH", "/webhooks/"+created.ID, fmt.Sprintf(`{"url": "%s/messages?action=:action_id:"}`, r.URL), nil)

	// Test: a signed webhook.test now; its success makes it active.
	var tested struct {
		Success bool   `json:"success"`
		State   string `json:"state"`
	}
	if status, answer = api(t, tester, "POST", "/webhooks/"+created.ID+"/test", "", &tested); status != 200 || !tested.Success || tested.State != "INTEGRATION_ACTIVE" {
		t.Fatalf("test: %d %s", status, answer)
	}
	test := r.Wait(t, "/messages", 1)[0]
	hooktest.CheckSignature(t, test, secret)
	if !strings.Contains(string(test.Body), `"webhook.test"`) || test.URI != "/messages?action=none" || test.Header.Get("x-api-key") == "" {
		t.Errorf("test delivery %s %v: %s", test.URI, test.Header, test.Body)
	}

	// An action's queued and succeeded events arrive, signed.
	var queued struct {
		ActionID string `json:"action_id"`
	}
	if status, answer = api(t, tester, "POST", "/pipelines/deploy/run", `{"variables": {"ref": "main"}}`, &queued); status != 202 {
		t.Fatalf("run: %d %s", status, answer)
	}
	waitForAction(t, tester, queued.ActionID)
	got := r.Wait(t, "/messages", 3)
	for _, d := range got[1:] {
		hooktest.CheckSignature(t, d, secret)
		if d.URI != "/messages?action="+queued.ActionID {
			t.Errorf("delivery URI %s", d.URI)
		}
	}

	// The delivery log, and a redelivery with the same webhook-id.
	var log page[struct {
		ID       string `json:"id"`
		EventID  string `json:"eventId"`
		Status   string `json:"status"`
		Attempts []struct {
			StatusCode int `json:"statusCode"`
		} `json:"attempts"`
	}]
	deadline := time.Now().Add(10 * time.Second)
	for {
		status, answer = api(t, tester, "GET", "/webhooks/"+created.ID+"/deliveries?status=succeeded", "", &log)
		if status == 200 && len(log.Items) == 3 || time.Now().After(deadline) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if len(log.Items) != 3 || len(log.Items[0].Attempts) != 1 || log.Items[0].Attempts[0].StatusCode != 200 {
		t.Fatalf("delivery log: %d %s", status, answer)
	}
	first := log.Items[0]
	if status, answer = api(t, tester, "POST", "/webhooks/"+created.ID+"/deliveries/"+first.ID+"/retry", "", nil); status != 202 {
		t.Fatalf("retry: %d %s", status, answer)
	}
	again := r.Wait(t, "/messages", 4)[3]
	if again.Header.Get("webhook-id") != first.EventID {
		t.Errorf("redelivery webhook-id %s, want %s", again.Header.Get("webhook-id"), first.EventID)
	}

	// Rotation: the new secret is shown once; both sign for now.
	var rotated struct {
		Secret string `json:"secret"`
	}
	if status, answer = api(t, tester, "POST", "/webhooks/"+created.ID+"/rotate-secret", "", &rotated); status != 200 || rotated.Secret == secret {
		t.Fatalf("rotate: %d %s", status, answer)
	}
	api(t, tester, "POST", "/webhooks/"+created.ID+"/test", "", nil)
	d := r.Wait(t, "/messages", 5)[4]
	hooktest.CheckSignature(t, d, secret)
	hooktest.CheckSignature(t, d, rotated.Secret)

	// Restart answers the webhook, active.
	if status, answer = api(t, tester, "POST", "/webhooks/"+created.ID+"/restart", "", nil); status != 200 || !strings.Contains(answer, "INTEGRATION_ACTIVE") {
		t.Errorf("restart: %d %s", status, answer)
	}

	// Deactivated: hidden from the list unless asked for by state.
	api(t, tester, "PATCH", "/webhooks/"+created.ID, `{"state": "INTEGRATION_DEACTIVATED"}`, nil)
	api(t, tester, "GET", "/webhooks", "", &list)
	if len(list.Items) != 1 {
		t.Errorf("deactivated webhook listed: %+v", list.Items)
	}
	api(t, tester, "GET", "/webhooks?state=INTEGRATION_DEACTIVATED", "", &list)
	if len(list.Items) != 1 || list.Items[0].ID != created.ID {
		t.Errorf("deactivated list: %+v", list.Items)
	}

	// The Caddyfile webhook is read-only, but may be tested and restarted.
	status, answer = api(t, tester, "PATCH", "/webhooks/config-status", `{"url": "https://example.com"}`, nil)
	expectError(t, "patch a Caddyfile webhook", status, answer, 409, "read_only", "configuration")
	if status, answer = api(t, tester, "POST", "/webhooks/config-status/restart", "", nil); status != 200 {
		t.Errorf("restart a Caddyfile webhook: %d %s", status, answer)
	}

	if status, answer = api(t, tester, "DELETE", "/webhooks/"+created.ID, "", nil); status != 204 {
		t.Fatalf("delete: %d %s", status, answer)
	}
	status, answer = api(t, tester, "GET", "/webhooks/"+created.ID, "", nil)
	expectError(t, "get a deleted webhook", status, answer, 404, "not_found", "")
}

// TestAPIBadInput: each bad request is answered 400, 409 or 422 with an
// error naming the field, and changes nothing.
func TestAPIBadInput(t *testing.T) {
	r := hooktest.NewReceiver(t)
	tester := startAPI(t, r)
	if status, answer := api(t, tester, "POST", "/webhooks", fmt.Sprintf(`{"name": "taken", "url": "%s/x"}`, r.URL), nil); status != 201 {
		t.Fatalf("create: %d %s", status, answer)
	}
	hook := `"name": "h", "settings": {"variables": [{"name": "ref", "path": "ref"}]}`
	cases := []struct {
		name, method, path, body string
		status                   int
		code, detail             string
	}{
		{"malformed JSON", "POST", "/webhooks", `{"name": `, 400, "invalid_json", "malformed"},
		{"empty body", "POST", "/webhooks", ``, 400, "invalid_json", "empty"},
		{"trailing data", "POST", "/webhooks", `{"name": "a", "url": "https://a.example"} {}`, 400, "invalid_json", "trailing"},
		{"unknown field", "POST", "/webhooks", `{"name": "a", "url": "https://a.example", "colour": "red"}`, 400, "unknown_field", "colour"},
		{"wrong type", "POST", "/webhooks", `{"name": "a", "url": "https://a.example", "jsonPayloadEnabled": "yes"}`, 400, "invalid_type", "jsonPayloadEnabled"},
		{"wrong type of event types", "POST", "/webhooks", `{"name": "a", "url": "https://a.example", "eventTypes": [1]}`, 400, "invalid_type", "eventTypes"},
		{"no name", "POST", "/webhooks", `{"url": "https://a.example"}`, 422, "invalid_field", "name"},
		{"bad name", "POST", "/webhooks", `{"name": "a b", "url": "https://a.example"}`, 422, "invalid_field", "name"},
		{"not http", "POST", "/webhooks", `{"name": "a", "url": "ftp://a.example"}`, 422, "invalid_field", "url"},
		{"unknown event type", "POST", "/webhooks", `{"name": "a", "url": "https://a.example", "eventTypes": ["DATA_BROKER"]}`, 422, "invalid_field", "eventTypes"},
		{"bad when", "POST", "/webhooks", `{"name": "a", "url": "https://a.example", "when": "action.("}`, 422, "invalid_field", "when"},
		{"bad secret", "POST", "/webhooks", `{"name": "a", "url": "https://a.example", "secret": "short"}`, 422, "invalid_field", "secret"},
		{"name taken", "POST", "/webhooks", `{"name": "taken", "url": "https://a.example"}`, 409, "already_exists", "taken"},
		{"name of a Caddyfile webhook", "POST", "/webhooks", `{"name": "config-status", "url": "https://a.example"}`, 409, "already_exists", "config-status"},
		{"bad state", "PATCH", "/webhooks/taken", `{"state": "INTEGRATION_FAILED"}`, 422, "invalid_field", "state"},
		{"unknown webhook", "PATCH", "/webhooks/nope", `{"name": "b"}`, 404, "not_found", "nope"},
		{"page out of range", "GET", "/webhooks?page=3", ``, 400, "invalid_page", "page 3"},
		{"page size too large", "GET", "/webhooks?pageSize=1000", ``, 400, "invalid_page", "pageSize"},
		{"page not a number", "GET", "/actions?page=x", ``, 400, "invalid_page", "page"},
		{"bad action status", "GET", "/actions?status=done", ``, 400, "invalid_query", "status"},
		{"unsupported algorithm", "POST", "/pipelines/deploy/hooks/incoming", `{` + hook + `, "secret_algorithm": "md5"}`, 422, "invalid_field", "secret_algorithm"},
		{"bad gjson path", "POST", "/pipelines/deploy/hooks/incoming", `{"name": "h", "settings": {"variables": [{"name": "x", "path": "a.[" }]}}`, 422, "invalid_field", "settings.variables"},
		{"bad variable type", "POST", "/pipelines/deploy/hooks/incoming", `{"name": "h", "settings": {"variables": [{"name": "x", "path": "a", "type": "date"}]}}`, 422, "invalid_field", "settings.variables[0].type"},
		{"wrong type of required", "POST", "/pipelines/deploy/hooks/incoming", `{"name": "h", "settings": {"variables": [{"name": "x", "path": "a", "required": "yes"}]}}`, 400, "invalid_type", "required"},
		{"bad header name", "POST", "/pipelines/deploy/hooks/incoming", `{` + hook + `, "secret_header_name": "X Sig"}`, 422, "invalid_field", "secret_header_name"},
		{"bad condition", "POST", "/pipelines/deploy/hooks/incoming", `{` + hook + `, "when": "ref =="}`, 422, "invalid_field", "when"},
		{"hook unknown field", "POST", "/pipelines/deploy/hooks/incoming", `{` + hook + `, "trigger": 1}`, 400, "unknown_field", "trigger"},
		{"hook without name", "POST", "/pipelines/deploy/hooks/incoming", `{"requires_secret": false}`, 422, "invalid_field", "name"},
		{"hook named as a Caddyfile hook", "POST", "/pipelines/deploy/hooks/incoming", `{"name": "github-deploy"}`, 409, "already_exists", "github-deploy"},
		{"unknown pipeline", "POST", "/pipelines/nope/hooks/incoming", `{` + hook + `}`, 404, "not_found", "nope"},
		{"run an unknown pipeline", "POST", "/pipelines/nope/run", `{}`, 404, "not_found", "nope"},
		{"run with variables not an object", "POST", "/pipelines/deploy/run", `{"variables": [1]}`, 400, "invalid_type", "variables"},
		{"cancel an unknown action", "POST", "/actions/act_nope/cancel", ``, 404, "not_found", ""},
		{"rotate with a bad duration", "POST", "/webhooks/taken/rotate-secret", `{"keepOldFor": "soon"}`, 422, "invalid_field", "keepOldFor"},
		{"retry an unknown delivery", "POST", "/webhooks/taken/deliveries/dlv_nope/retry", ``, 404, "not_found", ""},
	}
	for _, c := range cases {
		status, answer := api(t, tester, c.method, c.path, c.body, nil)
		expectError(t, c.name, status, answer, c.status, c.code, c.detail)
	}

	// Nothing changed: one API webhook, no API hook, no action.
	var webhooks page[webhookObjectJSON]
	api(t, tester, "GET", "/webhooks", "", &webhooks)
	var hooks []hookCreated
	api(t, tester, "GET", "/pipelines/deploy/hooks", "", &hooks)
	var actions page[action.Action]
	api(t, tester, "GET", "/actions", "", &actions)
	if len(webhooks.Items) != 2 || len(hooks) != 1 || len(actions.Items) != 0 {
		t.Errorf("bad requests changed something: %d webhooks, %d hooks, %d actions", len(webhooks.Items), len(hooks), len(actions.Items))
	}
}

// TestAPIActions lists, reads and cancels actions, with the pipelines'
// counts.
func TestAPIActions(t *testing.T) {
	tester := startAPI(t, hooktest.NewReceiver(t))
	var ids []string
	for i := range 3 {
		var q struct {
			ActionID string `json:"action_id"`
		}
		if status, answer := api(t, tester, "POST", "/pipelines/deploy/run", fmt.Sprintf(`{"variables": {"ref": "r%d"}}`, i), &q); status != 202 {
			t.Fatalf("run: %d %s", status, answer)
		}
		ids = append(ids, q.ActionID)
	}
	for _, id := range ids {
		waitForAction(t, tester, id)
	}
	var list page[action.Action]
	status, answer := api(t, tester, "GET", "/actions?pipeline=deploy&status=succeeded&pageSize=2", "", &list)
	if status != 200 || list.PageAmount != 2 || len(list.Items) != 2 || list.Items[0].ID != ids[2] || len(list.Items[0].Steps) != 1 {
		t.Fatalf("list: %d %s", status, answer)
	}
	var pipelines page[pipelineJSON]
	status, answer = api(t, tester, "GET", "/pipelines", "", &pipelines)
	if status != 200 || len(pipelines.Items) != 2 || pipelines.Items[0].Actions["succeeded"] != 3 || pipelines.Items[0].Source != "config" {
		t.Errorf("pipelines: %d %s", status, answer)
	}
	status, answer = api(t, tester, "POST", "/actions/"+ids[0]+"/cancel", "", nil)
	expectError(t, "cancel a finished action", status, answer, 409, "conflict", "finished")
	// On SQLite, GET /instances is this one instance, without a lease.
	var instances page[instanceJSON]
	status, answer = api(t, tester, "GET", "/instances", "", &instances)
	if status != 200 || len(instances.Items) != 1 || !instances.Items[0].Live || instances.Items[0].Lease != "" ||
		instances.Items[0].ExpiresAt != nil || len(instances.Items[0].Running) != 0 {
		t.Errorf("instances: %d %s", status, answer)
	}
}
