package engine

import (
	"context"

	"github.com/hookgate/hookgate/pipeline/store"
	"github.com/hookgate/hookgate/pipeline/webhook"
)

// txFunc is work done in a transaction. It returns the deliveries it
// made due, whose jobs the transaction inserts at its end, together, so
// that deliveries due at once share jobs (see groupDeliveries).
type txFunc func(ctx context.Context, tx store.Tx) ([]deliveryRef, error)

// txRequest is a txFunc, the start of an attempt or events to record,
// waiting for its batch to commit.
type txRequest struct {
	fn txFunc
	// start is an attempt to mark in flight, together with those of the
	// other requests of the batch (one statement on PostgreSQL);
	// started is then its delivery, or nil when it may not be made.
	start   *store.AttemptStart
	started *store.Delivery
	// events are recorded together with those of the other requests of
	// the batch: the webhooks' revision and states are read once.
	events []webhook.Event
	done   chan error
}

// txBatcher runs txFuncs in shared transactions (group commit): the
// results of delivery attempts arriving while one transaction commits go
// in the next one. A batch that fails is retried one function per
// transaction, so that one function's error fails only its caller.
type txBatcher struct {
	e *Engine
	groupCommit[*txRequest]
}

// newTxBatcher starts a batcher.
func newTxBatcher(e *Engine) *txBatcher {
	b := &txBatcher{e: e}
	b.start(e.store.Backend(), b.commit)
	return b
}

// run runs fn in a shared transaction and returns once it committed, or
// fn's error.
func (b *txBatcher) run(ctx context.Context, fn txFunc) error {
	return b.wait(ctx, &txRequest{fn: fn})
}

// startAttempt marks an attempt in flight in a shared transaction
// (store.Tx.StartAttempts) and returns its delivery once committed, or
// nil when it may not be made.
func (b *txBatcher) startAttempt(ctx context.Context, s store.AttemptStart) (*store.Delivery, error) {
	r := &txRequest{start: &s}
	err := b.wait(ctx, r)
	return r.started, err
}

// record records events in a shared transaction (recordEvents) and
// returns once it committed.
func (b *txBatcher) record(ctx context.Context, events []webhook.Event) error {
	return b.wait(ctx, &txRequest{events: events})
}

// wait queues r and waits for its answer.
func (b *txBatcher) wait(ctx context.Context, r *txRequest) error {
	r.done = make(chan error, 1)
	if err := b.submit(ctx, r); err != nil {
		return err
	}
	select {
	case err := <-r.done:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// commit runs a batch in one transaction, or each function alone when
// that fails, and answers each request.
func (b *txBatcher) commit(batch []*txRequest) {
	if err := b.runTx(batch); err == nil || len(batch) == 1 {
		for _, r := range batch {
			r.done <- err
		}
		return
	}
	for _, r := range batch {
		r.done <- b.runTx([]*txRequest{r})
	}
}

// runTx runs requests in one transaction: the starts of attempts
// together first, then the events together, then the functions.
func (b *txBatcher) runTx(batch []*txRequest) error {
	ctx, cancel := context.WithTimeout(context.Background(), batchTimeout)
	defer cancel()
	return b.e.inTx(ctx, func(ctx context.Context, tx store.Tx) ([]deliveryRef, error) {
		var starts []store.AttemptStart
		var events []webhook.Event
		for _, r := range batch {
			if r.start != nil {
				starts = append(starts, *r.start)
			}
			events = append(events, r.events...)
		}
		if len(starts) > 0 {
			started, err := tx.StartAttempts(ctx, starts)
			if err != nil {
				return nil, err
			}
			i := 0
			for _, r := range batch {
				if r.start != nil {
					r.started = started[i]
					i++
				}
			}
		}
		var due []deliveryRef
		if len(events) > 0 {
			var err error
			if due, err = b.e.recordEvents(ctx, tx, events); err != nil {
				return nil, err
			}
		}
		for _, r := range batch {
			if r.fn == nil {
				continue
			}
			refs, err := r.fn(ctx, tx)
			if err != nil {
				return nil, err
			}
			due = append(due, refs...)
		}
		return due, nil
	})
}

// inTx runs fn in a transaction of its own, with the jobs of the
// deliveries it made due, and wakes the delivery workers after the
// commit.
func (e *Engine) inTx(ctx context.Context, fn txFunc) error {
	var due []deliveryRef
	err := e.store.InTx(ctx, func(tx store.Tx) error {
		var err error
		if due, err = fn(ctx, tx); err != nil || len(due) == 0 {
			return err
		}
		return e.queue.insertDeliveries(ctx, tx, due)
	})
	if err == nil && len(due) > 0 {
		e.queue.deliveriesInserted()
	}
	return err
}
