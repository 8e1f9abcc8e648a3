package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// Event is an incoming hook kept by a relay hook: the hook.received
// event its deliveries carry.
type Event struct {
	// ID identifies the event: the webhook-id of its deliveries.
	ID string
	// Type is the event's type, hook.received.
	Type string
	// Hook names the hook that received it.
	Hook string
	// Pipeline is the pipeline the hook triggers, if any.
	Pipeline string
	// ActionID is the action the hook triggered with it, if any.
	ActionID string
	// DeliveryID is the provider's delivery id; "" for none.
	DeliveryID string
	// DedupID is the id the hook is deduplicated by, "" for none: a
	// second event of the same hook and dedup id is not stored.
	DedupID string
	// RemoteIP is where the hook came from.
	RemoteIP string
	// ContentType is the hook's Content-Type.
	ContentType string
	// Headers are the hook's headers, first values, signature and
	// authorization headers removed.
	Headers map[string]string
	// Variables are the hook's variables.
	Variables map[string]any
	// Body is the hook's body, byte for byte.
	Body []byte
	// CreatedAt is when the hook was received.
	CreatedAt time.Time
}

// EventTx is what a transaction does with the events of relay hooks.
type EventTx interface {
	// InsertEvent stores an event. When another event has the same hook
	// and dedup id, nothing is stored and that event's ID is returned.
	InsertEvent(ctx context.Context, ev *Event) (existing string, err error)
	// DedupEvent is the ID of the event of a hook's dedup id, or "".
	DedupEvent(ctx context.Context, hook, dedupID string) (string, error)
}

// InsertEvent implements EventTx.
func (t *tx) InsertEvent(ctx context.Context, ev *Event) (string, error) {
	headers, err := json.Marshal(ev.Headers)
	if err != nil {
		return "", fmt.Errorf("headers: %v", err)
	}
	vars, err := json.Marshal(ev.Variables)
	if err != nil {
		return "", fmt.Errorf("variables: %v", err)
	}
	body := ev.Body
	if body == nil {
		body = []byte{}
	}
	n, err := t.q.exec(ctx, `INSERT INTO hookgate_event
		(id, type, hook, pipeline, action_id, delivery_id, dedup_id, remote_ip, content_type, headers, variables, body, created_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)
		ON CONFLICT (hook, dedup_id) WHERE dedup_id IS NOT NULL DO NOTHING`,
		ev.ID, ev.Type, ev.Hook, ev.Pipeline, ev.ActionID, ev.DeliveryID, nullString(ev.DedupID), ev.RemoteIP, ev.ContentType,
		string(headers), string(vars), body, ev.CreatedAt.UnixMicro())
	if err != nil || n == 1 {
		return "", err
	}
	existing, err := t.DedupEvent(ctx, ev.Hook, ev.DedupID)
	if err == nil && existing == "" {
		err = fmt.Errorf("event %s was not stored and has no duplicate", ev.ID)
	}
	return existing, err
}

// DedupEvent implements EventTx.
func (t *tx) DedupEvent(ctx context.Context, hook, dedupID string) (string, error) {
	var id string
	err := queryOne(ctx, t.q, `SELECT id FROM hookgate_event WHERE hook = $1 AND dedup_id = $2`,
		[]any{hook, dedupID}, &id)
	if errors.Is(err, ErrNotFound) {
		return "", nil
	}
	return id, err
}

// deleteOldEvents deletes the events received before before, but those
// with a delivery still open.
func deleteOldEvents(ctx context.Context, q querier, before time.Time) error {
	_, err := q.exec(ctx, `DELETE FROM hookgate_event WHERE created_at < $1 AND id NOT IN
		(SELECT event_id FROM hookgate_delivery WHERE status IN ('pending', 'waiting', 'held'))`, before.UnixMicro())
	return err
}
