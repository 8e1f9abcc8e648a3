package action

import (
	"context"
	"encoding/json"
	"os"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestTemplate(t *testing.T) {
	a := &Action{ID: "act_1", Pipeline: "deploy", Hook: "github", Variables: map[string]any{
		"ref": "feature/a b&c", "n": int64(42), "f": 1.5, "ok": true, "j": map[string]any{"k": "v"},
	}}
	sc := newScope(a, &Pipeline{Env: map[string]string{"TOKEN": "t0k"}})
	t.Setenv("HOOKGATE_TEMPLATE_TEST", "from-process")
	cases := []struct {
		in    string
		isURL bool
		want  string
	}{
		{"{vars.ref} {vars.n} {vars.f} {vars.ok} {vars.j} {vars.missing}", false, `feature/a b&c 42 1.5 true {"k":"v"} `},
		{"{action.id}/{action.pipeline}/{action.hook}", false, "act_1/deploy/github"},
		{"{env.TOKEN} {env.HOOKGATE_TEMPLATE_TEST}", false, "t0k from-process"},
		{"{unknown} {vars} {action.nope} {{vars.n}} } {", false, "{unknown} {vars} {action.nope} {42} } {"},
		{"https://x/{vars.ref}?ref={vars.ref}&id={action.id}", true, "https://x/feature%2Fa%20b&c?ref=feature%2Fa+b%26c&id=act_1"},
		{"plain", false, "plain"},
	}
	for _, c := range cases {
		if got := parseTemplate(c.in, c.isURL).render(sc); got != c.want {
			t.Errorf("%q: got %q, want %q", c.in, got, c.want)
		}
	}
}

func TestCompileErrors(t *testing.T) {
	ok := Step{Name: "s", Exec: &Exec{Argv: []string{"true"}}}
	cases := map[string]Pipeline{
		"invalid name":            {Name: "bad name", Steps: []Step{ok}},
		"no steps":                {Name: "p"},
		"concurrency":             {Name: "p", Concurrency: -1, Steps: []Step{ok}},
		"no name":                 {Name: "p", Steps: []Step{{Exec: &Exec{Argv: []string{"true"}}}}},
		"defined twice":           {Name: "p", Steps: []Step{ok, ok}},
		"neither exec nor http":   {Name: "p", Steps: []Step{{Name: "s"}}},
		"both exec and http":      {Name: "p", Steps: []Step{{Name: "s", Exec: ok.Exec, HTTP: &HTTP{URL: "http://x"}}}},
		"no command":              {Name: "p", Steps: []Step{{Name: "s", Exec: &Exec{}}}},
		"scheme must be http":     {Name: "p", Steps: []Step{{Name: "s", HTTP: &HTTP{URL: "ftp://x"}}}},
		"when: ":                  {Name: "p", Steps: []Step{{Name: "s", When: "vars.x ==", Exec: ok.Exec}}},
		"expected bool":           {Name: "p", Steps: []Step{{Name: "s", When: `"yes"`, Exec: ok.Exec}}},
		"body: ":                  {Name: "p", Steps: []Step{{Name: "s", HTTP: &HTTP{URL: "http://x", Body: "{"}}}},
		"invalid header name":     {Name: "p", Steps: []Step{{Name: "s", HTTP: &HTTP{URL: "http://x", Headers: map[string]string{"a b": "c"}}}}},
		"invalid environment var": {Name: "p", Steps: []Step{{Name: "s", Exec: &Exec{Argv: []string{"true"}, Env: map[string]string{"A=B": "c"}}}}},
		"want {file:payload}":     {Name: "p", Steps: []Step{{Name: "s", Exec: &Exec{Argv: []string{"cat", "{file:body}"}}}}},
		"not the command":         {Name: "p", Steps: []Step{{Name: "s", Exec: &Exec{Argv: []string{"{file:payload}"}}}}},
		"belongs in exec":         {Name: "p", Steps: []Step{{Name: "s", HTTP: &HTTP{URL: "http://x/{file:payload}"}}}},
		"not an environment":      {Name: "p", Steps: []Step{{Name: "s", Exec: &Exec{Argv: []string{"true"}, Env: map[string]string{"F": "{file:vars.a}"}}}}},
	}
	for want, p := range cases {
		_, err := Compile(p)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: error %v", want, err)
		}
	}
	plan, err := Compile(Pipeline{Name: "Deploy-prod_2", Steps: []Step{ok}})
	if err != nil {
		t.Fatal(err)
	}
	if p := plan.Pipeline; p.Concurrency != 1 || p.Timeout != DefaultTimeout || p.QueueLimit != 0 {
		t.Errorf("defaults: %+v", p)
	}
}

func TestNewID(t *testing.T) {
	now := time.Now()
	seen := map[string]bool{}
	var ids []string
	for i := range 1000 {
		id := NewID(now.Add(time.Duration(i) * time.Millisecond))
		if len(id) != 30 || !strings.HasPrefix(id, "act_") || seen[id] {
			t.Fatalf("bad or repeated ID %q", id)
		}
		seen[id] = true
		ids = append(ids, id)
	}
	if !slices.IsSorted(ids) {
		t.Error("IDs do not sort by time")
	}
}

// run compiles and runs a pipeline for an action with vars.
func run(t *testing.T, p Pipeline, vars map[string]any) (Outcome, []StepResult) {
	t.Helper()
	plan, err := Compile(p)
	if err != nil {
		t.Fatal(err)
	}
	var steps []StepResult
	o := plan.Run(context.Background(), &Action{ID: "act_1", Pipeline: p.Name, Hook: "h", Variables: vars},
		func(r StepResult) { steps = append(steps, r) })
	return o, steps
}

func TestExecEnvAndOutput(t *testing.T) {
	o, steps := run(t, Pipeline{Name: "p", Env: map[string]string{"PIPELINE_VAR": "pv"}, Steps: []Step{
		{Name: "env", Exec: &Exec{Argv: []string{"env"}, Env: map[string]string{"STEP_VAR": "{vars.ref}!"}}},
		{Name: "big", Exec: &Exec{Argv: []string{"head", "-c", "70000", "/dev/zero"}}},
		{Name: "dir", Exec: &Exec{Argv: []string{"pwd"}, Dir: os.TempDir()}},
	}}, map[string]any{"ref": "main", "commit-hash": "abc", "n": int64(7)})
	if o.Status != StatusSucceeded {
		t.Fatalf("outcome %+v, steps %+v", o, steps)
	}
	env := steps[0].Output
	for _, want := range []string{"PIPELINE_VAR=pv\n", "STEP_VAR=main!\n", "HOOK_VAR_REF=main\n",
		"HOOK_VAR_COMMIT_HASH=abc\n", "HOOK_VAR_N=7\n", "HOOK_ACTION_ID=act_1\n", "HOOK_PIPELINE=p\n", "HOOK_HOOK=h\n"} {
		if !strings.Contains(env, want) {
			t.Errorf("environment lacks %q", want)
		}
	}
	if big := steps[1]; len(big.Output) != outputLimit || !big.OutputTruncated {
		t.Errorf("big output: %d bytes, truncated %v", len(big.Output), big.OutputTruncated)
	}
	if got := strings.TrimSpace(steps[2].Output); got != strings.TrimRight(os.TempDir(), "/") {
		t.Errorf("working directory %q", got)
	}
}

func TestExpressionError(t *testing.T) {
	o, steps := run(t, Pipeline{Name: "p", Steps: []Step{
		{Name: "s", When: `vars.n > 3`, Exec: &Exec{Argv: []string{"true"}}},
	}}, map[string]any{"n": "not a number"})
	if o.Status != StatusFailed || o.Reason != ReasonExpression || len(steps) != 1 || steps[0].Status != StepFailed {
		t.Errorf("outcome %+v, steps %+v", o, steps)
	}
}

func TestCancelled(t *testing.T) {
	plan, err := Compile(Pipeline{Name: "p", Steps: []Step{{Name: "s", Exec: &Exec{Argv: []string{"sleep", "60"}}}}})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancelCause(context.Background())
	time.AfterFunc(100*time.Millisecond, func() { cancel(ErrCancelled) })
	o := plan.Run(ctx, &Action{ID: "act_1"}, func(StepResult) {})
	if o.Status != StatusCancelled || o.Reason != ReasonCancelled {
		t.Errorf("outcome %+v", o)
	}
}

func TestActionJSON(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	code := 0
	b, err := json.Marshal(Action{ID: "act_1", Pipeline: "deploy", Hook: "github", Status: StatusSucceeded,
		Variables: map[string]any{"ref": "main"}, CreatedAt: now, StartedAt: &now, FinishedAt: &now, Payload: []byte("secret"),
		Steps: []StepResult{{Name: "build", Kind: KindExec, Status: StepSucceeded, ExitCode: &code, DurationMS: 5, Output: "ok"}}})
	if err != nil {
		t.Fatal(err)
	}
	want := `{"id":"act_1","pipeline":"deploy","hook":"github","status":"succeeded","variables":{"ref":"main"},` +
		`"created_at":"2026-01-02T03:04:05Z","started_at":"2026-01-02T03:04:05Z","finished_at":"2026-01-02T03:04:05Z",` +
		`"steps":[{"name":"build","kind":"exec","status":"succeeded","exit_code":0,"duration_ms":5,"output":"ok"}]}`
	if string(b) != want {
		t.Errorf("got  %s\nwant %s", b, want)
	}
}
