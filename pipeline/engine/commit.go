package engine

import (
	"context"

	"github.com/hookgate/hookgate/pipeline/store"
)

// txFunc is work done in a transaction. It returns the deliveries it
// made due, whose jobs the transaction inserts at its end, together, so
// that deliveries due at once share jobs (see groupDeliveries).
type txFunc func(ctx context.Context, tx store.Tx) ([]deliveryRef, error)

// txRequest is a txFunc waiting for its batch to commit.
type txRequest struct {
	fn   txFunc
	done chan error
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
	r := &txRequest{fn: fn, done: make(chan error, 1)}
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

// runTx runs functions in one transaction.
func (b *txBatcher) runTx(batch []*txRequest) error {
	ctx, cancel := context.WithTimeout(context.Background(), batchTimeout)
	defer cancel()
	return b.e.inTx(ctx, func(ctx context.Context, tx store.Tx) ([]deliveryRef, error) {
		var due []deliveryRef
		for _, r := range batch {
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
