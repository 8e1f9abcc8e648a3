package store

import (
	"context"
	"path/filepath"
	"testing"
	"time"
)

// A statement first met in a transaction runs there unprepared (preparing
// it would wait for the one connection, which the transaction holds) and
// is prepared once the transaction ends; the prepared statement then
// serves transactions and the pool alike, with the same answers.
func TestSQLiteStatementCache(t *testing.T) {
	ctx := context.Background()
	s, err := OpenSQLite(ctx, filepath.Join(t.TempDir(), "hookgate.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	d := s.(*db)
	stmts := d.pool.(sqlQuerier).stmts
	const count = `SELECT count(*) FROM hookgate_revision WHERE revision >= $1`
	const prepared = `SELECT count(*) FROM hookgate_revision WHERE revision >= ?1`

	inTx := func(want int64) {
		t.Helper()
		done := make(chan error, 1)
		go func() {
			done <- s.InTx(ctx, func(st Tx) error {
				var n int64
				if err := queryOne(ctx, st.(*tx).q, count, []any{int64(0)}, &n); err != nil {
					return err
				}
				if n != want {
					t.Errorf("in a transaction: count %d, want %d", n, want)
				}
				return nil
			})
		}()
		select {
		case err := <-done:
			if err != nil {
				t.Fatal(err)
			}
		case <-time.After(30 * time.Second):
			t.Fatal("a transaction meeting a new statement did not end: deadlock on the connection")
		}
	}

	var want int64
	if err := queryOne(ctx, d.pool, `SELECT count(*) FROM hookgate_revision`, nil, &want); err != nil {
		t.Fatal(err)
	}
	inTx(want)
	if stmts.lookup(prepared) == nil {
		t.Fatal("the statement met in the transaction was not prepared after it")
	}
	inTx(want)
	var n int64
	if err := queryOne(ctx, d.pool, count, []any{int64(0)}, &n); err != nil || n != want {
		t.Errorf("on the pool: count %d, %v; want %d", n, err, want)
	}
}
