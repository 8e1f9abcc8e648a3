package caddymodule

import (
	"bytes"
	"encoding/json"
	"fmt"
	"mime/multipart"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
	"github.com/caddyserver/caddy/v2/caddyconfig/httpcaddyfile"
	"github.com/caddyserver/caddy/v2/caddytest"
	"github.com/hookgate/hookgate/caddymodule/internal/hooktest"
)

// recordScript is a command that writes down what it was given: each
// argument, the content and mode of each argument that is one of the
// step's temporary files, and its HOOK_VAR_ environment. It prints its
// arguments, and exits with N when one of them is exit=N (the part that
// adnanh/webhook's test command plays).
const recordScript = `#!/bin/sh
out="$OUT/$HOOK_ACTION_ID"
mkdir -p "$out"
i=0
for a in "$@"; do
	printf '%s' "$a" > "$out/arg$i"
	case "$a" in
	*/hookgate-step-*) cat "$a" > "$out/file$i"; stat -c %a "$a" > "$out/mode$i" ;;
	esac
	i=$((i+1))
done
env | grep '^HOOK_VAR_' | sort > "$out/env"
echo "printed by the script"
echo "arg: $*"
for a in "$@"; do
	case "$a" in exit=*) exit "${a#exit=}" ;; esac
done
`

// recording is what recordScript wrote for one action.
type recording struct {
	args  []string
	files map[int]string // by argument index
	modes map[int]string
	env   map[string]string
}

// writeRecorder puts recordScript into dir and returns its path.
func writeRecorder(t *testing.T, dir string) string {
	t.Helper()
	path := filepath.Join(dir, "record.sh")
	if err := os.WriteFile(path, []byte(recordScript), 0o755); err != nil {
		t.Fatal(err)
	}
	return path
}

// readRecording reads what recordScript wrote for the action id.
func readRecording(t *testing.T, dir, id string) recording {
	t.Helper()
	out := filepath.Join(dir, "out", id)
	rec := recording{files: map[int]string{}, modes: map[int]string{}, env: map[string]string{}}
	for i := 0; ; i++ {
		arg, err := os.ReadFile(filepath.Join(out, fmt.Sprintf("arg%d", i)))
		if err != nil {
			break
		}
		rec.args = append(rec.args, string(arg))
		if f, err := os.ReadFile(filepath.Join(out, fmt.Sprintf("file%d", i))); err == nil {
			rec.files[i] = string(f)
			mode, _ := os.ReadFile(filepath.Join(out, fmt.Sprintf("mode%d", i)))
			rec.modes[i] = strings.TrimSpace(string(mode))
			if _, err := os.Stat(string(arg)); !os.IsNotExist(err) {
				t.Errorf("the temporary file %s outlived its step: %v", arg, err)
			}
		}
	}
	env, err := os.ReadFile(filepath.Join(out, "env"))
	if err != nil {
		t.Fatalf("action %s recorded nothing: %v", id, err)
	}
	for _, line := range strings.Split(strings.TrimSpace(string(env)), "\n") {
		if k, v, ok := strings.Cut(line, "="); ok {
			rec.env[k] = v
		}
	}
	return rec
}

// definitionsConfig is a gateway whose hooks use every kind of variable,
// the new sources, file arguments, in_cidr, skip_status and wait.
func definitionsConfig(dir, recorder string) string {
	return fmt.Sprintf(`{
`+serverOptions+`	hookgate {
		storage sqlite %[1]s/hookgate.db
		pipeline record {
			env OUT %[1]s/out
			step record exec %[2]s {vars.type} {file:payload} {file:vars.object} {vars.absent}
		}
		pipeline sources {
			env OUT %[1]s/out
			step record exec %[2]s {vars.method} {vars.ip} {vars.path} {file:base64:vars.blob} {vars.meta}
		}
	}
}
http://localhost:9080 {
	handle /stripe {
		hookgate stripe-events {
			signature stripe
			secret whsec_definitions
			var type type string required
			var object data.object json
			var absent data.object.nope int
			when `+"`"+`vars.type == "charge.succeeded" && object.amount > 0`+"`"+`
			skip_status 204
			pipeline record
		}
	}
	handle /github {
		hookgate github-push {
			signature github
			secret "%[3]s"
			var type header:X-GitHub-Event
			var object repository json
			var absent nope
			pipeline record
		}
	}
	handle /sources* {
		hookgate sources {
			signature hmac sha256 X-Signature hex prefix sha256=
			secret new-secret
			var headers header:*
			var params query:*
			var raw body:raw
			var method request:method
			var ip request:remote_ip
			var path request:path
			var meta meta json
			var blob blob
			var type type
			const kind constant
			when `+"`"+`in_cidr(ip, "127.0.0.0/8", "::1/128") && meta.tag == "x" && vars.type == "t" && kind == "constant"`+"`"+`
			pipeline sources
			wait
		}
	}
	handle /output {
		hookgate {
			insecure_no_signature
			var blob blob
			var meta meta json
			pipeline sources
			wait output
		}
	}
	handle /elsewhere {
		hookgate {
			insecure_no_signature
			when `+"`"+`in_cidr(remote_ip, "192.30.252.0/22")`+"`"+`
			skip_status 403
		}
		respond "passed"
	}
	handle /local {
		hookgate {
			insecure_no_signature
			when `+"`"+`in_cidr(remote_ip, "127.0.0.0/8", "::1/128")`+"`"+`
			skip_status 403
		}
		respond "passed"
	}
	handle /form {
		hookgate form {
			insecure_no_signature
			var ref ref string required
			var n n int required
		}
		respond "{hookgate.vars.ref} {hookgate.vars.n}"
	}
}
`, dir, recorder, githubSecret)
}

// queuedAnswer is the 202 answer of a triggered hook.
type queuedAnswer struct {
	ActionID  string         `json:"action_id"`
	Variables map[string]any `json:"variables"`
}

func TestHookDefinitions(t *testing.T) {
	dir := t.TempDir()
	tester := caddytest.NewTester(t)
	tester.InitServer(definitionsConfig(dir, writeRecorder(t, dir)), "caddyfile")
	stopAtEnd(t)

	t.Run("stripe type and file arguments", func(t *testing.T) {
		body := []byte(`{"id":"evt_1","type":"charge.succeeded","data":{"object":{"id":12345678901234567890,"amount":2000}}}`)
		header := map[string]string{"Content-Type": "application/json",
			"Stripe-Signature": stripeSignature("whsec_definitions", body, time.Now())}
		status, _, answer := hooktest.Post(t, tester.Client, "POST", "http://localhost:9080/stripe", body, header)
		if status != 202 {
			t.Fatalf("stripe: %d %s", status, answer)
		}
		var q queuedAnswer
		json.Unmarshal([]byte(answer), &q)
		if v, ok := q.Variables["absent"]; !ok || v != nil || !strings.Contains(answer, `"id":12345678901234567890`) {
			t.Errorf("variables: %s", answer)
		}
		waitForAction(t, q.ActionID)
		rec := readRecording(t, dir, q.ActionID)
		wantArgs := []string{"charge.succeeded", rec.args[1], rec.args[2], ""}
		if strings.Join(rec.args, "|") != strings.Join(wantArgs, "|") || rec.files[1] != string(body) ||
			rec.files[2] != `{"amount":2000,"id":12345678901234567890}` || rec.modes[1] != "600" || rec.modes[2] != "600" {
			t.Errorf("argv %q, files %v, modes %v", rec.args, rec.files, rec.modes)
		}
		if rec.env["HOOK_VAR_TYPE"] != "charge.succeeded" || rec.env["HOOK_VAR_OBJECT"] != `{"amount":2000,"id":12345678901234567890}` {
			t.Errorf("env %v", rec.env)
		}
		if _, ok := rec.env["HOOK_VAR_ABSENT"]; ok {
			t.Errorf("an absent variable is in the environment: %v", rec.env)
		}

		// A false condition answers the hook's skip_status.
		body = []byte(`{"type":"charge.failed","data":{"object":{"amount":1}}}`)
		header["Stripe-Signature"] = stripeSignature("whsec_definitions", body, time.Now())
		if status, _, answer = hooktest.Post(t, tester.Client, "POST", "http://localhost:9080/stripe", body, header); status != 204 || answer != "" {
			t.Errorf("skipped: %d %q", status, answer)
		}
	})

	t.Run("a GitHub push relayed to a script as a file", func(t *testing.T) {
		push := hooktest.Payload(t, "github-push.json")
		status, _, answer := hooktest.Post(t, tester.Client, "POST", "http://localhost:9080/github", push, signedGitHub(githubSecret, push, "push"))
		if status != 202 {
			t.Fatalf("push: %d %s", status, answer)
		}
		var q queuedAnswer
		json.Unmarshal([]byte(answer), &q)
		waitForAction(t, q.ActionID)
		rec := readRecording(t, dir, q.ActionID)
		if rec.args[0] != "push" || rec.files[1] != string(push) || rec.modes[1] != "600" ||
			!strings.Contains(rec.files[2], `"full_name":"Codertocat/Hello-World"`) {
			t.Errorf("argv %q, payload file of %d bytes (want %d), repository file %.80q", rec.args, len(rec.files[1]), len(push), rec.files[2])
		}
	})

	t.Run("sources, two signatures, in_cidr, wait without output", func(t *testing.T) {
		body := []byte(`{"meta":{"tag":"x","n":-98765432109876543210},"blob":"AAEC/w==","type":"t"}`)
		sig := hooktest.GitHubSignature("new-secret", body)
		header := map[string]string{"Content-Type": "application/json", "X-Custom": "one",
			"X-Signature": hooktest.GitHubSignature("old-secret", body) + "," + sig}
		status, _, answer := hooktest.Post(t, tester.Client, "POST", "http://localhost:9080/sources/x?page=2&page=3&q=a", body, header)
		if status != 200 || strings.Contains(answer, "printed by the script") || strings.Contains(answer, `"output"`) {
			t.Fatalf("wait: %d %s", status, answer)
		}
		var a struct {
			ID        string         `json:"id"`
			Variables map[string]any `json:"variables"`
			Steps     []struct {
				ExitCode *int `json:"exit_code"`
			} `json:"steps"`
		}
		json.Unmarshal([]byte(answer), &a)
		if len(a.Steps) != 1 || a.Steps[0].ExitCode == nil || *a.Steps[0].ExitCode != 0 {
			t.Errorf("wait answer: %s", answer)
		}
		headers, _ := a.Variables["headers"].(map[string]any)
		params, _ := a.Variables["params"].(map[string]any)
		if headers["X-Custom"] != "one" || params["page"] != "2" || params["q"] != "a" || a.Variables["raw"] != string(body) ||
			a.Variables["kind"] != "constant" {
			t.Errorf("variables %v", a.Variables)
		}
		rec := readRecording(t, dir, a.ID)
		if got := strings.Join(rec.args[:3], " "); got != "POST 127.0.0.1 /sources/x" && got != "POST ::1 /sources/x" {
			t.Errorf("request sources: %q", got)
		}
		if rec.files[3] != "\x00\x01\x02\xff" || rec.modes[3] != "600" {
			t.Errorf("base64 file %q mode %s", rec.files[3], rec.modes[3])
		}
		if rec.args[4] != `{"n":-98765432109876543210,"tag":"x"}` {
			t.Errorf("big integer argument %q", rec.args[4])
		}
		if !strings.Contains(rec.env["HOOK_VAR_HEADERS"], `"X-Custom":"one"`) || rec.env["HOOK_VAR_KIND"] != "constant" {
			t.Errorf("env %v", rec.env)
		}

		// Neither signature matches: 401.
		header["X-Signature"] = hooktest.GitHubSignature("old-secret", body) + "," + hooktest.GitHubSignature("older", body)
		if status, _, answer = hooktest.Post(t, tester.Client, "POST", "http://localhost:9080/sources/x", body, header); status != 401 {
			t.Errorf("no matching signature: %d %s", status, answer)
		}
	})

	t.Run("wait output and a bad base64 value", func(t *testing.T) {
		status, _, answer := hooktest.Post(t, tester.Client, "POST", "http://localhost:9080/output", []byte(`{"blob":"AAEC"}`), nil)
		if status != 200 || !strings.Contains(answer, "printed by the script") {
			t.Errorf("wait output: %d %s", status, answer)
		}
		secret := "not base64: a secret value"
		status, _, answer = hooktest.Post(t, tester.Client, "POST", "http://localhost:9080/output", []byte(`{"blob":"`+secret+`"}`), nil)
		var failed struct {
			Detail string `json:"detail"`
			Steps  []struct {
				Error string `json:"error"`
			} `json:"steps"`
		}
		json.Unmarshal([]byte(answer), &failed)
		if status != 500 || !strings.Contains(failed.Detail, "blob is not valid base64") || strings.Contains(failed.Detail, secret) ||
			len(failed.Steps) != 1 || strings.Contains(failed.Steps[0].Error, secret) {
			t.Errorf("bad base64: %d %s", status, answer)
		}
	})

	t.Run("in_cidr skip_status", func(t *testing.T) {
		status, _, answer := hooktest.Post(t, tester.Client, "POST", "http://localhost:9080/elsewhere", []byte(`{}`), nil)
		if status != 403 {
			t.Errorf("outside the ranges: %d %s", status, answer)
		}
		hooktest.AssertJSON(t, answer, `{"status":"skipped","reason":"condition"}`)
		// The same condition on the sender's own address passes it on:
		// remote_ip is read when the condition names it.
		status, _, answer = hooktest.Post(t, tester.Client, "POST", "http://localhost:9080/local", []byte(`{}`), nil)
		if status != 200 || string(answer) != "passed" {
			t.Errorf("inside the ranges: %d %s", status, answer)
		}
	})

	t.Run("multipart", func(t *testing.T) {
		var b bytes.Buffer
		mw := multipart.NewWriter(&b)
		mw.WriteField("ref", "refs/heads/main")
		mw.WriteField("n", "7")
		fw, _ := mw.CreateFormFile("n", "n.bin")
		fw.Write([]byte("not a variable"))
		mw.Close()
		status, _, answer := hooktest.Post(t, tester.Client, "POST", "http://localhost:9080/form", b.Bytes(),
			map[string]string{"Content-Type": mw.FormDataContentType()})
		if status != 200 || answer != "refs/heads/main 7" {
			t.Errorf("multipart fields: %d %q", status, answer)
		}
		b.Reset()
		mw = multipart.NewWriter(&b)
		mw.WriteField("payload", `{"ref":"refs/tags/v1","n":8}`)
		mw.Close()
		status, _, answer = hooktest.Post(t, tester.Client, "POST", "http://localhost:9080/form", b.Bytes(),
			map[string]string{"Content-Type": mw.FormDataContentType()})
		if status != 200 || answer != "refs/tags/v1 8" {
			t.Errorf("multipart payload: %d %q", status, answer)
		}
	})
}

// TestHookDefinitionLoadErrors: a {file:...} naming no variable of the
// hook fails the config load, naming the hook, the variable and the
// problem.
func TestHookDefinitionLoadErrors(t *testing.T) {
	dir := t.TempDir()
	for _, c := range []struct{ route, want string }{
		{"var ref ref\n\t\t\tpipeline p", `hook "bad": pipeline "p", step "s": {file:vars.doc} names no variable of this hook`},
		{"var doc doc\n\t\t\tskip_status 700\n\t\t\tpipeline p", "skip_status"},
	} {
		config := fmt.Sprintf(`{
`+serverOptions+`	hookgate {
		storage sqlite %s/hookgate.db
		pipeline p {
			step s exec /bin/cat {file:vars.doc}
		}
	}
}
http://localhost:9080 {
	hookgate bad {
		insecure_no_signature
		%s
	}
}
`, dir, c.route)
		adapter := caddyfile.Adapter{ServerType: httpcaddyfile.ServerType{}}
		cfg, _, err := adapter.Adapt([]byte(config), nil)
		if err == nil {
			err = caddy.Load(cfg, true)
		}
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("got %v, want an error with %q", err, c.want)
		}
	}
}
