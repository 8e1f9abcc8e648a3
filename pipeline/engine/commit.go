package engine

import (
	"context"
	"fmt"
	"sync"

	"github.com/hookgate/hookgate/pipeline/store"
)

// txFunc is work done in a shared transaction. It reports whether it
// inserted delivery jobs, so that the workers are woken after the commit.
type txFunc func(ctx context.Context, tx store.Tx) (inserted bool, err error)

// txRequest is a txFunc waiting for its batch to commit.
type txRequest struct {
	fn   txFunc
	done chan error
}

// txBatcher runs txFuncs in shared transactions (group commit), as the
// trigger batcher does for triggers: the results of delivery attempts
// arriving while one transaction commits go in the next one. A batch that
// fails is retried one function per transaction, so that one function's
// error fails only its caller.
type txBatcher struct {
	e        *Engine
	requests chan *txRequest
	mu       sync.RWMutex
	closed   bool
	done     sync.WaitGroup
}

// newTxBatcher starts a batcher: one committer on SQLite, a few on
// PostgreSQL.
func newTxBatcher(e *Engine) *txBatcher {
	b := &txBatcher{e: e, requests: make(chan *txRequest, 4*maxBatch)}
	committers := 1
	if e.store.Backend() == "postgres" {
		committers = 4
	}
	for range committers {
		b.done.Go(b.loop)
	}
	return b
}

// close stops taking functions and waits for those taken to be committed.
func (b *txBatcher) close() {
	b.mu.Lock()
	b.closed = true
	close(b.requests)
	b.mu.Unlock()
	b.done.Wait()
}

// run runs fn in a shared transaction and returns once it committed, or
// fn's error.
func (b *txBatcher) run(ctx context.Context, fn txFunc) error {
	r := &txRequest{fn: fn, done: make(chan error, 1)}
	b.mu.RLock()
	if b.closed {
		b.mu.RUnlock()
		return fmt.Errorf("%w: the engine is stopped", ErrUnavailable)
	}
	b.requests <- r
	b.mu.RUnlock()
	select {
	case err := <-r.done:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// loop commits batches until the batcher is closed and drained.
func (b *txBatcher) loop() {
	for {
		batch, ok := gather(b.requests)
		if !ok {
			return
		}
		b.commit(batch)
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

// runTx runs functions in one transaction and wakes the delivery workers
// when they inserted jobs.
func (b *txBatcher) runTx(batch []*txRequest) error {
	ctx, cancel := context.WithTimeout(context.Background(), batchTimeout)
	defer cancel()
	inserted := false
	err := b.e.store.InTx(ctx, func(tx store.Tx) error {
		for _, r := range batch {
			ins, err := r.fn(ctx, tx)
			if err != nil {
				return err
			}
			inserted = inserted || ins
		}
		return nil
	})
	if err == nil && inserted {
		b.e.queue.deliveriesInserted()
	}
	return err
}
