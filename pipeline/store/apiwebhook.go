package store

import (
	"context"
	"encoding/json"
	"errors"
	"time"

	"github.com/hookgate/hookgate/pipeline/webhook"
)

// APIWebhookTx is what a transaction does with the webhooks created
// through the management API.
type APIWebhookTx interface {
	// FindWebhook is the webhook whose ID is ref, else the one whose name
	// is ref, or ErrNotFound. On PostgreSQL it is locked until the end of
	// the transaction.
	FindWebhook(ctx context.Context, ref string) (*WebhookRecord, error)
	// InsertAPIWebhook stores a new API webhook: w's ID, Name, Definition
	// (its secrets are not stored), URL, State, secrets and times. It
	// returns ErrExists when the name or the ID is taken, by any webhook.
	InsertAPIWebhook(ctx context.Context, w *WebhookRecord) error
	// UpdateAPIWebhook stores w over the API webhook called name: its
	// name, definition, URL, state, consecutive failures, secrets and
	// UpdatedAt. A renamed webhook keeps its deliveries; the new name
	// taken gives ErrExists. An unknown one gives ErrNotFound.
	UpdateAPIWebhook(ctx context.Context, name string, w *WebhookRecord) error
	// DeleteWebhook deletes a webhook with its deliveries and their
	// attempts, or returns ErrNotFound.
	DeleteWebhook(ctx context.Context, name string) error
}

// storedDefinition is the definition column of an API webhook: its
// definition without name, URL (columns of their own) and secrets.
type storedDefinition struct {
	Headers     map[string]string   `json:"headers,omitempty"`
	EventTypes  []webhook.EventType `json:"eventTypes,omitempty"`
	JSONPayload bool                `json:"jsonPayloadEnabled,omitempty"`
	When        string              `json:"when,omitempty"`
	Body        string              `json:"body,omitempty"`
	Pipelines   []string            `json:"pipelines,omitempty"`
	Default     bool                `json:"default,omitempty"`
	RawPayload  bool                `json:"rawPayload,omitempty"`
	Forward     []string            `json:"forwardHeaders,omitempty"`
	Recover     int64               `json:"recoverEvery,omitempty"`
}

// encodeDefinition is the definition column of an API webhook.
func encodeDefinition(def *webhook.Definition) (string, error) {
	if def == nil {
		return "", errors.New("an API webhook without a definition")
	}
	b, err := json.Marshal(storedDefinition{Headers: def.Headers, EventTypes: def.EventTypes, JSONPayload: def.JSONPayload,
		When: def.When, Body: def.Body, Pipelines: def.Pipelines, Default: def.Default,
		RawPayload: def.RawPayload, Forward: def.ForwardHeaders, Recover: int64(def.RecoverEvery)})
	return string(b), err
}

// decodeDefinition reads a definition column; the caller sets the name
// and the URL.
func decodeDefinition(s string) (*webhook.Definition, error) {
	var sd storedDefinition
	if err := json.Unmarshal([]byte(s), &sd); err != nil {
		return nil, err
	}
	return &webhook.Definition{Headers: sd.Headers, EventTypes: sd.EventTypes, JSONPayload: sd.JSONPayload,
		When: sd.When, Body: sd.Body, Pipelines: sd.Pipelines, Default: sd.Default,
		RawPayload: sd.RawPayload, ForwardHeaders: sd.Forward, RecoverEvery: time.Duration(sd.Recover)}, nil
}

// FindWebhook implements Store.
func (d *db) FindWebhook(ctx context.Context, ref string) (*WebhookRecord, error) {
	return findWebhook(ctx, d.pool, ref, "")
}

// FindWebhook implements APIWebhookTx.
func (t *tx) FindWebhook(ctx context.Context, ref string) (*WebhookRecord, error) {
	return findWebhook(ctx, t.q, ref, t.db.forUpdate())
}

// findWebhook reads a webhook by ID, else by name; lock ends the query.
func findWebhook(ctx context.Context, q querier, ref, lock string) (*WebhookRecord, error) {
	list, err := scanWebhooks(q.query(ctx, `SELECT `+webhookColumns+` FROM hookgate_webhook WHERE id = $1 OR name = $1
		ORDER BY CASE WHEN id = $1 THEN 0 ELSE 1 END LIMIT 1`+lock, ref))
	if err != nil {
		return nil, err
	}
	if len(list) == 0 {
		return nil, ErrNotFound
	}
	return &list[0], nil
}

// InsertAPIWebhook implements APIWebhookTx.
func (t *tx) InsertAPIWebhook(ctx context.Context, w *WebhookRecord) error {
	t.succeeded = nil
	def, err := encodeDefinition(w.Definition)
	if err != nil {
		return err
	}
	_, err = t.q.exec(ctx, `INSERT INTO hookgate_webhook (id, name, source, definition, state, url, secret, secret_generated,
		previous_secret, previous_secret_expires_at, created_at, updated_at)
		VALUES ($1, $2, 'api', $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
		w.ID, w.Name, def, string(w.State), w.URL, w.Secret, boolInt(w.SecretGenerated), w.PreviousSecret,
		microPointer(w.PreviousSecretExpiresAt), w.CreatedAt.UnixMicro(), w.UpdatedAt.UnixMicro())
	return t.db.exists(err)
}

// UpdateAPIWebhook implements APIWebhookTx.
func (t *tx) UpdateAPIWebhook(ctx context.Context, name string, w *WebhookRecord) error {
	t.succeeded = nil
	def, err := encodeDefinition(w.Definition)
	if err != nil {
		return err
	}
	n, err := t.q.exec(ctx, `UPDATE hookgate_webhook SET name = $2, definition = $3, state = $4, url = $5,
		consecutive_failures = $6, secret = $7, secret_generated = $8, previous_secret = $9,
		previous_secret_expires_at = $10, updated_at = $11 WHERE name = $1 AND source = 'api'`,
		name, w.Name, def, string(w.State), w.URL, int64(w.ConsecutiveFailures), w.Secret, boolInt(w.SecretGenerated),
		w.PreviousSecret, microPointer(w.PreviousSecretExpiresAt), w.UpdatedAt.UnixMicro())
	if err != nil {
		return t.db.exists(err)
	}
	if n == 0 {
		return ErrNotFound
	}
	if w.Name == name {
		return nil
	}
	_, err = t.q.exec(ctx, `UPDATE hookgate_delivery SET webhook = $2 WHERE webhook = $1`, name, w.Name)
	return t.db.exists(err)
}

// DeleteWebhook implements APIWebhookTx.
func (t *tx) DeleteWebhook(ctx context.Context, name string) error {
	t.succeeded = nil
	if _, err := t.q.exec(ctx, `DELETE FROM hookgate_attempt WHERE delivery_id IN
		(SELECT id FROM hookgate_delivery WHERE webhook = $1)`, name); err != nil {
		return err
	}
	if _, err := t.q.exec(ctx, `DELETE FROM hookgate_delivery WHERE webhook = $1`, name); err != nil {
		return err
	}
	n, err := t.q.exec(ctx, `DELETE FROM hookgate_webhook WHERE name = $1`, name)
	if err == nil && n == 0 {
		err = ErrNotFound
	}
	return err
}

// boolInt is a bool as a query argument, 0 or 1.
func boolInt(b bool) int64 {
	if b {
		return 1
	}
	return 0
}
