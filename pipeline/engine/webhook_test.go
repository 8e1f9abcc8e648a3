package engine

import (
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hookgate/hookgate/pipeline/action"
	"github.com/hookgate/hookgate/pipeline/webhook"
)

// okPipeline succeeds at once.
var okPipeline = action.Pipeline{Name: "deploy", Concurrency: 4, Steps: []action.Step{helperStep("ok", "args")}}

// Every state change of an action reaches a subscribed webhook, signed,
// in order, with its placeholders; a generated secret signs another; a
// when filters and a body shapes a third.
func TestWebhookDelivers(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		e := open(t, b.config(t), false, okPipeline)
		all, gen, shaped := newReceiver(t, testSecret), newReceiver(t), newReceiver(t, testSecret)
		generated := configureWebhooks(t, e, WebhookConfig{VariableNames: []string{"ref"}, Webhooks: []webhook.Definition{
			{Name: "all", URL: all.srv.URL + "/hook?action=:action_id:&ref=:ref:&ip=:ip:&e=:event:&x=:unknown:", Secrets: []string{testSecret},
				Headers: map[string]string{"X-Pipeline": ":pipeline:", "X-Status": ":status:", "X-Hook": ":hook:"}},
			{Name: "generated", URL: gen.srv.URL, EventTypes: []webhook.EventType{{Type: webhook.TypeActionSucceeded}}},
			{Name: "shaped", URL: shaped.srv.URL, Secrets: []string{testSecret}, When: `action.status == "succeeded"`,
				Body: `{"text": "deploy of " + action.variables.ref + " " + action.status}`},
		}})
		if len(generated) != 1 || !strings.HasPrefix(generated["generated"], "whsec_") {
			t.Fatalf("generated secrets %v", generated)
		}
		gen.setSecrets(generated["generated"])
		if err := e.Start(); err != nil {
			t.Fatal(err)
		}
		ctx := context.Background()
		tr, err := e.Trigger(ctx, Trigger{Pipeline: "deploy", Hook: "github", RemoteIP: "192.0.2.7", Vars: map[string]any{"ref": "main & co"}})
		if err != nil {
			t.Fatal(err)
		}
		id := tr.ActionID
		got := all.waitAccepted(t, 3)
		for i, want := range []string{"queued", "running", "succeeded"} {
			r := got[i]
			if !r.SignatureOK || r.Envelope.Type != "action."+want || r.Envelope.Sequence != i+1 || r.Envelope.ID != r.ID ||
				r.Envelope.Data.Action.ID != id || r.Envelope.Data.Action.Status != want {
				t.Errorf("delivery %d: %+v %s", i, r.Envelope, r.Body)
			}
			wantURL := "/hook?action=" + id + "&ref=main%20%26%20co&ip=192.0.2.7&e=action." + want + "&x=:unknown:"
			if r.URL != wantURL || r.Header.Get("X-Pipeline") != "deploy" || r.Header.Get("X-Status") != want || r.Header.Get("X-Hook") != "github" {
				t.Errorf("delivery %d: URL %s, headers %v", i, r.URL, r.Header)
			}
		}
		if g := gen.waitAccepted(t, 1); !g[0].SignatureOK || g[0].Envelope.Type != "action.succeeded" {
			t.Errorf("generated-secret delivery: %+v", g[0])
		}
		if s := shaped.waitAccepted(t, 1); string(s[0].Body) != `{"text":"deploy of main & co succeeded"}` || !s[0].SignatureOK {
			t.Errorf("shaped delivery: %s", s[0].Body)
		}
		waitFor(t, "the results to be stored", func() bool { return webhookState(t, e, "all").Pending == 0 })
		info := webhookState(t, e, "all")
		if info.State != webhook.StateActive || info.LastSuccessfulMessageDelivery == nil || info.Pending != 0 {
			t.Errorf("webhook %+v", info)
		}
		if !webhookState(t, e, "generated").SecretGenerated || webhookState(t, e, "all").SecretGenerated {
			t.Error("SecretGenerated")
		}
		list, err := e.Deliveries(ctx, "all", DeliveryFilter{})
		if err != nil || len(list) != 3 {
			t.Fatalf("deliveries %d, %v", len(list), err)
		}
		for _, d := range list {
			if d.Status != webhook.DeliverySucceeded || len(d.Attempts) != 1 || d.Attempts[0].StatusCode != 200 || d.Attempts[0].Error != "" {
				t.Errorf("delivery %+v", d)
			}
		}
		time.Sleep(100 * time.Millisecond)
		if n := len(all.all()); n != 3 {
			t.Errorf("the receiver got %d requests, want 3", n)
		}

		// Reconfigured: the generated secret is kept and not shown again.
		again := configureWebhooks(t, e, WebhookConfig{Webhooks: []webhook.Definition{{Name: "generated", URL: gen.srv.URL}}})
		if len(again) != 0 {
			t.Errorf("secret generated again: %v", again)
		}
	})
}

// A receiver that answers 500, times out, resets the connection or
// redirects: each attempt fails with its reason, is retried, and after 5
// failures in a row the webhook is failed and its delivery held.
func TestWebhookFailures(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		e := open(t, b.config(t), false, okPipeline)
		failing := map[string]struct {
			answer func(w http.ResponseWriter, r *http.Request) int
			reason string
		}{
			"status": {func(w http.ResponseWriter, r *http.Request) int {
				w.WriteHeader(http.StatusInternalServerError)
				w.Write([]byte("boom"))
				return 500
			}, "answered 500 Internal Server Error"},
			"timeout": {func(w http.ResponseWriter, r *http.Request) int {
				time.Sleep(fastPolicy.Timeout + 200*time.Millisecond)
				return 200
			}, "timeout"},
			"reset": {func(w http.ResponseWriter, r *http.Request) int {
				conn, _, _ := w.(http.Hijacker).Hijack()
				conn.Close()
				return 0
			}, "EOF"},
			"redirect": {func(w http.ResponseWriter, r *http.Request) int {
				http.Redirect(w, r, "http://127.0.0.1:1/elsewhere", http.StatusFound)
				return 302
			}, `redirect to "http://127.0.0.1:1/elsewhere" not followed`},
		}
		var defs []webhook.Definition
		for name, f := range failing {
			rc := newReceiver(t, testSecret)
			rc.setAnswer(f.answer)
			defs = append(defs, webhook.Definition{Name: name, URL: rc.srv.URL, Secrets: []string{testSecret},
				EventTypes: []webhook.EventType{{Type: webhook.TypeActionQueued}}})
		}
		configureWebhooks(t, e, WebhookConfig{Webhooks: defs})
		if err := e.Start(); err != nil {
			t.Fatal(err)
		}
		trigger(t, e, "deploy", nil)
		ctx := context.Background()
		for name, f := range failing {
			waitFor(t, name+" to fail", func() bool { return webhookState(t, e, name).State == webhook.StateFailed })
			info := webhookState(t, e, name)
			if info.Held != 1 || info.Pending != 0 || info.ConsecutiveFailures != 5 {
				t.Errorf("%s: %+v", name, info)
			}
			list, err := e.Deliveries(ctx, name, DeliveryFilter{})
			if err != nil || len(list) != 1 {
				t.Fatalf("%s: deliveries %d, %v", name, len(list), err)
			}
			d := list[0]
			if d.Status != webhook.DeliveryHeld || len(d.Attempts) != 5 {
				t.Fatalf("%s: delivery %+v", name, d)
			}
			for _, a := range d.Attempts {
				if !strings.Contains(a.Error, f.reason) {
					t.Errorf("%s: attempt %d error %q, want %q", name, a.Number, a.Error, f.reason)
				}
			}
			if name == "status" && (d.Attempts[0].StatusCode != 500 || string(d.Attempts[0].Response) != "boom") {
				t.Errorf("the 500 answer was not kept: %+v", d.Attempts[0])
			}
		}
	})
}

// A receiver down while actions run: the webhook fails after 5 attempts
// and holds everything; restarted once the receiver is back, every event
// arrives, in order per action, each once.
func TestWebhookHeldThenRestarted(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		e := open(t, b.config(t), false, okPipeline)
		rc := newReceiver(t, testSecret)
		rc.setAnswer(answerStatus(http.StatusServiceUnavailable))
		configureWebhooks(t, e, WebhookConfig{Webhooks: []webhook.Definition{{Name: "status", URL: rc.srv.URL, Secrets: []string{testSecret}}}})
		if err := e.Start(); err != nil {
			t.Fatal(err)
		}
		const actions = 10
		var ids []string
		for range actions {
			ids = append(ids, trigger(t, e, "deploy", nil))
		}
		for _, id := range ids {
			wait(t, e, id)
		}
		ctx := context.Background()
		waitFor(t, "every event to be held or waiting", func() bool {
			info := webhookState(t, e, "status")
			return info.State == webhook.StateFailed && info.Pending == 0 && info.Held+info.Waiting == 3*actions
		})
		if st, _ := e.Stats(ctx); st.Webhooks["status"].Held == 0 {
			t.Errorf("stats %+v", st.Webhooks)
		}
		before := len(rc.all())
		time.Sleep(100 * time.Millisecond)
		if len(rc.all()) != before {
			t.Error("held deliveries were attempted")
		}

		rc.setAnswer(nil)
		n, err := e.RestartWebhook(ctx, "status")
		if err != nil || n != actions {
			t.Fatalf("restart: %d, %v; want the %d held heads", n, err, actions)
		}
		got := rc.waitAccepted(t, 3*actions)
		seqs := make(map[string][]int)
		seen := make(map[string]bool)
		for _, r := range got {
			if !r.SignatureOK || seen[r.ID] {
				t.Errorf("delivery %s: signature %v, seen before %v", r.ID, r.SignatureOK, seen[r.ID])
			}
			seen[r.ID] = true
			seqs[r.Envelope.Data.Action.ID] = append(seqs[r.Envelope.Data.Action.ID], r.Envelope.Sequence)
		}
		for _, id := range ids {
			if !slices.Equal(seqs[id], []int{1, 2, 3}) {
				t.Errorf("action %s: sequences %v, want 1 2 3", id, seqs[id])
			}
		}
		waitFor(t, "the results to be stored", func() bool { return webhookState(t, e, "status").Pending == 0 })
		info := webhookState(t, e, "status")
		if info.State != webhook.StateActive || info.Held+info.Waiting+info.Pending != 0 {
			t.Errorf("after restart %+v", info)
		}
	})
}

// Reserved targets are refused at dial time, the attempt recorded with
// the reason; so is a loopback receiver when allow_targets is empty.
func TestWebhookSSRF(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		e := open(t, b.config(t), false, okPipeline)
		rc := newReceiver(t, testSecret)
		targets := map[string]string{
			"private":    "http://10.0.0.1:9/x",
			"metadata":   "http://169.254.169.254/latest/meta-data/",
			"mapped":     "http://[::ffff:10.0.0.1]:9/x",
			"loopback":   rc.srv.URL,
			"rebind-dns": strings.Replace(rc.srv.URL, "127.0.0.1", "localhost", 1),
		}
		var defs []webhook.Definition
		for name, u := range targets {
			defs = append(defs, webhook.Definition{Name: name, URL: u, Secrets: []string{testSecret},
				EventTypes: []webhook.EventType{{Type: webhook.TypeActionQueued}}})
		}
		// No allow list at all: not even the test receivers.
		if _, err := e.ConfigureWebhooks(context.Background(), WebhookConfig{Webhooks: defs, Policy: fastPolicy}); err != nil {
			t.Fatal(err)
		}
		if err := e.Start(); err != nil {
			t.Fatal(err)
		}
		trigger(t, e, "deploy", nil)
		for name := range targets {
			waitFor(t, name+" to be refused 5 times", func() bool { return webhookState(t, e, name).State == webhook.StateFailed })
			list, _ := e.Deliveries(context.Background(), name, DeliveryFilter{})
			if len(list) != 1 || len(list[0].Attempts) == 0 {
				t.Fatalf("%s: %+v", name, list)
			}
			if a := list[0].Attempts[0]; !strings.Contains(a.Error, "refused: it is in the reserved range") || a.StatusCode != 0 {
				t.Errorf("%s: attempt %+v", name, a)
			}
		}
		if n := len(rc.all()); n != 0 {
			t.Errorf("the loopback receiver got %d requests", n)
		}
	})
}

// A when or body that fails at run time fails that webhook's delivery,
// with the error in its attempt; another webhook gets the event.
func TestWebhookExpressionError(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		e := open(t, b.config(t), false, okPipeline)
		rc := newReceiver(t, testSecret)
		queued := []webhook.EventType{{Type: webhook.TypeActionQueued}}
		configureWebhooks(t, e, WebhookConfig{Webhooks: []webhook.Definition{
			{Name: "bad-body", URL: rc.srv.URL, EventTypes: queued, Body: `action.variables.missing.deeper + 1`},
			{Name: "bad-when", URL: rc.srv.URL, EventTypes: queued, When: `action.variables.count > 3`},
			{Name: "good", URL: rc.srv.URL, EventTypes: queued, Secrets: []string{testSecret}},
		}})
		if err := e.Start(); err != nil {
			t.Fatal(err)
		}
		trigger(t, e, "deploy", map[string]any{"count": "three"})
		if got := rc.waitAccepted(t, 1); !got[0].SignatureOK {
			t.Error("the good webhook's delivery")
		}
		for name, want := range map[string]string{"bad-body": "body: ", "bad-when": "when: "} {
			list, err := e.Deliveries(context.Background(), name, DeliveryFilter{})
			if err != nil || len(list) != 1 {
				t.Fatalf("%s: %d deliveries, %v", name, len(list), err)
			}
			if d := list[0]; d.Status != webhook.DeliveryFailed || len(d.Attempts) != 1 || !strings.HasPrefix(d.Attempts[0].Error, want) {
				t.Errorf("%s: %+v", name, d)
			}
			if st := webhookState(t, e, name).State; st != webhook.StateNew {
				t.Errorf("%s: state %s; an expression error is not the endpoint's failure", name, st)
			}
		}
		time.Sleep(100 * time.Millisecond)
		if n := len(rc.all()); n != 1 {
			t.Errorf("the receiver got %d requests, want 1", n)
		}
	})
}

// A test sends a signed webhook.test with every placeholder none; its
// outcome sets the state, without counting as a delivery.
func TestWebhookTest(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		e := open(t, b.config(t), true, okPipeline)
		rc := newReceiver(t, testSecret)
		configureWebhooks(t, e, WebhookConfig{VariableNames: []string{"ref"}, Webhooks: []webhook.Definition{{
			Name: "t", URL: rc.srv.URL + "/?a=:action_id:&i=:ip:&r=:ref:&e=:event:&u=:unknown:", Secrets: []string{testSecret},
			Headers: map[string]string{"X-Status": ":status:"},
		}}})
		ctx := context.Background()
		a, err := e.TestWebhook(ctx, "t")
		if err != nil || a.StatusCode != 200 || a.Error != "" {
			t.Fatalf("test: %+v, %v", a, err)
		}
		got := rc.accepted()
		if len(got) != 1 || !got[0].SignatureOK || got[0].Envelope.Type != "webhook.test" ||
			got[0].URL != "/?a=none&i=none&r=none&e=none&u=:unknown:" || got[0].Header.Get("X-Status") != "none" {
			t.Fatalf("test delivery %+v", got)
		}
		info := webhookState(t, e, "t")
		if info.State != webhook.StateActive || info.LastSuccessfulMessageDelivery != nil {
			t.Errorf("after a good test: %+v", info)
		}
		rc.setAnswer(answerStatus(http.StatusBadGateway))
		if a, err := e.TestWebhook(ctx, "t"); err != nil || a.StatusCode != 502 {
			t.Fatalf("failing test: %+v, %v", a, err)
		}
		if st := webhookState(t, e, "t").State; st != webhook.StateFailed {
			t.Errorf("after a failed test: %s", st)
		}
		if _, err := e.TestWebhook(ctx, "nope"); err == nil {
			t.Error("test of an unknown webhook")
		}
	})
}

// A rejected hook is delivered to the webhooks subscribed to
// hook.rejected, with its source IP.
func TestWebhookRejected(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		e := open(t, b.config(t), true, okPipeline)
		rc := newReceiver(t, testSecret)
		configureWebhooks(t, e, WebhookConfig{Webhooks: []webhook.Definition{
			{Name: "sec", URL: rc.srv.URL + "/?ip=:ip:&hook=:hook:&a=:action_id:", Secrets: []string{testSecret},
				EventTypes: []webhook.EventType{{Type: webhook.TypeHookRejected}}},
		}})
		if err := e.Reject(context.Background(), HookRejected{Hook: "github", Reason: "signature_invalid", RemoteIP: "203.0.113.5", Status: 401}); err != nil {
			t.Fatal(err)
		}
		got := rc.waitAccepted(t, 1)
		var env struct {
			Type string `json:"type"`
			Data struct {
				Rejection HookRejected `json:"rejection"`
			} `json:"data"`
		}
		json.Unmarshal(got[0].Body, &env)
		if got[0].URL != "/?ip=203.0.113.5&hook=github&a=none" || env.Type != "hook.rejected" || env.Data.Rejection.Reason != "signature_invalid" {
			t.Errorf("delivery %s %s", got[0].URL, got[0].Body)
		}
		trigger(t, e, "deploy", nil)
		time.Sleep(200 * time.Millisecond)
		if n := len(rc.all()); n != 1 {
			t.Errorf("a hook.rejected-only webhook got %d requests", n)
		}
	})
}
