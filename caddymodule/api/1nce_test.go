package api

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/hookgate/hookgate/caddymodule/internal/hooktest"
)

// Test1NCESeed sends the 1NCE docs' curl examples (both seed pages),
// bodies verbatim, to the API mounted at the root: create, list every
// integration, edit (a URL without a scheme), test and restart. The
// examples use the event types TELEMETRY_DATA and LIFECYCLE, aliases that
// come with the relay work (SPEC 7); without them the verbatim run is
// skipped, saying so, and the same requests run with hookgate's own type
// names, so that the routes are tested either way.
func Test1NCESeed(t *testing.T) {
	for _, file := range []string{"1nce-webhooks-a.txt", "1nce-webhooks-b.txt"} {
		t.Run(file+"/verbatim", func(t *testing.T) { run1NCESeed(t, file, false) })
		t.Run(file+"/own type names", func(t *testing.T) { run1NCESeed(t, file, true) })
	}
}

// run1NCESeed runs the curl examples of a 1NCE seed page, in its order.
func run1NCESeed(t *testing.T, file string, ownTypes bool) {
	r := hooktest.NewReceiver(t)
	tester := startAPI(t, r)
	curls := seedCurls(t, file)
	if len(curls) != 5 {
		t.Fatalf("%s: %d curl examples, want create, list, edit, test, restart", file, len(curls))
	}
	create, list, edit, test, restart := curls[0], curls[1], curls[2], curls[3], curls[4]
	if ownTypes {
		create.body = strings.ReplaceAll(create.body, "TELEMETRY_DATA", "hook.rejected")
		edit.body = strings.ReplaceAll(edit.body, "LIFECYCLE", "action.succeeded")
	}

	status, _, answer := create.send(t, tester, nil)
	if !ownTypes && status == 422 && strings.Contains(answer, "TELEMETRY_DATA") {
		t.Skip("the event type alias TELEMETRY_DATA is not there yet (it comes with the relay work, issue 12): " + answer)
	}
	var created webhookObjectJSON
	if err := json.Unmarshal([]byte(answer), &created); status != 201 || err != nil || created.ID == "" ||
		created.Name != "webhook-name-1" || created.State != "INTEGRATION_NEW" || created.Type != "WEBHOOK" ||
		created.Headers["x-api-key"] != "ABCDEFGHIJKLMNOPQRSTUVWXYZ" || !strings.HasPrefix(created.Secret, "whsec_") {
		t.Fatalf("create: %d %s", status, answer)
	}
	if want := map[bool]string{false: "TELEMETRY_DATA", true: "hook.rejected"}[ownTypes]; len(created.EventTypes) != 1 ||
		created.EventTypes[0].Type != want || created.EventTypes[0].Version != "1.0.0" {
		t.Errorf("event types %+v, want %s echoed as given", created.EventTypes, want)
	}
	ids := map[string]string{"{integrationId}": created.ID, "{token}": writeToken}

	status, _, answer = list.send(t, tester, ids)
	var all page[map[string]any]
	if err := json.Unmarshal([]byte(answer), &all); status != 200 || err != nil || all.Page != 1 || all.PageAmount != 1 {
		t.Fatalf("list: %d %s", status, answer)
	}
	found := false
	for _, item := range all.Items {
		if item["id"] == created.ID {
			found = true
			for _, field := range []string{"id", "name", "state", "type", "createdTime", "updatedTime", "eventTypes"} {
				if _, ok := item[field]; !ok {
					t.Errorf("listed integration has no %s: %v", field, item)
				}
			}
			if strings.Contains(answer, created.Secret) {
				t.Errorf("the list shows the secret")
			}
		}
	}
	if !found {
		t.Errorf("list: %s has no %s", answer, created.ID)
	}

	var edited webhookObjectJSON
	status, _, answer = edit.send(t, tester, ids)
	if err := json.Unmarshal([]byte(answer), &edited); status != 200 || err != nil || edited.URL != "https://www.example.com" ||
		edited.JSONPayloadEnabled || len(edited.EventTypes) != 1 || edited.Name != "webhook-name-1" {
		t.Fatalf("edit: %d %s", status, answer)
	}

	// The test delivery goes to a receiver on 127.0.0.1, not to
	// www.example.com: tests send traffic to this machine only.
	if status, answer = api(t, tester, "PATCH", oneNCEPrefix+"/webhooks/"+created.ID, `{"url": "`+r.URL+`/messages1"}`, nil); status != 200 {
		t.Fatalf("point at the receiver: %d %s", status, answer)
	}
	status, _, answer = test.send(t, tester, ids)
	if status != 200 || !strings.Contains(answer, `"success":true`) || !strings.Contains(answer, "INTEGRATION_ACTIVE") {
		t.Fatalf("test: %d %s", status, answer)
	}
	got := r.Wait(t, "/messages1", 1)[0]
	hooktest.CheckSignature(t, got, created.Secret)
	if !strings.Contains(string(got.Body), "webhook.test") || got.Header.Get("x-api-key") != "ABCDEFGHIJKLMNOPQRSTUVWXYZ" {
		t.Errorf("test delivery %v: %s", got.Header, got.Body)
	}
	status, _, answer = restart.send(t, tester, ids)
	if status != 200 || !strings.Contains(answer, "INTEGRATION_ACTIVE") {
		t.Errorf("restart: %d %s", status, answer)
	}

	var one webhookObjectJSON
	if status, answer = api(t, tester, "GET", oneNCEPrefix+"/webhooks/"+created.ID, "", &one); status != 200 || one.ID != created.ID {
		t.Errorf("get: %d %s", status, answer)
	}
	if status, answer = api(t, tester, "DELETE", oneNCEPrefix+"/webhooks/"+created.ID, "", nil); status != 204 {
		t.Errorf("delete: %d %s", status, answer)
	}
	status, answer = api(t, tester, "GET", "/webhooks/"+created.ID, "", nil)
	expectError(t, "a webhook deleted through 1NCE's route, read through hookgate's", status, answer, 404, "not_found", "")
}
