package store

import (
	"context"

	"github.com/jackc/pgx/v5/pgxpool"
)

// revisionChannel is the PostgreSQL notification channel on which
// BumpRevision tells every instance that the API changed something.
const revisionChannel = "hookgate_revision"

// ListenRevisions implements Store.
func (d *db) ListenRevisions(ctx context.Context, changed func()) error {
	pool, ok := d.handle.(*pgxpool.Pool)
	if !ok {
		<-ctx.Done()
		return nil
	}
	pooled, err := pool.Acquire(ctx)
	if err != nil {
		return err
	}
	// The connection leaves the pool: one left listening, or broken by
	// ctx, is not to be reused.
	conn := pooled.Hijack()
	defer conn.Close(context.WithoutCancel(ctx))
	if _, err := conn.Exec(ctx, "LISTEN "+revisionChannel); err != nil {
		return err
	}
	changed() // whatever changed before the LISTEN
	for {
		if _, err := conn.WaitForNotification(ctx); err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return err
		}
		changed()
	}
}

// notifyRevision tells the listening instances that the revision changed,
// when the transaction commits (PostgreSQL only).
func (t *tx) notifyRevision(ctx context.Context) error {
	if t.db.backend != "postgres" {
		return nil
	}
	_, err := t.q.exec(ctx, `SELECT pg_notify($1, current_schema())`, revisionChannel)
	return err
}
