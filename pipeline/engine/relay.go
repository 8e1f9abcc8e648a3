package engine

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/hookgate/hookgate/pipeline/webhook"
)

// Relay is an incoming hook for the engine to keep and forward.
type Relay struct {
	// Hook is the hook as received; its Pipeline and ActionID are not
	// used (Trigger's Relay combines a relay with a pipeline).
	Hook webhook.Received
	// DedupID is the id the hook is deduplicated by: a second relay of
	// the same hook with the same one stores nothing. Empty: no
	// deduplication.
	DedupID string
}

// Relay keeps an incoming hook as a hook.received event, with a delivery
// to each webhook that wants it, in one transaction shared with other
// triggers and relays (group commit), and returns the event's ID once
// committed: the hook is durable when Relay returns. A relay whose dedup
// id was seen before returns the first event's ID with Duplicate set and
// stores nothing. Errors: ErrUnavailable (nothing stored).
func (e *Engine) Relay(ctx context.Context, rl Relay) (Triggered, error) {
	h := rl.Hook
	h.Pipeline, h.ActionID = "", ""
	if h.Variables == nil {
		h.Variables = map[string]any{}
	}
	if _, err := json.Marshal(h.Variables); err != nil {
		return Triggered{}, fmt.Errorf("variables: %v", err)
	}
	now := time.Now()
	return e.submit(ctx, &request{received: &h, event: webhook.NewEventID(now), dedupID: rl.DedupID, at: now,
		done: make(chan result, 1)})
}
