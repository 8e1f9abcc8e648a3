package engine

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/hookgate/hookgate/pipeline/action"
	"github.com/hookgate/hookgate/pipeline/store"
)

// DefaultLease is how long an instance's lease on PostgreSQL lasts
// unless renewed: the work of an instance that died is taken over
// within about this much plus a fifth.
const DefaultLease = 15 * time.Second

// errLeaseLost is the cause given to the actions an instance stops when
// it can no longer be sure to hold its lease.
var errLeaseLost = fmt.Errorf("%w: this instance lost its lease on the database", action.ErrInterrupted)

// leaseKeeper holds an instance's lease on PostgreSQL: it renews it every
// fifth of its duration, on the database's clock. When a renewal has not
// succeeded for half its duration, or the lease turns out to have
// expired, the instance is fenced: its running actions are stopped (their
// process groups killed) before the lease can expire, no action is
// claimed, and a new lease is acquired as soon as the database answers.
// The actions claimed under the old lease are then another's to take
// over, and their late writes are refused.
type leaseKeeper struct {
	ttl      time.Duration
	instance string
	host     string

	mu sync.Mutex
	// lease is the lease held, "" while fenced.
	lease string
	// renewed is when the last successful renewal (or acquisition) was
	// sent, on this instance's monotonic clock.
	renewed time.Time
	// failing is set while renewals fail, to log once.
	failing bool
}

// newLeaseKeeper makes the keeper of instance's lease.
func newLeaseKeeper(instance string, ttl time.Duration) *leaseKeeper {
	if ttl <= 0 {
		ttl = DefaultLease
	}
	host, _ := os.Hostname()
	return &leaseKeeper{ttl: ttl, instance: instance, host: fmt.Sprintf("%s pid %d", host, os.Getpid())}
}

// current is the lease to claim and write under, "" while fenced.
func (l *leaseKeeper) current() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.lease
}

// newLease is a fresh lease name: the instance's id and random bytes.
func (l *leaseKeeper) newLease() string {
	var b [8]byte
	rand.Read(b[:])
	return l.instance + "/" + hex.EncodeToString(b[:])
}

// acquireLease acquires a new lease.
func (e *Engine) acquireLease(ctx context.Context) error {
	l := e.lease
	lease := l.newLease()
	sent := time.Now()
	ctx, cancel := context.WithTimeout(ctx, l.ttl/6)
	defer cancel()
	if err := e.store.AcquireLease(ctx, l.instance, lease, l.host, l.ttl); err != nil {
		return err
	}
	l.mu.Lock()
	l.lease, l.renewed = lease, sent
	l.mu.Unlock()
	e.logger.Info("lease acquired", zap.String("instance", l.instance), zap.String("lease", lease), zap.Duration("ttl", l.ttl))
	return nil
}

// keepLease renews the lease every fifth of its duration until ctx
// ends; then it releases the lease.
func (e *Engine) keepLease(ctx context.Context) {
	defer e.leasing.Done()
	ticker := time.NewTicker(e.lease.ttl / 5)
	defer ticker.Stop()
	for {
		select {
		case <-ctx.Done():
			e.releaseLease()
			return
		case <-ticker.C:
		}
		e.renewLease(ctx)
	}
}

// takeOverExpired takes over the work of instances whose lease expired,
// every fifth of the lease, until ctx ends: their jobs are handed out
// again, and their running actions end failed (interrupted).
func (e *Engine) takeOverExpired(ctx context.Context) {
	defer e.leasing.Done()
	ticker := time.NewTicker(e.lease.ttl / 5)
	defer ticker.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-ticker.C:
		}
		e.takeOver(ctx)
	}
}

// renewLease renews the lease, or acquires a new one while fenced, and
// fences the instance when the lease is lost or about to be.
func (e *Engine) renewLease(ctx context.Context) {
	l := e.lease
	l.mu.Lock()
	lease, renewed := l.lease, l.renewed
	l.mu.Unlock()
	if lease != "" && time.Since(renewed) > l.ttl/2 {
		// A renewal is late (the database is slow or cut, or this
		// process was stopped): stop before the lease can expire.
		e.fence("the lease could not be renewed in time")
		lease = ""
	}
	if lease == "" {
		if err := e.acquireLease(ctx); err != nil {
			e.leaseFailing(err)
			return
		}
		e.leaseWorks()
		return
	}
	sent := time.Now()
	rctx, cancel := context.WithTimeout(ctx, l.ttl/6)
	ok, err := e.store.RenewLease(rctx, l.instance, lease, l.ttl)
	cancel()
	switch {
	case err != nil:
		e.leaseFailing(err)
	case !ok:
		e.fence("the lease expired before it was renewed")
	default:
		l.mu.Lock()
		if l.lease == lease {
			l.renewed = sent
		}
		l.mu.Unlock()
		e.leaseWorks()
	}
}

// leaseFailing logs the first of a run of failed renewals.
func (e *Engine) leaseFailing(err error) {
	l := e.lease
	l.mu.Lock()
	first := !l.failing
	l.failing = true
	l.mu.Unlock()
	if first {
		e.logger.Warn("renewing the lease fails; retrying", zap.String("instance", l.instance), zap.Error(err))
	}
}

// leaseWorks logs the end of a run of failed renewals.
func (e *Engine) leaseWorks() {
	l := e.lease
	l.mu.Lock()
	was := l.failing
	l.failing = false
	l.mu.Unlock()
	if was {
		e.logger.Info("renewing the lease works again", zap.String("instance", l.instance))
	}
}

// fence stops the instance's running actions and its claims, until a new
// lease is acquired.
func (e *Engine) fence(reason string) {
	l := e.lease
	l.mu.Lock()
	lease := l.lease
	l.lease = ""
	l.mu.Unlock()
	if lease == "" {
		return
	}
	n := e.running.interrupt(errLeaseLost)
	e.logger.Error("lease lost: stopping this instance's actions until it holds a new one",
		zap.String("instance", l.instance), zap.String("lease", lease), zap.String("reason", reason), zap.Int("stopped", n))
}

// releaseLease ends the lease at a stop, so that anything left running
// is taken over at once.
func (e *Engine) releaseLease() {
	l := e.lease
	lease := l.current()
	if lease == "" {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), l.ttl/6)
	defer cancel()
	if err := e.store.ReleaseLease(ctx, l.instance, lease); err != nil {
		e.logger.Warn("releasing the lease", zap.String("instance", l.instance), zap.Error(err))
	}
}

// takeOver makes the jobs of instances whose lease expired available
// again (one instance at a time does it).
func (e *Engine) takeOver(ctx context.Context) {
	if e.fenced() {
		return
	}
	tctx, cancel := context.WithTimeout(ctx, e.lease.ttl/4)
	taken, err := e.store.TakeOverJobs(tctx)
	cancel()
	if err != nil {
		if ctx.Err() == nil {
			e.logger.Warn("taking over the jobs of expired leases", zap.Error(err))
		}
		return
	}
	for instance, n := range taken {
		e.logger.Warn("jobs of an instance whose lease expired taken over",
			zap.String("instance", instance), zap.Int64("jobs", n))
	}
	// Their running actions end now, without waiting for a free worker
	// of their pipeline to get the job.
	ids, err := e.store.Orphaned(ctx)
	if err != nil {
		if ctx.Err() == nil {
			e.logger.Warn("listing the actions of expired leases", zap.Error(err))
		}
		return
	}
	for _, id := range ids {
		a, err := e.store.Action(ctx, id)
		if err == nil && a.Status == action.StatusRunning {
			err = e.interrupted(ctx, e.logger.With(zap.String("action_id", id), zap.String("pipeline", a.Pipeline), zap.String("hook", a.Hook)), a)
		}
		if err != nil && ctx.Err() == nil {
			e.logger.Warn("ending an action of an expired lease", zap.String("action_id", id), zap.Error(err))
		}
	}
}

// leaseName is the lease that this instance claims and writes under: ""
// on SQLite, where there is none.
func (e *Engine) leaseName() string {
	if e.lease == nil {
		return ""
	}
	return e.lease.current()
}

// fenced reports whether the instance must not claim work now.
func (e *Engine) fenced() bool {
	return e.lease != nil && e.lease.current() == ""
}

// runningActions are the actions running on this instance, each with
// the function that stops it.
type runningActions struct {
	mu sync.Mutex
	m  map[string]context.CancelCauseFunc
}

// add notes a running action.
func (r *runningActions) add(id string, stop context.CancelCauseFunc) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.m == nil {
		r.m = make(map[string]context.CancelCauseFunc)
	}
	r.m[id] = stop
}

// remove forgets an action.
func (r *runningActions) remove(id string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	delete(r.m, id)
}

// interrupt stops every running action with cause and returns how many.
func (r *runningActions) interrupt(cause error) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, stop := range r.m {
		stop(cause)
	}
	return len(r.m)
}

// Instance is an instance sharing the database, with its lease.
type Instance = store.Instance

// Instances lists the instances sharing the database, live or whose
// lease expired within the last hour, with the actions running under
// their lease. On SQLite it is this one instance, without a lease.
func (e *Engine) Instances(ctx context.Context) ([]Instance, error) {
	if e.lease != nil {
		list, err := e.store.Instances(ctx)
		return list, unavailable(err)
	}
	running, err := e.store.Actions(ctx, store.Filter{Status: action.StatusRunning})
	if err != nil {
		return nil, unavailable(err)
	}
	host, _ := os.Hostname()
	in := Instance{ID: e.queue.id(), Host: fmt.Sprintf("%s pid %d", host, os.Getpid()), AcquiredAt: e.startedAt,
		Live: true, Running: []store.RunningAction{}}
	for _, a := range running {
		r := store.RunningAction{ID: a.ID, Pipeline: a.Pipeline}
		if a.StartedAt != nil {
			r.StartedAt = *a.StartedAt
		}
		in.Running = append(in.Running, r)
	}
	return []Instance{in}, nil
}
