package engine

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/hookgate/hookgate/pipeline/action"
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
	if err != nil || !strings.HasPrefix(tag.String(), "UPDATE") || tag.RowsAffected() != 1 {
		t.Fatalf("ageing the running job: %v, %v", tag, err)
	}
}
