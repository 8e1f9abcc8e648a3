package caddymodule

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2/caddytest"

	"github.com/hookgate/hookgate/caddymodule/internal/hooktest"
	"github.com/hookgate/hookgate/pipeline/signature"
	"github.com/hookgate/hookgate/pipeline/store/storetest"
	"github.com/hookgate/hookgate/pipeline/webhook"
)

// relayConfig relays GitHub hooks to an app (raw, forwarded headers,
// recover) on its own receiver, an audit log (envelope), a webhook
// scoped to the deploy pipeline and a default one on r; storage is the
// storage line.
func relayConfig(storage string, app, r *hooktest.Receiver) string {
	return fmt.Sprintf(`{
`+serverOptions+`	hookgate {
		%[1]s
		allow_targets 127.0.0.0/8
		delivery {
			retry_schedule 50ms 50ms 50ms 50ms 50ms 50ms
			fail_after 3
			timeout 5s
		}
		pipeline deploy {
			step ok exec /bin/true
		}
		webhook app {
			url %[5]s/app?ref=:ref:
			events TELEMETRY_DATA
			payload raw
			forward_headers X-GitHub-Event X-GitHub-Delivery X-Hub-Signature-256
			secret %[3]s
			recover 200ms
		}
		webhook audit {
			url %[2]s/audit
			events hook.received
			secret %[3]s
			json_payload
		}
		webhook deploys {
			url %[2]s/deploys
			events hook.received LIFECYCLE
			pipelines deploy
			secret %[3]s
		}
		webhook others {
			url %[2]s/others
			events hook.received
			default
			secret %[3]s
		}
	}
}
http://localhost:9080 {
	handle /relay {
		hookgate github-relay {
			signature github
			secret "%[4]s"
			var ref ref string
			dedup
			relay
		}
	}
	handle /deploy {
		hookgate github-deploy {
			signature github
			secret "%[4]s"
			var ref ref string
			dedup
			relay
			pipeline deploy
		}
	}
	handle /small {
		hookgate small {
			insecure_no_signature
			max_body 64
			var ref ref string
			relay
		}
	}
}
`, storage, r.URL, hooktest.ReceiverSecret, githubSecret, app.URL)
}

// signedPush is a GitHub push delivery with its own delivery id.
func signedPush(body []byte, id string) map[string]string {
	h := signedGitHub(githubSecret, body, "push")
	h["X-GitHub-Delivery"] = id
	return h
}

// Relay through Caddy, on both backends: a relayed push answers 202 with
// its event id once stored, reaches the app byte for byte with its
// Content-Type and forwarded headers (never the signature), signed so
// that our own Standard Webhooks verifier accepts it, reaches the audit
// log in the envelope, and the default webhook rather than the scoped
// one; a redelivery is a duplicate; with a pipeline, the action and the
// event go to the scoped webhook; an app that is down heals by itself;
// a body too large or not JSON is refused and nothing is stored.
func TestRelayThroughCaddy(t *testing.T) {
	for _, backend := range []struct {
		name    string
		storage func(t *testing.T) string
	}{
		{"sqlite", func(t *testing.T) string { return "storage sqlite " + t.TempDir() + "/hookgate.db" }},
		{"postgres", func(t *testing.T) string { return fmt.Sprintf("storage postgres %q", storetest.PostgresDSN(t)) }},
	} {
		t.Run(backend.name, func(t *testing.T) {
			app, r := hooktest.NewReceiver(t), hooktest.NewReceiver(t)
			tester := caddytest.NewTester(t)
			tester.InitServer(relayConfig(backend.storage(t), app, r), "caddyfile")
			stopAtEnd(t)
			testRelay(t, tester, app, r)
		})
	}
}

func testRelay(t *testing.T, tester *caddytest.Tester, appReceiver, r *hooktest.Receiver) {
	push := hooktest.Payload(t, "github-push.json")
	status, _, answer := hooktest.Post(t, tester.Client, "POST", "http://localhost:9080/relay", push, signedPush(push, "relay-1"))
	var accepted struct {
		Status    string         `json:"status"`
		EventID   string         `json:"event_id"`
		Variables map[string]any `json:"variables"`
	}
	if err := json.Unmarshal([]byte(answer), &accepted); err != nil || status != 202 || accepted.Status != "accepted" ||
		!strings.HasPrefix(accepted.EventID, "msg_") || accepted.Variables["ref"] != "refs/heads/master" {
		t.Fatalf("relay: %d %s", status, answer)
	}
	status, _, answer = hooktest.Post(t, tester.Client, "POST", "http://localhost:9080/relay", push, signedPush(push, "relay-1"))
	if status != 200 || answer != fmt.Sprintf(`{"event_id":%q,"status":"duplicate"}`+"\n", accepted.EventID) {
		t.Errorf("redelivery: %d %s", status, answer)
	}

	app := appReceiver.Wait(t, "/app", 1)[0]
	verifier, err := signature.New(signature.Config{Preset: "standard-webhooks", Secrets: []string{hooktest.ReceiverSecret}})
	if err != nil {
		t.Fatal(err)
	}
	if err := verifier.Verify(&signature.Request{Method: "POST", URL: appReceiver.URL + app.URI, Header: app.Header, Body: app.Body}, time.Now()); err != nil {
		t.Errorf("our verifier refuses the relayed hook: %v", err)
	}
	if !bytes.Equal(app.Body, push) || app.Header.Get("Content-Type") != "application/json" || app.URI != "/app?ref=refs%2Fheads%2Fmaster" ||
		app.Header.Get("X-GitHub-Event") != "push" || app.Header.Get("X-GitHub-Delivery") != "relay-1" ||
		app.Header.Get("X-Hub-Signature-256") != "" || app.Header.Get("webhook-id") != accepted.EventID {
		t.Errorf("app got %s %v (%d bytes, want %d)", app.URI, app.Header, len(app.Body), len(push))
	}
	audit := r.Wait(t, "/audit", 1)[0]
	hooktest.CheckSignature(t, audit, hooktest.ReceiverSecret)
	var env struct {
		ID   string `json:"id"`
		Type string `json:"type"`
		Data struct {
			Hook    webhook.Received `json:"hook"`
			Payload json.RawMessage  `json:"payload"`
		} `json:"data"`
	}
	if err := json.Unmarshal(audit.Body, &env); err != nil {
		t.Fatal(err)
	}
	if h := env.Data.Hook; env.ID != accepted.EventID || env.Type != "hook.received" || h.Name != "github-relay" ||
		h.DeliveryID != "relay-1" || h.ContentType != "application/json" || h.Headers["X-Github-Event"] != "push" ||
		h.Headers["X-Hub-Signature-256"] != "" || h.RemoteIP != "127.0.0.1" || len(env.Data.Payload) == 0 {
		t.Errorf("audit envelope: %s", audit.Body)
	}
	r.Wait(t, "/others", 1)

	// With a pipeline: one transaction, one answer with both ids.
	status, _, answer = hooktest.Post(t, tester.Client, "POST", "http://localhost:9080/deploy", push, signedPush(push, "deploy-1"))
	var queued struct {
		Status   string `json:"status"`
		ActionID string `json:"action_id"`
		EventID  string `json:"event_id"`
	}
	if err := json.Unmarshal([]byte(answer), &queued); err != nil || status != 202 || queued.Status != "queued" ||
		queued.ActionID == "" || queued.EventID == "" {
		t.Fatalf("relay with a pipeline: %d %s", status, answer)
	}
	status, _, answer = hooktest.Post(t, tester.Client, "POST", "http://localhost:9080/deploy", push, signedPush(push, "deploy-1"))
	if status != 200 || !strings.Contains(answer, queued.ActionID) || !strings.Contains(answer, queued.EventID) {
		t.Errorf("redelivery with a pipeline: %d %s", status, answer)
	}
	deploys := r.Wait(t, "/deploys", 4) // hook.received and the three states of the action
	types := map[string]int{}
	for _, d := range deploys {
		var e struct{ Type string }
		json.Unmarshal(d.Body, &e)
		types[e.Type]++
	}
	if types["hook.received"] != 1 || types["action.succeeded"] != 1 {
		t.Errorf("the scoped webhook got %v", types)
	}

	// Refused before anything is stored.
	if status, _, answer := hooktest.Post(t, tester.Client, "POST", "http://localhost:9080/small", bytes.Repeat([]byte("x"), 65), nil); status != 413 {
		t.Errorf("too large: %d %s", status, answer)
	}
	if status, _, answer := hooktest.Post(t, tester.Client, "POST", "http://localhost:9080/small", []byte(`{"ref":`), nil); status != 400 ||
		!strings.Contains(answer, "invalid_payload") {
		t.Errorf("not JSON: %d %s", status, answer)
	}

	// The app goes down: its webhook fails, the hooks are held, and come
	// through by themselves once it is back.
	appReceiver.Status.Store(503)
	const down = 5
	for i := range down {
		body := fmt.Appendf(nil, `{"ref":"refs/heads/down-%d"}`, i)
		if status, _, answer := hooktest.Post(t, tester.Client, "POST", "http://localhost:9080/relay", body, signedPush(body, fmt.Sprint("down-", i))); status != 202 {
			t.Fatalf("while the app is down: %d %s", status, answer)
		}
	}
	e := currentEngine(t)
	deadline := time.Now().Add(30 * time.Second)
	for {
		info, err := e.Webhook(context.Background(), "app")
		if err == nil && info.State == webhook.StateFailed {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the app's webhook never failed")
		}
		time.Sleep(20 * time.Millisecond)
	}
	appReceiver.Status.Store(200)
	arrived := map[string]bool{}
	for _, d := range appReceiver.Wait(t, "/app", 0) {
		if d.Answered == 200 {
			arrived[string(d.Body)] = true
		}
	}
	for len(arrived) < 1+down {
		if time.Now().After(deadline) {
			t.Fatalf("%d hooks reached the app, want %d", len(arrived), 1+down)
		}
		time.Sleep(20 * time.Millisecond)
		for _, d := range appReceiver.Wait(t, "/app", 0) {
			if d.Answered == 200 {
				arrived[string(d.Body)] = true
			}
		}
	}
	r.Wait(t, "/audit", 2+down)
	time.Sleep(200 * time.Millisecond)
	if n := len(r.Wait(t, "/audit", 0)); n != 2+down {
		t.Errorf("the audit webhook got %d deliveries, want %d: a refused hook was stored?", n, 2+down)
	}
}

// TestRelayDatabaseLost: with PostgreSQL gone, a relayed hook, alone or
// with a pipeline, is answered 503 storage_unavailable and nothing of it
// is stored: once the database is back, the same delivery id is accepted
// as new, not as a duplicate, and only the accepted hooks are forwarded.
func TestRelayDatabaseLost(t *testing.T) {
	proxied, cut := storetest.ProxyDSN(t, storetest.PostgresDSN(t))
	r := hooktest.NewReceiver(t)
	tester := caddytest.NewTester(t)
	tester.InitServer(fmt.Sprintf(`{
	admin localhost:2999
	skip_install_trust
	http_port 9080
	hookgate {
		storage postgres "%s"
		allow_targets 127.0.0.0/8
		pipeline deploy {
			step one exec /bin/true
		}
		webhook app {
			url %s/app
			events hook.received
			payload raw
		}
	}
}
http://localhost:9080 {
	handle /relay {
		hookgate {
			insecure_no_signature
			dedup X-Id
			relay
		}
	}
	handle /deploy {
		hookgate {
			insecure_no_signature
			dedup X-Id
			relay
			pipeline deploy
		}
	}
}
`, proxied, r.URL), "caddyfile")
	send := func(path, id string) (int, string) {
		status, _, answer := hooktest.Post(t, tester.Client, "POST", "http://localhost:9080"+path, []byte(`{"id":"`+id+`"}`), map[string]string{"X-Id": id})
		return status, answer
	}
	cut.Cut()
	for _, path := range []string{"/relay", "/deploy"} {
		if status, answer := send(path, "lost"+path); status != 503 || !strings.Contains(answer, `"error":"storage_unavailable"`) {
			t.Errorf("%s without the database: %d %s", path, status, answer)
		}
	}
	cut.Restore()
	deadline := time.Now().Add(20 * time.Second)
	for _, path := range []string{"/relay", "/deploy"} {
		for {
			status, answer := send(path, "lost"+path)
			if status == 202 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s after the database came back: %d %s", path, status, answer)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	got := r.Wait(t, "/app", 2)
	time.Sleep(200 * time.Millisecond)
	if got = r.Wait(t, "/app", 2); len(got) != 2 {
		t.Errorf("the app got %d hooks, want the 2 accepted", len(got))
	}
	tester.InitServer(`{
	admin localhost:2999
	http_port 9080
}
http://localhost:9080 {
	respond "bye"
}
`, "caddyfile")
}
