package store

import (
	"context"
	"errors"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

// pgTx is a PostgreSQL transaction that pipelines its statements: its
// BEGIN and the statements whose result nobody reads (later) wait, and
// go to the server together with the next statement that is read, or
// with the COMMIT, as one pgx.Batch: one round trip instead of one each.
// A transaction that sent nothing sends nothing to end.
//
// It is also the pgx.Tx that the job queue inserts its jobs with
// (Native), and those statements are pipelined the same way: an Exec
// through it, whose only result is an error (River's notification of
// the jobs inserted), waits like a later statement, answers an empty
// command tag, and its error fails the next statement or the commit.
type pgTx struct {
	c *pgxpool.Conn
	// pending are the statements waiting to be sent; nil when none.
	pending *pgx.Batch
	// begun is set once the BEGIN was sent.
	begun bool
}

// beginPg starts a transaction on a connection of pool; its BEGIN goes
// with its first statement.
func beginPg(ctx context.Context, pool *pgxpool.Pool) (nativeTx, error) {
	c, err := pool.Acquire(ctx)
	if err != nil {
		return nil, err
	}
	t := &pgTx{c: c, pending: &pgx.Batch{}}
	t.pending.Queue(`BEGIN`)
	return t, nil
}

func (t *pgTx) native() any { return t }

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
	t.begun = true
	b.Queue(query, args...)
	br := t.c.SendBatch(ctx, b)
	for range b.Len() - 1 {
		if _, err := br.Exec(); err != nil {
			br.Close()
			return nil, err
		}
	}
	return br, nil
}

// flush sends the pending statements, if any.
func (t *pgTx) flush(ctx context.Context) error {
	if t.pending == nil {
		return nil
	}
	_, err := t.exec(ctx, `SELECT 1`)
	return err
}

func (t *pgTx) exec(ctx context.Context, query string, args ...any) (int64, error) {
	tag, err := t.execTag(ctx, query, args...)
	return tag.RowsAffected(), err
}

// execTag runs a statement with the pending ones and returns its
// command tag.
func (t *pgTx) execTag(ctx context.Context, query string, args ...any) (pgconn.CommandTag, error) {
	if t.pending == nil {
		return t.c.Exec(ctx, query, args...)
	}
	br, err := t.send(ctx, query, args...)
	if err != nil {
		return pgconn.CommandTag{}, err
	}
	tag, err := br.Exec()
	if cerr := br.Close(); err == nil {
		err = cerr
	}
	return tag, err
}

func (t *pgTx) query(ctx context.Context, query string, args ...any) (rows, error) {
	return t.Query(ctx, query, args...)
}

// batchRows are the rows of the last statement of a batch, which is
// closed with them.
type batchRows struct {
	pgx.Rows
	br pgx.BatchResults
}

// Close implements pgx.Rows: it closes the rows and the batch they came from.
func (r batchRows) Close() {
	r.Rows.Close()
	r.br.Close()
}

func (t *pgTx) commit(ctx context.Context) error {
	defer t.c.Release()
	if !t.begun && t.pending.Len() == 1 {
		return nil // Only the BEGIN: nothing was done.
	}
	tag, err := t.execTag(ctx, `COMMIT`)
	if err == nil && tag.String() == "ROLLBACK" {
		err = pgx.ErrTxCommitRollback
	}
	if err != nil {
		_, _ = t.c.Exec(context.WithoutCancel(ctx), `ROLLBACK`)
	}
	return err
}

func (t *pgTx) rollback(ctx context.Context) error {
	defer t.c.Release()
	t.pending = nil
	if !t.begun {
		return nil
	}
	_, err := t.c.Exec(ctx, `ROLLBACK`)
	return err
}

// errNested is the answer to Begin, Commit and Rollback through the
// pgx.Tx: the store ends its transactions itself.
var errNested = errors.New("storage: a transaction of the store is ended by the store")

// Begin implements pgx.Tx: nested transactions are not supported.
func (t *pgTx) Begin(context.Context) (pgx.Tx, error) { return nil, errNested }

// Commit implements pgx.Tx: the store commits.
func (t *pgTx) Commit(context.Context) error { return errNested }

// Rollback implements pgx.Tx: the store rolls back.
func (t *pgTx) Rollback(context.Context) error { return errNested }

// CopyFrom implements pgx.Tx, after the pending statements.
func (t *pgTx) CopyFrom(ctx context.Context, table pgx.Identifier, columns []string, src pgx.CopyFromSource) (int64, error) {
	if err := t.flush(ctx); err != nil {
		return 0, err
	}
	return t.c.CopyFrom(ctx, table, columns, src)
}

// SendBatch implements pgx.Tx, after the pending statements.
func (t *pgTx) SendBatch(ctx context.Context, b *pgx.Batch) pgx.BatchResults {
	if err := t.flush(ctx); err != nil {
		return failedBatch{err}
	}
	return t.c.SendBatch(ctx, b)
}

// LargeObjects implements pgx.Tx; the store uses none.
func (t *pgTx) LargeObjects() pgx.LargeObjects { return pgx.LargeObjects{} }

// Prepare implements pgx.Tx.
func (t *pgTx) Prepare(ctx context.Context, name, sql string) (*pgconn.StatementDescription, error) {
	return t.c.Conn().Prepare(ctx, name, sql)
}

// Exec implements pgx.Tx: the statement waits with the pending ones.
func (t *pgTx) Exec(ctx context.Context, query string, args ...any) (pgconn.CommandTag, error) {
	return pgconn.CommandTag{}, t.later(ctx, query, args...)
}

// Query implements pgx.Tx, with the pending statements.
func (t *pgTx) Query(ctx context.Context, query string, args ...any) (pgx.Rows, error) {
	if t.pending == nil {
		return t.c.Query(ctx, query, args...)
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

// QueryRow implements pgx.Tx, with the pending statements.
func (t *pgTx) QueryRow(ctx context.Context, query string, args ...any) pgx.Row {
	r, err := t.Query(ctx, query, args...)
	return firstRow{r, err}
}

// Conn implements pgx.Tx.
func (t *pgTx) Conn() *pgx.Conn { return t.c.Conn() }

// firstRow is the first row of rows, as pgx.Row.
type firstRow struct {
	rows pgx.Rows
	err  error
}

// Scan implements pgx.Row.
func (r firstRow) Scan(dest ...any) error {
	if r.err != nil {
		return r.err
	}
	defer r.rows.Close()
	if !r.rows.Next() {
		if err := r.rows.Err(); err != nil {
			return err
		}
		return pgx.ErrNoRows
	}
	if err := r.rows.Scan(dest...); err != nil {
		return err
	}
	r.rows.Close()
	return r.rows.Err()
}

// failedBatch is the results of a batch that was not sent.
type failedBatch struct{ err error }

// Exec, Query, QueryRow, Close and Tx implement pgx.BatchResults: each
// answers the error that kept the batch from being sent.
func (b failedBatch) Exec() (pgconn.CommandTag, error) { return pgconn.CommandTag{}, b.err }
func (b failedBatch) Query() (pgx.Rows, error)         { return nil, b.err }
func (b failedBatch) QueryRow() pgx.Row                { return firstRow{err: b.err} }
func (b failedBatch) Close() error                     { return b.err }
func (b failedBatch) Tx() pgx.Tx                       { return nil }
