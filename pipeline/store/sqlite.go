package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/riverqueue/river/riverdriver/riversqlite"
	"modernc.org/sqlite" // the pure Go SQLite driver, "sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// sqliteParams are the connection settings: WAL (as River's SQLite driver
// is tested with), a wait rather than an error when the file is busy, and
// a sync of every commit, so that an accepted action survives a crash of
// the machine, not only of the process.
const sqliteParams = "_pragma=journal_mode(WAL)&_pragma=busy_timeout(10000)&_pragma=synchronous(FULL)&_txlock=immediate"

// OpenSQLite opens (creating it and its directory) the SQLite database at
// path and applies the migrations. The files are created with mode 0600,
// the directory with 0700. One process at a time may have it
// open: a lock file beside it is held until Close.
func OpenSQLite(ctx context.Context, path string) (Store, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("storage sqlite: %v", err)
	}
	unlock, err := lockFile(path + ".lock")
	if err != nil {
		return nil, fmt.Errorf("storage sqlite %s: %v", path, err)
	}
	if err := privateFiles(path); err != nil {
		unlock()
		return nil, fmt.Errorf("storage sqlite %s: %v", path, err)
	}
	pool, err := sql.Open("sqlite", path+"?"+sqliteParams)
	if err != nil {
		unlock()
		return nil, fmt.Errorf("storage sqlite %s: %v", path, err)
	}
	// SQLite has one writer; River's driver documents one connection as
	// the way to never see SQLITE_BUSY.
	pool.SetMaxOpenConns(1)
	stmts := newStmtCache(pool)
	d := &db{
		backend: "sqlite",
		pool:    sqlQuerier{r: pool, stmts: stmts},
		handle:  pool,
		begin: func(ctx context.Context) (nativeTx, error) {
			t, err := pool.BeginTx(ctx, nil)
			return sqlTx{sqlQuerier{r: t, stmts: stmts, tx: t}}, err
		},
		lock:  func(context.Context, querier, string) error { return nil },
		clock: `CAST((julianday('now') - 2440587.5) * 86400000000 AS INTEGER)`,
		unique: func(err error) bool {
			var sqliteErr *sqlite.Error
			return errors.As(err, &sqliteErr) && (sqliteErr.Code() == sqlite3.SQLITE_CONSTRAINT_UNIQUE ||
				sqliteErr.Code() == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY)
		},
		close: func() error {
			defer unlock()
			stmts.close()
			return pool.Close()
		},
	}
	if err := d.migrateSQLite(ctx, pool); err != nil {
		d.close()
		return nil, fmt.Errorf("storage sqlite %s: %v", path, err)
	}
	return d, nil
}

// privateFiles makes the database file readable and writable by its
// owner only: it creates it with mode 0600 before SQLite opens it, as
// SQLite gives its -wal and -shm files the mode of the database file,
// and narrows the mode of those files where they exist already.
func privateFiles(path string) error {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return err
	}
	f.Close()
	for _, p := range []string{path, path + "-wal", path + "-shm"} {
		if err := os.Chmod(p, 0o600); err != nil && !errors.Is(err, os.ErrNotExist) {
			return err
		}
	}
	return nil
}

// migrateSQLite applies the migrations; the lock file keeps other
// processes away meanwhile.
func (d *db) migrateSQLite(ctx context.Context, pool *sql.DB) error {
	if err := migrateRiver(ctx, riversqlite.New(pool)); err != nil {
		return err
	}
	return d.migrateOwn(ctx, "BLOB")
}

// sqlRunner is what *sql.DB and *sql.Tx have in common.
type sqlRunner interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

// sqlQuerier runs SQL on SQLite, with $n placeholders turned into ?n, as
// statements of its cache.
type sqlQuerier struct {
	r     sqlRunner
	stmts *stmtCache
	// tx is the transaction r is, or nil when r is the pool.
	tx *sql.Tx
}

// runner is what runs query: its prepared statement, or r.
func (q sqlQuerier) runner(ctx context.Context, query string) sqlRunner {
	if q.tx == nil {
		if s := q.stmts.prepare(ctx, query); s != nil {
			return stmtRunner{s}
		}
	} else if s := q.stmts.lookup(query); s != nil {
		return stmtRunner{q.tx.StmtContext(ctx, s)}
	}
	return q.r
}

func (q sqlQuerier) exec(ctx context.Context, query string, args ...any) (int64, error) {
	query = strings.ReplaceAll(query, "$", "?")
	res, err := q.runner(ctx, query).ExecContext(ctx, query, args...)
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

func (q sqlQuerier) query(ctx context.Context, query string, args ...any) (rows, error) {
	query = strings.ReplaceAll(query, "$", "?")
	r, err := q.runner(ctx, query).QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	return sqlRows{r}, nil
}

// stmtRunner runs a prepared statement as a sqlRunner: the query it is
// given is the statement's own.
type stmtRunner struct{ s *sql.Stmt }

// ExecContext implements sqlRunner.
func (r stmtRunner) ExecContext(ctx context.Context, _ string, args ...any) (sql.Result, error) {
	return r.s.ExecContext(ctx, args...)
}

// QueryContext implements sqlRunner.
func (r stmtRunner) QueryContext(ctx context.Context, _ string, args ...any) (*sql.Rows, error) {
	return r.s.QueryContext(ctx, args...)
}

// sqlRows are *sql.Rows with a Close that returns nothing, as pgx's.
type sqlRows struct{ *sql.Rows }

// Close closes the rows.
func (r sqlRows) Close() { r.Rows.Close() }

// sqlTx is a SQLite transaction: a querier whose tx is set.
type sqlTx struct{ sqlQuerier }

func (t sqlTx) native() any { return t.tx }

func (t sqlTx) later(ctx context.Context, query string, args ...any) error {
	_, err := t.exec(ctx, query, args...)
	return err
}

// commit commits the transaction, then prepares the statements it met
// unprepared.
func (t sqlTx) commit(ctx context.Context) error {
	err := t.tx.Commit()
	t.stmts.prepareWanted(ctx)
	return err
}

// rollback rolls the transaction back, then prepares the statements it
// met unprepared.
func (t sqlTx) rollback(ctx context.Context) error {
	err := t.tx.Rollback()
	t.stmts.prepareWanted(ctx)
	return err
}
