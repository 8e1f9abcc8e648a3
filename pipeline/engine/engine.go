package engine

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"go.uber.org/zap"

	"github.com/hookgate/hookgate/pipeline/action"
	"github.com/hookgate/hookgate/pipeline/store"
	"github.com/hookgate/hookgate/pipeline/webhook"
)

// DefaultRetention is how long finished actions are kept.
const DefaultRetention = 720 * time.Hour

// Errors of the engine.
var (
	// ErrUnknownPipeline: the pipeline is not configured.
	ErrUnknownPipeline = errors.New("unknown pipeline")
	// ErrQueueFull: the pipeline's queue_limit is reached.
	ErrQueueFull = errors.New("queue full")
	// ErrUnavailable: the database cannot be reached, or the engine is
	// stopped; nothing was stored.
	ErrUnavailable = errors.New("storage unavailable")
	// ErrNotFound: no such action, hook or delivery.
	ErrNotFound = store.ErrNotFound
	// ErrFinished: the action has already succeeded or failed.
	ErrFinished = errors.New("action already finished")
)

// StorageConfig says where actions and jobs are kept.
type StorageConfig struct {
	// Driver is "sqlite" (the default) or "postgres".
	Driver string
	// Path is the SQLite database file; its directory is created.
	Path string
	// DSN is the PostgreSQL connection string. Tables go to the first
	// schema of its search_path.
	DSN string
	// Retention is how long finished actions are kept. Default: 720h.
	Retention time.Duration
}

// Trigger asks for an action.
type Trigger struct {
	// Pipeline names the pipeline to run.
	Pipeline string
	// Hook names the hook (or API caller) that triggers it.
	Hook string
	// Vars are the hook's variables: string, int64, float64, bool or
	// decoded JSON values.
	Vars map[string]any
	// Payload is the hook's body, kept with the action.
	Payload []byte
	// DeliveryID is the provider's delivery id; a second trigger of the
	// same hook with the same one runs nothing. Empty: no deduplication.
	DeliveryID string
	// RemoteIP is where the hook came from.
	RemoteIP string
	// Relay, when set, also keeps the hook as a hook.received event (a
	// relay hook that triggers a pipeline), in the same transaction.
	Relay *webhook.Received
}

// Triggered is the answer to a Trigger or a Relay.
type Triggered struct {
	// ActionID is the new action, or the first one of a duplicate
	// delivery; "" for a relay without a pipeline.
	ActionID string
	// EventID is the new hook.received event of a relay, or the first
	// one of a duplicate delivery; "" without relay.
	EventID string
	// Duplicate is set when the delivery was seen before and nothing ran.
	Duplicate bool
}

// ActionFilter selects actions to list.
type ActionFilter = store.Filter

// Stats are counts for metrics.
type Stats struct {
	// Pipelines maps each configured pipeline, and each that still has
	// actions, to its counts.
	Pipelines map[string]PipelineStats
	// Webhooks maps each configured webhook, and each that still has
	// deliveries, to its counts.
	Webhooks map[string]WebhookStats
}

// WebhookStats counts the deliveries of one webhook by status.
type WebhookStats struct {
	// Pending counts the deliveries to attempt, now or at a retry.
	Pending int64
	// Waiting counts those behind an earlier one of the same action.
	Waiting int64
	// Held counts those held while the webhook is failed.
	Held int64
	// Succeeded counts those delivered (until retention deletes them).
	Succeeded int64
	// Failed counts those given up (until retention deletes them).
	Failed int64
}

// counter is the count of deliveries in status; nil for an unknown one.
func (s *WebhookStats) counter(status webhook.DeliveryStatus) *int64 {
	switch status {
	case webhook.DeliveryPending:
		return &s.Pending
	case webhook.DeliveryWaiting:
		return &s.Waiting
	case webhook.DeliveryHeld:
		return &s.Held
	case webhook.DeliverySucceeded:
		return &s.Succeeded
	case webhook.DeliveryFailed:
		return &s.Failed
	}
	return nil
}

// Count is how many deliveries are in status; "" counts them all.
func (s WebhookStats) Count(status webhook.DeliveryStatus) int64 {
	if status == "" {
		return s.Pending + s.Waiting + s.Held + s.Succeeded + s.Failed
	}
	if n := s.counter(status); n != nil {
		return *n
	}
	return 0
}

// PipelineStats counts the actions of one pipeline by state. Queued is
// its queue depth.
type PipelineStats struct {
	// Queued counts the actions waiting to run.
	Queued int64
	// Running counts the actions running (on any instance).
	Running int64
	// Succeeded counts the actions that succeeded.
	Succeeded int64
	// Failed counts the actions that failed.
	Failed int64
	// Cancelled counts the actions cancelled.
	Cancelled int64
}

// counter is the count of actions in status; nil for an unknown one.
func (s *PipelineStats) counter(status action.Status) *int64 {
	switch status {
	case action.StatusQueued:
		return &s.Queued
	case action.StatusRunning:
		return &s.Running
	case action.StatusSucceeded:
		return &s.Succeeded
	case action.StatusFailed:
		return &s.Failed
	case action.StatusCancelled:
		return &s.Cancelled
	}
	return nil
}

// Count is how many actions are in status; "" counts them all.
func (s PipelineStats) Count(status action.Status) int64 {
	if status == "" {
		return s.Queued + s.Running + s.Succeeded + s.Failed + s.Cancelled
	}
	if n := s.counter(status); n != nil {
		return *n
	}
	return 0
}

// Engine runs pipelines. Its methods are safe for concurrent use.
type Engine struct {
	store     store.Store
	queue     queue
	logger    *zap.Logger
	retention time.Duration
	plans     atomic.Pointer[map[string]*action.Plan]
	// maxTimeout is the longest pipeline timeout configured so far (set
	// under mu): the horizon after which a job still running is taken for
	// dead.
	maxTimeout atomic.Int64
	waiters    waiters
	triggers   *batcher
	onRan      atomic.Pointer[func(Ran)]
	// webhooks is the current webhook configuration, never nil.
	webhooks atomic.Pointer[webhookSet]
	// reload serializes the changes of webhooks.
	reload sync.Mutex
	// pollInterval is how often the API's changes on other instances are
	// looked for.
	pollInterval time.Duration
	// polling runs while the revision is polled.
	polling     sync.WaitGroup
	results     *txBatcher
	onDelivered atomic.Pointer[func(Delivered)]

	mu      sync.Mutex
	started bool
	stopped bool
	// queues maps the River queues added to their MaxWorkers.
	queues map[string]int
	// resizing marks the queues being re-created with a new concurrency.
	resizing map[string]bool
	runCtx   context.Context
	stopRun  context.CancelFunc
	resizers sync.WaitGroup
}

// Open opens the storage and applies its migrations; no action runs and
// no delivery is attempted until Start.
func Open(ctx context.Context, sc StorageConfig, logger *zap.Logger) (*Engine, error) {
	if logger == nil {
		logger = zap.NewNop()
	}
	var st store.Store
	var err error
	switch sc.Driver {
	case "", "sqlite":
		if sc.Path == "" {
			return nil, errors.New("storage sqlite: no path")
		}
		st, err = store.OpenSQLite(ctx, sc.Path)
	case "postgres":
		st, err = store.OpenPostgres(ctx, sc.DSN)
	default:
		return nil, fmt.Errorf("storage: unknown driver %q (want sqlite or postgres)", sc.Driver)
	}
	if err != nil {
		return nil, err
	}
	e := &Engine{
		store:     st,
		logger:    logger,
		retention: sc.Retention,
		waiters:   waiters{m: make(map[string][]chan struct{})},
		queues:    make(map[string]int),
		resizing:  make(map[string]bool),
	}
	e.pollInterval = revisionPoll
	if e.retention <= 0 {
		e.retention = DefaultRetention
	}
	e.plans.Store(&map[string]*action.Plan{})
	e.webhooks.Store(newWebhookSet(WebhookConfig{}))
	if e.queue, err = newQueue(e); err != nil {
		st.Close()
		return nil, err
	}
	e.runCtx, e.stopRun = context.WithCancel(context.Background())
	e.triggers = newBatcher(e)
	e.results = newTxBatcher(e)
	return e, nil
}

// Configure checks and compiles the pipelines and makes them current: an
// action started from now on runs with them, while running ones go on
// with the configuration they started with. On error nothing changes.
func (e *Engine) Configure(pipelines []action.Pipeline) error {
	plans := make(map[string]*action.Plan, len(pipelines))
	for _, p := range pipelines {
		plan, err := action.Compile(p)
		if err != nil {
			return err
		}
		if _, dup := plans[p.Name]; dup {
			return fmt.Errorf("pipeline %q: defined twice", p.Name)
		}
		plans[p.Name] = plan
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, plan := range plans {
		if t := int64(plan.Pipeline.Timeout); t > e.maxTimeout.Load() {
			e.maxTimeout.Store(t)
		}
	}
	e.plans.Store(&plans)
	if e.stopped {
		return nil
	}
	return e.syncQueues()
}

// plan is the current plan of a pipeline, or nil.
func (e *Engine) plan(pipeline string) *action.Plan {
	return (*e.plans.Load())[pipeline]
}

// Start starts the workers, and the poll of the changes made through the
// API on other instances. It may be called again; it does nothing then.
// Configure and ConfigureWebhooks come first, so that the events of what
// Start finds are delivered: on SQLite, actions left running by a
// previous process are failed as interrupted, and the deliveries it left
// pending get new jobs (its own may have died running).
func (e *Engine) Start() error {
	e.mu.Lock()
	defer e.mu.Unlock()
	switch {
	case e.stopped:
		return errors.New("engine stopped")
	case e.started:
		return nil
	}
	if err := e.refresh(e.runCtx); err != nil {
		return fmt.Errorf("%w: %v", ErrUnavailable, err)
	}
	if e.store.Backend() == "sqlite" {
		if err := e.recoverSQLite(); err != nil {
			return fmt.Errorf("%w: %v", ErrUnavailable, err)
		}
	}
	if err := e.addOrphanQueues(); err != nil {
		return err
	}
	if err := e.queue.start(e.runCtx); err != nil {
		return fmt.Errorf("starting the workers: %v", err)
	}
	e.polling.Add(2)
	go e.pollRevision(e.runCtx)
	go e.recoverWebhooks(e.runCtx)
	e.started = true
	return nil
}

// addOrphanQueues adds a queue for each pipeline that has queued actions
// but is not configured, so that they end (failed, unknown_pipeline)
// rather than wait forever.
func (e *Engine) addOrphanQueues() error {
	counts, err := e.store.Counts(e.runCtx)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrUnavailable, err)
	}
	for _, c := range counts {
		name := queueName(c.Pipeline)
		if c.Status != action.StatusQueued || e.queues[name] != 0 {
			continue
		}
		if err := e.queue.addQueue(name, 1); err != nil {
			return err
		}
		e.queues[name] = 1
	}
	return nil
}

// Stop stops taking triggers and stops the workers: running actions
// finish, unless ctx ends first, in which case their process groups are
// killed and they fail as interrupted. Then it closes the database.
func (e *Engine) Stop(ctx context.Context) error {
	e.mu.Lock()
	if e.stopped {
		e.mu.Unlock()
		return nil
	}
	e.stopped = true
	started := e.started
	e.mu.Unlock()

	e.triggers.close()
	var err error
	if started {
		err = e.queue.stop(ctx)
	}
	e.results.close()
	e.webhooks.Load().client.CloseIdle()
	e.stopRun()
	e.resizers.Wait()
	e.polling.Wait()
	if cerr := e.store.Close(); err == nil {
		err = cerr
	}
	return err
}

// unavailable marks an error of the storage as ErrUnavailable, leaving
// ErrNotFound, ErrExists and the caller's context errors as they are.
func unavailable(err error) error {
	if err == nil || errors.Is(err, ErrNotFound) || errors.Is(err, ErrExists) || errors.Is(err, context.Canceled) ||
		errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	return fmt.Errorf("%w: %v", ErrUnavailable, err)
}

// Action is one action with its step results, or ErrNotFound.
func (e *Engine) Action(ctx context.Context, id string) (*action.Action, error) {
	a, err := e.store.Action(ctx, id)
	return a, unavailable(err)
}

// Actions lists actions, newest first, with their step results.
func (e *Engine) Actions(ctx context.Context, f ActionFilter) ([]action.Action, error) {
	list, err := e.store.Actions(ctx, f)
	return list, unavailable(err)
}

// Cancel cancels an action: a queued one ends cancelled without running;
// a running one has its process group killed, on whichever instance runs
// it, and ends cancelled. Cancelling a cancelled action does nothing; a
// finished one gives ErrFinished.
func (e *Engine) Cancel(ctx context.Context, id string) error {
	var c store.Cancellation
	err := e.inTx(ctx, func(ctx context.Context, tx store.Tx) ([]deliveryRef, error) {
		now := time.Now()
		var err error
		if c, err = tx.Cancel(ctx, id, now); err != nil || !c.Changed {
			return nil, err
		}
		a, err := tx.Action(ctx, id)
		if err != nil {
			return nil, err
		}
		return e.recordActionEvent(ctx, tx, a, now)
	})
	if err != nil {
		return unavailable(err)
	}
	switch {
	case c.Changed:
		e.logger.Info("action cancelled", zap.String("action_id", id), zap.String("status", string(c.Status)))
		e.waiters.notify(id)
		return nil
	case c.Status == action.StatusCancelled:
		return nil
	case c.Status == action.StatusRunning:
		e.logger.Info("cancelling running action", zap.String("action_id", id))
		return unavailable(e.queue.cancel(ctx, c.JobID))
	}
	return fmt.Errorf("%w: %s", ErrFinished, c.Status)
}

// Stats counts actions by pipeline and state, and deliveries by webhook
// and status.
func (e *Engine) Stats(ctx context.Context) (Stats, error) {
	counts, err := e.store.Counts(ctx)
	if err != nil {
		return Stats{}, unavailable(err)
	}
	st := Stats{Pipelines: make(map[string]PipelineStats), Webhooks: make(map[string]WebhookStats)}
	if err := e.webhookStats(ctx, st.Webhooks); err != nil {
		return Stats{}, err
	}
	for name := range *e.plans.Load() {
		st.Pipelines[name] = PipelineStats{}
	}
	for _, c := range counts {
		ps := st.Pipelines[c.Pipeline]
		if n := ps.counter(c.Status); n != nil {
			*n += c.N
		}
		st.Pipelines[c.Pipeline] = ps
	}
	return st, nil
}

// webhookStats fills m with the delivery counts of every webhook.
func (e *Engine) webhookStats(ctx context.Context, m map[string]WebhookStats) error {
	counts, err := e.store.DeliveryCounts(ctx)
	if err != nil {
		return unavailable(err)
	}
	for _, w := range e.webhooks.Load().list {
		m[w.Name] = WebhookStats{}
	}
	for _, c := range counts {
		ws := m[c.Webhook]
		if n := ws.counter(c.Status); n != nil {
			*n += c.N
		}
		m[c.Webhook] = ws
	}
	return nil
}

// recoverSQLite fails the actions a previous process left running, with
// their events, and gives the deliveries it left pending new jobs: on
// SQLite one process holds the database, so its jobs still running died
// with it. e.mu is held.
func (e *Engine) recoverSQLite() error {
	return e.inTx(e.runCtx, func(ctx context.Context, tx store.Tx) ([]deliveryRef, error) {
		now := time.Now()
		ids, err := tx.InterruptRunning(ctx, now)
		if err != nil {
			return nil, err
		}
		if err := releaseFetchedJobs(ctx, tx.Native().(*sql.Tx)); err != nil {
			return nil, err
		}
		var due []deliveryRef
		for _, id := range ids {
			e.logger.Warn("action interrupted by the end of the previous process",
				zap.String("action_id", id), zap.String("reason", string(action.ReasonInterrupted)))
			a, err := tx.Action(ctx, id)
			if err != nil {
				return nil, err
			}
			refs, err := e.recordActionEvent(ctx, tx, a, now)
			if err != nil {
				return nil, err
			}
			due = append(due, refs...)
		}
		pending, err := tx.PendingDeliveries(ctx)
		if err != nil || len(pending) == 0 {
			return due, err
		}
		for _, d := range pending {
			at := now
			if d.NextAttemptAt != nil && d.NextAttemptAt.After(now) {
				at = *d.NextAttemptAt
			}
			token := newToken()
			if err := tx.ScheduleDelivery(ctx, d.ID, webhook.DeliveryPending, token, at, now); err != nil {
				return nil, err
			}
			due = append(due, deliveryRef{DeliveryID: d.ID, Token: token, At: at, Webhook: d.Webhook})
		}
		e.logger.Info("deliveries resumed", zap.Int("count", len(pending)))
		return due, nil
	})
}
