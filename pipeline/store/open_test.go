package store_test

import (
	"context"
	"strings"
	"testing"

	"github.com/hookgate/hookgate/pipeline/store"
	"github.com/hookgate/hookgate/pipeline/store/storetest"
)

func TestSQLiteOneProcess(t *testing.T) {
	path := storetest.SQLitePath(t)
	s, err := store.OpenSQLite(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := store.OpenSQLite(context.Background(), path); err == nil || !strings.Contains(err.Error(), "in use") {
		t.Errorf("second open: %v, want an in-use error", err)
	}
	s.Close()
	// Closed, it opens again, and the migrations find nothing to do.
	s, err = store.OpenSQLite(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
}

func TestPostgresReopen(t *testing.T) {
	dsn := storetest.PostgresDSN(t)
	for range 2 {
		s, err := store.OpenPostgres(context.Background(), dsn)
		if err != nil {
			t.Fatal(err)
		}
		s.Close()
	}
}

func TestPostgresUnreachable(t *testing.T) {
	// Nothing listens on port 1.
	_, err := store.OpenPostgres(context.Background(), "postgres://hookgate:s3cr3t-pw@127.0.0.1:1/hookgate?connect_timeout=5")
	if err == nil {
		t.Fatal("no error")
	}
	if !strings.Contains(err.Error(), "127.0.0.1:1") || strings.Contains(err.Error(), "s3cr3t-pw") {
		t.Errorf("error %q should name the host and not the password", err)
	}
}
