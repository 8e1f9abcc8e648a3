package engine

import (
	"context"
	"math/rand/v2"
	"time"

	"go.uber.org/zap"

	"github.com/hookgate/hookgate/pipeline/action"
	"github.com/hookgate/hookgate/pipeline/store"
	"github.com/hookgate/hookgate/pipeline/webhook"
)

// recordEvents stores, in the transaction that makes them happen, a
// delivery of each event to each configured webhook that wants it, and
// returns those to attempt now, for their jobs.
//
// A webhook gets the events that its scope (global, pipelines or
// default) lets through and its when condition lets pass. A delivery is
// held when its webhook is failed, and waits when an earlier delivery of
// the same action to the same webhook is still open, so that a webhook
// gets an action's states in order. A when or body
// expression that fails ends the delivery failed, with the error as its
// attempt; other webhooks are unaffected.
func (e *Engine) recordEvents(ctx context.Context, tx store.Tx, events []webhook.Event) ([]deliveryRef, error) {
	set, err := e.currentWebhooks(ctx, tx)
	if err != nil || len(set.list) == 0 {
		return nil, err
	}
	var states map[string]webhook.State
	var due []deliveryRef
	now := time.Now()
	for i := range events {
		ev := &events[i]
		pipeline := ev.Pipeline()
		for _, w := range set.list {
			if !w.Subscribes(ev.Type) || !set.routes(w, pipeline) {
				continue
			}
			if states == nil {
				var err error
				if states, err = tx.WebhookStates(ctx); err != nil {
					return nil, err
				}
			}
			// A webhook not stored was deleted (on another instance,
			// which this one has not noticed yet).
			state := states[w.Name]
			if state == webhook.StateDeactivated || state == "" {
				continue
			}
			body, wanted, renderErr := w.Render(ev)
			if renderErr == nil && !wanted {
				continue
			}
			d := &store.Delivery{
				ID: newDeliveryID(now), Webhook: w.Name, EventID: ev.ID, EventType: ev.Type,
				Sequence: ev.Sequence, Body: body, Values: ev.Values(), Headers: w.DeliveryHeaders(ev), CreatedAt: ev.Time,
			}
			if ev.Action != nil {
				d.ActionID = ev.Action.ID
			}
			if renderErr != nil {
				if err := e.recordRenderError(ctx, tx, d, renderErr, now); err != nil {
					return nil, err
				}
				continue
			}
			open := false
			if d.ActionID != "" && d.Sequence > 1 {
				var err error
				if open, err = tx.HasOpenDelivery(ctx, w.Name, d.ActionID); err != nil {
					return nil, err
				}
			}
			switch {
			case open:
				d.Status = webhook.DeliveryWaiting
			case state == webhook.StateFailed:
				d.Status = webhook.DeliveryHeld
			default:
				d.Status, d.JobToken, d.NextAttemptAt = webhook.DeliveryPending, newToken(), &now
				due = append(due, deliveryRef{DeliveryID: d.ID, Token: d.JobToken, At: now, Webhook: w.Name})
			}
			if err := tx.InsertDelivery(ctx, d); err != nil {
				return nil, err
			}
		}
	}
	return due, nil
}

// currentWebhooks is the webhook set to record events with in tx. On
// PostgreSQL, where other instances change webhooks through the API, it
// is compiled again, from what tx reads, when tx sees a later revision
// than the set's: so an event committed after a webhook's creation, on
// any instance, goes to it, without waiting for the revision poll. The
// new set becomes current unless another was stored meanwhile; it is
// read through tx, and not under the reload lock, so that transactions
// never wait for a connection held by a reload that waits for them.
func (e *Engine) currentWebhooks(ctx context.Context, tx store.Tx) (*webhookSet, error) {
	set := e.webhooks.Load()
	if e.store.Backend() != "postgres" {
		return set, nil
	}
	rev, err := tx.Revision(ctx)
	if err != nil || rev <= set.revision {
		return set, err
	}
	api, err := loadAPIDefinitions(ctx, tx)
	if err != nil {
		return nil, err
	}
	newer, err := e.compileSet(set, api, time.Now())
	if err != nil {
		return nil, err
	}
	e.webhooks.CompareAndSwap(set, newer)
	return newer, nil
}

// recordRenderError stores a delivery whose when or body failed, ended
// failed with the error as its only attempt.
func (e *Engine) recordRenderError(ctx context.Context, tx store.Tx, d *store.Delivery, err error, now time.Time) error {
	e.logger.Warn("webhook expression failed; delivery given up", zap.String("webhook", d.Webhook),
		zap.String("event_id", d.EventID), zap.String("action_id", d.ActionID), zap.String("reason", err.Error()))
	d.Status, d.Body = webhook.DeliveryFailed, []byte{}
	if err := tx.InsertDelivery(ctx, d); err != nil {
		return err
	}
	return tx.RecordAttempt(ctx, d.ID, store.Attempt{At: now, Error: err.Error()},
		store.DeliveryNext{Status: webhook.DeliveryFailed})
}

// recordActionEvent records the event of a reaching its current state.
func (e *Engine) recordActionEvent(ctx context.Context, tx store.Tx, a *action.Action, now time.Time) ([]deliveryRef, error) {
	return e.recordEvents(ctx, tx, []webhook.Event{webhook.ActionEvent(a, now)})
}

// newToken is a new job token: positive, so never "no job".
func newToken() int64 { return rand.Int64N(1<<62) + 1 }

// newDeliveryID is a new delivery ID, "dlv_" and a time-ordered unique
// suffix.
func newDeliveryID(now time.Time) string { return action.NewPrefixedID("dlv", now) }
