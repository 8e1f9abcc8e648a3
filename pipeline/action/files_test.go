package action

import (
	"context"
	"encoding/base64"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// shellStep is an exec step running a shell script with extra arguments
// (the script itself is ours; values only ever arrive as arguments).
func shellStep(name, script string, args ...string) Step {
	return Step{Name: name, Exec: &Exec{Argv: append([]string{"/bin/sh", "-c", script, "sh"}, args...)}}
}

// runPlan compiles and runs one pipeline for a, and returns the outcome
// and the step results.
func runPlan(t *testing.T, p Pipeline, a *Action) (Outcome, []StepResult) {
	t.Helper()
	plan, err := Compile(p)
	if err != nil {
		t.Fatal(err)
	}
	var results []StepResult
	o := plan.Run(context.Background(), a, func(r StepResult) { results = append(results, r) })
	return o, results
}

func TestFileArguments(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("TMPDIR", dir)
	blob := []byte{0, 1, 2, 0xff, '\n'}
	a := &Action{ID: "act_1", Payload: []byte(`{"ref":"main"}` + "\n"), Variables: map[string]any{
		"doc": map[string]any{"n": 1}, "blob": base64.StdEncoding.EncodeToString(blob), "text": "a b",
	}}
	script := `for f in "$1" "$2" "$3"; do stat -c %a "$f"; cat "$f"; echo; done; echo "$1" > ` + filepath.Join(dir, "seen")
	o, res := runPlan(t, Pipeline{Name: "p", Steps: []Step{
		shellStep("files", script, "{file:payload}", "{file:vars.doc}", "{file:base64:vars.blob}"),
	}}, a)
	if o.Status != StatusSucceeded {
		t.Fatalf("%+v %+v", o, res)
	}
	want := "600\n" + `{"ref":"main"}` + "\n\n600\n" + `{"n":1}` + "\n600\n" + string(blob) + "\n"
	if res[0].Output != want {
		t.Errorf("output %q, want %q", res[0].Output, want)
	}
	seen, _ := os.ReadFile(filepath.Join(dir, "seen"))
	if _, err := os.Stat(strings.TrimSpace(string(seen))); !os.IsNotExist(err) {
		t.Errorf("the file outlived its step: %v", err)
	}
	if left, _ := filepath.Glob(filepath.Join(dir, "hookgate-step-*")); len(left) != 0 {
		t.Errorf("left behind: %v", left)
	}
}

func TestFileArgumentsRemovedOnTimeout(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("TMPDIR", dir)
	step := shellStep("slow", `echo "$1" > `+filepath.Join(dir, "seen")+`; sleep 10`, "{file:payload}")
	step.Timeout = 200 * time.Millisecond
	o, _ := runPlan(t, Pipeline{Name: "p", Steps: []Step{step}}, &Action{ID: "a", Payload: []byte("x")})
	if o.Reason != ReasonTimeout {
		t.Fatalf("%+v", o)
	}
	if left, _ := filepath.Glob(filepath.Join(dir, "hookgate-step-*")); len(left) != 0 {
		t.Errorf("left behind after a timeout: %v", left)
	}
}

func TestFileArgumentBadBase64(t *testing.T) {
	secret := "not base64 at all, and secret!"
	o, res := runPlan(t, Pipeline{Name: "p", Steps: []Step{shellStep("b", "cat $1", "{file:base64:vars.blob}")}},
		&Action{ID: "a", Variables: map[string]any{"blob": secret}})
	if o.Status != StatusFailed || o.Reason != ReasonExecError || !strings.Contains(o.Detail, "blob is not valid base64") {
		t.Fatalf("%+v", o)
	}
	if strings.Contains(o.Detail, secret) || strings.Contains(res[0].Error, secret) {
		t.Errorf("the value leaked: %+v", o)
	}
}

func TestLargeVariables(t *testing.T) {
	big := strings.Repeat("x", 128<<10)
	a := &Action{ID: "a", Variables: map[string]any{"big": big, "small": "s", "absent": nil}}
	o, res := runPlan(t, Pipeline{Name: "p", Steps: []Step{
		shellStep("unused", `echo "$HOOK_VAR_SMALL ${HOOK_VAR_BIG:-none} ${HOOK_VAR_ABSENT-unset}"; wc -c < "$HOOK_VAR_BIG_FILE"; stat -c %a "$HOOK_VAR_BIG_FILE"`),
		shellStep("as-file", `wc -c < "$1"`, "{file:vars.big}"),
		shellStep("as-argument", "true", "{vars.small}", "--big={vars.big}"),
		shellStep("never", "true"),
	}}, a)
	if got := res[0].Output; got != "s none unset\n131072\n600\n" {
		t.Errorf("step without the variable: %q (%+v)", got, res[0])
	}
	if res[1].Status != StepSucceeded || res[1].Output != "131072\n" {
		t.Errorf("as a file: %+v", res[1])
	}
	if o.Status != StatusFailed || res[2].Status != StepFailed || !strings.Contains(o.Detail, "{vars.big}") || len(res) != 3 {
		t.Errorf("argument too large: %+v %+v", o, res)
	}
}
