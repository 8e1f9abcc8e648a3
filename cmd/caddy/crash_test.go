package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hookgate/hookgate/pipeline/action"
	"github.com/hookgate/hookgate/pipeline/store"
)

// crashCaddyfile is a gateway whose hooks trigger a pipeline that appends
// each action's id to ran.log, stored in SQLite under dir.
const crashCaddyfile = `{
	admin off
	hookgate {
		storage sqlite DIR/hookgate.db
		pipeline work {
			concurrency 2
			step record exec /bin/sh -c "echo $1 >> DIR/ran.log; sleep 0.02" sh {action.id}
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

// TestCrashLosesNoAction kills Caddy with SIGKILL once 200 hooks have
// been answered 202 while more keep coming, then restarts it: every
// accepted action is there and ends succeeded, or failed/interrupted when
// it was running at the kill; none is lost or left queued.
func TestCrashLosesNoAction(t *testing.T) {
	const (
		total   = 300
		killAt  = 200
		senders = 8
	)
	dir := t.TempDir()
	caddyfile := strings.ReplaceAll(crashCaddyfile, "DIR", dir)
	first := startCaddy(t, "first", dir, caddyfile)

	var ok accepted
	var next atomic.Int64
	var killed sync.Once
	var firstErr atomic.Pointer[error]
	var wg sync.WaitGroup
	for range senders {
		wg.Go(func() {
			for n := int(next.Add(1)); n <= total; n = int(next.Add(1)) {
				id, err := sendHook(first.base, n)
				if err != nil {
					firstErr.CompareAndSwap(nil, &err)
					continue // the process is gone: not accepted
				}
				if ok.add(id) == killAt {
					killed.Do(first.kill)
				}
			}
		})
	}
	wg.Wait()
	killed.Do(first.kill)
	ids := ok.list()
	if len(ids) < killAt {
		t.Fatalf("only %d hooks were accepted before the kill; first error: %v", len(ids), *firstErr.Load())
	}
	ran, _ := os.ReadFile(filepath.Join(dir, "ran.log"))
	t.Logf("%d hooks accepted, %d actions had started when Caddy was killed", len(ids), strings.Count(string(ran), "\n"))

	second := startCaddy(t, "second", dir, caddyfile)
	waitUntil(t, 2*time.Minute, "every action to finish", func() bool {
		return second.metric(`hookgate_actions{pipeline="work",state="queued"}`) == 0 &&
			second.metric(`hookgate_actions{pipeline="work",state="running"}`) == 0
	})
	second.stop()

	st, err := store.OpenSQLite(context.Background(), filepath.Join(dir, "hookgate.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	ran, _ = os.ReadFile(filepath.Join(dir, "ran.log"))
	started := make(map[string]int)
	for _, id := range strings.Fields(string(ran)) {
		started[id]++
	}
	counts := make(map[string]int)
	for _, id := range ids {
		a, err := st.Action(context.Background(), id)
		if err != nil {
			t.Errorf("accepted action %s: %v", id, err)
			continue
		}
		key := string(a.Status)
		if a.Reason != "" {
			key += "/" + string(a.Reason)
		}
		counts[key]++
		switch {
		case a.Status == action.StatusSucceeded:
			if started[id] != 1 {
				t.Errorf("action %s succeeded but its command ran %d times", id, started[id])
			}
		case a.Status == action.StatusFailed && a.Reason == action.ReasonInterrupted:
		default:
			t.Errorf("action %s ended %s", id, key)
		}
	}
	t.Logf("outcomes: %v", counts)
	if counts["succeeded"] == 0 {
		t.Errorf("no action succeeded: %v", counts)
	}
}
