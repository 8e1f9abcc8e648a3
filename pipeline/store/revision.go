package store

import "context"

// Revision implements Store.
func (d *db) Revision(ctx context.Context) (int64, error) { return revision(ctx, d.pool) }

// Revision implements Tx.
func (t *tx) Revision(ctx context.Context) (int64, error) { return revision(ctx, t.q) }

// revision reads the revision counter.
func revision(ctx context.Context, q querier) (int64, error) {
	var rev int64
	err := queryOne(ctx, q, `SELECT revision FROM hookgate_revision`, nil, &rev)
	return rev, err
}

// BumpRevision implements Tx.
func (t *tx) BumpRevision(ctx context.Context) (int64, error) {
	var rev int64
	if err := queryOne(ctx, t.q, `UPDATE hookgate_revision SET revision = revision + 1 RETURNING revision`, nil, &rev); err != nil {
		return 0, err
	}
	return rev, t.notifyRevision(ctx)
}
