package store

import (
	"context"
	"strconv"
	"time"
)

// keepExpired is how long the row of an expired lease is kept, to be
// listed, after its jobs were taken over.
const keepExpired = time.Hour

// takeOverLock is the advisory lock that lets one instance at a time take
// over the jobs of expired leases.
const takeOverLock = "hookgate_take_over"

// LeaseStore keeps the leases of the instances sharing a PostgreSQL
// database. Every time is on the database's clock, never the instance's.
type LeaseStore interface {
	// AcquireLease gives instance (its River client id) the new lease,
	// held for ttl, in place of any lease it held before.
	AcquireLease(ctx context.Context, instance, lease, host string, ttl time.Duration) error
	// RenewLease holds the lease for ttl from now. It reports false when
	// the lease is no longer the instance's or has expired: the instance
	// must then stop its work and acquire a new one.
	RenewLease(ctx context.Context, instance, lease string, ttl time.Duration) (bool, error)
	// ReleaseLease ends the lease now, so that whatever its instance left
	// running is taken over at once.
	ReleaseLease(ctx context.Context, instance, lease string) error
	// Instances lists the instances with a lease, live or expired within
	// the last hour, oldest first, with the actions running under it.
	Instances(ctx context.Context) ([]Instance, error)
	// TakeOverJobs makes the jobs that are still running under an expired
	// lease, or under an instance's lease before its current one,
	// available again, as River's rescuer does, and returns how many per
	// instance. Only one caller at a time does it (an advisory lock); the
	// others get nothing. On SQLite, where one process holds the
	// database, it does nothing.
	TakeOverJobs(ctx context.Context) (map[string]int64, error)
	// Orphaned lists the running actions claimed under a lease that is
	// no longer held or has expired, oldest first.
	Orphaned(ctx context.Context) ([]string, error)
}

// Instance is an instance of hookgate sharing the database, as its lease
// row shows it.
type Instance struct {
	// ID is the instance's River client id.
	ID string
	// Lease is the lease it holds now; its actions are claimed under it.
	Lease string
	// Host is the host name of the instance's machine, and its PID.
	Host string
	// AcquiredAt is when it acquired the lease.
	AcquiredAt time.Time
	// RenewedAt is when it last renewed the lease.
	RenewedAt time.Time
	// ExpiresAt is when the lease expires unless renewed.
	ExpiresAt time.Time
	// Live is set while the lease has not expired.
	Live bool
	// Running are the actions running under the lease, oldest first.
	Running []RunningAction
}

// RunningAction is an action running under a lease.
type RunningAction struct {
	// ID is the action's ID.
	ID string
	// Pipeline is its pipeline.
	Pipeline string
	// StartedAt is when it started.
	StartedAt time.Time
}

// micros is d in microseconds, as SQL text.
func micros(d time.Duration) string { return strconv.FormatInt(d.Microseconds(), 10) }

// AcquireLease implements LeaseStore.
func (d *db) AcquireLease(ctx context.Context, instance, lease, host string, ttl time.Duration) error {
	_, err := d.pool.exec(ctx, `INSERT INTO hookgate_instance (id, lease, host, acquired_at, renewed_at, expires_at)
		VALUES ($1, $2, $3, `+d.clock+`, `+d.clock+`, `+d.clock+` + `+micros(ttl)+`)
		ON CONFLICT (id) DO UPDATE SET lease = excluded.lease, host = excluded.host, acquired_at = excluded.acquired_at,
		renewed_at = excluded.renewed_at, expires_at = excluded.expires_at`, instance, lease, host)
	return err
}

// RenewLease implements LeaseStore.
func (d *db) RenewLease(ctx context.Context, instance, lease string, ttl time.Duration) (bool, error) {
	n, err := d.pool.exec(ctx, `UPDATE hookgate_instance SET renewed_at = `+d.clock+`, expires_at = `+d.clock+` + `+micros(ttl)+`
		WHERE id = $1 AND lease = $2 AND expires_at > `+d.clock, instance, lease)
	return n == 1, err
}

// ReleaseLease implements LeaseStore.
func (d *db) ReleaseLease(ctx context.Context, instance, lease string) error {
	_, err := d.pool.exec(ctx, `UPDATE hookgate_instance SET expires_at = `+d.clock+`
		WHERE id = $1 AND lease = $2 AND expires_at > `+d.clock, instance, lease)
	return err
}

// Instances implements LeaseStore.
func (d *db) Instances(ctx context.Context) ([]Instance, error) {
	r, err := d.pool.query(ctx, `SELECT id, lease, host, acquired_at, renewed_at, expires_at,
		CASE WHEN expires_at > `+d.clock+` THEN 1 ELSE 0 END FROM hookgate_instance
		WHERE expires_at > `+d.clock+` - `+micros(keepExpired)+` ORDER BY acquired_at, id`)
	if err != nil {
		return nil, err
	}
	var list []Instance
	byLease := make(map[string]int)
	for r.Next() {
		var in Instance
		var acquired, renewed, expires, live int64
		if err := r.Scan(&in.ID, &in.Lease, &in.Host, &acquired, &renewed, &expires, &live); err != nil {
			r.Close()
			return nil, err
		}
		in.AcquiredAt, in.RenewedAt, in.ExpiresAt, in.Live = fromMicro(acquired), fromMicro(renewed), fromMicro(expires), live == 1
		in.Running = []RunningAction{}
		byLease[in.Lease] = len(list)
		list = append(list, in)
	}
	r.Close()
	if err := r.Err(); err != nil {
		return nil, err
	}
	r, err = d.pool.query(ctx, `SELECT claimed_by, id, pipeline, started_at FROM hookgate_action
		WHERE status = 'running' AND claimed_by IS NOT NULL ORDER BY started_at, id`)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	for r.Next() {
		var lease string
		var a RunningAction
		var started *int64
		if err := r.Scan(&lease, &a.ID, &a.Pipeline, &started); err != nil {
			return nil, err
		}
		if i, ok := byLease[lease]; ok {
			if started != nil {
				a.StartedAt = fromMicro(*started)
			}
			list[i].Running = append(list[i].Running, a)
		}
	}
	return list, r.Err()
}

// TakeOverJobs implements LeaseStore. A job is matched to an instance by
// the last client that attempted it; River then hands it out again, and
// the worker that gets it ends an action found running as interrupted.
func (d *db) TakeOverJobs(ctx context.Context) (map[string]int64, error) {
	if d.backend != "postgres" {
		return nil, nil
	}
	taken := make(map[string]int64)
	err := d.InTx(ctx, func(t Tx) error {
		q := t.(*tx).q
		var locked bool
		if err := queryOne(ctx, q, `SELECT pg_try_advisory_xact_lock(hashtextextended($1, 0))`, []any{takeOverLock}, &locked); err != nil || !locked {
			return err
		}
		r, err := q.query(ctx, `WITH stuck AS (
			SELECT j.id, i.id AS instance FROM river_job j
			JOIN hookgate_instance i ON i.id = j.attempted_by[array_length(j.attempted_by, 1)]
			WHERE j.state = 'running'
			AND (i.expires_at <= `+d.clock+` OR j.attempted_at < to_timestamp(i.acquired_at / 1000000.0))
			FOR UPDATE OF j SKIP LOCKED)
		UPDATE river_job SET state = 'available', scheduled_at = now(),
			errors = array_append(river_job.errors, jsonb_build_object('at', now(), 'attempt', river_job.attempt,
				'error', 'instance ' || stuck.instance || ' lost its lease: job taken over', 'trace', '')),
			metadata = river_job.metadata || jsonb_build_object('hookgate:taken_over_from', stuck.instance)
		FROM stuck WHERE river_job.id = stuck.id RETURNING stuck.instance`)
		if err != nil {
			return err
		}
		for r.Next() {
			var instance string
			if err := r.Scan(&instance); err != nil {
				r.Close()
				return err
			}
			taken[instance]++
		}
		r.Close()
		if err := r.Err(); err != nil {
			return err
		}
		_, err = q.exec(ctx, `DELETE FROM hookgate_instance WHERE expires_at < `+d.clock+` - `+micros(keepExpired))
		return err
	})
	return taken, err
}

// Orphaned implements LeaseStore.
func (d *db) Orphaned(ctx context.Context) ([]string, error) {
	return scanStrings(d.pool.query(ctx, `SELECT id FROM hookgate_action
		WHERE status = 'running' AND claimed_by IS NOT NULL AND NOT `+d.liveLease("hookgate_action.claimed_by")+`
		ORDER BY started_at, id`))
}
