package store

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
)

// connectTimeout bounds the first connection when none is set in the DSN.
const connectTimeout = 10 * time.Second

// migrationLock is the advisory lock that serializes the migrations of
// instances starting together.
const migrationLock = "hookgate_migrations"

// OpenPostgres connects to the PostgreSQL database of dsn and applies the
// migrations. Tables are created in the first schema of the connection's
// search_path. Errors name the server, never the password.
func OpenPostgres(ctx context.Context, dsn string) (Store, error) {
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		return nil, fmt.Errorf("storage postgres: invalid DSN: %s", redact(err.Error(), dsn))
	}
	where := "postgres " + server(cfg.ConnConfig)
	password := cfg.ConnConfig.Password
	if cfg.ConnConfig.ConnectTimeout == 0 {
		cfg.ConnConfig.ConnectTimeout = connectTimeout
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("storage %s: %s", where, redact(err.Error(), password))
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("storage %s: cannot connect: %s", where, redact(err.Error(), password))
	}
	d := &db{
		backend: "postgres",
		pool:    pgQuerier{pool},
		handle:  pool,
		begin: func(ctx context.Context) (nativeTx, error) {
			return beginPg(ctx, pool)
		},
		lock: func(ctx context.Context, q querier, key string) error {
			_, err := q.exec(ctx, `SELECT pg_advisory_xact_lock(hashtextextended($1, 0))`, key)
			return err
		},
		clock: `(extract(epoch from clock_timestamp()) * 1000000)::bigint`,
		unique: func(err error) bool {
			var pgErr *pgconn.PgError
			return errors.As(err, &pgErr) && pgErr.Code == "23505"
		},
		close: func() error { pool.Close(); return nil },
	}
	if err := d.migratePostgres(ctx, pool); err != nil {
		pool.Close()
		return nil, fmt.Errorf("storage %s: %s", where, redact(err.Error(), password))
	}
	return d, nil
}

// migratePostgres applies the migrations, holding a lock so that
// instances starting together take turns.
func (d *db) migratePostgres(ctx context.Context, pool *pgxpool.Pool) error {
	conn, err := pool.Acquire(ctx)
	if err != nil {
		return err
	}
	defer conn.Release()
	if _, err := conn.Exec(ctx, `SELECT pg_advisory_lock(hashtextextended($1, 0))`, migrationLock); err != nil {
		return err
	}
	defer conn.Exec(context.WithoutCancel(ctx), `SELECT pg_advisory_unlock(hashtextextended($1, 0))`, migrationLock)
	if err := migrateRiver(ctx, riverpgxv5.New(pool)); err != nil {
		return err
	}
	return d.migrateOwn(ctx, "BYTEA")
}

// server is the host and port of a connection config, for messages.
func server(c *pgx.ConnConfig) string {
	if strings.HasPrefix(c.Host, "/") {
		return c.Host
	}
	return net.JoinHostPort(c.Host, strconv.Itoa(int(c.Port)))
}

// redact removes a secret from a message.
func redact(msg, secret string) string {
	if secret == "" {
		return msg
	}
	return strings.ReplaceAll(msg, secret, "xxxxx")
}

// pgRunner is what *pgxpool.Pool and pgx.Tx have in common.
type pgRunner interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
}

// pgQuerier runs SQL on PostgreSQL.
type pgQuerier struct{ r pgRunner }

func (q pgQuerier) exec(ctx context.Context, query string, args ...any) (int64, error) {
	tag, err := q.r.Exec(ctx, query, args...)
	return tag.RowsAffected(), err
}

func (q pgQuerier) query(ctx context.Context, query string, args ...any) (rows, error) {
	return q.r.Query(ctx, query, args...)
}
