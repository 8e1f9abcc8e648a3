package store_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hookgate/hookgate/pipeline/action"
	"github.com/hookgate/hookgate/pipeline/store"
	"github.com/hookgate/hookgate/pipeline/store/storetest"
)

// backend opens a fresh store of one kind for a test.
type backend struct {
	name string
	open func(t *testing.T) store.Store
}

var backends = []backend{
	{"sqlite", func(t *testing.T) store.Store {
		return open(t, func(ctx context.Context) (store.Store, error) {
			return store.OpenSQLite(ctx, storetest.SQLitePath(t))
		})
	}},
	{"postgres", func(t *testing.T) store.Store {
		dsn := storetest.PostgresDSN(t)
		return open(t, func(ctx context.Context) (store.Store, error) { return store.OpenPostgres(ctx, dsn) })
	}},
}

// open opens a store and closes it when the test ends.
func open(t *testing.T, fn func(context.Context) (store.Store, error)) store.Store {
	t.Helper()
	s, err := fn(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// TestConformance runs the same cases against every backend.
func TestConformance(t *testing.T) {
	cases := []struct {
		name string
		run  func(t *testing.T, s store.Store)
	}{
		{"RoundTrip", testRoundTrip},
		{"Dedup", testDedup},
		{"DedupRace", testDedupRace},
		{"Rollback", testRollback},
		{"Transitions", testTransitions},
		{"Steps", testSteps},
		{"Cancel", testCancel},
		{"List", testList},
		{"HostileVariables", testHostileVariables},
		{"Counts", testCounts},
		{"InterruptRunning", testInterruptRunning},
		{"DeleteFinished", testDeleteFinished},
		{"AttemptInFlight", testAttemptInFlight},
		{"StartAttempts", testStartAttempts},
		{"Hooks", testHooks},
		{"APIWebhooks", testAPIWebhooks},
		{"Events", testEvents},
		{"LeaseFencing", testLeaseFencing},
	}
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			for _, c := range cases {
				t.Run(c.name, func(t *testing.T) { c.run(t, b.open(t)) })
			}
		})
	}
}

var ctx = context.Background()

// claim runs Tx.Claim in a transaction of its own.
func claim(s store.Store, id string, jobID int64, at time.Time) (ok bool, err error) {
	err = s.InTx(ctx, func(tx store.Tx) error { ok, err = tx.Claim(ctx, id, jobID, at, ""); return err })
	return ok, err
}

// finish runs Tx.Finish in a transaction of its own.
func finish(s store.Store, id string, from action.Status, o action.Outcome, at time.Time) (ok bool, err error) {
	err = s.InTx(ctx, func(tx store.Tx) error { ok, err = tx.Finish(ctx, id, from, o, at, ""); return err })
	return ok, err
}

// cancel runs Tx.Cancel in a transaction of its own.
func cancel(s store.Store, id string, at time.Time) (c store.Cancellation, err error) {
	err = s.InTx(ctx, func(tx store.Tx) error { c, err = tx.Cancel(ctx, id, at); return err })
	return c, err
}

// interruptRunning runs Tx.InterruptRunning in a transaction of its own.
func interruptRunning(s store.Store, at time.Time) (ids []string, err error) {
	err = s.InTx(ctx, func(tx store.Tx) error { ids, err = tx.InterruptRunning(ctx, at); return err })
	return ids, err
}

// newAction is a queued action of pipeline p, created at now.
func newAction(p, hook, delivery string, now time.Time) *action.Action {
	return &action.Action{
		ID: action.NewID(now), Pipeline: p, Hook: hook, DeliveryID: delivery,
		Status: action.StatusQueued, Variables: map[string]any{"ref": "main"}, CreatedAt: now,
	}
}

// insert stores actions in one transaction and returns what Insert said
// for each.
func insert(t *testing.T, s store.Store, list ...*action.Action) []string {
	t.Helper()
	existing := make([]string, len(list))
	err := s.InTx(ctx, func(tx store.Tx) error {
		for i, a := range list {
			var err error
			if existing[i], err = tx.Insert(ctx, a); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return existing
}

func get(t *testing.T, s store.Store, id string) *action.Action {
	t.Helper()
	a, err := s.Action(ctx, id)
	if err != nil {
		t.Fatalf("action %s: %v", id, err)
	}
	return a
}

func testRoundTrip(t *testing.T, s store.Store) {
	now := time.Now().Truncate(time.Microsecond).UTC()
	a := newAction("deploy", "github", "d-1", now)
	a.RemoteIP = "192.0.2.7"
	a.Payload = []byte(`{"ref":"refs/heads/main"}` + "\x00\xff")
	a.Variables = map[string]any{
		"s": "a b; $(rm -rf /)\n", "i": int64(1) << 60, "f": 1.5, "b": true,
		"j": map[string]any{"list": []any{1.0, "x"}},
	}
	if got := insert(t, s, a); got[0] != "" {
		t.Fatalf("Insert said duplicate of %q", got[0])
	}
	b := get(t, s, a.ID)
	if b.Pipeline != "deploy" || b.Hook != "github" || b.DeliveryID != "d-1" || b.RemoteIP != "192.0.2.7" ||
		b.Status != action.StatusQueued || !b.CreatedAt.Equal(now) || b.StartedAt != nil || b.FinishedAt != nil {
		t.Errorf("got %+v", b)
	}
	if string(b.Payload) != string(a.Payload) {
		t.Errorf("payload %q, want %q", b.Payload, a.Payload)
	}
	if fmt.Sprint(b.Variables) != fmt.Sprint(a.Variables) {
		t.Errorf("variables %#v, want %#v", b.Variables, a.Variables)
	}
	if _, ok := b.Variables["i"].(int64); !ok {
		t.Errorf("int variable came back as %T", b.Variables["i"])
	}
	if b.Steps == nil || len(b.Steps) != 0 {
		t.Errorf("steps %#v, want empty", b.Steps)
	}
	if _, err := s.Action(ctx, "act_missing"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("missing action: %v, want ErrNotFound", err)
	}
}

func testDedup(t *testing.T, s store.Store) {
	now := time.Now()
	first := newAction("deploy", "github", "d-1", now)
	again := newAction("deploy", "github", "d-1", now)
	other := newAction("deploy", "gitlab", "d-1", now)
	none1 := newAction("deploy", "github", "", now)
	none2 := newAction("deploy", "github", "", now)
	got := insert(t, s, first, again, other, none1, none2)
	want := []string{"", first.ID, "", "", ""}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("Insert said %q, want %q", got, want)
	}
	if _, err := s.Action(ctx, again.ID); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("the duplicate was stored: %v", err)
	}
	err := s.InTx(ctx, func(tx store.Tx) error {
		id, err := tx.DeliveryAction(ctx, "github", "d-1")
		if id != first.ID {
			t.Errorf("DeliveryAction = %q, want %q", id, first.ID)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}

func testDedupRace(t *testing.T, s store.Store) {
	const n = 8
	ids := make([]string, n)
	results := make([]string, n)
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		a := newAction("deploy", "github", "race", time.Now())
		ids[i] = a.ID
		wg.Go(func() {
			errs <- s.InTx(ctx, func(tx store.Tx) error {
				var err error
				results[i], err = tx.Insert(ctx, a)
				return err
			})
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	winner := ""
	for i, r := range results {
		if r == "" {
			if winner != "" {
				t.Fatalf("two actions stored for one delivery: %s and %s", winner, ids[i])
			}
			winner = ids[i]
		}
	}
	for i, r := range results {
		if r != "" && r != winner {
			t.Errorf("insert %d: duplicate of %q, want %q", i, r, winner)
		}
	}
}

func testRollback(t *testing.T, s store.Store) {
	a := newAction("deploy", "github", "", time.Now())
	boom := errors.New("boom")
	err := s.InTx(ctx, func(tx store.Tx) error {
		if _, err := tx.Insert(ctx, a); err != nil {
			return err
		}
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("InTx = %v, want boom", err)
	}
	if _, err := s.Action(ctx, a.ID); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("rolled back action found: %v", err)
	}
}

func testTransitions(t *testing.T, s store.Store) {
	a := newAction("deploy", "github", "", time.Now())
	insert(t, s, a)
	started := time.Now()
	if ok, err := claim(s, a.ID, 42, started); !ok || err != nil {
		t.Fatalf("Claim = %v, %v", ok, err)
	}
	if ok, err := claim(s, a.ID, 43, started); ok || err != nil {
		t.Fatalf("second Claim = %v, %v; want false", ok, err)
	}
	c, err := cancel(s, a.ID, time.Now())
	if err != nil || c.Status != action.StatusRunning || c.JobID != 42 || c.Changed {
		t.Fatalf("Cancel of a running action = %+v, %v", c, err)
	}
	o := action.Outcome{Status: action.StatusFailed, Reason: action.ReasonExitStatus, Detail: "exit status 3"}
	if ok, err := finish(s, a.ID, action.StatusQueued, o, time.Now()); ok || err != nil {
		t.Fatalf("Finish from the wrong state = %v, %v; want false", ok, err)
	}
	if ok, err := finish(s, a.ID, action.StatusRunning, o, time.Now()); !ok || err != nil {
		t.Fatalf("Finish = %v, %v", ok, err)
	}
	b := get(t, s, a.ID)
	if b.Status != action.StatusFailed || b.Reason != action.ReasonExitStatus || b.Detail != "exit status 3" ||
		b.StartedAt == nil || b.FinishedAt == nil || b.FinishedAt.Before(*b.StartedAt) {
		t.Errorf("got %+v", b)
	}
}

func testSteps(t *testing.T, s store.Store) {
	a := newAction("deploy", "github", "", time.Now())
	insert(t, s, a)
	code, status := 3, 502
	steps := []action.StepResult{
		{Name: "build", Kind: action.KindExec, Status: action.StepSucceeded, ExitCode: new(int), DurationMS: 12, Output: "ok\n\x00\xff"},
		{Name: "skip", Kind: action.KindHTTP, Status: action.StepSkipped},
		{Name: "tell", Kind: action.KindHTTP, Status: action.StepFailed, HTTPStatus: &status, Output: strings.Repeat("x", 70000), OutputTruncated: true, Error: "502"},
		{Name: "last", Kind: action.KindExec, Status: action.StepFailed, ExitCode: &code, Error: "exit status 3"},
	}
	for i, st := range steps {
		if err := s.AddStep(ctx, a.ID, i, st, ""); err != nil {
			t.Fatal(err)
		}
	}
	got := get(t, s, a.ID).Steps
	if len(got) != len(steps) {
		t.Fatalf("%d steps, want %d", len(got), len(steps))
	}
	for i := range steps {
		if fmt.Sprintf("%+v", deref(got[i])) != fmt.Sprintf("%+v", deref(steps[i])) {
			t.Errorf("step %d:\n got %.200v\nwant %.200v", i, deref(got[i]), deref(steps[i]))
		}
	}
}

// deref is a step result with its pointers shown as values.
func deref(s action.StepResult) string {
	show := func(p *int) string {
		if p == nil {
			return "nil"
		}
		return fmt.Sprint(*p)
	}
	return fmt.Sprintf("%s %s %s exit=%s http=%s %dms %q %v %q", s.Name, s.Kind, s.Status,
		show(s.ExitCode), show(s.HTTPStatus), s.DurationMS, s.Output, s.OutputTruncated, s.Error)
}

func testCancel(t *testing.T, s store.Store) {
	a := newAction("deploy", "github", "", time.Now())
	insert(t, s, a)
	c, err := cancel(s, a.ID, time.Now())
	if err != nil || c.Status != action.StatusCancelled || !c.Changed {
		t.Fatalf("Cancel = %+v, %v", c, err)
	}
	if ok, _ := claim(s, a.ID, 1, time.Now()); ok {
		t.Error("a cancelled action was claimed")
	}
	c, err = cancel(s, a.ID, time.Now())
	if err != nil || c.Status != action.StatusCancelled || c.Changed {
		t.Fatalf("second Cancel = %+v, %v", c, err)
	}
	b := get(t, s, a.ID)
	if b.Reason != action.ReasonCancelled || b.FinishedAt == nil || b.StartedAt != nil {
		t.Errorf("got %+v", b)
	}
	if _, err := cancel(s, "act_missing", time.Now()); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("Cancel of a missing action: %v", err)
	}
}

func testList(t *testing.T, s store.Store) {
	var ids []string
	start := time.Now()
	for i := range 5 {
		p := "a"
		if i%2 == 1 {
			p = "b"
		}
		a := newAction(p, "h", "", start.Add(time.Duration(i)*time.Millisecond))
		insert(t, s, a)
		ids = append(ids, a.ID)
	}
	claim(s, ids[4], 1, time.Now())
	s.AddStep(ctx, ids[4], 0, action.StepResult{Name: "x", Kind: action.KindExec, Status: action.StepSucceeded}, "")
	check := func(f store.Filter, want ...string) {
		t.Helper()
		list, err := s.Actions(ctx, f)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, a := range list {
			got = append(got, a.ID)
		}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("Actions(%+v) = %v, want %v", f, got, want)
		}
	}
	check(store.Filter{}, ids[4], ids[3], ids[2], ids[1], ids[0])
	check(store.Filter{Pipeline: "b"}, ids[3], ids[1])
	check(store.Filter{Pipeline: "a", Status: action.StatusQueued}, ids[2], ids[0])
	check(store.Filter{Status: action.StatusRunning}, ids[4])
	check(store.Filter{Limit: 2, Offset: 1}, ids[3], ids[2])
	list, _ := s.Actions(ctx, store.Filter{Status: action.StatusRunning})
	if len(list) != 1 || len(list[0].Steps) != 1 {
		t.Errorf("list without the steps: %+v", list)
	}
}

// testHostileVariables: an action whose stored variables the JSON
// decoder refuses (nested deeper than its limit of 10,000) is still
// listed and read, with that value as its JSON text, and the other
// actions with it.
func testHostileVariables(t *testing.T, s store.Store) {
	deep := any("x")
	for range 10_001 {
		deep = []any{deep}
	}
	hostile := newAction("a", "h", "", time.Now())
	hostile.Variables = map[string]any{"ref": "main", "n": int64(3), "deep": deep}
	plain := newAction("a", "h", "", time.Now().Add(time.Millisecond))
	insert(t, s, hostile, plain)

	list, err := s.Actions(ctx, store.Filter{Pipeline: "a"})
	if err != nil || len(list) != 2 || list[0].ID != plain.ID || list[1].ID != hostile.ID {
		t.Fatalf("Actions = %d actions, %v; want both", len(list), err)
	}
	got, err := s.Action(ctx, hostile.ID)
	if err != nil {
		t.Fatalf("Action: %v", err)
	}
	text, _ := got.Variables["deep"].(string)
	if got.Variables["ref"] != "main" || got.Variables["n"] != int64(3) ||
		!strings.HasPrefix(text, "[[[") || !strings.Contains(text, `"x"]]]`) {
		t.Errorf("variables = ref %v, n %v, deep %.20q", got.Variables["ref"], got.Variables["n"], text)
	}
}

func testCounts(t *testing.T, s store.Store) {
	var ids []string
	for range 3 {
		a := newAction("a", "h", "", time.Now())
		insert(t, s, a)
		ids = append(ids, a.ID)
	}
	insert(t, s, newAction("b", "h", "", time.Now()))
	claim(s, ids[0], 1, time.Now())
	counts, err := s.Counts(ctx)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]int64{}
	for _, c := range counts {
		got[c.Pipeline+"/"+string(c.Status)] = c.N
	}
	want := map[string]int64{"a/queued": 2, "a/running": 1, "b/queued": 1}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("Counts = %v, want %v", got, want)
	}
	err = s.InTx(ctx, func(tx store.Tx) error {
		if err := tx.LockPipeline(ctx, "a"); err != nil {
			return err
		}
		for limit, want := range map[int]int{1: 1, 2: 2, 10: 2} {
			n, err := tx.CountQueued(ctx, "a", limit)
			if err != nil {
				return err
			}
			if n != want {
				t.Errorf("CountQueued(a, %d) = %d, want %d", limit, n, want)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func testInterruptRunning(t *testing.T, s store.Store) {
	running := newAction("a", "h", "", time.Now())
	queued := newAction("a", "h", "", time.Now())
	insert(t, s, running, queued)
	claim(s, running.ID, 1, time.Now())
	ids, err := interruptRunning(s, time.Now())
	if err != nil || len(ids) != 1 || ids[0] != running.ID {
		t.Fatalf("InterruptRunning = %v, %v", ids, err)
	}
	if a := get(t, s, running.ID); a.Status != action.StatusFailed || a.Reason != action.ReasonInterrupted {
		t.Errorf("running action became %s/%s", a.Status, a.Reason)
	}
	if a := get(t, s, queued.ID); a.Status != action.StatusQueued {
		t.Errorf("queued action became %s", a.Status)
	}
}

func testDeleteFinished(t *testing.T, s store.Store) {
	old := newAction("a", "h", "d-old", time.Now())
	recent := newAction("a", "h", "", time.Now())
	queued := newAction("a", "h", "", time.Now())
	insert(t, s, old, recent, queued)
	done := action.Outcome{Status: action.StatusSucceeded}
	for _, a := range []*action.Action{old, recent} {
		claim(s, a.ID, 1, time.Now())
		s.AddStep(ctx, a.ID, 0, action.StepResult{Name: "x", Kind: action.KindExec, Status: action.StepSucceeded}, "")
	}
	finish(s, old.ID, action.StatusRunning, done, time.Now().Add(-2*time.Hour))
	finish(s, recent.ID, action.StatusRunning, done, time.Now())
	n, err := s.DeleteFinished(ctx, time.Now().Add(-time.Hour))
	if err != nil || n != 1 {
		t.Fatalf("DeleteFinished = %d, %v; want 1", n, err)
	}
	if _, err := s.Action(ctx, old.ID); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("old action: %v, want ErrNotFound", err)
	}
	get(t, s, recent.ID)
	get(t, s, queued.ID)
	// The delivery ID of a deleted action is free again.
	if got := insert(t, s, newAction("a", "h", "d-old", time.Now())); got[0] != "" {
		t.Errorf("delivery of a deleted action still a duplicate of %s", got[0])
	}
}
