package engine

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hookgate/hookgate/pipeline/action"
)

func TestExecSucceeds(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		e := open(t, b.config(t), true, action.Pipeline{Name: "deploy", Steps: []action.Step{
			helperStep("args", "args", "{vars.msg}", "{action.id}", "plain"),
			helperStep("env", "env", "HOOK_VAR_MSG"),
		}})
		msg := "a b; $(touch /tmp/pwned) `id` | && > x\nsecond line 'single' \"double\" {vars.msg} *"
		id := trigger(t, e, "deploy", map[string]any{"msg": msg})
		a := wait(t, e, id)
		if a.Status != action.StatusSucceeded || len(a.Steps) != 2 {
			t.Fatalf("action %+v", a)
		}
		var args []string
		if err := json.Unmarshal([]byte(a.Steps[0].Output), &args); err != nil {
			t.Fatalf("output %q: %v", a.Steps[0].Output, err)
		}
		if len(args) != 3 || args[0] != msg || args[1] != id || args[2] != "plain" {
			t.Errorf("arguments %q", args)
		}
		if a.Steps[1].Output != msg {
			t.Errorf("HOOK_VAR_MSG = %q, want %q", a.Steps[1].Output, msg)
		}
		if a.Steps[0].ExitCode == nil || *a.Steps[0].ExitCode != 0 || a.StartedAt == nil || a.FinishedAt == nil {
			t.Errorf("action %+v", a)
		}
	})
}

func TestExitStatus(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		e := open(t, b.config(t), true, action.Pipeline{Name: "deploy", Steps: []action.Step{
			helperStep("fail", "exit", "3"),
			helperStep("never", "args"),
		}})
		a := wait(t, e, trigger(t, e, "deploy", nil))
		if a.Status != action.StatusFailed || a.Reason != action.ReasonExitStatus || len(a.Steps) != 1 {
			t.Fatalf("action %+v", a)
		}
		s := a.Steps[0]
		if s.ExitCode == nil || *s.ExitCode != 3 || s.Status != action.StepFailed || !strings.Contains(s.Output, "exiting with 3") {
			t.Errorf("step %+v", s)
		}
	})
}

func TestCommandNotFound(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		e := open(t, b.config(t), true, action.Pipeline{Name: "deploy", Steps: []action.Step{
			{Name: "missing", Exec: &action.Exec{Argv: []string{"hookgate-no-such-command", "x"}}},
			{Name: "missing-path", Exec: &action.Exec{Argv: []string{"./no-such-script.sh"}, Dir: t.TempDir()}},
		}})
		a := wait(t, e, trigger(t, e, "deploy", nil))
		if a.Status != action.StatusFailed || a.Reason != action.ReasonExecNotFound || !strings.Contains(a.Detail, "not found") {
			t.Fatalf("action %+v", a)
		}
		if len(a.Steps) != 1 || a.Steps[0].ExitCode != nil || !strings.Contains(a.Steps[0].Error, "hookgate-no-such-command") {
			t.Errorf("steps %+v", a.Steps)
		}
	})
}

func TestTimeoutKillsProcessGroup(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		pidFile := filepath.Join(t.TempDir(), "pid")
		e := open(t, b.config(t), true, action.Pipeline{Name: "deploy", Timeout: 500 * time.Millisecond, Steps: []action.Step{
			helperStep("spawn", "spawn", pidFile),
		}})
		a := wait(t, e, trigger(t, e, "deploy", nil))
		if a.Status != action.StatusFailed || a.Reason != action.ReasonTimeout {
			t.Fatalf("action %+v", a)
		}
		if len(a.Steps) != 1 || a.Steps[0].ExitCode == nil || *a.Steps[0].ExitCode != -1 {
			t.Errorf("steps %+v", a.Steps)
		}
		childGone(t, pidFile)
	})
}

// childGone checks that the child whose PID is in pidFile is killed.
func childGone(t *testing.T, pidFile string) {
	t.Helper()
	b, err := os.ReadFile(pidFile)
	if err != nil {
		t.Fatalf("the helper wrote no child PID: %v", err)
	}
	pid, _ := strconv.Atoi(string(b))
	waitFor(t, "the child to be killed with its group", func() bool { return processGone(pid) })
}

func TestStepTimeoutAndWhen(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		e := open(t, b.config(t), true, action.Pipeline{Name: "deploy", Steps: []action.Step{
			{Name: "skipped", When: `vars.ref != "main"`, Exec: &action.Exec{Argv: []string{"hookgate-no-such-command"}}},
			func() action.Step {
				s := helperStep("slow", "sleep", "1h")
				s.Timeout = 200 * time.Millisecond
				return s
			}(),
		}})
		a := wait(t, e, trigger(t, e, "deploy", map[string]any{"ref": "main"}))
		if a.Status != action.StatusFailed || a.Reason != action.ReasonTimeout || !strings.Contains(a.Detail, `"slow"`) {
			t.Fatalf("action %+v", a)
		}
		if len(a.Steps) != 2 || a.Steps[0].Status != action.StepSkipped || a.Steps[1].Status != action.StepFailed {
			t.Errorf("steps %+v", a.Steps)
		}
	})
}

func TestCancel(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		pidFile := filepath.Join(t.TempDir(), "pid")
		e := open(t, b.config(t), true, action.Pipeline{Name: "deploy", Steps: []action.Step{
			helperStep("spawn", "spawn", pidFile),
		}})
		ctx := context.Background()
		running := trigger(t, e, "deploy", nil)
		queued := trigger(t, e, "deploy", nil)
		waitStatus(t, e, running, action.StatusRunning)
		waitFor(t, "the child PID", func() bool { _, err := os.Stat(pidFile); return err == nil })

		if err := e.Cancel(ctx, queued); err != nil {
			t.Fatal(err)
		}
		a := wait(t, e, queued)
		if a.Status != action.StatusCancelled || a.Reason != action.ReasonCancelled || a.StartedAt != nil || len(a.Steps) != 0 {
			t.Errorf("queued action %+v", a)
		}
		if err := e.Cancel(ctx, queued); err != nil {
			t.Errorf("cancelling again: %v", err)
		}

		if err := e.Cancel(ctx, running); err != nil {
			t.Fatal(err)
		}
		a = wait(t, e, running)
		if a.Status != action.StatusCancelled || a.Reason != action.ReasonCancelled || len(a.Steps) != 1 {
			t.Errorf("running action %+v", a)
		}
		childGone(t, pidFile)

		if err := e.Cancel(ctx, "act_missing"); !errors.Is(err, ErrNotFound) {
			t.Errorf("Cancel of a missing action: %v", err)
		}
	})
}

func TestCancelFinished(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		e := open(t, b.config(t), true, action.Pipeline{Name: "deploy", Steps: []action.Step{helperStep("ok", "args")}})
		id := trigger(t, e, "deploy", nil)
		wait(t, e, id)
		if err := e.Cancel(context.Background(), id); !errors.Is(err, ErrFinished) {
			t.Errorf("Cancel of a finished action: %v, want ErrFinished", err)
		}
	})
}

func TestDedup(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		e := open(t, b.config(t), false, action.Pipeline{Name: "deploy", Steps: []action.Step{helperStep("ok", "args")}})
		ctx := context.Background()
		tr := Trigger{Pipeline: "deploy", Hook: "github", DeliveryID: "72d3162e-cc78-11e3-81ab-4c9367dc0958"}
		first, err := e.Trigger(ctx, tr)
		if err != nil || first.Duplicate {
			t.Fatalf("first trigger: %+v, %v", first, err)
		}
		// Concurrent redeliveries all get the first action.
		var wg sync.WaitGroup
		for range 10 {
			wg.Go(func() {
				again, err := e.Trigger(ctx, tr)
				if err != nil || !again.Duplicate || again.ActionID != first.ActionID {
					t.Errorf("redelivery: %+v, %v", again, err)
				}
			})
		}
		wg.Wait()
		other, err := e.Trigger(ctx, Trigger{Pipeline: "deploy", Hook: "gitlab", DeliveryID: tr.DeliveryID})
		if err != nil || other.Duplicate {
			t.Errorf("same delivery ID from another hook: %+v, %v", other, err)
		}
		list, err := e.Actions(ctx, ActionFilter{})
		if err != nil || len(list) != 2 {
			t.Errorf("%d actions, %v; want 2", len(list), err)
		}
	})
}

func TestQueueLimit(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		// Not started: nothing leaves the queue.
		e := open(t, b.config(t), false,
			action.Pipeline{Name: "deploy", QueueLimit: 2, Steps: []action.Step{helperStep("ok", "args")}},
			action.Pipeline{Name: "other", Steps: []action.Step{helperStep("ok", "args")}},
		)
		ctx := context.Background()
		trigger(t, e, "deploy", nil)
		trigger(t, e, "deploy", nil)
		if _, err := e.Trigger(ctx, Trigger{Pipeline: "deploy"}); !errors.Is(err, ErrQueueFull) {
			t.Errorf("third trigger: %v, want ErrQueueFull", err)
		}
		trigger(t, e, "other", nil)
		if _, err := e.Trigger(ctx, Trigger{Pipeline: "nope"}); !errors.Is(err, ErrUnknownPipeline) {
			t.Errorf("unknown pipeline: %v", err)
		}
		st, err := e.Stats(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if st.Pipelines["deploy"].Queued != 2 || st.Pipelines["other"].Queued != 1 {
			t.Errorf("stats %+v", st)
		}
		// Once started, the queue drains.
		if err := e.Start(); err != nil {
			t.Fatal(err)
		}
		waitFor(t, "the queue to drain", func() bool {
			st, err := e.Stats(ctx)
			return err == nil && st.Pipelines["deploy"].Succeeded == 2 && st.Pipelines["other"].Succeeded == 1
		})
	})
}

func TestConcurrencyOne(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		dir := filepath.Join(t.TempDir(), "running")
		e := open(t, b.config(t), true, action.Pipeline{Name: "deploy", Steps: []action.Step{
			helperStep("exclusive", "exclusive", dir, "50ms"),
		}})
		var ids []string
		for range 6 {
			ids = append(ids, trigger(t, e, "deploy", nil))
		}
		var spans [][2]time.Time
		for _, id := range ids {
			a := wait(t, e, id)
			if a.Status != action.StatusSucceeded {
				t.Fatalf("action %+v", a)
			}
			spans = append(spans, [2]time.Time{*a.StartedAt, *a.FinishedAt})
		}
		for i := range spans {
			for j := range spans {
				if i != j && spans[i][0].Before(spans[j][1]) && spans[j][0].Before(spans[i][1]) {
					t.Errorf("actions %d and %d ran at the same time: %v, %v", i, j, spans[i], spans[j])
				}
			}
		}
	})
}

func TestHTTPStep(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		type call struct {
			method, path, query, token, contentType, body string
		}
		calls := make(chan call, 10)
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			body, _ := io.ReadAll(r.Body)
			calls <- call{r.Method, r.URL.EscapedPath(), r.URL.RawQuery, r.Header.Get("Authorization"), r.Header.Get("Content-Type"), string(body)}
			if r.URL.Path == "/fail" {
				http.Error(w, "nope", http.StatusBadGateway)
				return
			}
			io.WriteString(w, "accepted")
		}))
		t.Cleanup(srv.Close)
		e := open(t, b.config(t), true,
			action.Pipeline{Name: "tell", Env: map[string]string{"CI_TOKEN": "s3cret"}, Steps: []action.Step{
				{Name: "post", HTTP: &action.HTTP{
					Method:  "POST",
					URL:     srv.URL + "/jobs/{vars.ref}?ref={vars.ref}&id={action.id}",
					Headers: map[string]string{"authorization": "Bearer {env.CI_TOKEN}"},
					Body:    `{"ref": vars.ref, "sha": vars.sha, "action": action.id}`,
				}},
				{Name: "text", HTTP: &action.HTTP{Method: "put", URL: srv.URL + "/text", Body: `"deploy " + vars.ref`}},
			}},
			action.Pipeline{Name: "fail", Steps: []action.Step{
				{Name: "post", HTTP: &action.HTTP{URL: srv.URL + "/fail"}},
			}},
		)
		id := trigger(t, e, "tell", map[string]any{"ref": "feature/x y", "sha": "abc"})
		a := wait(t, e, id)
		if a.Status != action.StatusSucceeded {
			t.Fatalf("action %+v", a)
		}
		if s := a.Steps[0]; s.HTTPStatus == nil || *s.HTTPStatus != 200 || s.Output != "accepted" {
			t.Errorf("step %+v", s)
		}
		c := <-calls
		var body map[string]any
		json.Unmarshal([]byte(c.body), &body)
		if c.method != "POST" || c.path != "/jobs/feature%2Fx%20y" || c.query != "ref=feature%2Fx+y&id="+id ||
			c.token != "Bearer s3cret" || c.contentType != "application/json" ||
			body["ref"] != "feature/x y" || body["sha"] != "abc" || body["action"] != id {
			t.Errorf("call %+v", c)
		}
		c = <-calls
		if c.method != "PUT" || c.body != "deploy feature/x y" || !strings.HasPrefix(c.contentType, "text/plain") {
			t.Errorf("call %+v", c)
		}

		a = wait(t, e, trigger(t, e, "fail", nil))
		if a.Status != action.StatusFailed || a.Reason != action.ReasonHTTPStatus || *a.Steps[0].HTTPStatus != 502 {
			t.Errorf("action %+v", a)
		}
	})
}

func TestStopInterruptsRunning(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		sc := b.config(t)
		pidFile := filepath.Join(t.TempDir(), "pid")
		e, err := Open(context.Background(), sc, testLogger(t))
		if err != nil {
			t.Fatal(err)
		}
		e.Configure([]action.Pipeline{{Name: "deploy", Steps: []action.Step{helperStep("spawn", "spawn", pidFile)}}})
		e.Start()
		id := trigger(t, e, "deploy", nil)
		waitStatus(t, e, id, action.StatusRunning)
		ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		defer cancel()
		e.Stop(ctx)
		childGone(t, pidFile)

		e = open(t, sc, false)
		a, err := e.Action(context.Background(), id)
		if err != nil || a.Status != action.StatusFailed || a.Reason != action.ReasonInterrupted {
			t.Errorf("action %+v, %v", a, err)
		}
	})
}

func TestRetention(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		sc := b.config(t)
		sc.Retention = time.Millisecond
		e := open(t, sc, true, action.Pipeline{Name: "deploy", Steps: []action.Step{helperStep("ok", "args")}})
		id := trigger(t, e, "deploy", nil)
		wait(t, e, id)
		time.Sleep(2 * time.Millisecond)
		if err := (&retentionWorker{e: e}).Work(context.Background(), nil); err != nil {
			t.Fatal(err)
		}
		if _, err := e.Action(context.Background(), id); !errors.Is(err, ErrNotFound) {
			t.Errorf("finished action past retention: %v, want ErrNotFound", err)
		}
	})
}

func TestReload(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		dir := t.TempDir()
		p := action.Pipeline{Name: "deploy", Steps: []action.Step{helperStep("first", "sleep", "300ms")}}
		e := open(t, b.config(t), true, p)
		id := trigger(t, e, "deploy", nil)
		waitStatus(t, e, id, action.StatusRunning)
		// A reload while the action runs: it goes on with its own config.
		p.Steps = []action.Step{helperStep("second", "args")}
		p.Concurrency = 2
		if err := e.Configure([]action.Pipeline{p}); err != nil {
			t.Fatal(err)
		}
		a := wait(t, e, id)
		if a.Status != action.StatusSucceeded || a.Steps[0].Name != "first" {
			t.Errorf("action %+v", a)
		}
		// New actions run with the new config, two at a time.
		p.Steps = []action.Step{helperStep("both", "exclusive", filepath.Join(dir, "x"), "2s")}
		if err := e.Configure([]action.Pipeline{p}); err != nil {
			t.Fatal(err)
		}
		waitFor(t, "the queue to be resized", func() bool {
			e.mu.Lock()
			defer e.mu.Unlock()
			return e.queues[queueName("deploy")] == 2 && !e.resizing[queueName("deploy")]
		})
		one, two := trigger(t, e, "deploy", nil), trigger(t, e, "deploy", nil)
		a1, a2 := wait(t, e, one), wait(t, e, two)
		if a1.Status == a2.Status {
			t.Errorf("with concurrency 2, both exclusive steps should not have %s: %+v %+v", a1.Status, a1, a2)
		}
		if err := e.Configure([]action.Pipeline{{Name: "bad name!"}}); err == nil {
			t.Error("a bad config was accepted")
		}
	})
}

func TestUnconfiguredPipeline(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		sc := b.config(t)
		e, err := Open(context.Background(), sc, testLogger(t))
		if err != nil {
			t.Fatal(err)
		}
		e.Configure([]action.Pipeline{{Name: "old", Steps: []action.Step{helperStep("ok", "args")}}})
		id := trigger(t, e, "old", nil)
		e.Stop(context.Background())

		// Started without that pipeline, the queued action ends rather
		// than wait forever.
		e = open(t, sc, true, action.Pipeline{Name: "new", Steps: []action.Step{helperStep("ok", "args")}})
		a := wait(t, e, id)
		if a.Status != action.StatusFailed || a.Reason != action.ReasonUnknownPipeline {
			t.Errorf("action %+v", a)
		}
	})
}
