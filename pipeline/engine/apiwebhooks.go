package engine

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"time"

	"go.uber.org/zap"

	"github.com/hookgate/hookgate/pipeline/store"
	"github.com/hookgate/hookgate/pipeline/webhook"
)

// Errors of the changes made through the management API.
var (
	// ErrExists: a hook or webhook of that name already exists.
	ErrExists = store.ErrExists
	// ErrReadOnly: the webhook is defined in the configuration
	// (Caddyfile); change it there.
	ErrReadOnly = errors.New("defined in the configuration")
)

// Sources of hooks and webhooks.
const (
	// SourceConfig: defined in the configuration (Caddyfile).
	SourceConfig = store.SourceConfig
	// SourceAPI: created through the management API.
	SourceAPI = store.SourceAPI
)

// InvalidError is a definition field that is not valid.
type InvalidError struct {
	// Field names the field as the management API does (name, url,
	// headers, eventTypes, secrets, when, body, pipelines, default,
	// state).
	Field string
	// Err says what is wrong with it.
	Err error
}

// Error implements error.
func (e *InvalidError) Error() string { return e.Field + ": " + e.Err.Error() }

// Unwrap returns Err.
func (e *InvalidError) Unwrap() error { return e.Err }

// invalid is the *InvalidError of an error of webhook.Compile.
func invalid(err error) error {
	var fe *webhook.FieldError
	if errors.As(err, &fe) {
		return &InvalidError{Field: fe.Field, Err: fe.Err}
	}
	return &InvalidError{Field: "definition", Err: err}
}

// compileAPI checks a definition made through the API: webhook.Compile,
// and a scope naming configured pipelines only. Its errors are
// *InvalidError.
func (e *Engine) compileAPI(def webhook.Definition) (*webhook.Webhook, error) {
	w, err := webhook.Compile(def, nil)
	if err == nil {
		err = e.checkPipelines(def)
	}
	if err != nil {
		return nil, invalid(err)
	}
	return w, nil
}

// WebhookPatch changes a webhook created through the API; nil fields are
// unchanged.
type WebhookPatch struct {
	// Name renames the webhook; its deliveries follow.
	Name *string
	// URL changes its URL, which makes it new again (unless deactivated).
	URL *string
	// Headers replaces its headers.
	Headers *map[string]string
	// EventTypes replaces the events it subscribes to.
	EventTypes *[]webhook.EventType
	// JSONPayload adds or removes the incoming hook's body.
	JSONPayload *bool
	// When replaces its condition; "" removes it.
	When *string
	// Body replaces its body expression; "" restores the envelope.
	Body *string
	// Pipelines replaces the pipelines it is scoped to; empty makes it
	// global (or default).
	Pipelines *[]string
	// Default makes it the default webhook, or not.
	Default *bool
	// RawPayload sends hook.received events as the hook's own body, or
	// in the envelope again.
	RawPayload *bool
	// ForwardHeaders replaces the headers forwarded from relayed hooks.
	ForwardHeaders *[]string
	// RecoverEvery replaces its recovery interval; 0 turns it off.
	RecoverEvery *time.Duration
	// State deactivates the webhook (webhook.StateDeactivated) or
	// re-activates it (webhook.StateActive); no other state is accepted.
	State *webhook.State
}

// apply changes def as p says, but for the state.
func (p WebhookPatch) apply(def *webhook.Definition) {
	if p.Name != nil {
		def.Name = *p.Name
	}
	if p.URL != nil {
		def.URL = *p.URL
	}
	if p.Headers != nil {
		def.Headers = *p.Headers
	}
	if p.EventTypes != nil {
		def.EventTypes = *p.EventTypes
	}
	if p.JSONPayload != nil {
		def.JSONPayload = *p.JSONPayload
	}
	if p.When != nil {
		def.When = *p.When
	}
	if p.Body != nil {
		def.Body = *p.Body
	}
	if p.Pipelines != nil {
		def.Pipelines = *p.Pipelines
	}
	if p.Default != nil {
		def.Default = *p.Default
	}
	if p.RawPayload != nil {
		def.RawPayload = *p.RawPayload
	}
	if p.ForwardHeaders != nil {
		def.ForwardHeaders = *p.ForwardHeaders
	}
	if p.RecoverEvery != nil {
		def.RecoverEvery = *p.RecoverEvery
	}
}

// CreateWebhook creates a webhook, in state new, from a definition
// checked by webhook.Compile (its errors are *InvalidError). The name must
// be free among every stored webhook, configured ones too (ErrExists).
// Without a secret one is generated; more than one is refused. It returns
// the webhook, secrets masked, and the plain secret it signs with, to be
// shown once.
func (e *Engine) CreateWebhook(ctx context.Context, def webhook.Definition) (*WebhookInfo, string, error) {
	generated := len(def.Secrets) == 0
	switch {
	case generated:
		def.Secrets = []string{webhook.GenerateSecret()}
	case len(def.Secrets) > 1:
		return nil, "", &InvalidError{Field: "secrets", Err: errors.New("a new webhook has one secret; rotate it to add another")}
	}
	w, err := e.compileAPI(def)
	if err != nil {
		return nil, "", err
	}
	compiled := w.Definition
	compiled.Secrets = nil
	now := time.Now()
	rec := &store.WebhookRecord{ID: newWebhookID(), Name: w.Name, Source: SourceAPI, Definition: &compiled,
		State: webhook.StateNew, URL: w.URL, Secret: def.Secrets[0], SecretGenerated: generated, CreatedAt: now, UpdatedAt: now}
	err = e.store.InTx(ctx, func(tx store.Tx) error {
		if err := tx.InsertAPIWebhook(ctx, rec); err != nil {
			return err
		}
		_, err := tx.BumpRevision(ctx)
		return err
	})
	if errors.Is(err, ErrExists) {
		return nil, "", fmt.Errorf("webhook %q: %w", rec.Name, ErrExists)
	}
	if err != nil {
		return nil, "", unavailable(err)
	}
	e.changed(ctx)
	e.logger.Info("webhook created", zap.String("webhook", rec.Name), zap.String("id", rec.ID))
	info, err := e.Webhook(ctx, rec.ID)
	return info, def.Secrets[0], err
}

// UpdateWebhook changes a webhook created through the API, by ID or name
// (ErrReadOnly for a configured one). Its definition is checked as
// CreateWebhook does; a changed URL makes it new again, unless it is
// deactivated; a renamed one keeps its deliveries.
func (e *Engine) UpdateWebhook(ctx context.Context, ref string, p WebhookPatch) (*WebhookInfo, error) {
	if p.State != nil && *p.State != webhook.StateDeactivated && *p.State != webhook.StateActive {
		return nil, &InvalidError{Field: "state", Err: fmt.Errorf("%s cannot be set: only %s or %s",
			*p.State, webhook.StateDeactivated, webhook.StateActive)}
	}
	rec, err := e.changeAPIWebhook(ctx, ref, func(tx store.Tx, rec *store.WebhookRecord, now time.Time) error {
		def := *rec.Definition
		p.apply(&def)
		def.Secrets = []string{rec.Secret}
		w, err := e.compileAPI(def)
		if err != nil {
			return err
		}
		def = w.Definition
		def.Secrets = nil
		moved := w.URL != rec.URL
		switch {
		case p.State != nil && *p.State == webhook.StateDeactivated:
			rec.State = webhook.StateDeactivated
		case moved && (p.State != nil || rec.State != webhook.StateDeactivated):
			rec.State, rec.ConsecutiveFailures = webhook.StateNew, 0
		case p.State != nil:
			rec.State, rec.ConsecutiveFailures = webhook.StateActive, 0
		}
		name := rec.Name
		rec.Name, rec.URL, rec.Definition, rec.UpdatedAt = w.Name, w.URL, &def, now
		if err := tx.UpdateAPIWebhook(ctx, name, rec); errors.Is(err, ErrExists) {
			return fmt.Errorf("webhook %q: %w", w.Name, ErrExists)
		} else if err != nil {
			return err
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	e.logger.Info("webhook changed", zap.String("webhook", rec.Name), zap.String("id", rec.ID), zap.String("state", string(rec.State)))
	return e.Webhook(ctx, rec.ID)
}

// DeleteWebhook deletes a webhook created through the API, by ID or name
// (ErrReadOnly for a configured one), with its deliveries.
func (e *Engine) DeleteWebhook(ctx context.Context, ref string) error {
	rec, err := e.changeAPIWebhook(ctx, ref, func(tx store.Tx, rec *store.WebhookRecord, _ time.Time) error {
		return tx.DeleteWebhook(ctx, rec.Name)
	})
	if err == nil {
		e.logger.Info("webhook deleted", zap.String("webhook", rec.Name), zap.String("id", rec.ID))
	}
	return err
}

// RotateWebhookSecret gives a webhook created through the API, by ID or
// name (ErrReadOnly for a configured one), a new generated secret, which
// it returns. Its current secret also signs (one signature each) until
// keepOld has passed; 0 drops it at once.
func (e *Engine) RotateWebhookSecret(ctx context.Context, ref string, keepOld time.Duration) (string, error) {
	secret := webhook.GenerateSecret()
	rec, err := e.changeAPIWebhook(ctx, ref, func(tx store.Tx, rec *store.WebhookRecord, now time.Time) error {
		rec.PreviousSecret, rec.PreviousSecretExpiresAt = "", nil
		if keepOld > 0 {
			expires := now.Add(keepOld)
			rec.PreviousSecret, rec.PreviousSecretExpiresAt = rec.Secret, &expires
		}
		rec.Secret, rec.SecretGenerated, rec.UpdatedAt = secret, true, now
		return tx.UpdateAPIWebhook(ctx, rec.Name, rec)
	})
	if err != nil {
		return "", err
	}
	e.logger.Info("webhook secret rotated", zap.String("webhook", rec.Name), zap.String("id", rec.ID),
		zap.Duration("old_secret_kept", max(keepOld, 0)))
	return secret, nil
}

// changeAPIWebhook runs change on the API webhook ref, locked, in a
// transaction that counts the change, then reloads the webhook set. It
// returns the record as change left it. Errors other than the storage's
// are returned as they are: ErrUnknownWebhook, ErrReadOnly, and change's.
func (e *Engine) changeAPIWebhook(ctx context.Context, ref string,
	change func(tx store.Tx, rec *store.WebhookRecord, now time.Time) error) (*store.WebhookRecord, error) {
	var changed *store.WebhookRecord
	var refused error
	err := e.store.InTx(ctx, func(tx store.Tx) error {
		rec, err := tx.FindWebhook(ctx, ref)
		switch {
		case errors.Is(err, store.ErrNotFound):
			refused = fmt.Errorf("%w: %q", ErrUnknownWebhook, ref)
			return refused
		case err != nil:
			return err
		case rec.Source != SourceAPI:
			refused = fmt.Errorf("webhook %q: %w; change it there", rec.Name, ErrReadOnly)
			return refused
		}
		if err := change(tx, rec, time.Now()); err != nil {
			var inv *InvalidError
			if errors.As(err, &inv) || errors.Is(err, ErrExists) {
				refused = err
			}
			return err
		}
		changed = rec
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
	return changed, nil
}

// webhookIDAlphabet are the characters of a webhook's ID: URL-safe, 64 of
// them, so that a random byte's low 6 bits pick one uniformly.
const webhookIDAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-"

// newWebhookID is a new ID for a webhook created through the API: 21
// random URL-safe characters (126 bits), as nanoid makes them.
func newWebhookID() string {
	var b [21]byte
	rand.Read(b[:])
	for i := range b {
		b[i] = webhookIDAlphabet[b[i]&63]
	}
	return string(b[:])
}
