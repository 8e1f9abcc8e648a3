package caddymodule

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha1"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"mime/multipart"
	"net/url"
	"strings"
	"testing"

	"github.com/caddyserver/caddy/v2/caddytest"
	"github.com/hookgate/hookgate/caddymodule/internal/hooktest"
)

// adnanhConfig holds our own equivalents, as Caddyfile routes, of the
// hooks of adnanh/webhook's test/hooks.json.tmpl (the incoming-hook tool
// most of our users come from). Its command, hookecho, is played by
// recordScript: every pipeline runs it with the arguments the hook passes.
func adnanhConfig(dir, recorder string) string {
	return fmt.Sprintf(`{
`+serverOptions+`	hookgate {
		storage sqlite %[1]s/hookgate.db
		pipeline commit-and-author {
			env OUT %[1]s/out
			step echo exec %[2]s {vars.id} {vars.email}
		}
		pipeline gitlab-commit {
			env OUT %[1]s/out
			step echo exec %[2]s {vars.commit} {vars.user_name} {vars.user_email}
		}
		pipeline payload-file {
			env OUT %[1]s/out
			step echo exec %[2]s {file:payload}
		}
		pipeline raw-body {
			env OUT %[1]s/out
			step echo exec %[2]s {vars.raw}
		}
		pipeline request {
			env OUT %[1]s/out
			step echo exec %[2]s {vars.method} {vars.ip}
		}
		pipeline exit-0 {
			env OUT %[1]s/out
			step echo exec %[2]s exit=0
		}
		pipeline exit-1 {
			env OUT %[1]s/out
			step echo exec %[2]s exit=1
		}
		pipeline static {
			env OUT %[1]s/out
			step echo exec %[2]s passed
		}
		pipeline space {
			env OUT %[1]s/out
			step echo exec %[2]s foo passed
		}
	}
}
http://localhost:9080 {
	# github: an HMAC-SHA1 of the body in X-Hub-Signature (adnanh's
	# payload-hash-sha1, hex without a prefix), a value rule on ref, two
	# payload values as arguments and one in the environment, a custom
	# status for a mismatch, the command's output in the answer.
	handle /hooks/github {
		hookgate github {
			signature hmac sha1 X-Hub-Signature hex
			secret mysecret
			methods POST
			var ref ref
			var id head_commit.id
			var email head_commit.author.email
			var timestamp head_commit.timestamp
			when `+"`"+`vars.ref == "refs/heads/master"`+"`"+`
			skip_status 400
			pipeline commit-and-author
			wait output
		}
	}
	# github-multi-sig: one of several secrets, or one of several
	# signatures in the header, may match.
	handle /hooks/github-multi-sig {
		hookgate {
			signature hmac sha1 X-Hub-Signature hex
			secret mysecret-retired mysecret
			var ref ref
			var id head_commit.id
			var email head_commit.author.email
			var timestamp head_commit.timestamp
			when `+"`"+`vars.ref == "refs/heads/master"`+"`"+`
			pipeline commit-and-author
			wait output
		}
	}
	handle /hooks/github-multi-sig-fail {
		hookgate {
			signature hmac sha1 X-Hub-Signature hex
			secret mysecret-retired
			pipeline commit-and-author
			wait output
		}
	}
	# bitbucket: a form whose payload field holds the JSON.
	handle /hooks/bitbucket {
		hookgate {
			insecure_no_signature
			var canon_url canon_url
			var absolute_url repository.absolute_url
			var branch commits.0.branch
			when `+"`"+`canon_url == "https://bitbucket.org" && absolute_url == "/webhook/testing/" && branch == "master"`+"`"+`
			pipeline payload-file
			wait
		}
	}
	handle /hooks/gitlab {
		hookgate {
			insecure_no_signature
			var ref ref
			var commit commits.0.id
			var user_name user_name
			var user_email user_email
			when `+"`"+`vars.ref == "refs/heads/master"`+"`"+`
			pipeline gitlab-commit
			wait output
		}
	}
	handle /hooks/xml {
		hookgate {
			insecure_no_signature
			var name app.users.user.0.-name
			pipeline payload-file
			wait
		}
	}
	handle /hooks/txt-raw {
		hookgate {
			insecure_no_signature
			var raw body:raw
			pipeline raw-body
			wait output
		}
	}
	# sendgrid: the body is a JSON array.
	handle /hooks/sendgrid {
		hookgate {
			insecure_no_signature
			var event 0.event
			when `+"`"+`event == "processed"`+"`"+`
			pipeline payload-file
			wait
		}
	}
	handle /hooks/sendgrid/dir {
		hookgate {
			insecure_no_signature
			var event 0.event
			when `+"`"+`event == "it worked!"`+"`"+`
			pipeline payload-file
			wait
		}
	}
	# plex: multipart, the JSON in the payload field beside a file part.
	handle /hooks/plex {
		hookgate {
			insecure_no_signature
			var event event
			when `+"`"+`event == "media.play"`+"`"+`
			pipeline payload-file
			wait
		}
	}
	# issue-471: a rule on a parameter that does not exist is false, in
	# or and in and alike, and never an error.
	handle /hooks/issue-471 {
		hookgate {
			insecure_no_signature
			var exists exists int
			var missing doesnt_exist int
			when `+"`"+`exists == 1 || missing == 1`+"`"+`
			pipeline payload-file
			wait
		}
	}
	handle /hooks/issue-471-and {
		hookgate {
			insecure_no_signature
			var exists exists int
			var missing doesnt_exist int
			when `+"`"+`exists == 1 && missing == 1`+"`"+`
			pipeline payload-file
			wait
		}
	}
	handle /hooks/empty-payload-signature {
		hookgate {
			signature hmac sha1 X-Hub-Signature hex
			secret mysecret
			pipeline payload-file
			wait output
		}
	}
	handle /hooks/request-source {
		hookgate {
			signature hmac sha1 X-Hub-Signature hex
			secret mysecret
			var method request:method
			var ip request:remote_ip
			pipeline request
			wait output
		}
	}
	handle /hooks/capture-command-output-on-success-not-by-default {
		hookgate {
			insecure_no_signature
			pipeline exit-0
			wait
		}
	}
	handle /hooks/capture-command-output-on-success-yes-with-flag {
		hookgate {
			insecure_no_signature
			pipeline exit-0
			wait output
		}
	}
	handle /hooks/capture-command-output-on-error-not-by-default {
		hookgate {
			insecure_no_signature
			pipeline exit-1
			wait
		}
	}
	handle /hooks/capture-command-output-on-error-yes-with-extra-flag {
		hookgate {
			insecure_no_signature
			pipeline exit-1
			wait output
		}
	}
	handle /hooks/static-params-ok {
		hookgate {
			insecure_no_signature
			pipeline static
			wait output
		}
	}
	handle /hooks/warn-on-space {
		hookgate {
			insecure_no_signature
			pipeline space
			wait output
		}
	}
}
`, dir, recorder)
}

// sha1Hex is adnanh/webhook's payload-hash-sha1 signature, computed
// independently of the signature package.
func sha1Hex(secret string, body []byte) string {
	mac := hmac.New(sha1.New, []byte(secret))
	mac.Write(body)
	return hex.EncodeToString(mac.Sum(nil))
}

// waitAnswerJSON is the answer of a wait hook.
type waitAnswerJSON struct {
	ID     string `json:"id"`
	Status string `json:"status"`
	Steps  []struct {
		ExitCode *int    `json:"exit_code"`
		Output   *string `json:"output"`
	} `json:"steps"`
}

// TestAdnanhWebhookReplay replays the cases of adnanh/webhook's own test
// table (webhook_test.go's hookHandlerTests, over test/hooks.json.tmpl)
// against our equivalents of its hooks. Each case checks the answer and,
// where a command ran, its argv, environment and files. Where hookgate
// answers differently on purpose (JSON answers, 401 for a bad signature,
// no XML), the case says so.
func TestAdnanhWebhookReplay(t *testing.T) {
	dir := t.TempDir()
	tester := caddytest.NewTester(t)
	tester.InitServer(adnanhConfig(dir, writeRecorder(t, dir)), "caddyfile")
	stopAtEnd(t)

	githubPush := hooktest.Payload(t, "adnanh-github-push.json")
	gitlabPush := hooktest.Payload(t, "adnanh-gitlab-push.json")
	const commit, email = "1481a2de7b2a7d02428ad93446ab166be7793fbb", "lolwut@noway.biz"
	jsonType := map[string]string{"Content-Type": "application/json"}
	signed := func(secret string, body []byte) map[string]string {
		return map[string]string{"Content-Type": "application/json", "X-Hub-Signature": sha1Hex(secret, body)}
	}
	// A push whose head commit lacks the author's email, then one that
	// lacks the timestamp.
	noEmail := []byte(`{"ref":"refs/heads/master","head_commit":{"id":"` + commit + `","timestamp":"2013-03-12T08:14:29-07:00"}}`)
	noTimestamp := []byte(`{"ref":"refs/heads/master","head_commit":{"id":"` + commit + `","author":{"email":"` + email + `"}}}`)
	bitbucket := []byte("payload=" + url.QueryEscape(`{"canon_url":"https://bitbucket.org","commits":[{"author":"marcus","branch":"master"}],"repository":{"absolute_url":"/webhook/testing/"},"user":"marcus"}`))
	sendgrid := func(event string) []byte {
		return []byte(`[{"email":"example@test.com","timestamp":1513299569,"event":"` + event + `","category":"cat facts"}]`)
	}
	var plex bytes.Buffer
	mw := multipart.NewWriter(&plex)
	mw.WriteField("payload", `{"event":"media.play","user":true,"owner":true,"Account":{"id":1,"title":"elan"}}`)
	thumb, _ := mw.CreateFormFile("thumb", "thumb.jpg")
	thumb.Write([]byte("binary data \x00\x01"))
	mw.Close()
	multiSig := map[string]string{"Content-Type": "application/json",
		"X-Hub-Signature": sha1Hex("not-a-secret-of-ours", githubPush) + "," + sha1Hex("mysecret", githubPush)}

	for _, c := range []struct {
		desc, id, method string
		header           map[string]string
		body             []byte
		status           int
		// answer is a substring of the answer; output, when set, the
		// command's printed arguments, which the answer must (with wait
		// output) or must not (with wait) hold.
		answer, output string
		hideOutput     bool
		// argv and env are what the command got (nil: no command ran).
		argv []string
		env  map[string]string
		// payloadFile is the content of the {file:payload} argument.
		payloadFile []byte
	}{
		{desc: "github", id: "github", header: signed("mysecret", githubPush), body: githubPush, status: 200,
			output: "arg: " + commit + " " + email, argv: []string{commit, email},
			env: map[string]string{"HOOK_VAR_TIMESTAMP": "2013-03-12T08:14:29-07:00", "HOOK_VAR_REF": "refs/heads/master"}},
		{desc: "github-multi-sig", id: "github-multi-sig", header: multiSig, body: githubPush, status: 200,
			output: "arg: " + commit + " " + email, argv: []string{commit, email}},
		// adnanh answers 500 "Error occurred while evaluating hook rules."
		// for a signature that does not match; we answer 401.
		{desc: "github-multi-sig-fail", id: "github-multi-sig-fail", header: signed("mysecret", githubPush), body: githubPush,
			status: 401, answer: `"signature_invalid"`},
		{desc: "bitbucket", id: "bitbucket", header: map[string]string{"Content-Type": "application/x-www-form-urlencoded"},
			body: bitbucket, status: 200, answer: `"status":"succeeded"`, payloadFile: bitbucket},
		{desc: "gitlab", id: "gitlab", header: map[string]string{"Content-Type": "application/json", "X-Gitlab-Event": "Push Hook"},
			body: gitlabPush, status: 200, output: "arg: b6568db1bc1dcd7f8b4d5a946b0b91f9dacd7327 John Smith john@example.com",
			argv: []string{"b6568db1bc1dcd7f8b4d5a946b0b91f9dacd7327", "John Smith", "john@example.com"}},
		// XML bodies are not parsed: a variable that reads one answers 400.
		{desc: "xml", id: "xml", header: map[string]string{"Content-Type": "application/xml"},
			body: []byte(`<app><users><user id="1" name="Jeff"/></users></app>`), status: 400, answer: `"invalid_payload"`},
		{desc: "txt-raw", id: "txt-raw", header: map[string]string{"Content-Type": "text/plain"}, body: []byte("# FOO\n\nblah\nblah"),
			status: 200, output: "arg: # FOO\n\nblah\nblah", argv: []string{"# FOO\n\nblah\nblah"}},
		{desc: "payload-json-array", id: "sendgrid", header: jsonType, body: sendgrid("processed"), status: 200,
			answer: `"status":"succeeded"`, payloadFile: sendgrid("processed")},
		{desc: "slash-in-hook-id", id: "sendgrid/dir", header: jsonType, body: sendgrid("it worked!"), status: 200,
			answer: `"status":"succeeded"`, payloadFile: sendgrid("it worked!")},
		{desc: "multipart", id: "plex", header: map[string]string{"Content-Type": mw.FormDataContentType()}, body: plex.Bytes(),
			status: 200, answer: `"status":"succeeded"`, payloadFile: plex.Bytes()},
		{desc: "issue-471", id: "issue-471", header: jsonType, body: []byte(`{"exists": 1}`), status: 200, answer: `"status":"succeeded"`},
		{desc: "issue-471-and", id: "issue-471-and", header: jsonType, body: []byte(`{"exists": 1}`), status: 200,
			answer: `{"reason":"condition","status":"skipped"}`},
		{desc: "missing-cmd-arg", id: "github", header: signed("mysecret", noEmail), body: noEmail, status: 200,
			output: "arg: " + commit + " ", argv: []string{commit, ""}, env: map[string]string{"HOOK_VAR_TIMESTAMP": "2013-03-12T08:14:29-07:00"}},
		{desc: "missing-env-arg", id: "github", header: signed("mysecret", noTimestamp), body: noTimestamp, status: 200,
			output: "arg: " + commit + " " + email, argv: []string{commit, email}, env: map[string]string{"HOOK_VAR_TIMESTAMP": ""}},
		{desc: "empty-payload-signature", id: "empty-payload-signature", header: signed("mysecret", nil), body: nil, status: 200,
			answer: `"status":"succeeded"`, payloadFile: []byte{}},
		// adnanh passes remote-addr with its port; request:remote_ip is the
		// address alone.
		{desc: "request-source", id: "request-source", header: signed("mysecret", []byte(`{}`)), body: []byte(`{}`), status: 200,
			output: "arg: POST 127.0.0.1", argv: []string{"POST", "127.0.0.1"}},
		{desc: "global disallowed method", id: "bitbucket", method: "GET", status: 405, answer: `"method_not_allowed"`},
		{desc: "disallowed method", id: "github", method: "GET", status: 405, answer: `"method_not_allowed"`},
		// adnanh checks the signature as one of the rules, so an unsigned
		// {} answers its mismatch code 400; we answer 401 before any rule,
		// and the mismatch code once the hook is signed.
		{desc: "empty payload", id: "github", header: jsonType, body: []byte(`{}`), status: 401, answer: `"signature_missing"`},
		{desc: "empty payload, signed", id: "github", header: signed("mysecret", []byte(`{}`)), body: []byte(`{}`), status: 400,
			answer: `{"reason":"condition","status":"skipped"}`},
		// adnanh falls back to 200 for its invalid code 999; skip_status
		// 999 fails our config load, so the hook has none.
		{desc: "empty payload", id: "bitbucket", header: jsonType, body: []byte(`{}`), status: 200, answer: `"skipped"`},
		{desc: "empty payload", id: "gitlab", header: jsonType, body: []byte(`{}`), status: 200, answer: `"skipped"`},
		{desc: "don't capture output on success by default", id: "capture-command-output-on-success-not-by-default",
			header: jsonType, body: []byte(`{}`), status: 200, output: "arg: exit=0", hideOutput: true, argv: []string{"exit=0"}},
		{desc: "capture output on success with flag set", id: "capture-command-output-on-success-yes-with-flag",
			header: jsonType, body: []byte(`{}`), status: 200, output: "arg: exit=0", argv: []string{"exit=0"}},
		{desc: "don't capture output on error by default", id: "capture-command-output-on-error-not-by-default",
			header: jsonType, body: []byte(`{}`), status: 500, output: "arg: exit=1", hideOutput: true, argv: []string{"exit=1"}},
		{desc: "capture output on error with extra flag set", id: "capture-command-output-on-error-yes-with-extra-flag",
			header: jsonType, body: []byte(`{}`), status: 500, output: "arg: exit=1", argv: []string{"exit=1"}},
		{desc: "static params should pass", id: "static-params-ok", header: jsonType, body: []byte(`{}`), status: 200,
			output: "arg: passed", argv: []string{"passed"}},
		// adnanh refuses "command with space" in execute-command; a
		// Caddyfile step's words are its argv, so this simply runs.
		{desc: "command with space", id: "warn-on-space", header: jsonType, body: []byte(`{}`), status: 200,
			output: "arg: foo passed", argv: []string{"foo", "passed"}},
		// adnanh refuses an unknown content type; we read the body as JSON
		// whatever its type, and the signed {} is a mismatch.
		{desc: "unsupported content type", id: "github", header: map[string]string{"Content-Type": "nonexistent/format",
			"X-Hub-Signature": sha1Hex("mysecret", []byte(`{}`))}, body: []byte(`{}`), status: 400, answer: `"skipped"`},
	} {
		t.Run(c.desc+" "+c.id, func(t *testing.T) {
			method := c.method
			if method == "" {
				method = "POST"
			}
			status, _, answer := hooktest.Post(t, tester.Client, method, "http://localhost:9080/hooks/"+c.id, c.body, c.header)
			if status != c.status || !strings.Contains(answer, c.answer) {
				t.Fatalf("answered %d %s, want %d with %s", status, answer, c.status, c.answer)
			}
			if c.output != "" && strings.Contains(answer, strings.ReplaceAll(c.output, "\n", `\n`)) == c.hideOutput {
				t.Errorf("answer %s: output %q shown %v, want %v", answer, c.output, c.hideOutput, !c.hideOutput)
			}
			if c.argv == nil && c.env == nil && c.payloadFile == nil {
				return
			}
			var a waitAnswerJSON
			if err := json.Unmarshal([]byte(answer), &a); err != nil || a.ID == "" {
				t.Fatalf("not an action: %s", answer)
			}
			rec := readRecording(t, dir, a.ID)
			if c.payloadFile != nil {
				if len(rec.args) != 1 || rec.files[0] != string(c.payloadFile) || rec.modes[0] != "600" {
					t.Errorf("payload file %q (mode %s), want %q", rec.files[0], rec.modes[0], c.payloadFile)
				}
			} else if strings.Join(rec.args, "\x00") != strings.Join(c.argv, "\x00") {
				t.Errorf("argv %q, want %q", rec.args, c.argv)
			}
			for k, want := range c.env {
				if got, ok := rec.env[k]; got != want || ok != (want != "") {
					t.Errorf("env %s = %q (set %v), want %q", k, got, ok, want)
				}
			}
		})
	}
}
