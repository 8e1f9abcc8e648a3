package caddymodule

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2/caddytest"
	"github.com/hookgate/hookgate/caddymodule/internal/hooktest"
)

// envelope is the default body of a delivery.
type envelope struct {
	ID       string `json:"id"`
	Type     string `json:"type"`
	Version  string `json:"version"`
	Sequence int    `json:"sequence"`
	Data     struct {
		Action struct {
			ID        string         `json:"id"`
			Status    string         `json:"status"`
			Variables map[string]any `json:"variables"`
		} `json:"action"`
		Payload json.RawMessage `json:"payload"`
	} `json:"data"`
}

func webhookConfig(dir string, r *hooktest.Receiver) string {
	return fmt.Sprintf(`{
	admin localhost:2999
	skip_install_trust
	http_port 9080
	hookgate {
		storage sqlite %[1]s/hookgate.db
		allow_targets 127.0.0.0/8
		delivery {
			retry_schedule 50ms 50ms 50ms 50ms 50ms 50ms
			fail_after 3
			timeout 5s
		}
		pipeline deploy {
			step ok exec /bin/true
		}
		webhook status {
			url "%[2]s/status?action=:action_id:&ref=:ref:&other=:nope:"
			header X-Api-Key {env.HOOKGATE_TEST_STATUS_KEY}
			header X-Event :event:
			events action.queued action.running action.succeeded hook.rejected
			secret %[3]s
			json_payload
		}
		webhook chat {
			url %[2]s/chat
			events action.succeeded
			secret %[3]s
			when `+"`action.pipeline == \"deploy\"`"+`
			body `+"`{\"text\": \"deploy \" + action.status + \" at \" + action.variables.ref}`"+`
		}
	}
}
http://localhost:9080 {
	handle /metrics {
		metrics
	}
	handle /deploy {
		hookgate deploy {
			signature github
			secret "%[4]s"
			var ref ref string required
			pipeline deploy
		}
	}
}
`, dir, r.URL, hooktest.ReceiverSecret, githubSecret)
}

// TestWebhooksThroughCaddy: a triggered action's state changes reach the
// subscribed webhooks in order, signed, with their placeholders, the
// incoming payload and a shaped body; a forged hook is a hook.rejected
// event.
func TestWebhooksThroughCaddy(t *testing.T) {
	t.Setenv("HOOKGATE_TEST_STATUS_KEY", "key-from-env")
	r := hooktest.NewReceiver(t)
	tester := caddytest.NewTester(t)
	tester.InitServer(webhookConfig(t.TempDir(), r), "caddyfile")
	stopAtEnd(t)

	body := []byte(`{"ref":"refs/heads/main & co"}`)
	status, _, answer := hooktest.Post(t, tester.Client, "POST", "http://localhost:9080/deploy", body, signedGitHub(githubSecret, body, "push"))
	if status != 202 {
		t.Fatalf("trigger: %d %s", status, answer)
	}
	var queued struct {
		ActionID string `json:"action_id"`
	}
	json.Unmarshal([]byte(answer), &queued)

	got := r.Wait(t, "/status", 3)
	wantURI := "/status?action=" + queued.ActionID + "&ref=refs%2Fheads%2Fmain%20%26%20co&other=:nope:"
	for i, d := range got {
		hooktest.CheckSignature(t, d, hooktest.ReceiverSecret)
		var env envelope
		if err := json.Unmarshal(d.Body, &env); err != nil {
			t.Fatalf("delivery %d: %v: %s", i, err, d.Body)
		}
		wantType := []string{"action.queued", "action.running", "action.succeeded"}[i]
		if env.Type != wantType || env.Sequence != i+1 || env.Version != "1.0.0" || env.Data.Action.ID != queued.ActionID {
			t.Errorf("delivery %d: %s", i, d.Body)
		}
		if env.ID != d.Header.Get("webhook-id") {
			t.Errorf("delivery %d: envelope id %q, webhook-id %q", i, env.ID, d.Header.Get("webhook-id"))
		}
		if string(env.Data.Payload) != string(body) {
			t.Errorf("delivery %d: payload %s, want %s", i, env.Data.Payload, body)
		}
		if d.URI != wantURI {
			t.Errorf("delivery %d: URI %s, want %s", i, d.URI, wantURI)
		}
		if d.Header.Get("X-Api-Key") != "key-from-env" || d.Header.Get("X-Event") != wantType {
			t.Errorf("delivery %d: headers %v", i, d.Header)
		}
	}

	chat := r.Wait(t, "/chat", 1)
	hooktest.CheckSignature(t, chat[0], hooktest.ReceiverSecret)
	if want := `{"text":"deploy succeeded at refs/heads/main & co"}`; string(chat[0].Body) != want {
		t.Errorf("chat body %s, want %s", chat[0].Body, want)
	}

	// A forged hook: 401 for the sender, hook.rejected for the webhook.
	status, _, _ = hooktest.Post(t, tester.Client, "POST", "http://localhost:9080/deploy", body, signedGitHub("wrong", body, "push"))
	if status != 401 {
		t.Fatalf("forged hook: %d", status)
	}
	got = r.Wait(t, "/status", 4)
	var rejected struct {
		Type string `json:"type"`
		Data struct {
			Hook   string `json:"hook"`
			Reason string `json:"reason"`
		} `json:"data"`
	}
	last := got[3]
	json.Unmarshal(last.Body, &rejected)
	if rejected.Type != "hook.rejected" || !strings.Contains(string(last.Body), "signature_invalid") || !strings.Contains(last.URI, "action=none") {
		t.Errorf("rejection delivery %s: %s", last.URI, last.Body)
	}
	hooktest.CheckSignature(t, last, hooktest.ReceiverSecret)

	// The receiver may answer before the attempt is recorded: poll. The
	// counters are the process's, shared with other tests.
	want := []string{
		`hookgate_deliveries_total{outcome="succeeded",webhook="status"} `,
		`hookgate_delivery_latency_seconds_count{webhook="chat"} `,
		`hookgate_webhook_state{state="INTEGRATION_ACTIVE",webhook="status"} 1`,
		`hookgate_webhook_deliveries{state="held",webhook="status"} 0`,
	}
	var metrics string
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		_, _, metrics = hooktest.Post(t, tester.Client, "GET", "http://localhost:9080/metrics", nil, nil)
		missing := slices.DeleteFunc(slices.Clone(want), func(line string) bool { return strings.Contains(metrics, line) })
		if len(missing) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Errorf("metrics lack %q in:\n%s", missing, grepLines(metrics, "hookgate_deliver"))
			break
		}
	}
}

// grepLines keeps the lines of text that contain s.
func grepLines(text, s string) string {
	var out []string
	for _, line := range strings.Split(text, "\n") {
		if strings.Contains(line, s) {
			out = append(out, line)
		}
	}
	return strings.Join(out, "\n")
}
