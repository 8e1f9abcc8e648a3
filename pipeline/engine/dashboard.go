package engine

import (
	"context"
	"time"

	"github.com/hookgate/hookgate/pipeline/store"
)

// ActionStats counts the actions created since a time by interval and
// state, with their run times.
func (e *Engine) ActionStats(ctx context.Context, since time.Time, interval time.Duration) ([]store.ActionBucket, error) {
	b, err := e.store.ActionStats(ctx, since, interval)
	return b, unavailable(err)
}

// AttemptStats gathers the delivery attempts made since a time by
// interval, with their durations.
func (e *Engine) AttemptStats(ctx context.Context, since time.Time, interval time.Duration) ([]store.AttemptBucket, error) {
	b, err := e.store.AttemptStats(ctx, since, interval)
	return b, unavailable(err)
}
