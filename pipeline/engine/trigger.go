package engine

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"github.com/hookgate/hookgate/pipeline/action"
	"github.com/hookgate/hookgate/pipeline/store"
	"github.com/hookgate/hookgate/pipeline/webhook"
)

// request is one Trigger or Relay waiting for its batch to commit.
type request struct {
	// action is the action to store, nil for a relay without pipeline.
	action *action.Action
	plan   *action.Plan
	// received is the hook to keep as a hook.received event, nil
	// without relay.
	received *webhook.Received
	// event is the ID of that event.
	event string
	// dedupID deduplicates a relay without pipeline; "" for none.
	dedupID string
	// at is when the hook was received.
	at   time.Time
	done chan result
}

// result is the answer to a request.
type result struct {
	triggered Triggered
	err       error
}

// batcher stores triggers and relays in batches (group commit): actions,
// events, jobs and deliveries together.
type batcher struct {
	e *Engine
	groupCommit[*request]
}

// newBatcher starts the batcher.
func newBatcher(e *Engine) *batcher {
	b := &batcher{e: e}
	b.start(e.store.Backend(), b.commit)
	return b
}

// commit stores a batch in one transaction, actions, events, jobs and
// deliveries together, and answers each request.
func (b *batcher) commit(batch []*request) {
	ctx, cancel := context.WithTimeout(context.Background(), batchTimeout)
	defer cancel()
	results := make([]result, len(batch))
	var jobs []actionArgs
	var events []webhook.Event
	delivering := false
	err := b.e.store.InTx(ctx, func(tx store.Tx) error {
		jobs, events = jobs[:0], events[:0]
		queued, err := lockLimited(ctx, tx, batch)
		if err != nil {
			return err
		}
		for i, r := range batch {
			if r.action == nil {
				first, err := insertEvent(ctx, tx, r, r.dedupID)
				switch {
				case err != nil:
					return err
				case first != "":
					results[i] = result{triggered: Triggered{EventID: first, Duplicate: true}}
				default:
					results[i] = result{triggered: Triggered{EventID: r.event}}
					events = append(events, webhook.ReceivedEvent(r.received, r.event, r.at))
				}
				continue
			}
			a := r.action
			if a.DeliveryID != "" {
				first, err := tx.DeliveryAction(ctx, a.Hook, a.DeliveryID)
				if err != nil {
					return err
				}
				if first != "" {
					if results[i], err = duplicate(ctx, tx, r, first); err != nil {
						return err
					}
					continue
				}
			}
			if limit := r.plan.Pipeline.QueueLimit; limit > 0 && queued[a.Pipeline] >= limit {
				results[i] = result{err: fmt.Errorf("%w: pipeline %q has %d actions queued", ErrQueueFull, a.Pipeline, limit)}
				continue
			}
			first, err := tx.Insert(ctx, a)
			if err != nil {
				return err
			}
			if first != "" {
				if results[i], err = duplicate(ctx, tx, r, first); err != nil {
					return err
				}
				continue
			}
			queued[a.Pipeline]++
			results[i] = result{triggered: Triggered{ActionID: a.ID}}
			jobs = append(jobs, actionArgs{ActionID: a.ID, Pipeline: a.Pipeline})
			events = append(events, webhook.ActionEvent(a, a.CreatedAt))
			if r.received == nil {
				continue
			}
			r.received.ActionID = a.ID
			first, err = insertEvent(ctx, tx, r, a.DeliveryID)
			if err != nil {
				return err
			}
			results[i].triggered.EventID = cmp.Or(first, r.event)
			if first == "" {
				events = append(events, webhook.ReceivedEvent(r.received, r.event, a.CreatedAt))
			}
		}
		if len(jobs) > 0 {
			if err := b.e.queue.insert(ctx, tx, jobs); err != nil {
				return err
			}
		}
		if len(events) == 0 {
			return nil
		}
		due, err := b.e.recordEvents(ctx, tx, events)
		if err != nil || len(due) == 0 {
			return err
		}
		delivering = true
		return b.e.queue.insertDeliveries(ctx, tx, due)
	})
	if err == nil && len(jobs) > 0 {
		b.e.queue.inserted(jobs)
	}
	if err == nil && delivering {
		b.e.queue.deliveriesInserted()
	}
	for i, r := range batch {
		if err != nil {
			results[i] = result{err: fmt.Errorf("%w: %v", ErrUnavailable, err)}
		}
		r.done <- results[i]
	}
}

// duplicate is the answer to a trigger whose delivery was seen before,
// by the action first: with the first event too, for a relay.
func duplicate(ctx context.Context, tx store.Tx, r *request, first string) (result, error) {
	res := result{triggered: Triggered{ActionID: first, Duplicate: true}}
	if r.received == nil {
		return res, nil
	}
	var err error
	res.triggered.EventID, err = tx.DedupEvent(ctx, r.action.Hook, r.action.DeliveryID)
	return res, err
}

// insertEvent stores the hook.received event of a relay, deduplicated by
// dedupID; it returns the first event's ID when dedupID was seen.
func insertEvent(ctx context.Context, tx store.Tx, r *request, dedupID string) (string, error) {
	h := r.received
	return tx.InsertEvent(ctx, &store.Event{
		ID: r.event, Type: webhook.TypeHookReceived, Hook: h.Name, Pipeline: h.Pipeline, ActionID: h.ActionID,
		DeliveryID: h.DeliveryID, DedupID: dedupID, RemoteIP: h.RemoteIP, ContentType: h.ContentType,
		Headers: h.Headers, Variables: h.Variables, Body: h.Body, CreatedAt: r.at,
	})
}

// lockLimited locks the pipelines of the batch that have a queue limit,
// in name order, and counts their queued actions.
func lockLimited(ctx context.Context, tx store.Tx, batch []*request) (map[string]int, error) {
	limits := make(map[string]int)
	for _, r := range batch {
		if r.plan == nil {
			continue
		}
		if l := r.plan.Pipeline.QueueLimit; l > 0 {
			limits[r.action.Pipeline] = l
		}
	}
	names := make([]string, 0, len(limits))
	for name := range limits {
		names = append(names, name)
	}
	slices.Sort(names)
	queued := make(map[string]int, len(limits))
	for _, name := range names {
		if err := tx.LockPipeline(ctx, name); err != nil {
			return nil, err
		}
		n, err := tx.CountQueued(ctx, name, limits[name])
		if err != nil {
			return nil, err
		}
		queued[name] = n
	}
	return queued, nil
}

// Trigger stores a new action of a pipeline and its job, in one
// transaction, and returns its ID once committed: the action is durable
// when Trigger returns. With t.Relay, the hook's hook.received event and
// its deliveries are stored in that transaction too. A trigger of a
// delivery seen before returns the first action's (and event's) ID with
// Duplicate set and stores nothing. Errors:
// ErrUnknownPipeline, ErrQueueFull, ErrUnavailable (nothing stored).
func (e *Engine) Trigger(ctx context.Context, t Trigger) (Triggered, error) {
	plan := e.plan(t.Pipeline)
	if plan == nil {
		return Triggered{}, fmt.Errorf("%w: %q", ErrUnknownPipeline, t.Pipeline)
	}
	vars := t.Vars
	if vars == nil {
		vars = map[string]any{}
	}
	if _, err := json.Marshal(vars); err != nil {
		return Triggered{}, fmt.Errorf("variables: %v", err)
	}
	now := time.Now()
	r := &request{
		action: &action.Action{
			ID: action.NewID(now), Pipeline: t.Pipeline, Hook: t.Hook, Status: action.StatusQueued,
			Variables: vars, DeliveryID: t.DeliveryID, RemoteIP: t.RemoteIP, CreatedAt: now, Payload: t.Payload,
		},
		plan: plan,
		at:   now,
		done: make(chan result, 1),
	}
	if t.Relay != nil {
		h := *t.Relay
		h.Pipeline = t.Pipeline
		r.received, r.event = &h, webhook.NewEventID(now)
	}
	return e.submit(ctx, r)
}

// submit queues a request for the next batch and waits for its answer.
func (e *Engine) submit(ctx context.Context, r *request) (Triggered, error) {
	if err := e.triggers.submit(ctx, r); err != nil {
		return Triggered{}, err
	}
	select {
	case res := <-r.done:
		return res.triggered, res.err
	case <-ctx.Done():
		return Triggered{}, ctx.Err()
	}
}
