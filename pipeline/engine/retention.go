package engine

import (
	"context"
	"time"

	"github.com/riverqueue/river"
	"go.uber.org/zap"
)

// retentionInterval is how often finished actions past retention are
// deleted.
const retentionInterval = time.Hour

// retentionArgs are the arguments of the periodic retention job.
type retentionArgs struct{}

// Kind implements river.JobArgs.
func (retentionArgs) Kind() string { return "hookgate_retention" }

// InsertOpts puts the job on the maintenance queue.
func (retentionArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{Queue: maintenanceQueue}
}

// retentionWorker deletes finished actions older than the retention.
type retentionWorker struct {
	river.WorkerDefaults[retentionArgs]
	e *Engine
}

// Work deletes the actions that finished before the retention.
func (w *retentionWorker) Work(ctx context.Context, _ *river.Job[retentionArgs]) error {
	n, err := w.e.store.DeleteFinished(ctx, time.Now().Add(-w.e.retention))
	if err != nil {
		return err
	}
	if n > 0 {
		w.e.logger.Info("old actions deleted", zap.Int64("count", n), zap.Duration("retention", w.e.retention))
	}
	return nil
}
