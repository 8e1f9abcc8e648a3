package engine

import (
	"context"
	"fmt"
	"sync"
	"time"
)

// Group commit.
const (
	// maxBatch is the most requests committed in one transaction.
	maxBatch = 256
	// batchTimeout bounds the transaction of a batch.
	batchTimeout = 10 * time.Second
)

// groupCommit queues requests for committers that take them in batches:
// while one transaction commits, the requests arriving meanwhile gather
// and go in the next one, so that the cost of a commit (an fsync on
// SQLite) is shared. There is one committer on SQLite, whose writes are
// serial anyway, and a few on PostgreSQL.
type groupCommit[R any] struct {
	requests chan R
	mu       sync.RWMutex
	closed   bool
	done     sync.WaitGroup
}

// start starts the committers of backend; each commits its batches with
// commit, which must answer every request of the batch.
func (g *groupCommit[R]) start(backend string, commit func(batch []R)) {
	g.requests = make(chan R, 4*maxBatch)
	committers := 1
	if backend == "postgres" {
		committers = 4
	}
	for range committers {
		g.done.Go(func() {
			for {
				batch, ok := gather(g.requests)
				if !ok {
					return
				}
				commit(batch)
			}
		})
	}
}

// submit queues a request; it fails once the committers are closed.
func (g *groupCommit[R]) submit(ctx context.Context, r R) error {
	g.mu.RLock()
	defer g.mu.RUnlock()
	if g.closed {
		return fmt.Errorf("%w: the engine is stopped", ErrUnavailable)
	}
	select {
	case g.requests <- r:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// close stops taking requests and waits for those taken to be committed.
func (g *groupCommit[R]) close() {
	g.mu.Lock()
	g.closed = true
	close(g.requests)
	g.mu.Unlock()
	g.done.Wait()
}

// gather waits for a request, then takes those already waiting behind it,
// up to maxBatch. It reports false once requests is closed and drained.
func gather[R any](requests <-chan R) ([]R, bool) {
	first, ok := <-requests
	if !ok {
		return nil, false
	}
	batch := []R{first}
	for len(batch) < maxBatch {
		select {
		case r, ok := <-requests:
			if !ok {
				return batch, true
			}
			batch = append(batch, r)
		default:
			return batch, true
		}
	}
	return batch, true
}
