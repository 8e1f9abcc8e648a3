package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/hookgate/hookgate/pipeline/action"
	"github.com/hookgate/hookgate/pipeline/store"
	"github.com/hookgate/hookgate/pipeline/store/storetest"
)

// scaleoutCaddyfile is one of several instances sharing a PostgreSQL
// database: each action appends its id to ran.log, shared by all.
const scaleoutCaddyfile = `{
	admin off
	hookgate {
		storage postgres "DSN"
		pipeline work {
			concurrency 2
			timeout 30s
			step record exec /bin/sh -c "echo $1 >> DIR/ran.log; sleep 0.01" sh {action.id}
		}
	}
}
http://127.0.0.1:{PORT} {
	handle /hook {
		hookgate work {
			insecure_no_signature
			var n n int required
			pipeline work
		}
	}
	handle /metrics {
		metrics
	}
	handle {
		respond "ready"
	}
}
`

// freshDatabase creates a PostgreSQL database for the test, dropped when
// it ends, and returns its DSN; without a server the test is skipped.
func freshDatabase(t *testing.T) string {
	t.Helper()
	base := os.Getenv("HOOKGATE_TEST_POSTGRES_DSN")
	if base == "" {
		base = storetest.DefaultPostgresDSN
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, base)
	if err != nil {
		t.Skipf("PostgreSQL scale-out test skipped: no server for %s (set HOOKGATE_TEST_POSTGRES_DSN): %v", storetest.DefaultPostgresDSN, err)
	}
	defer conn.Close(ctx)
	var b [6]byte
	rand.Read(b[:])
	name := "hookgate_scaleout_" + hex.EncodeToString(b[:])
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		t.Fatalf("creating database %s: %v", name, err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		conn, err := pgx.Connect(ctx, base)
		if err != nil {
			t.Errorf("dropping database %s: %v", name, err)
			return
		}
		defer conn.Close(ctx)
		if _, err := conn.Exec(ctx, "DROP DATABASE "+name+" WITH (FORCE)"); err != nil {
			t.Errorf("dropping database %s: %v", name, err)
		}
	})
	u, err := url.Parse(base)
	if err != nil {
		t.Fatalf("HOOKGATE_TEST_POSTGRES_DSN must be a URL: %v", err)
	}
	u.Path = "/" + name
	return u.String()
}

// TestTwoInstancesShareTheWork runs two Caddy processes on one PostgreSQL
// database and spreads 300 hooks over both, as a load balancer would. One
// is killed (SIGKILL) half-way; hooks meant for it then go to the other.
// Every accepted action ends once: its command never runs twice, the
// survivor runs everything still queued, and an action that was running
// on the dead instance ends failed/interrupted.
func TestTwoInstancesShareTheWork(t *testing.T) {
	const (
		total   = 300
		killAt  = 150
		senders = 6
	)
	dsn := freshDatabase(t)
	dir := t.TempDir()
	caddyfile := strings.NewReplacer("DSN", dsn, "DIR", dir).Replace(scaleoutCaddyfile)
	a := startCaddy(t, "a", dir, caddyfile)
	b := startCaddy(t, "b", dir, caddyfile)

	var ok accepted
	var next atomic.Int64
	var aDead atomic.Bool
	var killA sync.Once
	var wg sync.WaitGroup
	for range senders {
		wg.Go(func() {
			for n := int(next.Add(1)); n <= total; n = int(next.Add(1)) {
				target := b
				if n%2 == 0 && !aDead.Load() {
					target = a
				}
				id, err := sendHook(target.base, n)
				if err != nil && target == a {
					id, err = sendHook(b.base, n) // the balancer tries the other one
				}
				if err != nil {
					t.Errorf("hook %d: %v", n, err)
					continue
				}
				if ok.add(id) == killAt {
					killA.Do(func() { aDead.Store(true); a.kill() })
				}
			}
		})
	}
	wg.Wait()
	ids := ok.list()
	if len(ids) != total {
		t.Fatalf("%d of %d hooks accepted", len(ids), total)
	}

	st, err := store.OpenPostgres(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	// The survivor runs everything queued. What the dead instance held
	// (jobs it had fetched, whether or not their action had started)
	// stays running until River's rescuer finds those jobs older than
	// their timeout (the pipeline's plus a grace: minutes). Once the
	// survivor has nothing left to fetch and has gone quiet, age them
	// rather than wait.
	waitUntil(t, 2*time.Minute, "the survivor to fetch every job", func() bool {
		return countJobs(t, dsn, "available") == 0
	})
	finished := func() float64 {
		return b.metric(`hookgate_actions{pipeline="work",state="succeeded"}`) + b.metric(`hookgate_actions{pipeline="work",state="failed"}`)
	}
	last, since := finished(), time.Now()
	waitUntil(t, 2*time.Minute, "the survivor to go quiet", func() bool {
		if n := finished(); n != last {
			last, since = n, time.Now()
		}
		return time.Since(since) > 2*time.Second
	})
	ageRunningJobs(t, dsn)
	waitUntil(t, 2*time.Minute, "the dead instance's actions to be taken over", func() bool {
		return b.metric(`hookgate_actions{pipeline="work",state="running"}`) == 0 &&
			b.metric(`hookgate_actions{pipeline="work",state="queued"}`) == 0
	})

	ran, _ := os.ReadFile(filepath.Join(dir, "ran.log"))
	runs := make(map[string]int)
	for _, id := range strings.Fields(string(ran)) {
		runs[id]++
	}
	counts := make(map[string]int)
	for _, id := range ids {
		act, err := st.Action(context.Background(), id)
		if err != nil {
			t.Errorf("accepted action %s: %v", id, err)
			continue
		}
		key := string(act.Status)
		if act.Reason != "" {
			key += "/" + string(act.Reason)
		}
		counts[key]++
		if runs[id] > 1 {
			t.Errorf("action %s ran %d times", id, runs[id])
		}
		switch {
		case act.Status == action.StatusSucceeded && runs[id] == 1:
		case act.Status == action.StatusFailed && act.Reason == action.ReasonInterrupted:
		default:
			t.Errorf("action %s ended %s after %d runs", id, key, runs[id])
		}
	}
	t.Logf("outcomes: %v", counts)
}

// countJobs counts the River jobs in a state.
func countJobs(t *testing.T, dsn, state string) int {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var n int
	if err := conn.QueryRow(ctx, `SELECT count(*) FROM river_job WHERE state = $1`, state).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// ageRunningJobs moves the attempts of the running River jobs a day
// back, as if their timeout had long passed.
func ageRunningJobs(t *testing.T, dsn string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	tag, err := conn.Exec(ctx, `UPDATE river_job SET attempted_at = attempted_at - interval '1 day' WHERE state = 'running'`)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("aged %d running jobs of the dead instance", tag.RowsAffected())
}
