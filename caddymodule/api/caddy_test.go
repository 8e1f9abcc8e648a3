package api

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddytest"

	"github.com/hookgate/hookgate/caddymodule/internal/hooktest"
	"github.com/hookgate/hookgate/pipeline/action"
)

// The API's tests run a real Caddy of their own, beside the one of the
// caddymodule tests (go test runs packages at once), so they use other
// fixed ports: admin localhost:2998, HTTP 9180, HTTPS 9543. Run them under
// the port lock like the caddymodule tests.
const adminPort = 2998

// serverOptions are the global options every config of these tests
// starts with: the ports above, and no trust store or grace period to
// wait for.
const serverOptions = `	admin localhost:2998
	skip_install_trust
	grace_period 1ns
	http_port 9180
	https_port 9543
`

// TestMain keeps Caddy's data and config out of the home directory, and
// points caddytest at this package's admin port, loading every config on a
// connection of its own.
func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "hookgate-api-test-")
	if err != nil {
		panic(err)
	}
	os.Setenv("XDG_DATA_HOME", filepath.Join(dir, "data"))
	os.Setenv("XDG_CONFIG_HOME", filepath.Join(dir, "config"))
	caddytest.Default.AdminPort = adminPort
	hooktest.FreshAdminConnections()
	code := m.Run()
	closeBrowser()
	os.RemoveAll(dir)
	os.Exit(code)
}

// stopAtEnd unloads the config when the test ends, before its temporary
// directory goes, so that the engine stops while its database is there.
func stopAtEnd(t *testing.T) {
	t.Cleanup(func() {
		if err := caddy.Load([]byte(fmt.Sprintf(`{"admin":{"listen":"localhost:%d"}}`, adminPort)), true); err != nil {
			t.Errorf("unloading the config: %v", err)
		}
	})
}

// githubSecret is the secret of the Caddyfile's GitHub hook.
const githubSecret = "It's a Secret to Everybody"

// waitForAction polls the API until the action has finished, or fails.
func waitForAction(t *testing.T, tester *caddytest.Tester, id string) *action.Action {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		var a action.Action
		status, answer := api(t, tester, "GET", "/actions/"+id, "", &a)
		if status == 200 && a.Status.Finished() {
			return &a
		}
		if time.Now().After(deadline) {
			t.Fatalf("action %s has not finished: %d %s", id, status, answer)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
