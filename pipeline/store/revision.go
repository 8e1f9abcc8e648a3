package store

import "context"

// Revision implements Store.
func (d *db) Revision(ctx context.Context) (int64, error) {
	var rev int64
	err := queryOne(ctx, d.pool, `SELECT revision FROM hookgate_revision`, nil, &rev)
	return rev, err
}

// BumpRevision implements Tx.
func (t *tx) BumpRevision(ctx context.Context) (int64, error) {
	var rev int64
	err := queryOne(ctx, t.q, `UPDATE hookgate_revision SET revision = revision + 1 RETURNING revision`, nil, &rev)
	return rev, err
}
