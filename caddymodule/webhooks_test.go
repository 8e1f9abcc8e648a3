package caddymodule

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2/caddytest"
)

// receiverSecret signs the deliveries to the test receiver: whsec_ and the
// base64 of the key.
const receiverSecret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"

// delivery is one request the receiver got.
type delivery struct {
	uri    string
	header http.Header
	body   []byte
	// answered is the status the receiver answered.
	answered int
}

// receiver is a real HTTP endpoint on 127.0.0.1 that outgoing webhooks
// deliver to; it answers status (200 unless set otherwise).
type receiver struct {
	*httptest.Server
	status atomic.Int32
	mu     sync.Mutex
	got    []delivery
}

func newReceiver(t *testing.T) *receiver {
	r := &receiver{}
	r.status.Store(200)
	r.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		status := int(r.status.Load())
		r.mu.Lock()
		r.got = append(r.got, delivery{uri: req.URL.RequestURI(), header: req.Header.Clone(), body: body, answered: status})
		r.mu.Unlock()
		w.WriteHeader(status)
	}))
	t.Cleanup(r.Close)
	return r
}

// wait returns the deliveries to paths starting with prefix once there
// are at least n, or fails.
func (r *receiver) wait(t *testing.T, prefix string, n int) []delivery {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		r.mu.Lock()
		var out []delivery
		for _, d := range r.got {
			if strings.HasPrefix(d.uri, prefix) {
				out = append(out, d)
			}
		}
		r.mu.Unlock()
		if len(out) >= n {
			return out
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s got %d deliveries, want %d", prefix, len(out), n)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// checkSignature verifies a Standard Webhooks signature by hand, apart
// from the signing code.
func checkSignature(t *testing.T, d delivery, secret string) {
	t.Helper()
	key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, "whsec_"))
	if err != nil {
		t.Fatal(err)
	}
	id, ts := d.header.Get("webhook-id"), d.header.Get("webhook-timestamp")
	mac := hmac.New(sha256.New, key)
	fmt.Fprintf(mac, "%s.%s.%s", id, ts, d.body)
	want := "v1," + base64.StdEncoding.EncodeToString(mac.Sum(nil))
	if id == "" || ts == "" || !strings.Contains(" "+d.header.Get("webhook-signature")+" ", " "+want+" ") {
		t.Errorf("delivery %s: webhook-signature %q, want %q (id %q, timestamp %q)", d.uri, d.header.Get("webhook-signature"), want, id, ts)
	}
}

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

func webhookConfig(dir string, r *receiver) string {
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
`, dir, r.URL, receiverSecret, githubSecret)
}

// TestWebhooksThroughCaddy: a triggered action's state changes reach the
// subscribed webhooks in order, signed, with their placeholders, the
// incoming payload and a shaped body; a forged hook is a hook.rejected
// event.
func TestWebhooksThroughCaddy(t *testing.T) {
	t.Setenv("HOOKGATE_TEST_STATUS_KEY", "key-from-env")
	r := newReceiver(t)
	tester := caddytest.NewTester(t)
	tester.InitServer(webhookConfig(t.TempDir(), r), "caddyfile")
	stopAtEnd(t)

	body := []byte(`{"ref":"refs/heads/main & co"}`)
	status, _, answer := post(t, tester, "POST", "http://localhost:9080/deploy", body, signedGitHub(githubSecret, body, "push"))
	if status != 202 {
		t.Fatalf("trigger: %d %s", status, answer)
	}
	var queued struct {
		ActionID string `json:"action_id"`
	}
	json.Unmarshal([]byte(answer), &queued)

	got := r.wait(t, "/status", 3)
	wantURI := "/status?action=" + queued.ActionID + "&ref=refs%2Fheads%2Fmain%20%26%20co&other=:nope:"
	for i, d := range got {
		checkSignature(t, d, receiverSecret)
		var env envelope
		if err := json.Unmarshal(d.body, &env); err != nil {
			t.Fatalf("delivery %d: %v: %s", i, err, d.body)
		}
		wantType := []string{"action.queued", "action.running", "action.succeeded"}[i]
		if env.Type != wantType || env.Sequence != i+1 || env.Version != "1.0.0" || env.Data.Action.ID != queued.ActionID {
			t.Errorf("delivery %d: %s", i, d.body)
		}
		if env.ID != d.header.Get("webhook-id") {
			t.Errorf("delivery %d: envelope id %q, webhook-id %q", i, env.ID, d.header.Get("webhook-id"))
		}
		if string(env.Data.Payload) != string(body) {
			t.Errorf("delivery %d: payload %s, want %s", i, env.Data.Payload, body)
		}
		if d.uri != wantURI {
			t.Errorf("delivery %d: URI %s, want %s", i, d.uri, wantURI)
		}
		if d.header.Get("X-Api-Key") != "key-from-env" || d.header.Get("X-Event") != wantType {
			t.Errorf("delivery %d: headers %v", i, d.header)
		}
	}

	chat := r.wait(t, "/chat", 1)
	checkSignature(t, chat[0], receiverSecret)
	if want := `{"text":"deploy succeeded at refs/heads/main & co"}`; string(chat[0].body) != want {
		t.Errorf("chat body %s, want %s", chat[0].body, want)
	}

	// A forged hook: 401 for the sender, hook.rejected for the webhook.
	status, _, _ = post(t, tester, "POST", "http://localhost:9080/deploy", body, signedGitHub("wrong", body, "push"))
	if status != 401 {
		t.Fatalf("forged hook: %d", status)
	}
	got = r.wait(t, "/status", 4)
	var rejected struct {
		Type string `json:"type"`
		Data struct {
			Hook   string `json:"hook"`
			Reason string `json:"reason"`
		} `json:"data"`
	}
	last := got[3]
	json.Unmarshal(last.body, &rejected)
	if rejected.Type != "hook.rejected" || !strings.Contains(string(last.body), "signature_invalid") || !strings.Contains(last.uri, "action=none") {
		t.Errorf("rejection delivery %s: %s", last.uri, last.body)
	}
	checkSignature(t, last, receiverSecret)

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
		_, _, metrics = post(t, tester, "GET", "http://localhost:9080/metrics", nil, nil)
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
