package api

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2/caddytest"
	"github.com/hookgate/hookgate/caddymodule/internal/hooktest"
)

// ricloudClient sends exactly what ricloud-py 3.2.0 sends
// (ricloud/requests.py and ricloud/resources/abase.py, configs.py): the
// resource path joined to the base URL, Authorization: Token <key>,
// Ricloud-Await: 0, and bodies JSON-encoded as Python's json.dumps does,
// without a Content-Type. Like the client, it takes an answer of 400 or
// more as an error, and decodes every answer's body as JSON.
type ricloudClient struct {
	t      *testing.T
	tester *caddytest.Tester
	token  string
}

// send makes one request of the client and decodes its answer.
func (c *ricloudClient) send(method, path string, params url.Values, data map[string]string) (int, map[string]any) {
	c.t.Helper()
	var body io.Reader
	if data != nil {
		var parts []string
		for _, k := range []string{"url", "state"} { // json.dumps keeps the keyword order
			if v, ok := data[k]; ok {
				parts = append(parts, fmt.Sprintf("%q: %q", k, v))
			}
		}
		body = strings.NewReader("{" + strings.Join(parts, ", ") + "}")
	}
	target := apiBase + "/" + path
	if len(params) > 0 {
		target += "?" + params.Encode()
	}
	req, err := http.NewRequest(method, target, body)
	if err != nil {
		c.t.Fatal(err)
	}
	req.Header.Set("Authorization", "Token "+c.token)
	req.Header.Set("Ricloud-Await", "0")
	resp, err := c.tester.Client.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var out map[string]any
	if err := json.Unmarshal(raw, &out); err != nil {
		c.t.Fatalf("%s %s: %d, the client cannot decode %q: %v", method, path, resp.StatusCode, raw, err)
	}
	return resp.StatusCode, out
}

// WebhookConfig.create(url=...).
func (c *ricloudClient) create(u string) (int, map[string]any) {
	return c.send("POST", "configs/webhook", nil, map[string]string{"url": u})
}

// WebhookConfig.retrieve(id).
func (c *ricloudClient) retrieve(id string) (int, map[string]any) {
	return c.send("GET", "configs/webhook/"+id, nil, nil)
}

// WebhookConfig.list(**params).
func (c *ricloudClient) list(params url.Values) (int, map[string]any) {
	return c.send("GET", "configs/webhook", params, nil)
}

// WebhookConfig.update_with_id(id, **data).
func (c *ricloudClient) update(id string, data map[string]string) (int, map[string]any) {
	return c.send("POST", "configs/webhook/"+id, nil, data)
}

// WebhookConfig.test_with_id(id).
func (c *ricloudClient) test(id string) (int, map[string]any) {
	return c.send("GET", "configs/webhook/"+id+"/test", nil, nil)
}

// WebhookConfig.delete_with_id(id).
func (c *ricloudClient) delete(id string) (int, map[string]any) {
	return c.send("DELETE", "configs/webhook/"+id, nil, nil)
}

// waitForState retrieves the config until it is in state, or fails.
func (c *ricloudClient) waitForState(id, state string) map[string]any {
	c.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		_, got := c.retrieve(id)
		if got["state"] == state {
			return got
		}
		if time.Now().After(deadline) {
			c.t.Fatalf("config %s: %v, want state %s", id, got, state)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestRicloudClient makes ricloud-py's calls: create (a test delivery
// reaches the receiver at once and the config becomes valid), list,
// retrieve, update (a new URL is tested again), test and its task, the
// states new, valid, invalid and deactivated, refused updates, and delete
// with the deleted config as its answer.
func TestRicloudClient(t *testing.T) {
	r := hooktest.NewReceiver(t)
	tester := startAPI(t, r)
	c := &ricloudClient{t: t, tester: tester, token: writeToken}

	status, created := c.create(r.URL + "/ricloud")
	id, _ := created["id"].(string)
	if status != 201 || id == "" || created["resource"] != "webhook_config" || created["organisation"] != "acme" ||
		created["state"] != "new" || !strings.HasPrefix(fmt.Sprint(created["secret"]), "whsec_") || created["date_created"] == nil {
		t.Fatalf("create: %d %v", status, created)
	}
	secret := created["secret"].(string)
	hooktest.CheckSignature(t, r.Wait(t, "/ricloud", 1)[0], secret)
	valid := c.waitForState(id, "valid")
	if valid["resource"] != "webhook_config" || valid["secret"] == secret {
		t.Errorf("retrieve: %v", valid)
	}

	status, list := c.list(nil)
	data, _ := list["data"].([]any)
	if status != 200 || list["resource"] != "list" || list["has_more"] != false || list["url"] != "/configs/webhook" ||
		list["total_count"] != float64(len(data)) || len(data) != 2 {
		t.Fatalf("list: %d %v", status, list)
	}
	for _, item := range data {
		if item.(map[string]any)["resource"] != "webhook_config" {
			t.Errorf("listed %v has no resource", item)
		}
	}

	// A new URL: new, then tested at once and valid again.
	status, updated := c.update(id, map[string]string{"url": r.URL + "/ricloud2"})
	if status != 200 || updated["url"] != r.URL+"/ricloud2" || updated["resource"] != "webhook_config" {
		t.Fatalf("update: %d %v", status, updated)
	}
	r.Wait(t, "/ricloud2", 1)
	c.waitForState(id, "valid")

	// Test: a task, read again through /tasks/{id}.
	status, task := c.test(id)
	if status != 202 || task["resource"] != "task" || task["type"] != "webhook_config.test" || task["state"] != "succeeded" {
		t.Fatalf("test: %d %v", status, task)
	}
	status, again := c.send("GET", "tasks/"+task["id"].(string), nil, nil)
	if status != 200 || again["id"] != task["id"] || again["state"] != "succeeded" || again["resource"] != "task" {
		t.Errorf("task: %d %v", status, again)
	}
	r.Status.Store(500)
	if status, task = c.test(id); status != 202 || task["state"] != "failed" {
		t.Errorf("failing test: %d %v", status, task)
	}
	c.waitForState(id, "invalid")
	r.Status.Store(200)

	// Refused updates change nothing, and say why in message.
	for _, bad := range []struct {
		data   map[string]string
		status int
		word   string
	}{
		{map[string]string{"state": "valid"}, 422, "new or deactivated"},
		{map[string]string{"url": "ftp://x.example"}, 422, "url"},
	} {
		status, answer := c.update(id, bad.data)
		if status != bad.status || !strings.Contains(fmt.Sprint(answer["message"]), bad.word) {
			t.Errorf("update %v: %d %v", bad.data, status, answer)
		}
	}
	status, answer := c.send("POST", "configs/webhook/"+id, nil, nil)
	if status != 400 {
		t.Errorf("update without a body: %d %v", status, answer)
	}
	if _, got := c.retrieve(id); got["state"] != "invalid" || got["url"] != r.URL+"/ricloud2" {
		t.Errorf("refused updates changed %v", got)
	}

	// Deactivated: hidden unless filtered for; a test leaves it so.
	if status, updated = c.update(id, map[string]string{"state": "deactivated"}); status != 200 || updated["state"] != "deactivated" {
		t.Fatalf("deactivate: %d %v", status, updated)
	}
	if _, list = c.list(nil); len(list["data"].([]any)) != 1 {
		t.Errorf("deactivated config listed: %v", list)
	}
	if _, list = c.list(url.Values{"state": {"deactivated"}}); list["total_count"] != float64(1) {
		t.Errorf("deactivated list: %v", list)
	}
	c.test(id)
	if _, got := c.retrieve(id); got["state"] != "deactivated" {
		t.Errorf("a test changed a deactivated config: %v", got)
	}
	if status, updated = c.update(id, map[string]string{"state": "new"}); status != 200 {
		t.Fatalf("reactivate: %d %v", status, updated)
	}
	c.waitForState(id, "valid")

	// A read token may not send a test, even by GET.
	reader := &ricloudClient{t: t, tester: tester, token: readToken}
	if status, answer = reader.test(id); status != 403 || answer["message"] == nil {
		t.Errorf("test with a read token: %d %v", status, answer)
	}

	status, deleted := c.delete(id)
	if status != 200 || deleted["id"] != id || deleted["resource"] != "webhook_config" {
		t.Fatalf("delete: %d %v", status, deleted)
	}
	if status, answer = c.retrieve(id); status != 404 || answer["message"] == nil {
		t.Errorf("deleted: %d %v", status, answer)
	}
}
