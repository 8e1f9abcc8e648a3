package engine

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"time"

	"go.uber.org/zap"

	"github.com/hookgate/hookgate/pipeline/action"
	"github.com/hookgate/hookgate/pipeline/hook"
	"github.com/hookgate/hookgate/pipeline/store"
)

// CreateHook stores an incoming hook created through the API. The engine
// checks only that its pipeline is configured (ErrUnknownPipeline) and
// that its name is free (ErrExists); the caller validates the rest. It
// gets a random ID and, when it requires one, a generated secret (any
// given is ignored). It returns the hook as stored, with the plain secret.
func (e *Engine) CreateHook(ctx context.Context, h store.HookRecord) (*store.HookRecord, error) {
	if e.plan(h.Pipeline) == nil {
		return nil, fmt.Errorf("%w: %q", ErrUnknownPipeline, h.Pipeline)
	}
	now := storedTime(time.Now())
	h.ID, h.Secret, h.CreatedAt, h.UpdatedAt = action.NewUUID(), "", now, now
	if h.RequiresSecret {
		h.Secret = newHookSecret()
	}
	if h.Variables == nil {
		h.Variables = []hook.Variable{}
	}
	err := e.store.InTx(ctx, func(tx store.Tx) error {
		if err := tx.InsertHook(ctx, &h); err != nil {
			return err
		}
		_, err := tx.BumpRevision(ctx)
		return err
	})
	if errors.Is(err, ErrExists) {
		return nil, fmt.Errorf("hook %q: %w", h.Name, ErrExists)
	}
	if err != nil {
		return nil, unavailable(err)
	}
	e.changed(ctx)
	e.logger.Info("hook created", zap.String("hook", h.Name), zap.String("pipeline", h.Pipeline))
	return &h, nil
}

// Hook is one hook created through the API, or ErrNotFound. It is read
// from the store: a change on another instance shows at once.
func (e *Engine) Hook(ctx context.Context, id string) (*store.HookRecord, error) {
	h, err := e.store.Hook(ctx, id)
	return h, unavailable(err)
}

// Hooks lists the hooks created through the API for a pipeline ("": for
// every pipeline), oldest first.
func (e *Engine) Hooks(ctx context.Context, pipeline string) ([]store.HookRecord, error) {
	list, err := e.store.Hooks(ctx, pipeline)
	return list, unavailable(err)
}

// UpdateHook changes a hook created through the API (ErrNotFound when
// there is none), in one transaction: update changes a copy of it (its
// error is returned as it is, and nothing changes). Its ID, creation time
// and secret are kept, except that a hook that no longer requires a
// secret loses it, and one that requires a secret without having one
// gets a generated one. Its pipeline must be configured
// (ErrUnknownPipeline) and its name free (ErrExists). It returns the hook
// as stored, with the plain secret.
func (e *Engine) UpdateHook(ctx context.Context, id string, update func(*store.HookRecord) error) (*store.HookRecord, error) {
	var updated store.HookRecord
	var refused error
	err := e.store.InTx(ctx, func(tx store.Tx) error {
		h, err := tx.Hook(ctx, id)
		if err != nil {
			return err
		}
		updated = *h
		updated.Variables = slices.Clone(h.Variables)
		if err := update(&updated); err != nil {
			refused = err
			return err
		}
		updated.ID, updated.CreatedAt, updated.Secret = h.ID, h.CreatedAt, h.Secret
		switch {
		case !updated.RequiresSecret:
			updated.Secret = ""
		case updated.Secret == "":
			updated.Secret = newHookSecret()
		}
		if updated.Variables == nil {
			updated.Variables = []hook.Variable{}
		}
		if e.plan(updated.Pipeline) == nil {
			refused = fmt.Errorf("%w: %q", ErrUnknownPipeline, updated.Pipeline)
			return refused
		}
		updated.UpdatedAt = storedTime(time.Now())
		if err := tx.UpdateHook(ctx, &updated); err != nil {
			if errors.Is(err, ErrExists) {
				refused = fmt.Errorf("hook %q: %w", updated.Name, ErrExists)
			}
			return err
		}
		_, err = tx.BumpRevision(ctx)
		return err
	})
	if refused != nil {
		return nil, refused
	}
	if err != nil {
		return nil, unavailable(err)
	}
	e.changed(ctx)
	e.logger.Info("hook changed", zap.String("hook", updated.Name), zap.String("pipeline", updated.Pipeline))
	return &updated, nil
}

// DeleteHook deletes a hook created through the API, or returns
// ErrNotFound.
func (e *Engine) DeleteHook(ctx context.Context, id string) error {
	err := e.store.InTx(ctx, func(tx store.Tx) error {
		if err := tx.DeleteHook(ctx, id); err != nil {
			return err
		}
		_, err := tx.BumpRevision(ctx)
		return err
	})
	if err != nil {
		return unavailable(err)
	}
	e.changed(ctx)
	e.logger.Info("hook deleted", zap.String("id", id))
	return nil
}

// storedTime is t as the store keeps it: UTC, to the microsecond.
func storedTime(t time.Time) time.Time { return t.UTC().Truncate(time.Microsecond) }

// newHookSecret is a new secret for a hook: 32 random bytes in hex.
func newHookSecret() string {
	var b [32]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
