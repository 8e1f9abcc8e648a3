package engine

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/riverdriver/riversqlite"
	"github.com/riverqueue/river/rivertype"

	"github.com/hookgate/hookgate/pipeline/store"
)

// River settings.
const (
	// maintenanceQueue runs the retention job.
	maintenanceQueue = "hookgate"
	// fetchCooldown is the least time between two fetches of a queue: a
	// job inserted just after a fetch waits that long.
	fetchCooldown = 5 * time.Millisecond
	// rescueAfter is the least time a job must have been running before
	// River's rescuer looks at it; it then also waits for the job's own
	// timeout.
	rescueAfter = 2 * time.Minute
	// timeoutGrace is added to the longest pipeline timeout to make a
	// job's timeout: the time a live worker has to kill the process group
	// and store the outcome.
	timeoutGrace = time.Minute
	// maxInsert is the most jobs inserted by one statement.
	maxInsert = 1000
	// hardStopTimeout bounds how long Stop waits for killed actions to
	// record that they were interrupted.
	hardStopTimeout = 15 * time.Second
)

// queue is the job queue of one backend: a River client and its driver.
type queue interface {
	// insert inserts the jobs of new actions, in the transaction tx.
	insert(ctx context.Context, tx store.Tx, jobs []actionArgs) error
	// inserted tells the workers of this process that the jobs of a
	// committed transaction are there.
	inserted(jobs []actionArgs)
	// insertDeliveries inserts delivery jobs, in the transaction tx.
	insertDeliveries(ctx context.Context, tx store.Tx, refs []deliveryRef) error
	// deliveriesInserted tells the delivery workers of this process that
	// a committed transaction inserted jobs.
	deliveriesInserted()
	// cancel cancels a running job, on whichever instance runs it.
	cancel(ctx context.Context, jobID int64) error
	// addQueue adds a queue with so many workers.
	addQueue(name string, maxWorkers int) error
	// removeQueue removes a queue once its running jobs have finished.
	removeQueue(ctx context.Context, name string) error
	// start starts the workers.
	start(ctx context.Context) error
	// stop stops the workers, cancelling those still running when ctx ends.
	stop(ctx context.Context) error
	// id is the River client's id: the instance's name in the jobs it
	// attempts.
	id() string
}

// riverQueue is the queue on River with the driver of transactions TTx.
type riverQueue[TTx any] struct {
	client *river.Client[TTx]
	// notifyInsert, when set, wakes the workers of a queue at once.
	notifyInsert func(queue string)
}

// newQueue makes the River client of the engine's store.
func newQueue(e *Engine) (queue, error) {
	switch pool := e.store.Native().(type) {
	case *sql.DB:
		driver := newWakingDriver(riversqlite.New(pool))
		q, err := newRiverQueue[*sql.Tx](e, driver)
		if err == nil {
			q.notifyInsert = driver.notifyInsert
		}
		return q, err
	case *pgxpool.Pool:
		// PostgreSQL's LISTEN/NOTIFY wakes the workers of every instance.
		return newRiverQueue[pgx.Tx](e, riverpgxv5.New(pool))
	}
	return nil, fmt.Errorf("no job queue for a %T", e.store.Native())
}

// newRiverQueue makes a River client with the engine's workers.
func newRiverQueue[TTx any](e *Engine, driver riverdriver.Driver[TTx]) (*riverQueue[TTx], error) {
	workers := river.NewWorkers()
	river.AddWorker(workers, &actionWorker{e: e})
	river.AddWorker(workers, &retentionWorker{e: e})
	river.AddWorker(workers, &deliveryWorker{e: e})
	client, err := river.NewClient(driver, &river.Config{
		Queues: map[string]river.QueueConfig{
			maintenanceQueue: {MaxWorkers: 1},
			deliveryQueue:    {MaxWorkers: deliveryWorkers},
		},
		Workers:              workers,
		Logger:               slog.New(&zapHandler{logger: e.logger.Named("river")}),
		FetchCooldown:        fetchCooldown,
		RescueStuckJobsAfter: rescueAfter,
		PeriodicJobs: []*river.PeriodicJob{river.NewPeriodicJob(
			river.PeriodicInterval(retentionInterval),
			func() (river.JobArgs, *river.InsertOpts) { return retentionArgs{}, nil },
			&river.PeriodicJobOpts{RunOnStart: true},
		)},
	})
	if err != nil {
		return nil, fmt.Errorf("job queue: %v", err)
	}
	return &riverQueue[TTx]{client: client}, nil
}

func (q *riverQueue[TTx]) insert(ctx context.Context, tx store.Tx, jobs []actionArgs) error {
	params := make([]river.InsertManyParams, len(jobs))
	for i, j := range jobs {
		params[i] = river.InsertManyParams{Args: j, InsertOpts: &river.InsertOpts{Queue: queueName(j.Pipeline)}}
	}
	_, err := q.client.InsertManyTx(ctx, tx.Native().(TTx), params)
	return err
}

func (q *riverQueue[TTx]) inserted(jobs []actionArgs) {
	if q.notifyInsert == nil {
		return
	}
	seen := make(map[string]bool)
	for _, j := range jobs {
		if name := queueName(j.Pipeline); !seen[name] {
			seen[name] = true
			q.notifyInsert(name)
		}
	}
}

func (q *riverQueue[TTx]) insertDeliveries(ctx context.Context, tx store.Tx, refs []deliveryRef) error {
	jobs := groupDeliveries(refs)
	for len(jobs) > 0 {
		n := min(len(jobs), maxInsert)
		params := make([]river.InsertManyParams, n)
		for i, args := range jobs[:n] {
			opts := &river.InsertOpts{Queue: deliveryQueue}
			// River's scheduler makes scheduled jobs available every few
			// seconds: a job due sooner is available now, and its worker
			// waits for the delivery's time.
			if time.Until(args.At) >= workerWaitMax {
				opts.ScheduledAt = args.At
			}
			params[i] = river.InsertManyParams{Args: args, InsertOpts: opts}
		}
		if _, err := q.client.InsertManyTx(ctx, tx.Native().(TTx), params); err != nil {
			return err
		}
		jobs = jobs[n:]
	}
	return nil
}

// groupDeliveries puts the deliveries due now (sooner than a worker
// waits) of each webhook deliveriesPerJob to a job, in order; the others
// get a job each.
func groupDeliveries(refs []deliveryRef) []deliveryArgs {
	jobs := make([]deliveryArgs, 0, len(refs))
	open := make(map[string]int) // by webhook, the index in jobs of the job that takes more
	for _, ref := range refs {
		i, ok := open[ref.Webhook]
		switch {
		case time.Until(ref.At) >= workerWaitMax:
			jobs = append(jobs, deliveryArgs{deliveryRef: ref})
		case ok && len(jobs[i].More) < deliveriesPerJob-1:
			jobs[i].More = append(jobs[i].More, ref)
		default:
			jobs = append(jobs, deliveryArgs{deliveryRef: ref})
			open[ref.Webhook] = len(jobs) - 1
		}
	}
	return jobs
}

func (q *riverQueue[TTx]) deliveriesInserted() {
	if q.notifyInsert != nil {
		q.notifyInsert(deliveryQueue)
	}
}

func (q *riverQueue[TTx]) cancel(ctx context.Context, jobID int64) error {
	_, err := q.client.JobCancel(ctx, jobID)
	if errors.Is(err, rivertype.ErrNotFound) {
		// The job is gone: it finished, and so did its action.
		return nil
	}
	return err
}

func (q *riverQueue[TTx]) addQueue(name string, maxWorkers int) error {
	return q.client.Queues().Add(name, river.QueueConfig{MaxWorkers: maxWorkers})
}

func (q *riverQueue[TTx]) removeQueue(ctx context.Context, name string) error {
	return q.client.Queues().Remove(ctx, name)
}

func (q *riverQueue[TTx]) start(ctx context.Context) error {
	return q.client.Start(ctx)
}

func (q *riverQueue[TTx]) stop(ctx context.Context) error {
	err := q.client.Stop(ctx)
	if err == nil || ctx.Err() == nil {
		return err
	}
	hard, cancel := context.WithTimeout(context.Background(), hardStopTimeout)
	defer cancel()
	return q.client.StopAndCancel(hard)
}

func (q *riverQueue[TTx]) id() string { return q.client.ID() }
