package store_test

import (
	"errors"
	"testing"
	"time"

	"github.com/hookgate/hookgate/pipeline/action"
	"github.com/hookgate/hookgate/pipeline/store"
)

// testLeaseFencing: an action claimed under a lease takes its step
// results and outcome from that lease only; once the lease expired (on
// the database's clock) another lease takes it over, and the late writes
// of the first are refused. A claim under an expired lease is refused
// with ErrFenced.
func testLeaseFencing(t *testing.T, s store.Store) {
	if err := s.AcquireLease(ctx, "one", "one/1", "host-1", time.Hour); err != nil {
		t.Fatal(err)
	}
	if err := s.AcquireLease(ctx, "two", "two/1", "host-2", time.Hour); err != nil {
		t.Fatal(err)
	}
	a := newAction("deploy", "github", "", time.Now())
	insert(t, s, a)
	var ok bool
	err := s.InTx(ctx, func(tx store.Tx) (err error) { ok, err = tx.Claim(ctx, a.ID, 1, time.Now(), "one/1"); return err })
	if !ok || err != nil {
		t.Fatalf("Claim = %v, %v", ok, err)
	}
	step := action.StepResult{Name: "build", Kind: action.KindExec, Status: action.StepSucceeded}
	if err := s.AddStep(ctx, a.ID, 0, step, "one/1"); err != nil {
		t.Fatalf("AddStep under the claiming lease: %v", err)
	}
	takeOver := func(lease string) bool {
		t.Helper()
		var taken bool
		if err := s.InTx(ctx, func(tx store.Tx) (err error) { taken, err = tx.TakeOver(ctx, a.ID, lease); return err }); err != nil {
			t.Fatal(err)
		}
		return taken
	}
	if takeOver("two/1") {
		t.Fatal("an action running under a live lease was taken over")
	}
	list, err := s.Instances(ctx)
	if err != nil || len(list) != 2 || !list[0].Live || len(list[0].Running) != 1 || list[0].Running[0].ID != a.ID {
		t.Fatalf("Instances = %+v, %v", list, err)
	}

	// The lease of one expires: ReleaseLease ends it now.
	if err := s.ReleaseLease(ctx, "one", "one/1"); err != nil {
		t.Fatal(err)
	}
	if renewed, err := s.RenewLease(ctx, "one", "one/1", time.Hour); renewed || err != nil {
		t.Fatalf("RenewLease of an expired lease = %v, %v", renewed, err)
	}
	if !takeOver("two/1") {
		t.Fatal("an action running under an expired lease was not taken over")
	}
	if err := s.AddStep(ctx, a.ID, 1, step, "one/1"); !errors.Is(err, store.ErrFenced) {
		t.Fatalf("late AddStep = %v, want ErrFenced", err)
	}
	late := action.Outcome{Status: action.StatusSucceeded}
	err = s.InTx(ctx, func(tx store.Tx) (err error) {
		ok, err = tx.Finish(ctx, a.ID, action.StatusRunning, late, time.Now(), "one/1")
		return err
	})
	if ok || err != nil {
		t.Fatalf("late Finish = %v, %v; want refused", ok, err)
	}
	o := action.Outcome{Status: action.StatusFailed, Reason: action.ReasonInterrupted}
	err = s.InTx(ctx, func(tx store.Tx) (err error) {
		ok, err = tx.Finish(ctx, a.ID, action.StatusRunning, o, time.Now(), "two/1")
		return err
	})
	if !ok || err != nil {
		t.Fatalf("Finish by the taker = %v, %v", ok, err)
	}
	got, err := s.Action(ctx, a.ID)
	if err != nil || got.Status != action.StatusFailed || got.Reason != action.ReasonInterrupted || len(got.Steps) != 1 {
		t.Fatalf("action = %+v, %v", got, err)
	}

	// A claim under the expired lease is fenced; a new lease claims.
	b := newAction("deploy", "github", "", time.Now())
	insert(t, s, b)
	err = s.InTx(ctx, func(tx store.Tx) (err error) { ok, err = tx.Claim(ctx, b.ID, 2, time.Now(), "one/1"); return err })
	if ok || !errors.Is(err, store.ErrFenced) {
		t.Fatalf("Claim under an expired lease = %v, %v; want ErrFenced", ok, err)
	}
	if err := s.AcquireLease(ctx, "one", "one/2", "host-1", time.Hour); err != nil {
		t.Fatal(err)
	}
	err = s.InTx(ctx, func(tx store.Tx) (err error) { ok, err = tx.Claim(ctx, b.ID, 2, time.Now(), "one/2"); return err })
	if !ok || err != nil {
		t.Fatalf("Claim under a new lease = %v, %v", ok, err)
	}
	if renewed, err := s.RenewLease(ctx, "one", "one/2", time.Hour); !renewed || err != nil {
		t.Fatalf("RenewLease = %v, %v", renewed, err)
	}
}
