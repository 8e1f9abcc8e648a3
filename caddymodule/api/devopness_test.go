package api

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/hookgate/hookgate/caddymodule/internal/hooktest"
	"github.com/tidwall/gjson"
)

// TestDevopnessSeed follows the Devopness seed with its SDK's routes: the
// create example verbatim, the pipeline's hook list (a bare array with a
// Link header), a signed pull_request payload to the hook's URL, a
// trigger, a replacing PUT (refused ones change nothing), active false
// making the URL answer 404, and delete. The example's source_type
// variable has no path: a constant with its default value.
func TestDevopnessSeed(t *testing.T) {
	tester := startAPI(t, hooktest.NewReceiver(t))
	curls := seedCurls(t, "devopness-hooks.txt")
	if len(curls) != 3 {
		t.Fatalf("%d curl examples, want login, create, list", len(curls))
	}
	create, list := curls[1], curls[2]
	ids := map[string]string{"<pipeline_id>": "deploy", "<your_api_token>": writeToken}
	status, _, answer := create.send(t, tester, ids)
	var created hookCreated
	if err := json.Unmarshal([]byte(answer), &created); status != 201 || err != nil || created.ID == "" || len(created.Secret) < 32 {
		t.Fatalf("create: %d %s", status, answer)
	}

	status, header, answer := list.send(t, tester, ids)
	var hooks []hookCreated
	if err := json.Unmarshal([]byte(answer), &hooks); status != 200 || err != nil || len(hooks) != 2 || hooks[1].ID != created.ID {
		t.Fatalf("list: %d %s", status, answer)
	}
	if link := header.Get("Link"); !strings.Contains(link, `/pipelines/deploy/hooks?page=1&per_page=10>; rel="last"`) {
		t.Errorf("Link %q", link)
	}

	// A pull request, signed as GitHub signs it, to the hook's URL.
	body := hooktest.Payload(t, "github-pull_request.json")
	signed := map[string]string{"Content-Type": "application/json", "x-hub-signature-256": hooktest.GitHubSignature(created.Secret, body)}
	status, _, answer = hooktest.Post(t, tester.Client, "POST", created.URL, body, signed)
	if status != 202 || gjson.Get(answer, "variables.source_ref").String() != gjson.GetBytes(body, "pull_request.head.ref").String() ||
		gjson.Get(answer, "variables.pull_request_id").Int() != gjson.GetBytes(body, "pull_request.number").Int() {
		t.Fatalf("signed pull request: %d %s", status, answer)
	}
	waitForAction(t, tester, gjson.Get(answer, "action_id").String())

	// Trigger: the defaults, and the action's id in a header too.
	status, header, answer = apiWithHeader(t, tester, "POST", "/hooks/"+created.ID+"/trigger", "")
	if status != 202 || header.Get("X-Devopness-Action-Id") == "" || header.Get("X-Devopness-Action-Id") != gjson.Get(answer, "id").String() ||
		gjson.Get(answer, "variables.source_ref").String() != "main" || gjson.Get(answer, "variables.source_type").String() != "branch" {
		t.Fatalf("trigger: %d %v %s", status, header, answer)
	}
	if a := waitForAction(t, tester, header.Get("X-Devopness-Action-Id")); a.Hook != "Deploy `main` branch" {
		t.Errorf("triggered action %+v", a)
	}

	// Refused replacements change nothing.
	var before, after json.RawMessage
	api(t, tester, "GET", "/hooks/incoming/"+created.ID, "", &before)
	for _, c := range []struct {
		name, body   string
		status       int
		code, detail string
	}{
		{"another id", `{"id": "hk_other", "name": "x"}`, 422, "invalid_field", "id"},
		{"no name", `{"id": "` + created.ID + `"}`, 422, "invalid_field", "name"},
		{"unknown field", `{"name": "x", "colour": "red"}`, 400, "unknown_field", "colour"},
		{"unknown variable type", `{"name": "x", "settings": {"variables": [{"name": "d", "path": "d", "type": "date"}]}}`, 422, "invalid_field", "date"},
	} {
		status, answer := api(t, tester, "PUT", "/hooks/incoming/"+created.ID, c.body, nil)
		expectError(t, "PUT with "+c.name, status, answer, c.status, c.code, c.detail)
	}
	api(t, tester, "GET", "/hooks/incoming/"+created.ID, "", &after)
	if string(before) != string(after) {
		t.Errorf("refused PUTs changed the hook:\n%s\n%s", before, after)
	}

	// A replacement keeps id, URL and secret; inactive, its URL is 404.
	status, answer = api(t, tester, "PUT", "/hooks/incoming/"+created.ID, `{"id": "`+created.ID+`", "name": "replaced", "active": false,
		"secret_header_name": "x-hub-signature-256", "settings": {"variables": [{"name": "source_ref", "path": "pull_request.head.ref", "type": "string"}]}}`, nil)
	if status != 204 {
		t.Fatalf("put: %d %s", status, answer)
	}
	var replaced hookCreated
	api(t, tester, "GET", "/hooks/incoming/"+created.ID, "", &replaced)
	if replaced.URL != created.URL || len(replaced.Settings.Variables) != 1 || replaced.ID != created.ID {
		t.Errorf("replaced: %+v", replaced)
	}
	status, _, answer = hooktest.Post(t, tester.Client, "POST", created.URL, body, signed)
	expectError(t, "an inactive hook's URL", status, answer, 404, "not_found", "active")
	status, answer = api(t, tester, "POST", "/hooks/"+created.ID+"/trigger", "", nil)
	expectError(t, "trigger an inactive hook", status, answer, 409, "inactive", "active")
	if status, answer = api(t, tester, "PATCH", "/hooks/"+created.ID, `{"active": true}`, nil); status != 200 || !strings.Contains(answer, `"active":true`) {
		t.Fatalf("activate: %d %s", status, answer)
	}
	if status, _, answer = hooktest.Post(t, tester.Client, "POST", created.URL, body, signed); status != 202 {
		t.Errorf("active again, same secret: %d %s", status, answer)
	}

	// Pages of one: a Link to the next and the last.
	status, header, answer = apiWithHeader(t, tester, "GET", "/pipelines/deploy/hooks?page=1&per_page=1", "")
	if status != 200 || gjson.Get(answer, "#").Int() != 1 || !strings.Contains(header.Get("Link"), `page=2&per_page=1>; rel="next"`) ||
		!strings.Contains(header.Get("Link"), `page=2&per_page=1>; rel="last"`) {
		t.Errorf("page 1 of 2: %d %v %s", status, header, answer)
	}
	if status, _, answer = apiWithHeader(t, tester, "GET", "/pipelines/deploy/hooks?page=3&per_page=1", ""); status != 200 || answer != "[]\n" {
		t.Errorf("beyond the last page: %d %s", status, answer)
	}

	if status, answer = api(t, tester, "DELETE", "/hooks/incoming/"+created.ID, "", nil); status != 204 {
		t.Fatalf("delete: %d %s", status, answer)
	}
	status, answer = api(t, tester, "GET", "/hooks/incoming/"+created.ID, "", nil)
	expectError(t, "a deleted hook", status, answer, 404, "not_found", "")
}

// TestDevopnessOutgoingHooks: an outgoing hook of a pipeline is a webhook
// scoped to it: it gets the state changes of that pipeline's actions
// only, with its request headers and its request_body template, each
// placeholder's value escaped so that the JSON stays valid; it is listed
// with the pipeline's hooks, read, replaced and deleted by the SDK's
// routes.
func TestDevopnessOutgoingHooks(t *testing.T) {
	r := hooktest.NewReceiver(t)
	tester := startAPI(t, r)
	template := `{"text": "deploy :status: of :action_id: (:ref:)", "pipeline": ":pipeline:", "unknown": ":nope:"}`
	var created struct {
		ID       string `json:"id"`
		Secret   string `json:"secret"`
		Pipeline string `json:"pipeline"`
		Settings struct {
			RequestBody *string `json:"request_body"`
		} `json:"settings"`
	}
	status, answer := api(t, tester, "POST", "/pipelines/deploy/hooks/outgoing", `{"name": "deploy-status",
		"target_url": "`+r.URL+`/status",
		"settings": {"request_headers": [{"name": "x-api-key", "value": "K"}], "request_body": `+template+`}}`, &created)
	if status != 201 || created.ID == "" || !strings.HasPrefix(created.Secret, "whsec_") || created.Pipeline != "deploy" ||
		created.Settings.RequestBody == nil || *created.Settings.RequestBody != template {
		t.Fatalf("create: %d %s", status, answer)
	}

	// An action of another pipeline: nothing; one of deploy: its states.
	var other, queued struct {
		ActionID string `json:"action_id"`
	}
	api(t, tester, "POST", "/pipelines/release/run", `{}`, &other)
	waitForAction(t, tester, other.ActionID)
	ref := `main "quoted" \ ref`
	refJSON, _ := json.Marshal(map[string]any{"variables": map[string]string{"ref": ref}})
	if status, answer = api(t, tester, "POST", "/pipelines/deploy/run", string(refJSON), &queued); status != 202 {
		t.Fatalf("run: %d %s", status, answer)
	}
	waitForAction(t, tester, queued.ActionID)
	got := r.Wait(t, "/status", 3)
	for i, status := range []string{"queued", "running", "succeeded"} {
		d := got[i]
		hooktest.CheckSignature(t, d, created.Secret)
		var body map[string]string
		if err := json.Unmarshal(d.Body, &body); err != nil || d.Header.Get("x-api-key") != "K" {
			t.Fatalf("delivery %d: %v %v: %s", i, err, d.Header, d.Body)
		}
		want := map[string]string{"text": "deploy " + status + " of " + queued.ActionID + " (" + ref + ")", "pipeline": "deploy", "unknown": ":nope:"}
		if !reflect.DeepEqual(body, want) {
			t.Errorf("delivery %d: %v, want %v", i, body, want)
		}
	}
	time.Sleep(100 * time.Millisecond)
	if n := len(r.Wait(t, "/status", 3)); n != 3 {
		t.Errorf("%d deliveries, want deploy's 3 only", n)
	}

	// Listed with the pipeline's hooks; read, replaced, deleted.
	var list []map[string]any
	api(t, tester, "GET", "/pipelines/deploy/hooks", "", &list)
	if len(list) != 2 || list[1]["type"] != "outgoing" || list[1]["id"] != created.ID {
		t.Errorf("list: %v", list)
	}
	for _, c := range []struct {
		name, body   string
		status       int
		code, detail string
	}{
		{"another id", `{"id": "x", "name": "n", "url": "https://a.example"}`, 422, "invalid_field", "id"},
		{"no url", `{"name": "n"}`, 422, "invalid_field", "url"},
		{"unknown field", `{"name": "n", "url": "https://a.example", "colour": 1}`, 400, "unknown_field", "colour"},
	} {
		status, answer := api(t, tester, "PUT", "/hooks/outgoing/"+created.ID, c.body, nil)
		expectError(t, "PUT with "+c.name, status, answer, c.status, c.code, c.detail)
	}
	status, answer = api(t, tester, "PUT", "/hooks/outgoing/"+created.ID, `{"id": "`+created.ID+`", "name": "deploy-status-2",
		"url": "`+r.URL+`/status2", "active": false}`, nil)
	if status != 204 {
		t.Fatalf("put: %d %s", status, answer)
	}
	var replaced map[string]any
	api(t, tester, "GET", "/hooks/outgoing/"+created.ID, "", &replaced)
	if replaced["name"] != "deploy-status-2" || replaced["active"] != false || replaced["pipeline"] != "deploy" ||
		replaced["settings"].(map[string]any)["request_body"] != nil {
		t.Errorf("replaced: %v", replaced)
	}
	if status, answer = api(t, tester, "DELETE", "/hooks/outgoing/"+created.ID, "", nil); status != 204 {
		t.Fatalf("delete: %d %s", status, answer)
	}
	status, answer = api(t, tester, "GET", "/hooks/outgoing/"+created.ID, "", nil)
	expectError(t, "a deleted outgoing hook", status, answer, 404, "not_found", "")
}

// TestDevopnessTriggerRefusals: a trigger that cannot give a required
// variable a value is a 422 naming it, an unknown hook a 404, and neither
// queues an action.
func TestDevopnessTriggerRefusals(t *testing.T) {
	tester := startAPI(t, hooktest.NewReceiver(t))
	var created hookCreated
	if status, answer := api(t, tester, "POST", "/pipelines/deploy/hooks/incoming",
		`{"name": "needs ref", "settings": {"variables": [{"name": "ref", "path": "ref", "required": true}]}}`, &created); status != 201 {
		t.Fatalf("create: %d %s", status, answer)
	}
	status, answer := api(t, tester, "POST", "/hooks/"+created.ID+"/trigger", "", nil)
	expectError(t, "a required variable without a default", status, answer, 422, "invalid_field", "ref")
	status, answer = api(t, tester, "POST", "/hooks/hk_nope/trigger", "", nil)
	expectError(t, "an unknown hook", status, answer, 404, "not_found", "")
	var actions page[map[string]any]
	if api(t, tester, "GET", "/actions", "", &actions); len(actions.Items) != 0 {
		t.Errorf("refused triggers queued %d actions", len(actions.Items))
	}
}

// TestAPIHookVariableNames: any identifier is a variable name (Stripe's
// type), array is a type, and a variable without a path needs a default,
// the error naming it.
func TestAPIHookVariableNames(t *testing.T) {
	tester := startAPI(t, hooktest.NewReceiver(t))
	status, answer := api(t, tester, "POST", "/pipelines/deploy/hooks/incoming", `{"name": "stripe",
		"settings": {"variables": [{"name": "type", "path": "type", "type": "string"},
			{"name": "items", "path": "data.items", "type": "array"}]}}`, nil)
	if status != 201 {
		t.Errorf("type and array: %d %s", status, answer)
	}
	status, answer = api(t, tester, "POST", "/pipelines/deploy/hooks/incoming", `{"name": "x",
		"settings": {"variables": [{"name": "kind", "type": "string"}]}}`, nil)
	expectError(t, "path-less without default", status, answer, 422, "invalid_field", `variable "kind": no path and no default`)

	// The SDK may send trigger_when as null; a condition of its own shape
	// is refused, naming when instead.
	status, answer = api(t, tester, "POST", "/pipelines/deploy/hooks/incoming", `{"name": "sdk", "trigger_when": null}`, nil)
	if status != 201 {
		t.Errorf("trigger_when null: %d %s", status, answer)
	}
	status, answer = api(t, tester, "POST", "/pipelines/deploy/hooks/incoming", `{"name": "sdk2", "trigger_when": {"events": ["push"]}}`, nil)
	expectError(t, "trigger_when", status, answer, 422, "invalid_field", "put the condition in when")
}
