package store_test

import (
	"slices"
	"testing"
	"time"

	"github.com/hookgate/hookgate/pipeline/store"
	"github.com/hookgate/hookgate/pipeline/webhook"
)

// inTx runs fn in a transaction of its own, failing the test on error.
func inTx(t *testing.T, s store.Store, fn func(tx store.Tx) error) {
	t.Helper()
	if err := s.InTx(ctx, fn); err != nil {
		t.Fatal(err)
	}
}

// startAttempt runs Tx.StartAttempt in a transaction of its own.
func startAttempt(t *testing.T, s store.Store, id string, token int64) bool {
	t.Helper()
	var ok bool
	inTx(t, s, func(tx store.Tx) (err error) { ok, err = tx.StartAttempt(ctx, id, token, time.Now()); return err })
	return ok
}

// deliveryStatus is the stored status of a delivery.
func deliveryStatus(t *testing.T, s store.Store, id string) webhook.DeliveryStatus {
	t.Helper()
	d, err := s.Delivery(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	return d.Status
}

// An attempt in flight is only started by the job of the delivery's
// token while the webhook is not failed; a hold and a restart leave it to
// its outcome; a success in flight leaves a failed webhook failed.
func testAttemptInFlight(t *testing.T, s store.Store) {
	now := time.Now()
	later := now.Add(time.Hour)
	inTx(t, s, func(tx store.Tx) error {
		if _, err := tx.EnsureWebhook(ctx, "w", "http://example.com", "", now); err != nil {
			return err
		}
		for i, next := range []time.Time{now, now, later} {
			d := &store.Delivery{ID: "dlv_" + string(rune('a'+i)), Webhook: "w", EventID: "msg_" + string(rune('a'+i)),
				EventType: "action.queued", ActionID: "act_" + string(rune('a'+i)), Sequence: 1, Status: webhook.DeliveryPending,
				Body: []byte("{}"), JobToken: int64(i + 1), NextAttemptAt: &next, CreatedAt: now}
			if err := tx.InsertDelivery(ctx, d); err != nil {
				return err
			}
		}
		return nil
	})
	if startAttempt(t, s, "dlv_a", 9) {
		t.Error("an attempt started by a stale job")
	}
	if !startAttempt(t, s, "dlv_a", 1) || !startAttempt(t, s, "dlv_a", 1) {
		t.Error("an attempt not started by its job, or by its job run again")
	}
	var held int64
	var ids []string
	inTx(t, s, func(tx store.Tx) error {
		st, err := tx.RecordWebhookResult(ctx, "w", store.WebhookResult{At: now, FailAfter: 1})
		if err != nil || st != webhook.StateFailed {
			t.Errorf("after a failure: %s, %v", st, err)
		}
		if held, err = tx.HoldPending(ctx, "w", now); err != nil {
			return err
		}
		ids, err = tx.Restartable(ctx, "w", now)
		return err
	})
	if held != 2 || deliveryStatus(t, s, "dlv_a") != webhook.DeliveryPending {
		t.Errorf("held %d, the one in flight %s", held, deliveryStatus(t, s, "dlv_a"))
	}
	if !slices.Equal(ids, []string{"dlv_b", "dlv_c"}) {
		t.Errorf("restartable %v, want the held ones only", ids)
	}
	if startAttempt(t, s, "dlv_b", 2) || deliveryStatus(t, s, "dlv_b") != webhook.DeliveryHeld {
		t.Error("a held delivery started")
	}
	inTx(t, s, func(tx store.Tx) error {
		st, err := tx.RecordWebhookResult(ctx, "w", store.WebhookResult{OK: true, At: now, CountSuccess: true, FailAfter: 1, KeepFailed: true})
		if err != nil || st != webhook.StateFailed {
			t.Errorf("after a success in flight: %s, %v", st, err)
		}
		if err := tx.RecordAttempt(ctx, "dlv_a", store.Attempt{At: now, StatusCode: 200}, store.DeliveryNext{Status: webhook.DeliverySucceeded}); err != nil {
			return err
		}
		// A pending delivery whose webhook is failed is held by its job.
		return tx.ScheduleDelivery(ctx, "dlv_c", webhook.DeliveryPending, 7, now, now)
	})
	if w, err := s.Webhook(ctx, "w"); err != nil || w.State != webhook.StateFailed || w.LastSuccess == nil {
		t.Errorf("webhook %+v, %v", w, err)
	}
	if deliveryStatus(t, s, "dlv_a") != webhook.DeliverySucceeded {
		t.Errorf("the delivery in flight: %s", deliveryStatus(t, s, "dlv_a"))
	}
	if startAttempt(t, s, "dlv_c", 7) || deliveryStatus(t, s, "dlv_c") != webhook.DeliveryHeld {
		t.Errorf("a delivery of a failed webhook: %s", deliveryStatus(t, s, "dlv_c"))
	}
	// A restart sets the webhook active: attempts start again.
	inTx(t, s, func(tx store.Tx) error {
		if err := tx.SetWebhookState(ctx, "w", webhook.StateActive, now); err != nil {
			return err
		}
		return tx.ScheduleDelivery(ctx, "dlv_c", webhook.DeliveryPending, 8, now, now)
	})
	if !startAttempt(t, s, "dlv_c", 8) {
		t.Error("a restarted delivery not started")
	}
}
