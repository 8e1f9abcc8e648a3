package store

import (
	"context"
	"slices"
	"time"

	"github.com/hookgate/hookgate/pipeline/action"
)

// ActionBucket counts the actions of one interval in one state.
type ActionBucket struct {
	// Interval is the interval's index from the start of the window.
	Interval int64
	// Status is the state counted.
	Status action.Status
	// N is how many actions were created in the interval and are in Status.
	N int64
	// Finished counts those of them that ran and ended, and
	// RunMicros is their run time summed, in microseconds.
	Finished, RunMicros int64
}

// AttemptBucket counts the delivery attempts of one interval, and holds
// their durations for percentiles.
type AttemptBucket struct {
	// Interval is the interval's index from the start of the window.
	Interval int64
	// Succeeded and Failed count the attempts by outcome (a 2xx answer
	// or not).
	Succeeded, Failed int64
	// DurationsMs are the attempts' durations, ascending.
	DurationsMs []int64
}

// ActionStats counts the actions created since a time by interval and
// state.
func (d *db) ActionStats(ctx context.Context, since time.Time, interval time.Duration) ([]ActionBucket, error) {
	r, err := d.pool.query(ctx, `SELECT (created_at - CAST($1 AS BIGINT)) / CAST($2 AS BIGINT), status, count(*),
		count(finished_at - started_at), coalesce(sum(finished_at - started_at), 0)
		FROM hookgate_action WHERE created_at >= CAST($1 AS BIGINT) GROUP BY 1, 2 ORDER BY 1, 2`,
		since.UnixMicro(), interval.Microseconds())
	if err != nil {
		return nil, err
	}
	defer r.Close()
	var out []ActionBucket
	for r.Next() {
		var b ActionBucket
		var status string
		if err := r.Scan(&b.Interval, &status, &b.N, &b.Finished, &b.RunMicros); err != nil {
			return nil, err
		}
		b.Status = action.Status(status)
		out = append(out, b)
	}
	return out, r.Err()
}

// AttemptStats gathers the delivery attempts made since a time by
// interval.
func (d *db) AttemptStats(ctx context.Context, since time.Time, interval time.Duration) ([]AttemptBucket, error) {
	r, err := d.pool.query(ctx, `SELECT (at - CAST($1 AS BIGINT)) / CAST($2 AS BIGINT), duration_ms,
		CASE WHEN status_code >= 200 AND status_code < 300 THEN 1 ELSE 0 END
		FROM hookgate_attempt WHERE at >= CAST($1 AS BIGINT)`, since.UnixMicro(), interval.Microseconds())
	if err != nil {
		return nil, err
	}
	defer r.Close()
	byInterval := make(map[int64]*AttemptBucket)
	for r.Next() {
		var i, ms, ok int64
		if err := r.Scan(&i, &ms, &ok); err != nil {
			return nil, err
		}
		b := byInterval[i]
		if b == nil {
			b = &AttemptBucket{Interval: i}
			byInterval[i] = b
		}
		if ok == 1 {
			b.Succeeded++
		} else {
			b.Failed++
		}
		b.DurationsMs = append(b.DurationsMs, ms)
	}
	if err := r.Err(); err != nil {
		return nil, err
	}
	out := make([]AttemptBucket, 0, len(byInterval))
	for _, b := range byInterval {
		slices.Sort(b.DurationsMs)
		out = append(out, *b)
	}
	slices.SortFunc(out, func(a, b AttemptBucket) int { return int(a.Interval - b.Interval) })
	return out, nil
}
