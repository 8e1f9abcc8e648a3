package engine

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/hookgate/hookgate/pipeline/action"
	"github.com/hookgate/hookgate/pipeline/store/storetest"
)

// TestDatabaseLost takes PostgreSQL away from a running engine: Trigger
// fails with ErrUnavailable, and nothing is half-written.
func TestDatabaseLost(t *testing.T) {
	dsn := backends[1].config(t).DSN
	proxied, p := storetest.ProxyDSN(t, dsn)
	e := open(t, StorageConfig{Driver: "postgres", DSN: proxied}, false,
		action.Pipeline{Name: "deploy", Steps: []action.Step{helperStep("ok", "args")}})
	trigger(t, e, "deploy", nil)

	p.Close()
	ctx, cancel := context.WithTimeout(context.Background(), deadline)
	defer cancel()
	_, err := e.Trigger(ctx, Trigger{Pipeline: "deploy", Hook: "test", DeliveryID: "lost"})
	if !errors.Is(err, ErrUnavailable) {
		t.Fatalf("Trigger without a database: %v, want ErrUnavailable", err)
	}

	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var actions, jobs int
	if err := conn.QueryRow(ctx, `SELECT (SELECT count(*) FROM hookgate_action), (SELECT count(*) FROM river_job WHERE kind = 'hookgate_action')`).Scan(&actions, &jobs); err != nil {
		t.Fatal(err)
	}
	if actions != 1 || jobs != 1 {
		t.Errorf("%d actions and %d jobs stored, want 1 and 1", actions, jobs)
	}
	stopCtx, stop := context.WithTimeout(context.Background(), 5*time.Second)
	defer stop()
	e.Stop(stopCtx)
}
