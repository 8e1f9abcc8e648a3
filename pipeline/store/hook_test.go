package store_test

import (
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/hookgate/hookgate/pipeline/hook"
	"github.com/hookgate/hookgate/pipeline/store"
)

// newHook is a hook of pipeline p created at now.
func newHook(id, name, p string, now time.Time) *store.HookRecord {
	def := "main"
	return &store.HookRecord{
		ID: id, Name: name, Pipeline: p, ActionType: "deploy", RequiresSecret: true, SecretAlgorithm: "sha256",
		SecretHeaderName: "X-Hub-Signature-256", When: `vars.ref == "main"`, DedupHeader: "X-GitHub-Delivery", Secret: "s3cr3t",
		Variables: []hook.Variable{{Name: "ref", Path: "ref", Type: hook.String, Required: true, Default: &def}, {Name: "n", Path: "n", Type: hook.Int}},
		CreatedAt: now, UpdatedAt: now,
	}
}

// Hooks round-trip, keep their names unique, list oldest first, update,
// delete; each change bumps the revision in its transaction.
func testHooks(t *testing.T, s store.Store) {
	now := time.Now().Truncate(time.Microsecond).UTC()
	a, b := newHook("id-a", "a", "deploy", now), newHook("id-b", "b", "other", now.Add(time.Second))
	b.RequiresSecret, b.Secret, b.Variables, b.Inactive = false, "", []hook.Variable{}, true
	inTx(t, s, func(tx store.Tx) error {
		if err := tx.InsertHook(ctx, b); err != nil {
			return err
		}
		if err := tx.InsertHook(ctx, a); err != nil {
			return err
		}
		_, err := tx.BumpRevision(ctx)
		return err
	})
	if rev, err := s.Revision(ctx); err != nil || rev != 1 {
		t.Errorf("revision %d, %v; want 1", rev, err)
	}
	if got, err := s.Hook(ctx, "id-a"); err != nil || !reflect.DeepEqual(got, a) {
		t.Errorf("hook %+v, %v; want %+v", got, err, a)
	}
	if _, err := s.Hook(ctx, "nope"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("unknown hook: %v", err)
	}
	if err := s.InTx(ctx, func(tx store.Tx) error { return tx.InsertHook(ctx, newHook("id-c", "a", "deploy", now)) }); !errors.Is(err, store.ErrExists) {
		t.Errorf("a second hook named a: %v, want ErrExists", err)
	}
	if list, err := s.Hooks(ctx, ""); err != nil || len(list) != 2 || list[0].ID != "id-a" || list[1].ID != "id-b" {
		t.Errorf("all hooks %+v, %v", list, err)
	}
	if list, err := s.Hooks(ctx, "other"); err != nil || len(list) != 1 || list[0].ID != "id-b" || !reflect.DeepEqual(&list[0], b) {
		t.Errorf("hooks of other %+v, %v", list, err)
	}

	a.Name = "b"
	if err := s.InTx(ctx, func(tx store.Tx) error { return tx.UpdateHook(ctx, a) }); !errors.Is(err, store.ErrExists) {
		t.Errorf("renamed to a taken name: %v, want ErrExists", err)
	}
	inTx(t, s, func(tx store.Tx) error {
		h, err := tx.Hook(ctx, "id-a")
		if err != nil {
			return err
		}
		h.Name, h.Pipeline, h.Variables, h.UpdatedAt = "a2", "other", nil, now.Add(time.Minute)
		if err := tx.UpdateHook(ctx, h); err != nil {
			return err
		}
		_, err = tx.BumpRevision(ctx)
		return err
	})
	if got, err := s.Hook(ctx, "id-a"); err != nil || got.Name != "a2" || got.Pipeline != "other" || len(got.Variables) != 0 ||
		!got.CreatedAt.Equal(now) || !got.UpdatedAt.Equal(now.Add(time.Minute)) {
		t.Errorf("updated hook %+v, %v", got, err)
	}
	if rev, _ := s.Revision(ctx); rev != 2 {
		t.Errorf("revision %d, want 2", rev)
	}
	missing := newHook("nope", "nope", "deploy", now)
	if err := s.InTx(ctx, func(tx store.Tx) error { return tx.UpdateHook(ctx, missing) }); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("update of an unknown hook: %v", err)
	}
	inTx(t, s, func(tx store.Tx) error { return tx.DeleteHook(ctx, "id-a") })
	if err := s.InTx(ctx, func(tx store.Tx) error { return tx.DeleteHook(ctx, "id-a") }); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("second delete: %v", err)
	}
	if list, _ := s.Hooks(ctx, ""); len(list) != 1 {
		t.Errorf("after delete: %+v", list)
	}
}
