package engine

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/hookgate/hookgate/pipeline/webhook"
)

// relayedHook is a hook as a relay hook keeps it.
func relayedHook(body string, delivery string) webhook.Received {
	return webhook.Received{Name: "github", Variables: map[string]any{"ref": "main"}, RemoteIP: "192.0.2.9",
		DeliveryID: delivery, ContentType: "application/json; charset=utf-8", Body: []byte(body),
		Headers: map[string]string{"X-Github-Event": "push", "X-Github-Delivery": delivery, "Content-Type": "application/json; charset=utf-8"}}
}

// A relayed hook reaches every subscribed webhook: byte for byte with its
// Content-Type and forwarded headers to a raw one, in the envelope to
// another, signed both times; a redelivery is a duplicate answered with
// the first event; with a pipeline, the action and the event are stored
// together.
func TestRelay(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		e := open(t, b.config(t), false, okPipeline)
		raw, env := newReceiver(t, testSecret), newReceiver(t, testSecret)
		configureWebhooks(t, e, WebhookConfig{VariableNames: []string{"ref"}, Webhooks: []webhook.Definition{
			{Name: "app", URL: raw.srv.URL + "/in?ip=:ip:&ref=:ref:", Secrets: []string{testSecret}, RawPayload: true,
				ForwardHeaders: []string{"X-GitHub-Event", "X-GitHub-Delivery", "X-Missing"},
				EventTypes:     []webhook.EventType{{Type: webhook.AliasTelemetryData}}},
			{Name: "audit", URL: env.srv.URL, Secrets: []string{testSecret}, JSONPayload: true,
				EventTypes: []webhook.EventType{{Type: webhook.TypeHookReceived}, {Type: webhook.TypeActionQueued}}},
		}})
		if err := e.Start(); err != nil {
			t.Fatal(err)
		}
		ctx := context.Background()
		body := "{\"ref\":\"main\",  \"big\": 12345678901234567890}\n"
		first, err := e.Relay(ctx, Relay{Hook: relayedHook(body, "d-1"), DedupID: "d-1"})
		if err != nil || first.EventID == "" || first.Duplicate {
			t.Fatalf("relay: %+v %v", first, err)
		}
		again, err := e.Relay(ctx, Relay{Hook: relayedHook(body, "d-1"), DedupID: "d-1"})
		if err != nil || again.EventID != first.EventID || !again.Duplicate {
			t.Fatalf("redelivery: %+v %v", again, err)
		}
		got := raw.waitAccepted(t, 1)[0]
		if !bytes.Equal(got.Body, []byte(body)) || !got.SignatureOK || got.ID != first.EventID ||
			got.Header.Get("Content-Type") != "application/json; charset=utf-8" || got.Header.Get("X-GitHub-Event") != "push" ||
			got.Header.Get("X-GitHub-Delivery") != "d-1" || got.Header.Get("X-Missing") != "" || got.URL != "/in?ip=192.0.2.9&ref=main" {
			t.Errorf("raw delivery: %s %q %v", got.URL, got.Body, got.Header)
		}
		var envelope struct {
			ID   string `json:"id"`
			Type string `json:"type"`
			Data struct {
				Hook    webhook.Received `json:"hook"`
				Payload json.RawMessage  `json:"payload"`
			} `json:"data"`
		}
		e1 := env.waitAccepted(t, 1)[0]
		if err := json.Unmarshal(e1.Body, &envelope); err != nil {
			t.Fatal(err)
		}
		h := envelope.Data.Hook
		if !e1.SignatureOK || envelope.ID != first.EventID || envelope.Type != "hook.received" || h.Name != "github" ||
			h.RemoteIP != "192.0.2.9" || h.DeliveryID != "d-1" || h.Headers["X-Github-Event"] != "push" ||
			h.Variables["ref"] != "main" || !bytes.Contains(envelope.Data.Payload, []byte("12345678901234567890")) {
			t.Errorf("envelope: %s", e1.Body)
		}

		// Combined with a pipeline: one answer with both IDs, and a
		// redelivery finds both.
		tr, err := e.Trigger(ctx, Trigger{Pipeline: "deploy", Hook: "github", DeliveryID: "d-2", Relay: ptr(relayedHook(body, "d-2"))})
		if err != nil || tr.ActionID == "" || tr.EventID == "" {
			t.Fatalf("trigger with relay: %+v %v", tr, err)
		}
		dup, err := e.Trigger(ctx, Trigger{Pipeline: "deploy", Hook: "github", DeliveryID: "d-2", Relay: ptr(relayedHook(body, "d-2"))})
		if err != nil || !dup.Duplicate || dup.ActionID != tr.ActionID || dup.EventID != tr.EventID {
			t.Fatalf("duplicate trigger with relay: %+v %v", dup, err)
		}
		raw.waitAccepted(t, 2)
		types := map[string]int{}
		for _, r := range env.waitAccepted(t, 3) {
			types[r.Envelope.Type]++
		}
		if types["hook.received"] != 2 || types["action.queued"] != 1 {
			t.Errorf("audit got %v", types)
		}
		if r := raw.accepted()[1]; r.URL != "/in?ip=192.0.2.9&ref=main" || r.ID != tr.EventID {
			t.Errorf("second raw delivery %s %s", r.URL, r.ID)
		}
	})
}

// ptr is a pointer to a copy of v.
func ptr[T any](v T) *T { return &v }

// An app that is down makes its webhook failed and its relayed hooks
// held; with a recovery interval, the webhook heals by itself once the
// app is back: every hook arrives, no restart by hand, and the delivery
// log shows the failed attempts and the success. Meanwhile a receiver
// that hangs, one that answers 410 and the failing app hold up no other
// webhook.
func TestRelayRecovers(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		e := open(t, b.config(t), false)
		app, fast, hang, gone := newReceiver(t, testSecret), newReceiver(t, testSecret), newReceiver(t), newReceiver(t)
		app.setAnswer(answerStatus(http.StatusServiceUnavailable))
		hang.setAnswer(func(w http.ResponseWriter, r *http.Request) int {
			time.Sleep(fastPolicy.Timeout + 100*time.Millisecond)
			return 200
		})
		gone.setAnswer(answerStatus(http.StatusGone))
		relay := []webhook.EventType{{Type: webhook.TypeHookReceived}}
		configureWebhooks(t, e, WebhookConfig{Webhooks: []webhook.Definition{
			{Name: "app", URL: app.srv.URL, Secrets: []string{testSecret}, EventTypes: relay, RawPayload: true, RecoverEvery: 300 * time.Millisecond},
			{Name: "fast", URL: fast.srv.URL, Secrets: []string{testSecret}, EventTypes: relay},
			{Name: "hang", URL: hang.srv.URL, EventTypes: relay},
			{Name: "gone", URL: gone.srv.URL, EventTypes: relay},
		}})
		if err := e.Start(); err != nil {
			t.Fatal(err)
		}
		ctx := context.Background()
		const n = 20
		for i := range n {
			if _, err := e.Relay(ctx, Relay{Hook: relayedHook(fmt.Sprintf(`{"n":%d}`, i), "")}); err != nil {
				t.Fatal(err)
			}
		}
		start := time.Now()
		fast.waitAccepted(t, n)
		if d := time.Since(start); d > 5*time.Second {
			t.Errorf("the healthy receiver waited %v behind the others", d)
		}
		waitFor(t, "the app's webhook to fail", func() bool { return webhookState(t, e, "app").State == webhook.StateFailed })
		app.setAnswer(nil)
		got := app.waitAccepted(t, n)
		waitFor(t, "the app's webhook to be active", func() bool {
			info := webhookState(t, e, "app")
			return info.State == webhook.StateActive && info.Held == 0 && info.Pending == 0
		})
		seen := map[string]bool{}
		for _, r := range got {
			if !r.SignatureOK {
				t.Errorf("unsigned delivery %s", r.Body)
			}
			seen[string(r.Body)] = true
		}
		if len(seen) != n {
			t.Errorf("%d distinct hooks arrived, want %d", len(seen), n)
		}
		list, err := e.Deliveries(ctx, "app", DeliveryFilter{})
		if err != nil {
			t.Fatal(err)
		}
		retried := 0
		for _, d := range list {
			if d.Status != webhook.DeliverySucceeded {
				t.Errorf("delivery %s %s", d.ID, d.Status)
			}
			if len(d.Attempts) > 1 {
				retried++
				if last := d.Attempts[len(d.Attempts)-1]; last.StatusCode != 200 || d.Attempts[0].StatusCode != 503 {
					t.Errorf("attempts of %s: %+v", d.ID, d.Attempts)
				}
			}
		}
		if retried == 0 {
			t.Error("no delivery shows its failed attempts")
		}
	})
}
