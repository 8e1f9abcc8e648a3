package engine

import (
	"context"
	"errors"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hookgate/hookgate/pipeline/webhook"
)

// A manual redelivery sends a pending delivery now and an ended one
// again, with the same webhook-id; it refuses a waiting delivery, an
// ended one whose action has another open, an unknown one, another
// webhook's, and any while the webhook is failed.
func TestRetryDelivery(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		hour := time.Hour
		e, cfg := openAPI(t, b.config(t), webhook.Policy{Schedule: []time.Duration{hour, hour, hour, hour, hour, hour},
			FailAfter: 5, Timeout: 2 * time.Second})
		ctx := context.Background()
		rc := newReceiver(t)
		var failRunning atomic.Bool
		failRunning.Store(true)
		rc.setAnswer(func(w http.ResponseWriter, r *http.Request) int {
			if failRunning.Load() && r.URL.Query().Get("e") == webhook.TypeActionRunning {
				w.WriteHeader(http.StatusServiceUnavailable)
				return http.StatusServiceUnavailable
			}
			w.WriteHeader(http.StatusOK)
			return http.StatusOK
		})
		info, secret, err := e.CreateWebhook(ctx, webhook.Definition{Name: "api", URL: rc.srv.URL + "/?e=:event:"})
		if err != nil {
			t.Fatal(err)
		}
		rc.setSecrets(secret)
		wait(t, e, trigger(t, e, "deploy", nil))
		// deliveries are the webhook's deliveries, oldest first, with their statuses.
		deliveries := func() []string {
			ds, err := e.Deliveries(ctx, info.ID, DeliveryFilter{})
			if err != nil {
				t.Fatal(err)
			}
			var list []string
			for i := len(ds) - 1; i >= 0; i-- {
				list = append(list, ds[i].ID+" "+string(ds[i].Status))
			}
			return list
		}
		waitFor(t, "running to wait for its retry", func() bool {
			info := webhookState(t, e, info.ID)
			return info.Pending == 1 && info.Waiting == 1 && info.ConsecutiveFailures == 1
		})
		ds, _ := e.Deliveries(ctx, info.ID, DeliveryFilter{})
		queued, running, succeeded := ds[2], ds[1], ds[0]
		if queued.Status != webhook.DeliverySucceeded || running.Status != webhook.DeliveryPending || succeeded.Status != webhook.DeliveryWaiting {
			t.Fatalf("deliveries %v", deliveries())
		}
		for _, id := range []string{succeeded.ID, queued.ID} {
			if _, err := e.RetryDelivery(ctx, "api", id); !errors.Is(err, ErrDeliveryWaiting) {
				t.Errorf("retry of %s while the action's delivery waits for its retry: %v", id, err)
			}
		}

		failRunning.Store(false)
		d, err := e.RetryDelivery(ctx, info.ID, running.ID)
		if err != nil || d.ID != running.ID || d.Status != webhook.DeliveryPending || d.NextAttemptAt.After(time.Now()) {
			t.Fatalf("retry of the pending delivery: %+v, %v", d, err)
		}
		rc.waitAccepted(t, 3)
		waitFor(t, "every delivery to succeed", func() bool {
			info := webhookState(t, e, info.ID)
			return info.Pending+info.Waiting+info.Held == 0
		})

		d, err = e.RetryDelivery(ctx, "api", queued.ID)
		// Read after the commit, the retry may already have succeeded.
		if err != nil || d.Status != webhook.DeliveryPending && (d.Status != webhook.DeliverySucceeded || d.AttemptCount != 2) {
			t.Fatalf("retry of an ended delivery: %+v, %v", d, err)
		}
		got := rc.waitAccepted(t, 4)
		if got[3].ID != got[0].ID || got[3].ID != queued.EventID || !got[3].SignatureOK || got[3].Envelope.Type != webhook.TypeActionQueued {
			t.Errorf("redelivered %+v, first %+v", got[3], got[0])
		}
		waitFor(t, "the redelivery to be stored", func() bool {
			d, err := e.store.Delivery(ctx, queued.ID)
			return err == nil && d.Status == webhook.DeliverySucceeded && d.AttemptCount == 2
		})

		if _, err := e.RetryDelivery(ctx, "api", "dlv_nope"); !errors.Is(err, ErrNotFound) {
			t.Errorf("unknown delivery: %v", err)
		}
		cfgDeliveries, _ := e.Deliveries(ctx, "cfg", DeliveryFilter{})
		if len(cfg.accepted()) == 0 || len(cfgDeliveries) == 0 {
			t.Fatal("no delivery to the configured webhook")
		}
		if _, err := e.RetryDelivery(ctx, "api", cfgDeliveries[0].ID); !errors.Is(err, ErrNotFound) {
			t.Errorf("another webhook's delivery: %v", err)
		}
		if _, err := e.RetryDelivery(ctx, "nope", queued.ID); !errors.Is(err, ErrUnknownWebhook) {
			t.Errorf("unknown webhook: %v", err)
		}

		rc.setAnswer(answerStatus(http.StatusBadGateway))
		if _, err := e.TestWebhook(ctx, info.ID); err != nil || webhookState(t, e, info.ID).State != webhook.StateFailed {
			t.Fatalf("failing test: %v", err)
		}
		if _, err := e.RetryDelivery(ctx, "api", queued.ID); !errors.Is(err, ErrWebhookFailed) {
			t.Errorf("retry while the webhook is failed: %v", err)
		}
	})
}
