package caddymodule

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2/caddytest"

	"github.com/hookgate/hookgate/caddymodule/internal/hooktest"
	"github.com/hookgate/hookgate/pipeline/webhook"
)

// TestWebhookFailedHeldRestarted: a receiver that keeps failing sets its
// webhook INTEGRATION_FAILED and holds its deliveries; a restart through
// the app sends every one, in order per action.
func TestWebhookFailedHeldRestarted(t *testing.T) {
	r := hooktest.NewReceiver(t)
	r.Status.Store(500)
	tester := caddytest.NewTester(t)
	tester.InitServer(webhookConfig(t.TempDir(), r), "caddyfile")
	stopAtEnd(t)
	e := currentEngine(t)

	var ids []string
	for i := range 3 {
		body := []byte(fmt.Sprintf(`{"ref":"r%d"}`, i))
		status, _, answer := hooktest.Post(t, tester.Client, "POST", "http://localhost:9080/deploy", body, signedGitHub(githubSecret, body, "push"))
		if status != 202 {
			t.Fatalf("trigger: %d %s", status, answer)
		}
		var q struct {
			ActionID string `json:"action_id"`
		}
		json.Unmarshal([]byte(answer), &q)
		ids = append(ids, q.ActionID)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		info, err := e.Webhook(context.Background(), "status")
		if err != nil {
			t.Fatal(err)
		}
		if info.State == webhook.StateFailed && info.Held > 0 && info.Pending == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("webhook status: %+v", info)
		}
		time.Sleep(20 * time.Millisecond)
	}
	failedAttempts := len(r.Wait(t, "/status", 3))

	r.Status.Store(200)
	if _, err := e.RestartWebhook(context.Background(), "status"); err != nil {
		t.Fatal(err)
	}
	// Every event of the three actions arrives: 3 each.
	got := r.Wait(t, "/status", failedAttempts+9)
	seq := make(map[string][]int)
	for _, d := range got[failedAttempts:] {
		if d.Answered != 200 {
			t.Errorf("an attempt after the webhook failed and before its restart: %s %s", d.URI, d.Body)
			continue
		}
		var env envelope
		json.Unmarshal(d.Body, &env)
		seq[env.Data.Action.ID] = append(seq[env.Data.Action.ID], env.Sequence)
	}
	for _, id := range ids {
		s := seq[id]
		// A delivery that failed before the webhook did is sent again
		// (same webhook-id); after it, the order per action holds.
		if len(s) < 3 || s[len(s)-1] != 3 {
			t.Errorf("action %s: sequences %v after the restart", id, s)
		}
		for i := 1; i < len(s); i++ {
			if s[i] < s[i-1] {
				t.Errorf("action %s: out of order %v", id, s)
			}
		}
	}
	info, _ := e.Webhook(context.Background(), "status")
	if info.State != webhook.StateActive || info.Held != 0 || info.LastSuccessfulMessageDelivery == nil {
		t.Errorf("after the restart: %+v", info)
	}
}
