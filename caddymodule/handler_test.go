package caddymodule

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2/caddytest"
	"github.com/hookgate/hookgate/caddymodule/internal/hooktest"
)

const githubSecret = "It's a Secret to Everybody"

// gatewayConfig is a site with a GitHub hook passed on to up, a sibling
// respond that must never answer an unverified hook, and a few more hooks
// for the rows of SPEC 4.
func gatewayConfig(up *upstream) string {
	return globalOptions + fmt.Sprintf(`
http://localhost:9080 {
	route /github {
		hookgate deploy-main {
			signature github
			secret "%[2]s" "old-secret"
			var ref ref string required
			var commit_hash head_commit.id
			var pusher pusher.name string default nobody
			var size size int
			var event header:X-GitHub-Event
			var flag query:flag bool
			when `+"`"+`event == "push" && vars.ref startsWith "refs/"`+"`"+`
		}
		reverse_proxy %[1]s {
			header_up X-Hook {hookgate.hook}
			header_up X-Ref {hookgate.vars.ref}
			header_up X-Commit {hookgate.vars.commit_hash}
			header_up X-Pusher {hookgate.vars.pusher}
			header_up X-Delivery {hookgate.delivery_id}
		}
	}
	route /small {
		hookgate {
			signature github
			secret "%[2]s"
			max_body 1KB
			methods POST PUT
		}
		respond "small passed" 200
	}
	route /stripe {
		hookgate {
			signature stripe
			secret whsec_test
		}
		respond "stripe passed" 200
	}
	hookgate /open* {
		insecure_no_signature
		var n n int required
	}
	respond "sibling answered" 200
}
`, up.hostPort(), githubSecret)
}

// signedGitHub returns headers of a push delivery signed with secret.
func signedGitHub(secret string, body []byte, event string) map[string]string {
	return map[string]string{
		"Content-Type":        "application/json",
		"X-GitHub-Event":      event,
		"X-GitHub-Delivery":   "72d3162e-cc78-11e3-81ab-4c9367dc0958",
		"X-Hub-Signature-256": hooktest.GitHubSignature(secret, body),
	}
}

func TestHandlerAnswers(t *testing.T) {
	up := newUpstream(t)
	tester := caddytest.NewTester(t)
	tester.InitServer(gatewayConfig(up), "caddyfile")
	push := hooktest.Payload(t, "github-push.json")

	t.Run("verified push passes on with placeholders", func(t *testing.T) {
		status, _, body := hooktest.Post(t, tester.Client, "POST", "http://localhost:9080/github", push, signedGitHub(githubSecret, push, "push"))
		if status != 200 || body != "upstream" {
			t.Fatalf("got %d %q, want 200 from the upstream", status, body)
		}
		got := up.last(t)
		if !bytes.Equal(got.body, push) {
			t.Error("the upstream did not get the exact body")
		}
		want := map[string]string{
			"X-Hook": "deploy-main", "X-Ref": "refs/heads/master", "X-Commit": "6113728f27ae82c7b1a177c8d03f9e96e0adf246",
			"X-Pusher": "Codertocat", "X-Delivery": "72d3162e-cc78-11e3-81ab-4c9367dc0958",
		}
		for k, v := range want {
			if got.header.Get(k) != v {
				t.Errorf("upstream header %s = %q, want %q", k, got.header.Get(k), v)
			}
		}
	})

	t.Run("old secret still valid during rotation", func(t *testing.T) {
		status, _, _ := hooktest.Post(t, tester.Client, "POST", "http://localhost:9080/github", push, signedGitHub("old-secret", push, "push"))
		if status != 200 {
			t.Fatalf("got %d, want 200", status)
		}
	})

	before := up.count()
	cases := []struct {
		name       string
		method     string
		path       string
		body       []byte
		header     map[string]string
		status     int
		wantJSON   string
		wantHeader map[string]string
	}{
		{"method not allowed", "GET", "/github", nil, nil, 405,
			`{"error":"method_not_allowed","allow":["POST"]}`, map[string]string{"Allow": "POST"}},
		{"method not allowed lists all", "DELETE", "/small", nil, nil, 405,
			`{"error":"method_not_allowed","allow":["POST","PUT"]}`, map[string]string{"Allow": "POST, PUT"}},
		{"too large", "POST", "/small", bytes.Repeat([]byte("a"), 2000), nil, 413,
			`{"error":"payload_too_large","limit":1000}`, nil},
		{"signature missing", "POST", "/github", push, map[string]string{"X-GitHub-Event": "push"}, 401,
			`{"error":"signature_missing"}`, nil},
		{"signature invalid", "POST", "/github", push, signedGitHub("wrong", push, "push"), 401,
			`{"error":"signature_invalid"}`, nil},
		{"tampered body", "POST", "/github", append(bytes.Clone(push), ' '), signedGitHub(githubSecret, push, "push"), 401,
			`{"error":"signature_invalid"}`, nil},
		{"stale timestamp", "POST", "/stripe", []byte(`{}`), map[string]string{
			"Stripe-Signature": stripeSignature("whsec_test", []byte(`{}`), time.Now().Add(-10*time.Minute))}, 401,
			`{"error":"timestamp_out_of_tolerance"}`, nil},
		{"not JSON", "POST", "/github", []byte("ref=x"), signedGitHub(githubSecret, []byte("ref=x"), "push"), 400,
			`{"error":"invalid_payload","detail":"the body is not valid JSON: at byte 0: invalid value","message":"the body is not valid JSON: at byte 0: invalid value"}`, nil},
		{"invalid UTF-8", "POST", "/github", []byte("{\"ref\":\"refs/\xff\"}"), signedGitHub(githubSecret, []byte("{\"ref\":\"refs/\xff\"}"), "push"), 400,
			`{"error":"invalid_payload","detail":"the body is not valid JSON: at byte 13: invalid UTF-8","message":"the body is not valid JSON: at byte 13: invalid UTF-8"}`, nil},
		{"required variable missing", "POST", "/github", []byte(`{"size":1}`), signedGitHub(githubSecret, []byte(`{"size":1}`), "push"), 422,
			`{"error":"invalid_variables","variables":[{"name":"ref","reason":"missing"}]}`, nil},
		{"variable of the wrong type", "POST", "/github", []byte(`{"ref":"refs/heads/main","size":"big"}`),
			signedGitHub(githubSecret, []byte(`{"ref":"refs/heads/main","size":"big"}`), "push"), 422,
			`{"error":"invalid_variables","variables":[{"name":"size","reason":"not int"}]}`, nil},
		{"query variable of the wrong type", "POST", "/github?flag=maybe", push, signedGitHub(githubSecret, push, "push"), 422,
			`{"error":"invalid_variables","variables":[{"name":"flag","reason":"not bool"}]}`, nil},
		{"condition false", "POST", "/github", push, signedGitHub(githubSecret, push, "issues"), 200,
			`{"status":"skipped","reason":"condition"}`, nil},
		{"malformed where a variable reads it", "POST", "/github", []byte(`{"ref":"refs/heads/main","head_commit":{"id":[1 2]}}`),
			signedGitHub(githubSecret, []byte(`{"ref":"refs/heads/main","head_commit":{"id":[1 2]}}`), "push"), 400,
			`{"error":"invalid_payload","detail":"the body is not valid JSON: at byte 48: want , or ] after an array element","message":"the body is not valid JSON: at byte 48: want , or ] after an array element"}`, nil},
		{"malformed at the top level", "POST", "/github", []byte(`{"ref":"refs/heads/main","zen":tru}`),
			signedGitHub(githubSecret, []byte(`{"ref":"refs/heads/main","zen":tru}`), "push"), 400,
			`{"error":"invalid_payload","detail":"the body is not valid JSON: at byte 31: invalid literal, want true","message":"the body is not valid JSON: at byte 31: invalid literal, want true"}`, nil},
		{"no signature configured, insecure", "POST", "/open", []byte(`{"n":"x"}`), nil, 422,
			`{"error":"invalid_variables","variables":[{"name":"n","reason":"not int"}]}`, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			status, header, body := hooktest.Post(t, tester.Client, c.method, "http://localhost:9080"+c.path, c.body, c.header)
			if status != c.status {
				t.Fatalf("status %d, want %d (body %s)", status, c.status, body)
			}
			hooktest.AssertJSON(t, body, c.wantJSON)
			if ct := header.Get("Content-Type"); ct != "application/json" {
				t.Errorf("Content-Type %q", ct)
			}
			for k, v := range c.wantHeader {
				if header.Get(k) != v {
					t.Errorf("header %s = %q, want %q", k, header.Get(k), v)
				}
			}
			if strings.Contains(body, githubSecret) || strings.Contains(body, hooktest.GitHubSignature(githubSecret, push)) {
				t.Error("the answer echoes a secret or the expected signature")
			}
		})
	}
	if up.count() != before {
		t.Errorf("the upstream got %d rejected requests", up.count()-before)
	}

	t.Run("what no variable reads is passed on as it came", func(t *testing.T) {
		body := []byte(`{"ref":"refs/heads/main","repository":{"topics":["a" "b"]},"head_commit":{"id":"abc"}}`)
		status, _, answer := hooktest.Post(t, tester.Client, "POST", "http://localhost:9080/github", body, signedGitHub(githubSecret, body, "push"))
		if status != 200 || answer != "upstream" {
			t.Fatalf("got %d %q, want 200 from the upstream", status, answer)
		}
		if got := up.last(t); !bytes.Equal(got.body, body) || got.header.Get("X-Commit") != "abc" {
			t.Errorf("the upstream got %q with X-Commit %q", got.body, got.header.Get("X-Commit"))
		}
	})

	t.Run("sibling respond never answers an unverified hook", func(t *testing.T) {
		status, _, body := hooktest.Post(t, tester.Client, "POST", "http://localhost:9080/open", []byte(`{"n":1}`), nil)
		if status != 200 || body != "sibling answered" {
			t.Fatalf("a verified insecure hook should reach the sibling: %d %q", status, body)
		}
		status, _, body = hooktest.Post(t, tester.Client, "POST", "http://localhost:9080/open", []byte(`{}`), nil)
		if status != 422 || strings.Contains(body, "sibling") {
			t.Fatalf("the sibling answered a rejected hook: %d %q", status, body)
		}
	})
}

// stripeSignature computes a Stripe-Signature header independently of
// the signature package.
func stripeSignature(secret string, body []byte, at time.Time) string {
	ts := fmt.Sprint(at.Unix())
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(ts + "." + string(body)))
	return "t=" + ts + ",v1=" + hex.EncodeToString(mac.Sum(nil))
}
