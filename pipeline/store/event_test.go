package store_test

import (
	"testing"
	"time"

	"github.com/hookgate/hookgate/pipeline/store"
	"github.com/hookgate/hookgate/pipeline/webhook"
)

// insertEvent stores an event in a transaction of its own and returns
// what InsertEvent said.
func insertEvent(t *testing.T, s store.Store, ev *store.Event) string {
	t.Helper()
	var existing string
	if err := s.InTx(ctx, func(tx store.Tx) error {
		var err error
		existing, err = tx.InsertEvent(ctx, ev)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	return existing
}

// testEvents: an event of a dedup id seen before is not stored and the
// first is named; events without one are all stored; retention deletes
// old events but those with a delivery still open.
func testEvents(t *testing.T, s store.Store) {
	old := time.Now().Add(-48 * time.Hour)
	event := func(id, dedup string) *store.Event {
		return &store.Event{ID: id, Type: webhook.TypeHookReceived, Hook: "github", DeliveryID: dedup, DedupID: dedup,
			Headers: map[string]string{"X-Github-Event": "push"}, Variables: map[string]any{"ref": "main"},
			Body: []byte(`{"ref":"main"}`), CreatedAt: old}
	}
	if existing := insertEvent(t, s, event("msg_1", "d-1")); existing != "" {
		t.Fatalf("first event: existing %q", existing)
	}
	if existing := insertEvent(t, s, event("msg_2", "d-1")); existing != "msg_1" {
		t.Fatalf("same dedup id: existing %q, want msg_1", existing)
	}
	for _, id := range []string{"msg_3", "msg_4"} {
		if existing := insertEvent(t, s, event(id, "")); existing != "" {
			t.Fatalf("%s without dedup: existing %q", id, existing)
		}
	}
	insertEvent(t, s, event("msg_5", "d-5"))
	if err := s.InTx(ctx, func(tx store.Tx) error {
		return tx.InsertDelivery(ctx, &store.Delivery{ID: "dlv_5", Webhook: "app", EventID: "msg_5", EventType: webhook.TypeHookReceived,
			Sequence: 1, Status: webhook.DeliveryHeld, Body: []byte("{}"), Values: map[string]string{}, CreatedAt: old})
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.DeleteFinished(ctx, time.Now().Add(-time.Hour)); err != nil {
		t.Fatal(err)
	}
	if existing := insertEvent(t, s, event("msg_6", "d-1")); existing != "" {
		t.Errorf("msg_1 outlived its retention: %q", existing)
	}
	if existing := insertEvent(t, s, event("msg_7", "d-5")); existing != "msg_5" {
		t.Errorf("msg_5, with a held delivery, was deleted: %q", existing)
	}
}
