package store

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/hookgate/hookgate/pipeline/hook"
)

// HookTx is what a transaction does with the incoming hooks created
// through the management API.
type HookTx interface {
	// Hook is one hook, or ErrNotFound. On PostgreSQL it is locked until
	// the end of the transaction.
	Hook(ctx context.Context, id string) (*HookRecord, error)
	// InsertHook stores a new hook, or returns ErrExists when its name
	// (or ID) is taken.
	InsertHook(ctx context.Context, h *HookRecord) error
	// UpdateHook stores h over the hook of its ID: everything but the ID
	// and CreatedAt. A name taken by another hook gives ErrExists; an
	// unknown hook ErrNotFound.
	UpdateHook(ctx context.Context, h *HookRecord) error
	// DeleteHook deletes a hook, or returns ErrNotFound.
	DeleteHook(ctx context.Context, id string) error
}

// HookRecord is an incoming hook created through the management API.
type HookRecord struct {
	// ID identifies the hook, in its URL: random and unguessable.
	ID string
	// Name is unique among the API's hooks.
	Name string
	// Pipeline is the pipeline it triggers.
	Pipeline string
	// ActionType is Devopness' action_type, kept and shown.
	ActionType string
	// RequiresSecret is unset for a hook accepted without a signature.
	RequiresSecret bool
	// SecretAlgorithm is the HMAC's hash: sha1, sha256 or sha512.
	SecretAlgorithm string
	// SecretHeaderName is the header that carries the HMAC hex digest of
	// the body.
	SecretHeaderName string
	// Variables are extracted from each hook.
	Variables []hook.Variable
	// When is an optional expr condition.
	When string
	// DedupHeader is an optional header carrying the delivery id.
	DedupHeader string
	// Relay also keeps each hook as a hook.received event, forwarded to
	// the webhooks that subscribe to it.
	Relay bool
	// Secret is the plain secret ("" when RequiresSecret is false).
	Secret string
	// Inactive is set for a hook turned off (Devopness's "active":
	// false): its URL answers 404 until it is turned on again.
	Inactive bool
	// CreatedAt is when it was created.
	CreatedAt time.Time
	// UpdatedAt is when it was last changed.
	UpdatedAt time.Time
}

// hookDefinition is the definition column of a hook: the fields of its
// HookRecord that have no column of their own.
type hookDefinition struct {
	ActionType       string         `json:"action_type,omitempty"`
	RequiresSecret   bool           `json:"requires_secret"`
	SecretAlgorithm  string         `json:"secret_algorithm,omitempty"`
	SecretHeaderName string         `json:"secret_header_name,omitempty"`
	Variables        []hookVariable `json:"variables,omitempty"`
	When             string         `json:"when,omitempty"`
	DedupHeader      string         `json:"dedup_header,omitempty"`
	Relay            bool           `json:"relay,omitempty"`
	Inactive         bool           `json:"inactive,omitempty"`
}

// hookVariable is a hook.Variable in a definition column.
type hookVariable struct {
	Name     string    `json:"name"`
	Path     string    `json:"path"`
	Type     hook.Type `json:"type,omitempty"`
	Required bool      `json:"required,omitempty"`
	Default  *string   `json:"default,omitempty"`
}

// hookColumns are the columns scanned by scanHooks, in its order.
const hookColumns = `id, name, pipeline, definition, secret, created_at, updated_at`

// encodeHook is the definition column of h.
func encodeHook(h *HookRecord) (string, error) {
	def := hookDefinition{ActionType: h.ActionType, RequiresSecret: h.RequiresSecret, SecretAlgorithm: h.SecretAlgorithm,
		SecretHeaderName: h.SecretHeaderName, When: h.When, DedupHeader: h.DedupHeader, Relay: h.Relay, Inactive: h.Inactive}
	for _, v := range h.Variables {
		def.Variables = append(def.Variables, hookVariable(v))
	}
	b, err := json.Marshal(def)
	return string(b), err
}

// Hook implements Store.
func (d *db) Hook(ctx context.Context, id string) (*HookRecord, error) {
	return getHook(ctx, d.pool, id, "")
}

// Hook implements HookTx.
func (t *tx) Hook(ctx context.Context, id string) (*HookRecord, error) {
	return getHook(ctx, t.q, id, t.db.forUpdate())
}

// getHook reads a hook; lock ends the query.
func getHook(ctx context.Context, q querier, id, lock string) (*HookRecord, error) {
	list, err := scanHooks(q.query(ctx, `SELECT `+hookColumns+` FROM hookgate_hook WHERE id = $1`+lock, id))
	if err != nil {
		return nil, err
	}
	if len(list) == 0 {
		return nil, ErrNotFound
	}
	return &list[0], nil
}

// Hooks implements Store.
func (d *db) Hooks(ctx context.Context, pipeline string) ([]HookRecord, error) {
	return listHooks(ctx, d.pool, pipeline)
}

// Hooks implements Tx.
func (t *tx) Hooks(ctx context.Context, pipeline string) ([]HookRecord, error) {
	return listHooks(ctx, t.q, pipeline)
}

// listHooks reads the hooks of a pipeline, or all when it is "".
func listHooks(ctx context.Context, q querier, pipeline string) ([]HookRecord, error) {
	if pipeline == "" {
		return scanHooks(q.query(ctx, `SELECT `+hookColumns+` FROM hookgate_hook ORDER BY created_at, id`))
	}
	return scanHooks(q.query(ctx, `SELECT `+hookColumns+` FROM hookgate_hook WHERE pipeline = $1
		ORDER BY created_at, id`, pipeline))
}

// scanHooks reads the rows of a query of hookColumns and closes them.
func scanHooks(r rows, err error) ([]HookRecord, error) {
	if err != nil {
		return nil, err
	}
	defer r.Close()
	var list []HookRecord
	for r.Next() {
		var (
			h                HookRecord
			definition       string
			created, updated int64
		)
		if err := r.Scan(&h.ID, &h.Name, &h.Pipeline, &definition, &h.Secret, &created, &updated); err != nil {
			return nil, err
		}
		var def hookDefinition
		if err := json.Unmarshal([]byte(definition), &def); err != nil {
			return nil, fmt.Errorf("hook %s: definition: %v", h.ID, err)
		}
		h.ActionType, h.RequiresSecret, h.SecretAlgorithm = def.ActionType, def.RequiresSecret, def.SecretAlgorithm
		h.SecretHeaderName, h.When, h.DedupHeader, h.Relay = def.SecretHeaderName, def.When, def.DedupHeader, def.Relay
		h.Inactive = def.Inactive
		h.Variables = make([]hook.Variable, len(def.Variables))
		for i, v := range def.Variables {
			h.Variables[i] = hook.Variable(v)
		}
		h.CreatedAt, h.UpdatedAt = fromMicro(created), fromMicro(updated)
		list = append(list, h)
	}
	return list, r.Err()
}

// InsertHook implements HookTx.
func (t *tx) InsertHook(ctx context.Context, h *HookRecord) error {
	def, err := encodeHook(h)
	if err != nil {
		return err
	}
	_, err = t.q.exec(ctx, `INSERT INTO hookgate_hook (`+hookColumns+`) VALUES ($1, $2, $3, $4, $5, $6, $7)`,
		h.ID, h.Name, h.Pipeline, def, h.Secret, h.CreatedAt.UnixMicro(), h.UpdatedAt.UnixMicro())
	return t.db.exists(err)
}

// UpdateHook implements HookTx.
func (t *tx) UpdateHook(ctx context.Context, h *HookRecord) error {
	def, err := encodeHook(h)
	if err != nil {
		return err
	}
	n, err := t.q.exec(ctx, `UPDATE hookgate_hook SET name = $2, pipeline = $3, definition = $4, secret = $5, updated_at = $6
		WHERE id = $1`, h.ID, h.Name, h.Pipeline, def, h.Secret, h.UpdatedAt.UnixMicro())
	if err == nil && n == 0 {
		err = ErrNotFound
	}
	return t.db.exists(err)
}

// DeleteHook implements HookTx.
func (t *tx) DeleteHook(ctx context.Context, id string) error {
	n, err := t.q.exec(ctx, `DELETE FROM hookgate_hook WHERE id = $1`, id)
	if err == nil && n == 0 {
		err = ErrNotFound
	}
	return err
}
