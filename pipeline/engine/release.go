package engine

import (
	"context"
	"database/sql"
)

// releaseFetchedJobs makes the jobs that a dead process had fetched
// available again, on SQLite only, where the process opening the database
// is the only one using it. River marks a job running when it fetches it,
// before its worker claims the action; left so, the job would wait for
// River's rescuer (the pipeline's timeout and more) and its action would
// stay queued that long. Jobs of actions that had started are released
// too: their worker finds the action already failed as interrupted and
// ends at once.
func releaseFetchedJobs(ctx context.Context, tx *sql.Tx) error {
	_, err := tx.ExecContext(ctx, `UPDATE river_job SET state = 'available' WHERE state = 'running'`)
	return err
}
