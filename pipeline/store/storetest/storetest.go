// Package storetest gives tests a fresh database of each backend: a
// SQLite file in a temporary directory, and a schema of its own in the
// test PostgreSQL database, dropped when the test ends.
package storetest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// DefaultPostgresDSN is the test database used unless
// HOOKGATE_TEST_POSTGRES_DSN names another.
const DefaultPostgresDSN = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"

// SQLitePath is the path of a new SQLite database in a directory that is
// removed when the test ends.
func SQLitePath(t testing.TB) string {
	return filepath.Join(t.TempDir(), "hookgate", "hookgate.db")
}

// PostgresDSN creates a schema for the test in the test PostgreSQL
// database and returns a DSN whose search_path is that schema; the schema
// is dropped when the test ends. Without a reachable server the test is
// skipped, saying why.
func PostgresDSN(t testing.TB) string {
	t.Helper()
	base := os.Getenv("HOOKGATE_TEST_POSTGRES_DSN")
	if base == "" {
		base = DefaultPostgresDSN
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, base)
	if err != nil {
		t.Skipf("PostgreSQL tests skipped: no server at %s (set HOOKGATE_TEST_POSTGRES_DSN): %v", hostOf(base), err)
	}
	defer conn.Close(ctx)
	var b [6]byte
	rand.Read(b[:])
	schema := "hg_test_" + hex.EncodeToString(b[:])
	if _, err := conn.Exec(ctx, "CREATE SCHEMA "+schema); err != nil {
		t.Fatalf("creating schema %s: %v", schema, err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		conn, err := pgx.Connect(ctx, base)
		if err != nil {
			t.Errorf("dropping schema %s: %v", schema, err)
			return
		}
		defer conn.Close(ctx)
		if _, err := conn.Exec(ctx, "DROP SCHEMA "+schema+" CASCADE"); err != nil {
			t.Errorf("dropping schema %s: %v", schema, err)
		}
	})
	return withSearchPath(base, schema)
}

// withSearchPath adds a search_path setting to a DSN, URL or key=value.
func withSearchPath(dsn, schema string) string {
	if u, err := url.Parse(dsn); err == nil && strings.HasPrefix(u.Scheme, "postgres") {
		q := u.Query()
		q.Set("search_path", schema)
		u.RawQuery = q.Encode()
		return u.String()
	}
	return dsn + " search_path=" + schema
}

// hostOf is the host of a DSN, for messages.
func hostOf(dsn string) string {
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		return "(invalid DSN)"
	}
	return net.JoinHostPort(cfg.Host, strconv.Itoa(int(cfg.Port)))
}
