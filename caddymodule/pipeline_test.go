package caddymodule

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddytest"

	"github.com/hookgate/hookgate/caddymodule/internal/hooktest"
	"github.com/hookgate/hookgate/pipeline/action"
	"github.com/hookgate/hookgate/pipeline/engine"
	"github.com/hookgate/hookgate/pipeline/store/storetest"
)

// pipelineConfig is a gateway whose hooks trigger pipelines that write
// into dir, stored in a SQLite database of its own.
func pipelineConfig(dir, extraPipelines string) string {
	return fmt.Sprintf(`{
`+serverOptions+`	hookgate {
		storage sqlite %[1]s/hookgate.db
		pipeline deploy {
			env TARGET %[1]s
			step record exec /bin/sh -c "printf '%%s|%%s|%%s\n' \"$1\" \"$HOOK_VAR_REF\" \"$2\" >> $TARGET/deploy.log" sh {vars.ref} {action.id}
		}
		pipeline slow {
			queue_limit 1
			timeout 2s
			step wait exec /bin/sleep {vars.seconds}
		}
		pipeline fails {
			step nope exec /no/such/command
		}
%[2]s
	}
}
http://localhost:9080 {
	handle /deploy {
		hookgate deploy {
			signature github
			secret "%[3]s"
			var ref ref string required
			dedup
			pipeline deploy
		}
	}
	handle /deploy-wait {
		hookgate {
			signature github
			secret "%[3]s"
			var ref ref string required
			pipeline deploy
			wait
		}
	}
	handle /slow {
		hookgate slow {
			insecure_no_signature
			var seconds seconds int required
			pipeline slow
		}
	}
	handle /fails {
		hookgate {
			insecure_no_signature
			pipeline fails
			wait
		}
	}
	handle /metrics {
		metrics
	}
}
`, dir, extraPipelines, githubSecret)
}

// stopAtEnd unloads the config when the test ends, before its temporary
// directory goes: the engine stops while its database is still there,
// rather than on the next test's config load, which it would slow down
// with River's retries against a vanished file.
func stopAtEnd(t *testing.T) {
	t.Cleanup(func() {
		if err := caddy.Load([]byte(`{"admin":{"listen":"localhost:2999"}}`), true); err != nil {
			t.Errorf("unloading the config: %v", err)
		}
	})
}

// currentEngine is the engine the running Caddy's hookgate app uses.
func currentEngine(t *testing.T) *engine.Engine {
	t.Helper()
	var e *engine.Engine
	engines.Range(func(_, v any) bool {
		e = v.(engineDestructor).Engine
		return false
	})
	if e == nil {
		t.Fatal("no engine is running")
	}
	return e
}

// waitForAction polls until the action has finished, or fails.
func waitForAction(t *testing.T, id string) *action.Action {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	a, err := currentEngine(t).Wait(ctx, id)
	if err != nil {
		t.Fatalf("action %s: %v", id, err)
	}
	return a
}

func TestPipelineTrigger(t *testing.T) {
	dir := t.TempDir()
	tester := caddytest.NewTester(t)
	tester.InitServer(pipelineConfig(dir, ""), "caddyfile")
	stopAtEnd(t)
	// A ref with shell metacharacters and a newline reaches the command
	// verbatim, as one argument.
	ref := "refs/heads/main; rm -rf / $(id)\nnext"
	body, _ := json.Marshal(map[string]string{"ref": ref})
	header := signedGitHub(githubSecret, body, "push")

	status, _, answer := hooktest.Post(t, tester.Client, "POST", "http://localhost:9080/deploy", body, header)
	if status != 202 {
		t.Fatalf("trigger: %d %s", status, answer)
	}
	var queued struct {
		Status    string         `json:"status"`
		ActionID  string         `json:"action_id"`
		Pipeline  string         `json:"pipeline"`
		Variables map[string]any `json:"variables"`
	}
	json.Unmarshal([]byte(answer), &queued)
	if queued.Status != "queued" || queued.ActionID == "" || queued.Pipeline != "deploy" || queued.Variables["ref"] != ref {
		t.Fatalf("answer %s", answer)
	}

	a := waitForAction(t, queued.ActionID)
	if a.Status != action.StatusSucceeded {
		t.Fatalf("action %+v", a)
	}
	log, err := os.ReadFile(filepath.Join(dir, "deploy.log"))
	if err != nil {
		t.Fatal(err)
	}
	want := ref + "|" + ref + "|" + queued.ActionID + "\n"
	if string(log) != want {
		t.Errorf("the command got %q, want %q", log, want)
	}

	// The same delivery again: duplicate, nothing runs again.
	status, _, answer = hooktest.Post(t, tester.Client, "POST", "http://localhost:9080/deploy", body, header)
	if status != 200 {
		t.Fatalf("redelivery: %d %s", status, answer)
	}
	hooktest.AssertJSON(t, answer, fmt.Sprintf(`{"status":"duplicate","action_id":%q}`, queued.ActionID))

	// wait: answered with the result.
	status, _, answer = hooktest.Post(t, tester.Client, "POST", "http://localhost:9080/deploy-wait", body, header)
	if status != 200 || !strings.Contains(answer, `"status":"succeeded"`) {
		t.Errorf("wait: %d %s", status, answer)
	}
	status, _, answer = hooktest.Post(t, tester.Client, "POST", "http://localhost:9080/fails", []byte(`{}`), nil)
	if status != 500 || !strings.Contains(answer, `"status":"failed"`) || !strings.Contains(answer, string(action.ReasonExecNotFound)) {
		t.Errorf("missing command: %d %s", status, answer)
	}

	// Caddy's metrics handler serves hooks by result, actions by state,
	// queue depth and action durations.
	_, _, metrics := hooktest.Post(t, tester.Client, "GET", "http://localhost:9080/metrics", nil, nil)
	for _, line := range []string{
		`hookgate_hooks_total{hook="deploy",result="queued"} 1`,
		`hookgate_hooks_total{hook="deploy",result="duplicate"} 1`,
		`hookgate_actions{pipeline="deploy",state="succeeded"} 2`,
		`hookgate_actions{pipeline="fails",state="failed"} 1`,
		`hookgate_queue_depth{pipeline="deploy"} 0`,
		`hookgate_action_duration_seconds_count{pipeline="fails",status="failed"}`,
		`hookgate_action_duration_seconds_bucket{pipeline="deploy",status="succeeded",le="+Inf"}`,
	} {
		if !strings.Contains(metrics, line) {
			t.Errorf("metrics lack %s", line)
		}
	}
}

func TestPipelineQueueLimitTimeoutCancel(t *testing.T) {
	dir := t.TempDir()
	tester := caddytest.NewTester(t)
	tester.InitServer(pipelineConfig(dir, ""), "caddyfile")
	stopAtEnd(t)
	trigger := func(seconds int) (int, map[string]any) {
		status, header, answer := hooktest.Post(t, tester.Client, "POST", "http://localhost:9080/slow", []byte(fmt.Sprintf(`{"seconds":%d}`, seconds)), nil)
		var m map[string]any
		json.Unmarshal([]byte(answer), &m)
		if status == 429 && header.Get("Retry-After") == "" {
			t.Error("429 without Retry-After")
		}
		return status, m
	}
	// The first runs (and times out after 2s), the second waits in the
	// queue (limit 1), the third is refused.
	_, first := trigger(30)
	running := first["action_id"].(string)
	pollStatus(t, running, action.StatusRunning)
	status, second := trigger(30)
	if status != 202 {
		t.Fatalf("second: %d %v", status, second)
	}
	status, third := trigger(30)
	if status != 429 || third["error"] != "queue_full" {
		t.Fatalf("third: %d %v", status, third)
	}
	// Cancel the queued one: it never runs.
	queued := second["action_id"].(string)
	if err := currentEngine(t).Cancel(context.Background(), queued); err != nil {
		t.Fatal(err)
	}
	if a := waitForAction(t, queued); a.Status != action.StatusCancelled || a.StartedAt != nil {
		t.Errorf("cancelled queued action: %+v", a)
	}
	if a := waitForAction(t, running); a.Status != action.StatusFailed || a.Reason != action.ReasonTimeout {
		t.Errorf("timed out action: %+v", a)
	}
}

// pollStatus waits until the action is in state want, or fails.
func pollStatus(t *testing.T, id string, want action.Status) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		a, err := currentEngine(t).Action(context.Background(), id)
		if err == nil && a.Status == want {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("action %s never reached %s", id, want)
}

// TestReloadDuringRunningAction reloads the config while an action runs:
// the action is not interrupted and ends as it would have.
func TestReloadDuringRunningAction(t *testing.T) {
	dir := t.TempDir()
	tester := caddytest.NewTester(t)
	tester.InitServer(pipelineConfig(dir, ""), "caddyfile")
	stopAtEnd(t)
	status, _, answer := hooktest.Post(t, tester.Client, "POST", "http://localhost:9080/slow", []byte(`{"seconds":1}`), nil)
	if status != 202 {
		t.Fatalf("trigger: %d %s", status, answer)
	}
	var m map[string]any
	json.Unmarshal([]byte(answer), &m)
	id := m["action_id"].(string)
	pollStatus(t, id, action.StatusRunning)
	// A new config: one more pipeline.
	tester.InitServer(pipelineConfig(dir, "pipeline extra {\n\t\t\tstep one exec /bin/true\n\t\t}"), "caddyfile")
	if a := waitForAction(t, id); a.Status != action.StatusSucceeded {
		t.Errorf("action across a reload: %+v", a)
	}
}

// TestDatabaseUnreachableAtStart: Caddy refuses to start, with a message
// that names the database host and never its password.
func TestDatabaseUnreachableAtStart(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // nothing listens there now
	cfg := adapt(t, fmt.Sprintf(`{
	admin off
	hookgate {
		storage postgres "postgres://deployer:s3cret-pw@%s/hooks?connect_timeout=2"
		pipeline deploy {
			step one exec /bin/true
		}
	}
}
http://127.0.0.1:9081 {
	respond ok
}
`, addr))
	err = caddy.Load(cfg, true)
	if err == nil {
		caddy.Stop()
		t.Fatal("Caddy started without its database")
	}
	if msg := err.Error(); !strings.Contains(msg, addr) || strings.Contains(msg, "s3cret-pw") {
		t.Errorf("start error %q: want the host %s and no password", msg, addr)
	}
}

// TestDatabaseLostAnswers503: with PostgreSQL gone while Caddy runs, a
// hook is answered 503 storage_unavailable (the sender retries) instead of
// 202 for an action that was never stored.
func TestDatabaseLostAnswers503(t *testing.T) {
	proxied, cut := storetest.ProxyDSN(t, storetest.PostgresDSN(t))
	tester := caddytest.NewTester(t)
	tester.InitServer(fmt.Sprintf(`{
	admin localhost:2999
	skip_install_trust
	http_port 9080
	hookgate {
		storage postgres "%s"
		pipeline deploy {
			step one exec /bin/true
		}
	}
}
http://localhost:9080 {
	hookgate {
		insecure_no_signature
		pipeline deploy
	}
}
`, proxied), "caddyfile")
	if status, _, answer := hooktest.Post(t, tester.Client, "POST", "http://localhost:9080/", []byte(`{}`), nil); status != 202 {
		t.Fatalf("with the database: %d %s", status, answer)
	}
	cut.Cut()
	status, header, answer := hooktest.Post(t, tester.Client, "POST", "http://localhost:9080/", []byte(`{}`), nil)
	if status != 503 || !strings.Contains(answer, `"error":"storage_unavailable"`) {
		t.Errorf("without the database: %d %s", status, answer)
	}
	if header.Get("Content-Type") != "application/json" {
		t.Errorf("Content-Type %q", header.Get("Content-Type"))
	}
	// The database comes back: hooks are accepted again.
	cut.Restore()
	deadline := time.Now().Add(20 * time.Second)
	for {
		status, _, answer = hooktest.Post(t, tester.Client, "POST", "http://localhost:9080/", []byte(`{}`), nil)
		if status == 202 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after the database came back: %d %s", status, answer)
		}
		time.Sleep(100 * time.Millisecond)
	}
	// Let go of the engine while its database is still reachable through
	// the proxy, which ends with the test.
	tester.InitServer(`{
	admin localhost:2999
	http_port 9080
}
http://localhost:9080 {
	respond "bye"
}
`, "caddyfile")
}
