package engine

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/hookgate/hookgate/pipeline/action"
	"github.com/hookgate/hookgate/pipeline/webhook"
)

// crashingEngine is the helper's engine mode, args DRIVER TARGET PIDFILE:
// it opens an engine on the storage, triggers two actions of a pipeline
// of concurrency 1 whose step writes its PID to PIDFILE and sleeps,
// prints the actions' IDs as a JSON list, and waits to be killed.
func crashingEngine(args []string) int {
	sc := StorageConfig{Driver: args[0], Path: args[1], DSN: args[1]}
	e, err := Open(context.Background(), sc, nil)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	p := action.Pipeline{Name: "deploy", Steps: []action.Step{helperStep("sleep", "pidsleep", args[2])}}
	if err := e.Configure([]action.Pipeline{p}); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	var ids []string
	for range 2 {
		tr, err := e.Trigger(context.Background(), Trigger{Pipeline: "deploy", Hook: "crash"})
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		ids = append(ids, tr.ActionID)
	}
	if err := e.Start(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	b, _ := json.Marshal(ids)
	fmt.Println(string(b))
	select {}
}

// TestCrash kills an engine process (kill -9) while one action runs and
// another is queued, then opens the storage again: the running action
// ends failed/interrupted, its process killed with the engine, and the
// queued one runs.
func TestCrash(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		sc := b.config(t)
		target := sc.Path
		if sc.Driver == "postgres" {
			target = sc.DSN
		}
		pidFile := filepath.Join(t.TempDir(), "pid")
		cmd := exec.Command(os.Args[0], "engine", sc.Driver, target, pidFile)
		cmd.Env = append(os.Environ(), helperEnv+"=1")
		cmd.Stderr = os.Stderr
		out, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
		line, err := bufio.NewReader(out).ReadString('\n')
		if err != nil {
			t.Fatalf("the engine process said nothing: %v", err)
		}
		var ids []string
		if err := json.Unmarshal([]byte(line), &ids); err != nil || len(ids) != 2 {
			t.Fatalf("the engine process said %q", line)
		}
		waitFor(t, "the step to run", func() bool {
			b, err := os.ReadFile(pidFile)
			return err == nil && len(b) > 0
		})
		pid, _ := os.ReadFile(pidFile)
		stepPID, _ := strconv.Atoi(string(pid))

		cmd.Process.Kill()
		cmd.Wait()
		waitFor(t, "the step's process to die with the engine", func() bool { return processGone(stepPID) })

		if sc.Driver == "postgres" {
			// The dead instance's job stays running until River's rescuer
			// finds it older than its timeout: move its start back a day
			// rather than wait.
			ageRunningJobs(t, sc.DSN)
		}
		e := open(t, sc, true, action.Pipeline{Name: "deploy", Steps: []action.Step{helperStep("ok", "args")}})
		a := wait(t, e, ids[0])
		if a.Status != action.StatusFailed || a.Reason != action.ReasonInterrupted {
			t.Errorf("the running action ended %s/%s: %+v", a.Status, a.Reason, a)
		}
		a = wait(t, e, ids[1])
		if a.Status != action.StatusSucceeded || len(a.Steps) != 1 || a.Steps[0].Name != "ok" {
			t.Errorf("the queued action: %+v", a)
		}
	})
}

// crashDeliveries is how many deliveries TestCrashDeliveries leaves pending.
const crashDeliveries = 1000

// crashWebhooks is the configuration of the delivery crash test: one
// webhook, subscribed to action.queued, posting to url.
func crashWebhooks(url string) WebhookConfig {
	return WebhookConfig{
		AllowTargets: loopback,
		Policy:       fastPolicy,
		Webhooks: []webhook.Definition{{Name: "crash", URL: url, Secrets: []string{testSecret},
			EventTypes: []webhook.EventType{{Type: webhook.TypeActionQueued}}}},
	}
}

// crashPipeline runs one long action at a time, so that the others stay
// queued: only their action.queued events are delivered.
func crashPipeline(pidFile string) action.Pipeline {
	return action.Pipeline{Name: "deploy", Steps: []action.Step{helperStep("sleep", "pidsleep", pidFile)}}
}

// deliveringEngine is the helper's deliveries mode, args DRIVER TARGET
// URL PIDFILE: it opens an engine with the crash webhook, triggers
// crashDeliveries actions, prints "ready" and waits to be killed.
func deliveringEngine(args []string) int {
	sc := StorageConfig{Driver: args[0], Path: args[1], DSN: args[1]}
	e, err := Open(context.Background(), sc, nil)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	if err := e.Configure([]action.Pipeline{crashPipeline(args[3])}); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	if _, err := e.ConfigureWebhooks(context.Background(), crashWebhooks(args[2])); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	if err := e.Start(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	var wg sync.WaitGroup
	for range crashDeliveries {
		wg.Go(func() {
			if _, err := e.Trigger(context.Background(), Trigger{Pipeline: "deploy", Hook: "crash"}); err != nil {
				fmt.Fprintln(os.Stderr, err)
				os.Exit(1)
			}
		})
	}
	wg.Wait()
	fmt.Println("ready")
	select {}
}

// TestCrashDeliveries kills an engine process (kill -9) while it delivers
// 1,000 events to a slow receiver, then opens the storage again: every
// event arrives at least once.
func TestCrashDeliveries(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		sc := b.config(t)
		target := sc.Path
		if sc.Driver == "postgres" {
			target = sc.DSN
		}
		rc := newReceiver(t, testSecret)
		rc.setAnswer(func(w http.ResponseWriter, r *http.Request) int {
			time.Sleep(5 * time.Millisecond)
			w.WriteHeader(http.StatusNoContent)
			return http.StatusNoContent
		})
		pidFile := filepath.Join(t.TempDir(), "pid")
		cmd := exec.Command(os.Args[0], "deliveries", sc.Driver, target, rc.srv.URL, pidFile)
		cmd.Env = append(os.Environ(), helperEnv+"=1")
		cmd.Stderr = os.Stderr
		out, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
		if line, err := bufio.NewReader(out).ReadString('\n'); err != nil || line != "ready\n" {
			t.Fatalf("the engine process said %q, %v", line, err)
		}
		waitFor(t, "some deliveries to arrive", func() bool { return len(rc.accepted()) >= 50 })
		cmd.Process.Kill()
		cmd.Wait()
		before := len(rc.accepted())
		if before >= crashDeliveries {
			t.Fatalf("every delivery arrived before the kill (%d): the test proves nothing", before)
		}
		if sc.Driver == "postgres" {
			ageRunningJobs(t, sc.DSN)
		}
		e := open(t, sc, false, crashPipeline(filepath.Join(t.TempDir(), "pid2")))
		configureWebhooks(t, e, crashWebhooks(rc.srv.URL))
		if err := e.Start(); err != nil {
			t.Fatal(err)
		}
		waitFor(t, "every delivery to arrive", func() bool {
			seen := make(map[string]bool)
			for _, r := range rc.accepted() {
				seen[r.Envelope.Data.Action.ID] = true
			}
			return len(seen) == crashDeliveries
		})
		for _, r := range rc.accepted() {
			if !r.SignatureOK {
				t.Fatalf("delivery %s: bad signature", r.ID)
			}
		}
		t.Logf("%d delivered before the kill, %d requests in all for %d events", before, len(rc.accepted()), crashDeliveries)
	})
}

// ageRunningJobs moves the attempts of running River jobs a day back.
func ageRunningJobs(t *testing.T, dsn string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	tag, err := conn.Exec(ctx, `UPDATE river_job SET attempted_at = attempted_at - interval '1 day' WHERE state = 'running'`)
	if err != nil || !strings.HasPrefix(tag.String(), "UPDATE") || tag.RowsAffected() < 1 {
		t.Fatalf("ageing the running jobs: %v, %v", tag, err)
	}
}
