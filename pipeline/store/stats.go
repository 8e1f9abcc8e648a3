package store

import (
	"context"
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

// AttemptBucket counts the delivery attempts of one interval, by outcome
// and by duration.
type AttemptBucket struct {
	// Interval is the interval's index from the start of the window.
	Interval int64
	// Succeeded and Failed count the attempts by outcome (a 2xx answer
	// or not).
	Succeeded, Failed int64
	// Durations count the attempts by duration, ascending.
	Durations []DurationCount
}

// DurationCount is how many attempts took one duration.
type DurationCount struct {
	// Ms is the duration in milliseconds.
	Ms int64
	// N is how many attempts took it.
	N int64
}

// ActionStats counts the actions created since a time by interval and
// state: one aggregate per state and interval over a range of the
// (status, created_at, ...) index, so that nothing is sorted.
func (d *db) ActionStats(ctx context.Context, since time.Time, interval time.Duration) ([]ActionBucket, error) {
	var out []ActionBucket
	end := time.Now()
	for _, status := range []action.Status{action.StatusQueued, action.StatusRunning, action.StatusSucceeded, action.StatusFailed, action.StatusCancelled} {
		for i, from := int64(0), since; from.Before(end); i, from = i+1, from.Add(interval) {
			b := ActionBucket{Interval: i, Status: status}
			if err := queryOne(ctx, d.pool, `SELECT count(*), count(finished_at - started_at), coalesce(sum(finished_at - started_at), 0)
				FROM hookgate_action WHERE status = $1 AND created_at >= $2 AND created_at < $3`,
				[]any{string(status), from.UnixMicro(), from.Add(interval).UnixMicro()}, &b.N, &b.Finished, &b.RunMicros); err != nil {
				return nil, err
			}
			if b.N > 0 {
				out = append(out, b)
			}
		}
	}
	return out, nil
}

// AttemptStats gathers the delivery attempts made since a time by
// interval, counted by duration in SQL, so that the percentiles are exact
// without reading each attempt.
func (d *db) AttemptStats(ctx context.Context, since time.Time, interval time.Duration) ([]AttemptBucket, error) {
	r, err := d.pool.query(ctx, `SELECT (at - CAST($1 AS BIGINT)) / CAST($2 AS BIGINT), duration_ms,
		CASE WHEN status_code >= 200 AND status_code < 300 THEN 1 ELSE 0 END, count(*)
		FROM hookgate_attempt WHERE at >= CAST($1 AS BIGINT) GROUP BY 1, 2, 3 ORDER BY 1, 2`, since.UnixMicro(), interval.Microseconds())
	if err != nil {
		return nil, err
	}
	defer r.Close()
	var out []AttemptBucket
	for r.Next() {
		var i, ms, ok, n int64
		if err := r.Scan(&i, &ms, &ok, &n); err != nil {
			return nil, err
		}
		if len(out) == 0 || out[len(out)-1].Interval != i {
			out = append(out, AttemptBucket{Interval: i})
		}
		b := &out[len(out)-1]
		if ok == 1 {
			b.Succeeded += n
		} else {
			b.Failed += n
		}
		b.Durations = append(b.Durations, DurationCount{Ms: ms, N: n})
	}
	return out, r.Err()
}

// CountActions counts the actions a filter selects (its limit and offset
// aside), from an index.
func (d *db) CountActions(ctx context.Context, f Filter) (int64, error) {
	where, args := f.where()
	var n int64
	err := queryOne(ctx, d.pool, `SELECT count(*) FROM hookgate_action`+where, args, &n)
	return n, err
}
