package store_test

import (
	"errors"
	"reflect"
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

// startAttempt runs Tx.StartAttempts for one delivery in a transaction
// of its own.
func startAttempt(t *testing.T, s store.Store, id string, token int64, at time.Time) bool {
	t.Helper()
	var d *store.Delivery
	inTx(t, s, func(tx store.Tx) error {
		started, err := tx.StartAttempts(ctx, []store.AttemptStart{{ID: id, Token: token, At: at}})
		if err == nil {
			d = started[0]
		}
		return err
	})
	if d != nil && (d.ID != id || d.JobToken != token) {
		t.Errorf("StartAttempt(%s, %d) returned delivery %s with token %d", id, token, d.ID, d.JobToken)
	}
	return d != nil
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
	if startAttempt(t, s, "dlv_a", 9, now) {
		t.Error("an attempt started by a stale job")
	}
	if !startAttempt(t, s, "dlv_a", 1, now) || !startAttempt(t, s, "dlv_a", 1, now) {
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
	if startAttempt(t, s, "dlv_b", 2, now) || deliveryStatus(t, s, "dlv_b") != webhook.DeliveryHeld {
		t.Error("a held delivery started")
	}
	// The late result of an attempt started at another time (its job was
	// taken over meanwhile) is refused.
	inTx(t, s, func(tx store.Tx) error {
		return tx.RecordAttempt(ctx, "dlv_a", store.Attempt{At: now.Add(-time.Minute), StatusCode: 500},
			store.DeliveryNext{Status: webhook.DeliveryFailed})
	})
	if deliveryStatus(t, s, "dlv_a") != webhook.DeliveryPending {
		t.Errorf("a late result of a taken-over attempt was stored: %s", deliveryStatus(t, s, "dlv_a"))
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
	if startAttempt(t, s, "dlv_c", 7, now) || deliveryStatus(t, s, "dlv_c") != webhook.DeliveryHeld {
		t.Errorf("a delivery of a failed webhook: %s", deliveryStatus(t, s, "dlv_c"))
	}
	// A restart sets the webhook active: attempts start again.
	inTx(t, s, func(tx store.Tx) error {
		if err := tx.SetWebhookState(ctx, "w", webhook.StateActive, now); err != nil {
			return err
		}
		return tx.ScheduleDelivery(ctx, "dlv_c", webhook.DeliveryPending, 8, now, now)
	})
	if !startAttempt(t, s, "dlv_c", 8, now) {
		t.Error("a restarted delivery not started")
	}
}

// Attempts started together are each started, held or left alone as
// one at a time would be; the same start twice starts once, and a
// success repeated in a transaction answers the state it leaves, until
// another result changes it.
func testStartAttempts(t *testing.T, s store.Store) {
	now := time.Now()
	inTx(t, s, func(tx store.Tx) error {
		for _, name := range []string{"ok", "down"} {
			if _, err := tx.EnsureWebhook(ctx, name, "http://example.com", "", now); err != nil {
				return err
			}
		}
		if err := tx.SetWebhookState(ctx, "down", webhook.StateFailed, now); err != nil {
			return err
		}
		for i, name := range []string{"ok", "ok", "down", "ok"} {
			d := &store.Delivery{ID: "dlv_" + string(rune('1'+i)), Webhook: name, EventID: "msg_" + string(rune('1'+i)),
				EventType: "hook.rejected", Sequence: 1, Status: webhook.DeliveryPending,
				Body: []byte("{}"), JobToken: int64(i + 1), NextAttemptAt: &now, CreatedAt: now}
			if err := tx.InsertDelivery(ctx, d); err != nil {
				return err
			}
		}
		return nil
	})
	second := now.Add(time.Second)
	starts := []store.AttemptStart{{ID: "dlv_1", Token: 1, At: now}, {ID: "dlv_3", Token: 3, At: now},
		{ID: "dlv_4", Token: 9, At: now}, {ID: "dlv_2", Token: 2, At: now}, {ID: "dlv_1", Token: 1, At: second}}
	var started []*store.Delivery
	inTx(t, s, func(tx store.Tx) (err error) { started, err = tx.StartAttempts(ctx, starts); return err })
	var got []string
	for _, d := range started {
		id := "-"
		if d != nil {
			id = d.ID
		}
		got = append(got, id)
	}
	if want := []string{"dlv_1", "-", "-", "dlv_2", "-"}; !slices.Equal(got, want) {
		t.Errorf("started %v, want %v", got, want)
	}
	for id, want := range map[string]webhook.DeliveryStatus{"dlv_1": webhook.DeliveryPending, "dlv_2": webhook.DeliveryPending,
		"dlv_3": webhook.DeliveryHeld, "dlv_4": webhook.DeliveryPending} {
		if st := deliveryStatus(t, s, id); st != want {
			t.Errorf("%s is %s, want %s", id, st, want)
		}
	}
	// The first of the same start twice is in flight: its result is
	// stored.
	inTx(t, s, func(tx store.Tx) error {
		return tx.RecordAttempt(ctx, "dlv_1", store.Attempt{At: now, StatusCode: 200}, store.DeliveryNext{Status: webhook.DeliverySucceeded})
	})
	if st := deliveryStatus(t, s, "dlv_1"); st != webhook.DeliverySucceeded {
		t.Errorf("the result of the attempt started first: %s", st)
	}
	ok := store.WebhookResult{OK: true, At: now, CountSuccess: true, FailAfter: 1, KeepFailed: true}
	inTx(t, s, func(tx store.Tx) error {
		for i, r := range []struct {
			res  store.WebhookResult
			want webhook.State
		}{{ok, webhook.StateActive}, {ok, webhook.StateActive}, {store.WebhookResult{At: now, FailAfter: 1}, webhook.StateFailed},
			{ok, webhook.StateFailed}} {
			st, err := tx.RecordWebhookResult(ctx, "ok", r.res)
			if err != nil {
				return err
			}
			if st != r.want {
				t.Errorf("result %d: %s, want %s", i, st, r.want)
			}
		}
		return nil
	})
	if w, err := s.Webhook(ctx, "ok"); err != nil || w.State != webhook.StateFailed {
		t.Errorf("webhook %+v, %v", w, err)
	}
}

// An API webhook shares the names of configured ones, is found by ID or
// name, keeps its deliveries when renamed, loses them when deleted, and
// is left alone by the configuration.
func testAPIWebhooks(t *testing.T, s store.Store) {
	now := time.Now().Truncate(time.Microsecond).UTC()
	expires := now.Add(time.Hour)
	api := &store.WebhookRecord{
		ID: "hNoX81kg4R_aJBmxp1Bhr", Name: "api", Source: store.SourceAPI, State: webhook.StateNew, URL: "https://example.com/a",
		Definition: &webhook.Definition{Name: "api", URL: "https://example.com/a", Headers: map[string]string{"X-A": "1"},
			EventTypes: []webhook.EventType{{Type: webhook.TypeActionFailed, Version: "1.0.0"}}, JSONPayload: true, When: "true", Body: `"x"`},
		Secret: "whsec_new", SecretGenerated: true, PreviousSecret: "whsec_old", PreviousSecretExpiresAt: &expires,
		CreatedAt: now, UpdatedAt: now,
	}
	inTx(t, s, func(tx store.Tx) error {
		if _, err := tx.EnsureWebhook(ctx, "cfg", "https://example.com/c", "", now); err != nil {
			return err
		}
		if err := tx.InsertAPIWebhook(ctx, api); err != nil {
			return err
		}
		for i, name := range []string{"api", "api", "cfg"} {
			id := "dlv_" + string(rune('a'+i))
			d := &store.Delivery{ID: id, Webhook: name, EventID: "msg_" + string(rune('a'+i)), EventType: "action.failed",
				Sequence: 1, Status: webhook.DeliverySucceeded, Body: []byte("{}"), CreatedAt: now}
			if err := tx.InsertDelivery(ctx, d); err != nil {
				return err
			}
			if err := tx.RecordAttempt(ctx, id, store.Attempt{At: now, StatusCode: 200}, store.DeliveryNext{Status: webhook.DeliverySucceeded}); err != nil {
				return err
			}
		}
		return nil
	})
	for _, name := range []string{"cfg", "api"} {
		dup := *api
		dup.ID, dup.Name = "other-"+name, name
		if err := s.InTx(ctx, func(tx store.Tx) error { return tx.InsertAPIWebhook(ctx, &dup) }); !errors.Is(err, store.ErrExists) {
			t.Errorf("an API webhook named %s: %v, want ErrExists", name, err)
		}
	}
	for _, ref := range []string{api.ID, "api"} {
		if got, err := s.FindWebhook(ctx, ref); err != nil || !reflect.DeepEqual(got, api) {
			t.Errorf("FindWebhook(%s) = %+v, %v; want %+v", ref, got, err, api)
		}
	}
	if cfg, err := s.FindWebhook(ctx, "cfg"); err != nil || cfg.ID != "cfg" || cfg.Source != store.SourceConfig || cfg.Definition != nil {
		t.Errorf("configured webhook %+v, %v", cfg, err)
	}
	if _, err := s.FindWebhook(ctx, "nope"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("unknown webhook: %v", err)
	}
	// The configuration does not take over an API webhook.
	inTx(t, s, func(tx store.Tx) error {
		rec, err := tx.EnsureWebhook(ctx, "api", "https://example.com/elsewhere", "whsec_x", now)
		if err == nil && (rec.Source != store.SourceAPI || rec.URL != api.URL || rec.Secret != api.Secret) {
			t.Errorf("EnsureWebhook changed an API webhook: %+v", rec)
		}
		return err
	})

	renamed := *api
	renamed.Name = "cfg"
	if err := s.InTx(ctx, func(tx store.Tx) error { return tx.UpdateAPIWebhook(ctx, "api", &renamed) }); !errors.Is(err, store.ErrExists) {
		t.Errorf("renamed to a configured webhook's name: %v, want ErrExists", err)
	}
	if err := s.InTx(ctx, func(tx store.Tx) error { return tx.UpdateAPIWebhook(ctx, "cfg", &renamed) }); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("UpdateAPIWebhook of a configured webhook: %v, want ErrNotFound", err)
	}
	renamed.Name, renamed.URL, renamed.State, renamed.Secret, renamed.PreviousSecret, renamed.PreviousSecretExpiresAt =
		"api2", "https://example.com/b", webhook.StateDeactivated, "whsec_newer", "", nil
	renamed.Definition = &webhook.Definition{Name: "api2", URL: "https://example.com/b"}
	renamed.UpdatedAt = now.Add(time.Minute)
	inTx(t, s, func(tx store.Tx) error {
		got, err := tx.FindWebhook(ctx, "api")
		if err != nil || got.ID != api.ID {
			t.Errorf("FindWebhook in a transaction: %+v, %v", got, err)
		}
		return tx.UpdateAPIWebhook(ctx, "api", &renamed)
	})
	if got, err := s.FindWebhook(ctx, api.ID); err != nil || !reflect.DeepEqual(got, &renamed) {
		t.Errorf("renamed webhook %+v, %v; want %+v", got, err, &renamed)
	}
	if list, err := s.Deliveries(ctx, "api2", store.DeliveryFilter{}); err != nil || len(list) != 2 || len(list[0].Attempts) != 1 {
		t.Errorf("deliveries after the rename: %+v, %v", list, err)
	}
	if list, _ := s.Deliveries(ctx, "api", store.DeliveryFilter{}); len(list) != 0 {
		t.Errorf("deliveries left under the old name: %+v", list)
	}

	// A manual retry reopens an ended delivery, unless an attempt is in flight.
	var retried bool
	inTx(t, s, func(tx store.Tx) (err error) {
		d, err := tx.Delivery(ctx, "dlv_a")
		if err != nil || d.Webhook != "api2" {
			t.Errorf("delivery in a transaction: %+v, %v", d, err)
		}
		retried, err = tx.RetryDelivery(ctx, "dlv_a", 42, now)
		return err
	})
	if d, _ := s.Delivery(ctx, "dlv_a"); !retried || d.Status != webhook.DeliveryPending || d.JobToken != 42 {
		t.Errorf("retried %v: %+v", retried, d)
	}
	startAttempt(t, s, "dlv_a", 42, now)
	inTx(t, s, func(tx store.Tx) (err error) { retried, err = tx.RetryDelivery(ctx, "dlv_a", 43, now); return err })
	if d, _ := s.Delivery(ctx, "dlv_a"); retried || d.JobToken != 42 {
		t.Errorf("a delivery in flight retried: %+v", d)
	}

	inTx(t, s, func(tx store.Tx) error { return tx.DeleteWebhook(ctx, "api2") })
	if _, err := s.FindWebhook(ctx, api.ID); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("deleted webhook: %v", err)
	}
	if _, err := s.Delivery(ctx, "dlv_b"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("delivery of a deleted webhook: %v", err)
	}
	if list, _ := s.Deliveries(ctx, "cfg", store.DeliveryFilter{}); len(list) != 1 || len(list[0].Attempts) != 1 {
		t.Errorf("another webhook's deliveries: %+v", list)
	}
	if err := s.InTx(ctx, func(tx store.Tx) error { return tx.DeleteWebhook(ctx, "api2") }); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("second delete: %v", err)
	}
}
