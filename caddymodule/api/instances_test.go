package api

import (
	"strings"
	"testing"

	"github.com/hookgate/hookgate/caddymodule/internal/hooktest"
)

// TestAPIInstances: GET /instances lists this instance, live; on SQLite
// it holds no lease, so its lease times are null. Read tokens may list,
// and the answer is validated against openapi.json like every other.
func TestAPIInstances(t *testing.T) {
	tester := startAPI(t, hooktest.NewReceiver(t))
	var list page[instanceJSON]
	status, answer := apiAs(t, tester, readToken, "GET", "/instances", "", &list)
	if status != 200 || len(list.Items) != 1 {
		t.Fatalf("GET /instances: %d %s, want this instance", status, answer)
	}
	in := list.Items[0]
	if !in.Live || in.Lease != "" || in.ExpiresAt != nil || in.ID == "" || !strings.Contains(answer, `"running":[]`) {
		t.Errorf("instance %+v, want live, without a lease on SQLite", in)
	}
}
