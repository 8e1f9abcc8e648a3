package store

import (
	"context"
	"errors"
	"time"

	"github.com/hookgate/hookgate/pipeline/action"
)

// Errors of the store.
var (
	// ErrNotFound is returned for an action, hook, webhook or delivery
	// that does not exist.
	ErrNotFound = errors.New("not found")
	// ErrExists is returned when a hook or webhook of that name (or ID)
	// already exists.
	ErrExists = errors.New("already exists")
	// ErrFenced is returned for a write under a lease that expired, or
	// for work that another instance took over meanwhile.
	ErrFenced = errors.New("lease lost: the work was taken over")
)

// Store keeps actions and step results. Methods are safe for concurrent use.
type Store interface {
	// Backend is "sqlite" or "postgres".
	Backend() string
	// Native is the connection pool, for the job queue to share: a
	// *sql.DB for SQLite, a *pgxpool.Pool for PostgreSQL.
	Native() any
	// InTx runs fn in a transaction, committed when fn returns nil and
	// rolled back otherwise.
	InTx(ctx context.Context, fn func(Tx) error) error
	// Action is one action with its step results, or ErrNotFound.
	Action(ctx context.Context, id string) (*action.Action, error)
	// Actions lists actions, newest first, with their step results.
	Actions(ctx context.Context, f Filter) ([]action.Action, error)
	// AddStep stores the result of the step at index (from 0) of an
	// action. With a lease, it is refused with ErrFenced unless the
	// action was claimed under that lease.
	AddStep(ctx context.Context, id string, index int, r action.StepResult, lease string) error
	// DeleteFinished deletes the actions that finished before a time, with
	// their step results, the deliveries that ended before it, with
	// their attempts, and the events of relay hooks received before it
	// that have no delivery open; it returns how many actions.
	DeleteFinished(ctx context.Context, before time.Time) (int64, error)
	// Counts counts actions by pipeline and status.
	Counts(ctx context.Context) ([]Count, error)
	// Webhook is the stored state of a webhook, or ErrNotFound.
	Webhook(ctx context.Context, name string) (*WebhookRecord, error)
	// OldestHeld is the held delivery of a webhook stored first, or nil
	// when it holds none.
	OldestHeld(ctx context.Context, webhook string) (*Delivery, error)
	// Webhooks lists the stored webhooks by name.
	Webhooks(ctx context.Context) ([]WebhookRecord, error)
	// FindWebhook is the webhook whose ID is ref, else the one whose name
	// is ref, or ErrNotFound.
	FindWebhook(ctx context.Context, ref string) (*WebhookRecord, error)
	// Hook is one hook created through the API, or ErrNotFound.
	Hook(ctx context.Context, id string) (*HookRecord, error)
	// Hooks lists the hooks created through the API for a pipeline ("":
	// every pipeline), oldest first.
	Hooks(ctx context.Context, pipeline string) ([]HookRecord, error)
	// Revision counts the changes made through the API to hooks and
	// webhooks (BumpRevision).
	Revision(ctx context.Context) (int64, error)
	// ListenRevisions calls changed once listening, and then each time
	// a transaction that bumped the revision commits, on any instance,
	// until ctx ends (nil) or the connection fails. PostgreSQL only: on
	// SQLite, where one process holds the database, it waits for ctx.
	ListenRevisions(ctx context.Context, changed func()) error
	// Delivery is one delivery, without its attempts, or ErrNotFound.
	Delivery(ctx context.Context, id string) (*Delivery, error)
	// Deliveries lists the deliveries of a webhook, newest first, with
	// their attempts.
	Deliveries(ctx context.Context, webhook string, f DeliveryFilter) ([]Delivery, error)
	// DeliveryCounts counts deliveries by webhook and status.
	DeliveryCounts(ctx context.Context) ([]DeliveryCount, error)
	// CountActions counts the actions a filter selects, its limit and
	// offset aside.
	CountActions(ctx context.Context, f Filter) (int64, error)
	// ActionStats counts the actions created since a time by interval
	// and state, for the dashboard.
	ActionStats(ctx context.Context, since time.Time, interval time.Duration) ([]ActionBucket, error)
	// AttemptStats gathers the delivery attempts made since a time by
	// interval, for the dashboard.
	AttemptStats(ctx context.Context, since time.Time, interval time.Duration) ([]AttemptBucket, error)
	LeaseStore
	// Close closes the database.
	Close() error
}

// Tx is a transaction: what it writes commits with whatever else is done
// in Native(), such as inserting jobs.
type Tx interface {
	// Native is the transaction, for the job queue to share: a *sql.Tx for
	// SQLite, a pgx.Tx for PostgreSQL.
	Native() any
	// LockPipeline serializes, until the end of the transaction, the
	// transactions that enqueue actions of a pipeline (across instances on
	// PostgreSQL; SQLite has a single writer anyway).
	LockPipeline(ctx context.Context, pipeline string) error
	// CountQueued counts the queued actions of a pipeline, counting no
	// further than limit.
	CountQueued(ctx context.Context, pipeline string, limit int) (int, error)
	// DeliveryAction is the ID of the action of a hook's delivery, or "".
	DeliveryAction(ctx context.Context, hook, deliveryID string) (string, error)
	// Insert stores a new action. When another action has the same hook
	// and delivery ID, nothing is stored and that action's ID is returned.
	Insert(ctx context.Context, a *action.Action) (existing string, err error)
	// Action is one action with its step results, or ErrNotFound.
	Action(ctx context.Context, id string) (*action.Action, error)
	// Claim moves a queued action to running, noting the job that runs it
	// and the lease it runs under ("": none, on SQLite). It reports false
	// when the action was not queued, and ErrFenced when the lease is not
	// held and unexpired on the database's clock.
	Claim(ctx context.Context, id string, jobID int64, at time.Time, lease string) (bool, error)
	// Finish ends an action that is in state from with outcome o. It
	// reports false when the action was not in that state or, with a
	// lease, was not claimed under it (another instance took it over).
	Finish(ctx context.Context, id string, from action.Status, o action.Outcome, at time.Time, lease string) (bool, error)
	// TakeOver moves a running action to lease when the lease it was
	// claimed under is no longer held or has expired. It reports false
	// when the action is not running or its lease is live.
	TakeOver(ctx context.Context, id string, lease string) (bool, error)
	// Cancel cancels a queued action, and otherwise tells what it is doing.
	Cancel(ctx context.Context, id string, at time.Time) (Cancellation, error)
	// InterruptRunning fails every running action with reason interrupted
	// and returns their IDs. Only for a backend used by a single instance,
	// when it starts.
	InterruptRunning(ctx context.Context, at time.Time) ([]string, error)
	// BumpRevision counts a change made through the API and returns the
	// new revision. On PostgreSQL it serializes such changes until the
	// end of the transaction, and notifies the instances listening
	// (ListenRevisions) when it commits.
	BumpRevision(ctx context.Context) (int64, error)
	// Revision, Hooks and Webhooks read as the Store's methods do, as
	// the transaction sees the store.
	Revision(ctx context.Context) (int64, error)
	Hooks(ctx context.Context, pipeline string) ([]HookRecord, error)
	Webhooks(ctx context.Context) ([]WebhookRecord, error)
	WebhookTx
	HookTx
	EventTx
}

// Filter selects actions.
type Filter struct {
	// Pipeline keeps the actions of one pipeline; empty keeps all.
	Pipeline string
	// Status keeps the actions in one state; empty keeps all.
	Status action.Status
	// Limit is the most actions returned. Default and maximum: 1000.
	Limit int
	// Offset skips that many actions first.
	Offset int
}

// Cancellation is what Cancel found.
type Cancellation struct {
	// Status is the action's status once Cancel returned.
	Status action.Status
	// Changed is set when Cancel moved the action from queued to cancelled.
	Changed bool
	// JobID is the job running the action, when Status is running.
	JobID int64
}

// Count is the number of actions of one pipeline in one state.
type Count struct {
	// Pipeline is the pipeline's name.
	Pipeline string
	// Status is the state counted.
	Status action.Status
	// N is how many.
	N int64
}
