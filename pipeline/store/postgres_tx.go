package store

import (
	"context"

	"github.com/jackc/pgx/v5"
)

// pgTx is a PostgreSQL transaction that pipelines its statements: those
// whose result nobody reads (later) wait, and go to the server together
// with the next statement that is read, or with the commit, as one
// pgx.Batch: one round trip instead of one each.
type pgTx struct {
	t pgx.Tx
	// pending are the statements waiting to be sent; nil when none.
	pending *pgx.Batch
}

func (t *pgTx) native() any { return t.t }

func (t *pgTx) later(_ context.Context, query string, args ...any) error {
	if t.pending == nil {
		t.pending = &pgx.Batch{}
	}
	t.pending.Queue(query, args...)
	return nil
}

// send sends the pending statements followed by query, and reads the
// results of the pending ones: the first error fails them all.
func (t *pgTx) send(ctx context.Context, query string, args ...any) (pgx.BatchResults, error) {
	b := t.pending
	t.pending = nil
	b.Queue(query, args...)
	br := t.t.SendBatch(ctx, b)
	for range b.Len() - 1 {
		if _, err := br.Exec(); err != nil {
			br.Close()
			return nil, err
		}
	}
	return br, nil
}

func (t *pgTx) exec(ctx context.Context, query string, args ...any) (int64, error) {
	if t.pending == nil {
		tag, err := t.t.Exec(ctx, query, args...)
		return tag.RowsAffected(), err
	}
	br, err := t.send(ctx, query, args...)
	if err != nil {
		return 0, err
	}
	tag, err := br.Exec()
	if cerr := br.Close(); err == nil {
		err = cerr
	}
	return tag.RowsAffected(), err
}

func (t *pgTx) query(ctx context.Context, query string, args ...any) (rows, error) {
	if t.pending == nil {
		return t.t.Query(ctx, query, args...)
	}
	br, err := t.send(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	r, err := br.Query()
	if err != nil {
		br.Close()
		return nil, err
	}
	return batchRows{r, br}, nil
}

// batchRows are the rows of the last statement of a batch, which is
// closed with them.
type batchRows struct {
	pgx.Rows
	br pgx.BatchResults
}

func (r batchRows) Close() {
	r.Rows.Close()
	r.br.Close()
}

func (t *pgTx) commit(ctx context.Context) error {
	if t.pending != nil {
		if _, err := t.exec(ctx, `SELECT 1`); err != nil {
			_ = t.t.Rollback(context.WithoutCancel(ctx))
			return err
		}
	}
	return t.t.Commit(ctx)
}

func (t *pgTx) rollback(ctx context.Context) error {
	t.pending = nil
	return t.t.Rollback(ctx)
}
