package engine

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zaptest"

	"github.com/hookgate/hookgate/pipeline/action"
	"github.com/hookgate/hookgate/pipeline/store/storetest"
)

// helperEnv, set in a command's environment, makes the test binary act as
// the helper command of the tests instead of running them.
const helperEnv = "HOOKGATE_ENGINE_TEST_HELPER"

func TestMain(m *testing.M) {
	if os.Getenv(helperEnv) != "" {
		os.Exit(helper(os.Args[1:]))
	}
	os.Exit(m.Run())
}

// helper is a command for exec steps:
//
//	args A...        prints its arguments as a JSON list
//	env NAME         prints the value of an environment variable
//	exit N           exits with status N
//	sleep D          sleeps for the duration D
//	spawn PIDFILE    starts a child that sleeps, writes its PID, and sleeps
//	exclusive DIR D  fails if another exclusive runs with DIR, else sleeps D
//	pidsleep PIDFILE writes its PID and sleeps
//	engine ...       runs an engine until killed (see crashingEngine)
//	deliveries ...   runs a delivering engine until killed (see deliveringEngine)
func helper(args []string) int {
	switch args[0] {
	case "pidsleep":
		os.WriteFile(args[1], []byte(strconv.Itoa(os.Getpid())), 0o600)
		time.Sleep(time.Hour)
	case "engine":
		return crashingEngine(args[1:])
	case "deliveries":
		return deliveringEngine(args[1:])
	case "args":
		b, _ := json.Marshal(args[1:])
		fmt.Print(string(b))
	case "env":
		fmt.Print(os.Getenv(args[1]))
	case "exit":
		code, _ := strconv.Atoi(args[1])
		fmt.Println("exiting with", code)
		return code
	case "sleep":
		d, _ := time.ParseDuration(args[1])
		time.Sleep(d)
	case "spawn":
		child := exec.Command(os.Args[0], "sleep", "1h")
		if err := child.Start(); err != nil {
			fmt.Println(err)
			return 1
		}
		os.WriteFile(args[1], []byte(strconv.Itoa(child.Process.Pid)), 0o600)
		time.Sleep(time.Hour)
	case "exclusive":
		if err := os.Mkdir(args[1], 0o700); err != nil {
			fmt.Println("overlap:", err)
			return 99
		}
		d, _ := time.ParseDuration(args[2])
		time.Sleep(d)
		os.Remove(args[1])
	default:
		return 2
	}
	return 0
}

// helperStep is an exec step running the helper.
func helperStep(name string, args ...string) action.Step {
	return action.Step{Name: name, Exec: &action.Exec{
		Argv: append([]string{os.Args[0]}, args...),
		Env:  map[string]string{helperEnv: "1"},
	}}
}

// backend opens engines on one kind of storage.
type backend struct {
	name string
	// config makes the storage config of a new database for the test.
	config func(t testing.TB) StorageConfig
}

var backends = []backend{
	{"sqlite", func(t testing.TB) StorageConfig {
		return StorageConfig{Driver: "sqlite", Path: storetest.SQLitePath(t)}
	}},
	{"postgres", func(t testing.TB) StorageConfig {
		return StorageConfig{Driver: "postgres", DSN: storetest.PostgresDSN(t)}
	}},
}

// eachBackend runs a test on every backend.
func eachBackend(t *testing.T, fn func(t *testing.T, b backend)) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) { fn(t, b) })
	}
}

// testLogger logs to the test at info level and above (warnings and
// above for benchmarks).
func testLogger(t testing.TB) *zap.Logger {
	if _, ok := t.(*testing.B); ok {
		return zaptest.NewLogger(t, zaptest.Level(zap.WarnLevel))
	}
	return zaptest.NewLogger(t, zaptest.Level(zap.InfoLevel))
}

// open opens an engine with the pipelines, started unless noStart; it is
// stopped when the test ends.
func open(t testing.TB, sc StorageConfig, start bool, pipelines ...action.Pipeline) *Engine {
	t.Helper()
	e, err := Open(context.Background(), sc, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		if err := e.Stop(ctx); err != nil {
			t.Errorf("Stop: %v", err)
		}
	})
	if err := e.Configure(pipelines); err != nil {
		t.Fatal(err)
	}
	if start {
		if err := e.Start(); err != nil {
			t.Fatal(err)
		}
	}
	return e
}

// deadline is how long a test waits for something that should happen
// soon; only a broken engine reaches it.
const deadline = 60 * time.Second

// trigger triggers an action and returns its ID.
func trigger(t testing.TB, e *Engine, pipeline string, vars map[string]any) string {
	t.Helper()
	tr, err := e.Trigger(context.Background(), Trigger{Pipeline: pipeline, Hook: "test", Vars: vars})
	if err != nil {
		t.Fatal(err)
	}
	return tr.ActionID
}

// wait waits for an action to finish.
func wait(t testing.TB, e *Engine, id string) *action.Action {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), deadline)
	defer cancel()
	a, err := e.Wait(ctx, id)
	if err != nil {
		t.Fatalf("waiting for %s: %v", id, err)
	}
	return a
}

// waitFor polls cond until it holds.
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	end := time.Now().Add(deadline)
	for !cond() {
		if time.Now().After(end) {
			t.Fatalf("gave up waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// waitStatus waits for an action to reach a status.
func waitStatus(t testing.TB, e *Engine, id string, s action.Status) {
	t.Helper()
	waitFor(t, fmt.Sprintf("%s to be %s", id, s), func() bool {
		a, err := e.Action(context.Background(), id)
		return err == nil && a.Status == s
	})
}

// processGone reports whether the process pid has exited (a zombie
// counts as gone).
func processGone(pid int) bool {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return true
	}
	// The state follows the command name in parentheses.
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	return i >= 0 && i+2 < len(s) && s[i+2] == 'Z'
}
