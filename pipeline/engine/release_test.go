package engine

import (
	"context"
	"database/sql"
	"testing"
	"time"

	_ "modernc.org/sqlite"

	"github.com/hookgate/hookgate/pipeline/action"
	"github.com/hookgate/hookgate/pipeline/store/storetest"
)

// TestFetchedJobReleased: a process died after River fetched a job (the
// job is running) but before its worker claimed the action (still
// queued). On SQLite, the next process runs that action at once instead
// of leaving it queued until River's rescuer wakes, minutes later.
func TestFetchedJobReleased(t *testing.T) {
	sc := StorageConfig{Driver: "sqlite", Path: storetest.SQLitePath(t)}
	p := action.Pipeline{Name: "deploy", Steps: []action.Step{helperStep("ok", "args")}}
	first, err := Open(context.Background(), sc, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	if err := first.Configure([]action.Pipeline{p}); err != nil {
		t.Fatal(err)
	}
	id := trigger(t, first, "deploy", nil)
	if err := first.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}

	db, err := sql.Open("sqlite", sc.Path)
	if err != nil {
		t.Fatal(err)
	}
	res, err := db.Exec(`UPDATE river_job SET state = 'running', attempt = 1, attempted_at = CURRENT_TIMESTAMP WHERE kind = 'hookgate_action'`)
	db.Close()
	if n, _ := res.RowsAffected(); err != nil || n != 1 {
		t.Fatalf("marking the job fetched: %v (%d rows)", err, n)
	}

	e := open(t, sc, true, p)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	a, err := e.Wait(ctx, id)
	if err != nil {
		t.Fatalf("the fetched action did not run: %v", err)
	}
	if a.Status != action.StatusSucceeded {
		t.Errorf("action %+v", a)
	}
}
