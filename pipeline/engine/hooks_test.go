package engine

import (
	"context"
	"errors"
	"reflect"
	"regexp"
	"testing"

	"github.com/hookgate/hookgate/pipeline/action"
	"github.com/hookgate/hookgate/pipeline/hook"
	"github.com/hookgate/hookgate/pipeline/store"
)

// Hooks created through the API get a random ID and, when they require
// one, a generated secret; names are unique and pipelines configured;
// an update keeps the ID, the creation time and the secret.
func TestHooks(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		other := action.Pipeline{Name: "other", Steps: okPipeline.Steps}
		e := open(t, b.config(t), true, okPipeline, other)
		ctx := context.Background()
		gh, err := e.CreateHook(ctx, store.HookRecord{Name: "gh", Pipeline: "deploy", RequiresSecret: true, Secret: "mine",
			SecretAlgorithm: "sha256", SecretHeaderName: "X-Hub-Signature-256", ActionType: "deploy",
			Variables: []hook.Variable{{Name: "ref", Path: "ref", Required: true}}})
		if err != nil {
			t.Fatal(err)
		}
		if !regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`).MatchString(gh.ID) ||
			!regexp.MustCompile(`^[0-9a-f]{64}$`).MatchString(gh.Secret) || gh.CreatedAt.IsZero() {
			t.Errorf("created %+v", gh)
		}
		unsigned, err := e.CreateHook(ctx, store.HookRecord{Name: "open", Pipeline: "other", Secret: "ignored"})
		if err != nil || unsigned.Secret != "" {
			t.Fatalf("created %+v, %v", unsigned, err)
		}
		if _, err := e.CreateHook(ctx, store.HookRecord{Name: "gh", Pipeline: "other"}); !errors.Is(err, ErrExists) {
			t.Errorf("a second hook gh: %v", err)
		}
		if _, err := e.CreateHook(ctx, store.HookRecord{Name: "x", Pipeline: "nope"}); !errors.Is(err, ErrUnknownPipeline) {
			t.Errorf("a hook of an unknown pipeline: %v", err)
		}
		if got, err := e.Hook(ctx, gh.ID); err != nil || !reflect.DeepEqual(got, gh) {
			t.Errorf("Hook = %+v, %v; want %+v", got, err, gh)
		}
		if _, err := e.Hook(ctx, "nope"); !errors.Is(err, ErrNotFound) {
			t.Errorf("unknown hook: %v", err)
		}
		if list, err := e.Hooks(ctx, ""); err != nil || len(list) != 2 || list[0].ID != gh.ID || list[1].ID != unsigned.ID {
			t.Errorf("hooks %+v, %v", list, err)
		}
		if list, err := e.Hooks(ctx, "other"); err != nil || len(list) != 1 || list[0].ID != unsigned.ID {
			t.Errorf("hooks of other %+v, %v", list, err)
		}

		refused := errors.New("refused")
		for _, c := range []struct {
			update func(h *store.HookRecord) error
			want   error
		}{
			{func(h *store.HookRecord) error { h.Name = "changed"; return refused }, refused},
			{func(h *store.HookRecord) error { h.Name = "open"; return nil }, ErrExists},
			{func(h *store.HookRecord) error { h.Pipeline = "nope"; return nil }, ErrUnknownPipeline},
		} {
			if _, err := e.UpdateHook(ctx, gh.ID, c.update); !errors.Is(err, c.want) {
				t.Errorf("update: %v, want %v", err, c.want)
			}
		}
		if got, _ := e.Hook(ctx, gh.ID); !reflect.DeepEqual(got, gh) {
			t.Errorf("a refused update changed the hook: %+v", got)
		}
		if _, err := e.UpdateHook(ctx, "nope", func(*store.HookRecord) error { return nil }); !errors.Is(err, ErrNotFound) {
			t.Errorf("update of an unknown hook: %v", err)
		}

		updated, err := e.UpdateHook(ctx, gh.ID, func(h *store.HookRecord) error {
			h.ID, h.Secret, h.Name, h.Pipeline, h.When = "other-id", "other-secret", "github", "other", `vars.ref == "main"`
			return nil
		})
		if err != nil || updated.ID != gh.ID || updated.Secret != gh.Secret || !updated.CreatedAt.Equal(gh.CreatedAt) ||
			updated.Name != "github" || updated.Pipeline != "other" || updated.When == "" || len(updated.Variables) != 1 {
			t.Fatalf("updated %+v, %v", updated, err)
		}
		if got, _ := e.Hook(ctx, gh.ID); !reflect.DeepEqual(got, updated) {
			t.Errorf("stored %+v, want %+v", got, updated)
		}
		// A hook that requires a secret without one gets one.
		secured, err := e.UpdateHook(ctx, unsigned.ID, func(h *store.HookRecord) error { h.RequiresSecret = true; return nil })
		if err != nil || len(secured.Secret) != 64 {
			t.Errorf("secured %+v, %v", secured, err)
		}

		if err := e.DeleteHook(ctx, gh.ID); err != nil {
			t.Fatal(err)
		}
		if err := e.DeleteHook(ctx, gh.ID); !errors.Is(err, ErrNotFound) {
			t.Errorf("second delete: %v", err)
		}
		if _, err := e.Hook(ctx, gh.ID); !errors.Is(err, ErrNotFound) {
			t.Errorf("deleted hook: %v", err)
		}
	})
}
