package engine

import (
	"context"
	"sync"
	"time"

	"github.com/hookgate/hookgate/pipeline/action"
)

// waitPoll is how often Wait looks at an action that may be running on
// another instance; actions ending on this one wake it at once.
const waitPoll = 250 * time.Millisecond

// waiters are the callers of Wait, by action.
type waiters struct {
	mu sync.Mutex
	m  map[string][]chan struct{}
}

// add registers a waiter for id.
func (w *waiters) add(id string) chan struct{} {
	ch := make(chan struct{}, 1)
	w.mu.Lock()
	w.m[id] = append(w.m[id], ch)
	w.mu.Unlock()
	return ch
}

// remove unregisters a waiter.
func (w *waiters) remove(id string, ch chan struct{}) {
	w.mu.Lock()
	defer w.mu.Unlock()
	list := w.m[id]
	for i, c := range list {
		if c == ch {
			list = append(list[:i], list[i+1:]...)
			break
		}
	}
	if len(list) == 0 {
		delete(w.m, id)
		return
	}
	w.m[id] = list
}

// notify wakes the waiters of id.
func (w *waiters) notify(id string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, ch := range w.m[id] {
		select {
		case ch <- struct{}{}:
		default:
		}
	}
}

// Wait blocks until the action has finished, or ctx ends, and returns it.
// An action ending on this instance wakes it at once; one running on
// another instance is seen within waitPoll.
func (e *Engine) Wait(ctx context.Context, id string) (*action.Action, error) {
	ch := e.waiters.add(id)
	defer e.waiters.remove(id, ch)
	ticker := time.NewTicker(waitPoll)
	defer ticker.Stop()
	for {
		a, err := e.store.Action(ctx, id)
		if err != nil {
			return nil, unavailable(err)
		}
		if a.Status.Finished() {
			return a, nil
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-ch:
		case <-ticker.C:
		}
	}
}
