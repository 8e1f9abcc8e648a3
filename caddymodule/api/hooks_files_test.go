package api

import (
	"fmt"
	"testing"

	"github.com/hookgate/hookgate/caddymodule/internal/hooktest"
)

// TestAPIHookFileVariables: a hook of a pipeline whose step takes
// {file:vars.doc} must declare doc, whether it is created, changed by a
// PATCH or replaced by a Devopness PUT; a refused change changes nothing.
func TestAPIHookFileVariables(t *testing.T) {
	tester := startHardening(t, hooktest.NewReceiver(t))
	const want = `{file:vars.doc} names no variable of this hook`
	status, answer := api(t, tester, "POST", "/pipelines/archive/hooks/incoming", `{"name": "no-doc"}`, nil)
	expectError(t, "create without doc", status, answer, 422, "invalid_field", want)

	withDoc := `"settings": {"variables": [{"name": "doc", "path": "doc", "type": "string"}]}`
	var created hookCreated
	if status, answer := api(t, tester, "POST", "/pipelines/archive/hooks/incoming", `{"name": "with-doc", `+withDoc+`}`, &created); status != 201 {
		t.Fatalf("create with doc: %d %s", status, answer)
	}
	status, answer = api(t, tester, "PATCH", "/hooks/"+created.ID, `{"settings": {"variables": []}}`, nil)
	expectError(t, "PATCH dropping doc", status, answer, 422, "invalid_field", want)
	status, answer = api(t, tester, "PUT", "/hooks/incoming/"+created.ID, `{"name": "with-doc"}`, nil)
	expectError(t, "PUT without doc", status, answer, 422, "invalid_field", want)
	if status, answer := api(t, tester, "PUT", "/hooks/incoming/"+created.ID, fmt.Sprintf(`{"name": "renamed", %s}`, withDoc), nil); status != 204 {
		t.Errorf("PUT with doc: %d %s", status, answer)
	}
	var got struct {
		Name string `json:"name"`
	}
	if status, answer := api(t, tester, "GET", "/hooks/incoming/"+created.ID, "", &got); status != 200 || got.Name != "renamed" {
		t.Errorf("after the refused changes and the PUT: %d %s", status, answer)
	}
}
