package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/hookgate/hookgate/pipeline/webhook"
)

// WebhookTx is what a transaction does with outgoing webhooks and their
// deliveries.
type WebhookTx interface {
	// EnsureWebhook stores the configured webhook name if it is new
	// (state new, with secret as its generated secret, which may be
	// empty); when its URL changed it is new again. A stored webhook
	// without a generated secret gets secret. It returns the webhook as
	// stored; one created through the API (Source "api") is left as it is.
	EnsureWebhook(ctx context.Context, name, url, secret string, at time.Time) (*WebhookRecord, error)
	// WebhookStates maps each stored webhook to its state.
	WebhookStates(ctx context.Context) (map[string]webhook.State, error)
	// RecordWebhookResult notes the outcome of an attempt (or a test) on a
	// webhook and returns its new state: a success makes it active
	// (unless deactivated) and resets its failures; a failure counts, and
	// makes a new or active webhook failed at r.FailAfter in a row.
	RecordWebhookResult(ctx context.Context, name string, r WebhookResult) (webhook.State, error)
	// SetWebhookState sets a webhook's state and resets its failures.
	SetWebhookState(ctx context.Context, name string, s webhook.State, at time.Time) error
	// InsertDelivery stores a new delivery, unless the webhook already has
	// one of the same event.
	InsertDelivery(ctx context.Context, d *Delivery) error
	// HasOpenDelivery reports whether a webhook has a delivery of an
	// action that is pending, waiting or held.
	HasOpenDelivery(ctx context.Context, webhookName, actionID string) (bool, error)
	// NextWaiting is the waiting delivery of an action to a webhook with
	// the lowest sequence, or "".
	NextWaiting(ctx context.Context, webhookName, actionID string) (string, error)
	// ScheduleDelivery sets a delivery's status, the token of the job that
	// attempts it (0: none) and its next attempt time; it has no attempt
	// in flight.
	ScheduleDelivery(ctx context.Context, id string, s webhook.DeliveryStatus, token int64, next, at time.Time) error
	// StartAttempts marks the attempts of pending deliveries as in
	// flight, each from its At, for the job of its Token, and returns, in
	// the order of starts, each delivery when that job may make the
	// attempt, or nil. It may not when the delivery is no longer pending
	// with that token (held, restarted or ended meanwhile), nor when its
	// webhook is failed: the delivery is then held. A job run again with
	// the same token (after a crash) may start the attempt again; the
	// same start twice in one call starts it once.
	StartAttempts(ctx context.Context, starts []AttemptStart) ([]*Delivery, error)
	// RecordAttempt stores an attempt of a delivery, numbered after the
	// previous ones, and moves the delivery on as next says; the attempt
	// is no longer in flight. It does nothing once another attempt, started
	// at another time than a.At, is in flight (fencing: the delivery's job
	// was taken over from an instance that lost its lease).
	RecordAttempt(ctx context.Context, id string, a Attempt, next DeliveryNext) error
	// HoldPending holds the pending deliveries of a webhook, except those
	// with an attempt in flight (its outcome decides), and returns how
	// many.
	HoldPending(ctx context.Context, webhookName string, at time.Time) (int64, error)
	// Restartable lists, oldest first, the deliveries of a webhook that a
	// restart sends: the held ones and the pending ones waiting for a
	// retry after at, without an attempt in flight.
	Restartable(ctx context.Context, webhookName string, at time.Time) ([]string, error)
	// PendingDeliveries lists every pending delivery, oldest first, with
	// its ID and next attempt time only.
	PendingDeliveries(ctx context.Context) ([]Delivery, error)
	// Delivery is one delivery, without its attempts, or ErrNotFound. On
	// PostgreSQL it is locked until the end of the transaction.
	Delivery(ctx context.Context, id string) (*Delivery, error)
	// RetryDelivery makes a delivery pending now, with the job token
	// token, unless an attempt of it is in flight; it reports whether it
	// did.
	RetryDelivery(ctx context.Context, id string, token int64, at time.Time) (bool, error)
	APIWebhookTx
}

// The sources of webhooks and hooks.
const (
	// SourceConfig: defined in the configuration (Caddyfile).
	SourceConfig = "config"
	// SourceAPI: created through the management API.
	SourceAPI = "api"
)

// WebhookRecord is the stored state of a webhook, and the definition of
// one created through the API.
type WebhookRecord struct {
	// ID identifies the webhook in the API: its name for a configured
	// one.
	ID string
	// Name identifies the webhook, and names it in its deliveries.
	Name string
	// Source is SourceConfig or SourceAPI.
	Source string
	// Definition is the definition of an API webhook, without secrets;
	// nil for a configured one (its definition is the configuration's).
	Definition *webhook.Definition
	// State is its state.
	State webhook.State
	// URL is its URL as last configured.
	URL string
	// Secret is the secret generated for a configured webhook that has
	// none in the configuration, or the secret an API webhook signs with.
	Secret string
	// SecretGenerated is set when hookgate generated the Secret of an API
	// webhook (at its creation or a rotation).
	SecretGenerated bool
	// PreviousSecret is the secret an API webhook signed with before a
	// rotation, that also signs until PreviousSecretExpiresAt.
	PreviousSecret string
	// PreviousSecretExpiresAt is when PreviousSecret stops signing.
	PreviousSecretExpiresAt *time.Time
	// ConsecutiveFailures counts its unsuccessful attempts since the last
	// success.
	ConsecutiveFailures int
	// LastSuccess is the time of its last successful delivery.
	LastSuccess *time.Time
	// CreatedAt is when it was first configured.
	CreatedAt time.Time
	// UpdatedAt is when its URL, secret or state was last changed by
	// configuration, test or restart.
	UpdatedAt time.Time
}

// AttemptStart is a delivery attempt about to be made, for StartAttempts.
type AttemptStart struct {
	// ID is the delivery's.
	ID string
	// Token is the job token of the job making the attempt.
	Token int64
	// At is when the attempt starts.
	At time.Time
}

// WebhookResult is the outcome of an attempt, for RecordWebhookResult.
type WebhookResult struct {
	// OK is set when the attempt succeeded.
	OK bool
	// At is when it ended.
	At time.Time
	// CountSuccess sets the webhook's LastSuccess on success (a test does not).
	CountSuccess bool
	// FailAfter is how many failures in a row make the webhook failed.
	FailAfter int
	// KeepFailed leaves a failed webhook failed on success: the success of
	// an attempt that was in flight when the webhook failed does not
	// revive it; a test or a restart does.
	KeepFailed bool
}

// Delivery is one event for one webhook, with the attempts made.
type Delivery struct {
	// ID identifies the delivery.
	ID string
	// Webhook names the webhook.
	Webhook string
	// EventID is the event's ID, the webhook-id header.
	EventID string
	// EventType is the event's type.
	EventType string
	// ActionID is the action of an action event, "" otherwise.
	ActionID string
	// Sequence is the event's sequence within its action.
	Sequence int
	// Status is where the delivery stands.
	Status webhook.DeliveryStatus
	// Body is the body sent, rendered when the event happened.
	Body []byte
	// Values are the event's placeholder values (webhook.Event.Values).
	Values map[string]string
	// Headers are sent with the delivery besides its webhook's: the
	// Content-Type of a raw payload, forwarded headers; nil for none.
	Headers map[string]string
	// AttemptCount is how many attempts were made.
	AttemptCount int
	// NextAttemptAt is when a pending delivery is attempted next.
	NextAttemptAt *time.Time
	// JobToken is carried by the one job that may attempt a pending
	// delivery: a job with another token is stale and does nothing.
	JobToken int64
	// CreatedAt is when the event happened.
	CreatedAt time.Time
	// UpdatedAt is when the delivery last changed.
	UpdatedAt time.Time
	// Attempts are its attempts, in order, when listed by Deliveries.
	Attempts []Attempt
}

// Attempt is one try at a delivery.
type Attempt struct {
	// Number counts the delivery's attempts from 1.
	Number int
	// At is when it started.
	At time.Time
	// Duration is how long it took.
	Duration time.Duration
	// URL is the URL posted to.
	URL string
	// StatusCode is the answer's status; 0 without an answer.
	StatusCode int
	// Error says why it failed; empty on success.
	Error string
	// Response is the first 16 KiB of the answer's body.
	Response []byte
}

// DeliveryNext is what becomes of a delivery after an attempt.
type DeliveryNext struct {
	// Status is its new status.
	Status webhook.DeliveryStatus
	// NextAttemptAt is when it is tried again, for a pending one.
	NextAttemptAt *time.Time
	// JobToken is the token of the job that tries it again; 0 for none.
	JobToken int64
}

// DeliveryFilter selects deliveries to list.
type DeliveryFilter struct {
	// Status keeps the deliveries in one status; empty keeps all.
	Status webhook.DeliveryStatus
	// ActionID keeps the deliveries of one action's events; empty keeps all.
	ActionID string
	// Limit is the most deliveries returned. Default and maximum: 1000.
	Limit int
	// Offset skips that many deliveries first.
	Offset int
}

// DeliveryCount is the number of deliveries of one webhook in one status.
type DeliveryCount struct {
	// Webhook names the webhook.
	Webhook string
	// Status is the status counted.
	Status webhook.DeliveryStatus
	// N is how many.
	N int64
}

// webhookColumns are the columns scanned by scanWebhooks, in its order.
const webhookColumns = `id, name, source, definition, state, url, secret, secret_generated, previous_secret,
	previous_secret_expires_at, consecutive_failures, last_success_at, created_at, updated_at`

// deliveryColumns are the columns scanned by scanDeliveries, in its order.
const deliveryColumns = `id, webhook, event_id, event_type, action_id, sequence, status, body, placeholder_values, headers, attempts, next_attempt_at, job_token, created_at, updated_at`

// EnsureWebhook implements WebhookTx.
func (t *tx) EnsureWebhook(ctx context.Context, name, url, secret string, at time.Time) (*WebhookRecord, error) {
	t.succeeded = nil
	now := at.UnixMicro()
	if _, err := t.q.exec(ctx, `INSERT INTO hookgate_webhook (id, name, state, url, secret, created_at, updated_at)
		VALUES ($1, $1, $2, $3, $4, $5, $5) ON CONFLICT (name) DO NOTHING`, name, string(webhook.StateNew), url, secret, now); err != nil {
		return nil, err
	}
	if _, err := t.q.exec(ctx, `UPDATE hookgate_webhook SET state = $3, url = $2, consecutive_failures = 0, updated_at = $4
		WHERE name = $1 AND url <> $2 AND source = 'config'`, name, url, string(webhook.StateNew), now); err != nil {
		return nil, err
	}
	if secret != "" {
		if _, err := t.q.exec(ctx, `UPDATE hookgate_webhook SET secret = $2, updated_at = $3
			WHERE name = $1 AND secret = '' AND source = 'config'`, name, secret, now); err != nil {
			return nil, err
		}
	}
	list, err := scanWebhooks(t.q.query(ctx, `SELECT `+webhookColumns+` FROM hookgate_webhook WHERE name = $1`, name))
	if err != nil {
		return nil, err
	}
	return &list[0], nil
}

// WebhookStates implements WebhookTx.
func (t *tx) WebhookStates(ctx context.Context) (map[string]webhook.State, error) {
	r, err := t.q.query(ctx, `SELECT name, state FROM hookgate_webhook`)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	states := make(map[string]webhook.State)
	for r.Next() {
		var name, state string
		if err := r.Scan(&name, &state); err != nil {
			return nil, err
		}
		states[name] = webhook.State(state)
	}
	return states, r.Err()
}

// success is what a successful RecordWebhookResult of a webhook did in
// a transaction: with the same flags, another one leaves the same state.
type success struct {
	count int64
	kept  string
	state webhook.State
}

// successResolution is how far behind a webhook's last success may be
// kept on PostgreSQL (see RecordWebhookResult).
const successResolution = time.Second

// RecordWebhookResult implements WebhookTx.
func (t *tx) RecordWebhookResult(ctx context.Context, name string, res WebhookResult) (webhook.State, error) {
	var state string
	var err error
	if res.OK {
		// kept is the state a success leaves as it is besides deactivated;
		// no state is "".
		count, kept := int64(0), ""
		if res.CountSuccess {
			count = 1
		}
		if res.KeepFailed {
			kept = string(webhook.StateFailed)
		}
		update := `UPDATE hookgate_webhook
			SET consecutive_failures = CASE WHEN state = $6 THEN consecutive_failures ELSE 0 END,
			state = CASE WHEN state IN ($3, $6) THEN state ELSE $4 END,
			last_success_at = CASE WHEN $5 = 1 THEN $2 ELSE last_success_at END
			WHERE name = $1`
		if t.db.backend == "postgres" {
			// A success that would change nothing but move the last
			// success less than successResolution on takes no lock on
			// the webhook's row, which every delivery's result would
			// otherwise wait for, across instances.
			update = `WITH u AS (` + update + ` AND NOT (state = $4 AND consecutive_failures = 0
				AND ($5 = 0 OR last_success_at >= $2::bigint - ` + micros(successResolution) + `)) RETURNING state)
				SELECT state FROM u UNION ALL SELECT state FROM hookgate_webhook WHERE name = $1 AND NOT EXISTS (SELECT 1 FROM u)`
		} else {
			update += ` RETURNING state`
		}
		args := []any{name, res.At.UnixMicro(), string(webhook.StateDeactivated), string(webhook.StateActive), count, kept}
		done := success{count: count, kept: kept}
		if s, ok := t.succeeded[name]; ok && s.count == count && s.kept == kept {
			// The same success again in this transaction leaves the
			// state as the first did, so the statement need not be
			// waited for.
			return s.state, t.q.later(ctx, update, args...)
		}
		if err = queryOne(ctx, t.q, update, args, &state); err == nil {
			if t.succeeded == nil {
				t.succeeded = make(map[string]success)
			}
			done.state = webhook.State(state)
			t.succeeded[name] = done
		}
	} else {
		delete(t.succeeded, name)
		err = queryOne(ctx, t.q, `UPDATE hookgate_webhook SET consecutive_failures = consecutive_failures + 1,
			state = CASE WHEN state IN ($3, $4) AND consecutive_failures + 1 >= $5 THEN $6 ELSE state END,
			updated_at = CASE WHEN state IN ($3, $4) AND consecutive_failures + 1 >= $5 THEN $2 ELSE updated_at END
			WHERE name = $1 RETURNING state`,
			[]any{name, res.At.UnixMicro(), string(webhook.StateNew), string(webhook.StateActive), int64(res.FailAfter),
				string(webhook.StateFailed)}, &state)
	}
	return webhook.State(state), err
}

// SetWebhookState implements WebhookTx.
func (t *tx) SetWebhookState(ctx context.Context, name string, s webhook.State, at time.Time) error {
	t.succeeded = nil
	n, err := t.q.exec(ctx, `UPDATE hookgate_webhook SET state = $2, consecutive_failures = 0, updated_at = $3 WHERE name = $1`,
		name, string(s), at.UnixMicro())
	if err == nil && n == 0 {
		err = ErrNotFound
	}
	return err
}

// InsertDelivery implements WebhookTx.
func (t *tx) InsertDelivery(ctx context.Context, d *Delivery) error {
	values, err := json.Marshal(d.Values)
	if err != nil {
		return err
	}
	var headers any
	if len(d.Headers) > 0 {
		b, err := json.Marshal(d.Headers)
		if err != nil {
			return err
		}
		headers = string(b)
	}
	return t.q.later(ctx, `INSERT INTO hookgate_delivery (id, webhook, event_id, event_type, action_id, sequence, status,
		body, placeholder_values, headers, next_attempt_at, job_token, created_at, updated_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $13) ON CONFLICT (webhook, event_id) DO NOTHING`,
		d.ID, d.Webhook, d.EventID, d.EventType, d.ActionID, int64(d.Sequence), string(d.Status), d.Body, string(values),
		headers, microPointer(d.NextAttemptAt), nullToken(d.JobToken), d.CreatedAt.UnixMicro())
}

// HasOpenDelivery implements WebhookTx. On PostgreSQL it locks the open
// deliveries it finds: the attempt that ends one of them concurrently
// (RecordAttempt, then NextWaiting in its transaction) either waits for
// this transaction, and then finds the delivery it inserts waiting, or
// commits first, and then this query no longer counts it as open.
// Without the lock each could miss the other's write, and a delivery
// would wait forever behind one that ended.
func (t *tx) HasOpenDelivery(ctx context.Context, webhookName, actionID string) (bool, error) {
	q := `SELECT count(*) FROM hookgate_delivery WHERE webhook = $1 AND action_id = $2
		AND status IN ('pending', 'waiting', 'held')`
	if t.db.backend == "postgres" {
		q = `SELECT count(*) FROM (SELECT id FROM hookgate_delivery WHERE webhook = $1 AND action_id = $2
			AND status IN ('pending', 'waiting', 'held') FOR UPDATE) AS open`
	}
	var n int64
	err := queryOne(ctx, t.q, q, []any{webhookName, actionID}, &n)
	return n > 0, err
}

// NextWaiting implements WebhookTx.
func (t *tx) NextWaiting(ctx context.Context, webhookName, actionID string) (string, error) {
	var id string
	err := queryOne(ctx, t.q, `SELECT id FROM hookgate_delivery WHERE webhook = $1 AND action_id = $2 AND status = 'waiting'
		ORDER BY sequence, id LIMIT 1`, []any{webhookName, actionID}, &id)
	if errors.Is(err, ErrNotFound) {
		return "", nil
	}
	return id, err
}

// ScheduleDelivery implements WebhookTx.
func (t *tx) ScheduleDelivery(ctx context.Context, id string, s webhook.DeliveryStatus, token int64, next, at time.Time) error {
	return t.q.later(ctx, `UPDATE hookgate_delivery SET status = $2, job_token = $3, next_attempt_at = $4,
		attempt_started_at = NULL, updated_at = $5 WHERE id = $1`, id, string(s), nullToken(token), next.UnixMicro(), at.UnixMicro())
}

// StartAttempts implements WebhookTx. The claim and the check of the
// webhook's state are one statement, so that on PostgreSQL a hold
// committed meanwhile by another instance is seen: either the hold comes
// first and the claim finds the delivery held, or the claim does and the
// hold leaves the delivery to its attempt. On PostgreSQL the claims are
// one statement over arrays, and the holds one more, sent with the next
// statement: one round trip for the lot.
func (t *tx) StartAttempts(ctx context.Context, starts []AttemptStart) ([]*Delivery, error) {
	// Only the first of the same start twice is claimed.
	type key struct {
		id    string
		token int64
	}
	seen := make(map[key]bool, len(starts))
	var ids []string
	var tokens, ats []int64
	for _, s := range starts {
		if k := (key{s.ID, s.Token}); !seen[k] {
			seen[k] = true
			ids, tokens, ats = append(ids, s.ID), append(tokens, s.Token), append(ats, s.At.UnixMicro())
		}
	}
	var claimed []Delivery
	if t.db.backend == "postgres" {
		var err error
		claimed, err = scanDeliveries(t.q.query(ctx, `UPDATE hookgate_delivery SET attempt_started_at = s_at
			FROM unnest($1::text[], $2::bigint[], $3::bigint[]) AS s(s_id, s_token, s_at)
			WHERE id = s_id AND status = 'pending' AND job_token = s_token
			AND NOT EXISTS (SELECT 1 FROM hookgate_webhook w WHERE w.name = hookgate_delivery.webhook AND w.state = $4)
			RETURNING `+deliveryColumns, ids, tokens, ats, string(webhook.StateFailed)))
		if err != nil {
			return nil, err
		}
	} else {
		for i := range ids {
			list, err := scanDeliveries(t.q.query(ctx, `UPDATE hookgate_delivery SET attempt_started_at = $3
				WHERE id = $1 AND status = 'pending' AND job_token = $2
				AND NOT EXISTS (SELECT 1 FROM hookgate_webhook w WHERE w.name = hookgate_delivery.webhook AND w.state = $4)
				RETURNING `+deliveryColumns, ids[i], tokens[i], ats[i], string(webhook.StateFailed)))
			if err != nil {
				return nil, err
			}
			claimed = append(claimed, list...)
		}
	}
	byID := make(map[string]*Delivery, len(claimed))
	for i := range claimed {
		byID[claimed[i].ID] = &claimed[i]
	}
	out := make([]*Delivery, len(starts))
	ids, tokens, ats = ids[:0], tokens[:0], ats[:0]
	given := make(map[string]bool, len(claimed))
	for i, s := range starts {
		d := byID[s.ID]
		switch {
		case d != nil && d.JobToken == s.Token && !given[s.ID]:
			out[i], given[s.ID] = d, true
			continue
		case d != nil:
			// Claimed for another start, which makes the attempt.
			continue
		}
		ids, tokens, ats = append(ids, s.ID), append(tokens, s.Token), append(ats, s.At.UnixMicro())
	}
	if len(ids) == 0 {
		return out, nil
	}
	// Those not claimed and still pending with their token have a failed
	// webhook: they are held.
	if t.db.backend == "postgres" {
		return out, t.q.later(ctx, `UPDATE hookgate_delivery SET status = 'held', job_token = NULL, attempt_started_at = NULL, updated_at = s_at
			FROM unnest($1::text[], $2::bigint[], $3::bigint[]) AS s(s_id, s_token, s_at)
			WHERE id = s_id AND status = 'pending' AND job_token = s_token`, ids, tokens, ats)
	}
	for i := range ids {
		if err := t.q.later(ctx, `UPDATE hookgate_delivery SET status = 'held', job_token = NULL, attempt_started_at = NULL, updated_at = $3
			WHERE id = $1 AND status = 'pending' AND job_token = $2`, ids[i], tokens[i], ats[i]); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// RecordAttempt implements WebhookTx.
func (t *tx) RecordAttempt(ctx context.Context, id string, a Attempt, next DeliveryNext) error {
	if err := t.q.later(ctx, `INSERT INTO hookgate_attempt (delivery_id, number, at, duration_ms, url, status_code, error, response)
		SELECT id, attempts + 1, $2, $3, $4, $5, $6, $7 FROM hookgate_delivery
		WHERE id = $1 AND (attempt_started_at IS NULL OR attempt_started_at = $2)`,
		id, a.At.UnixMicro(), a.Duration.Milliseconds(), a.URL, nullStatus(a.StatusCode), a.Error, nonNil(a.Response)); err != nil {
		return err
	}
	return t.q.later(ctx, `UPDATE hookgate_delivery SET attempts = attempts + 1, status = $2, next_attempt_at = $3,
		job_token = $4, attempt_started_at = NULL, updated_at = $5
		WHERE id = $1 AND (attempt_started_at IS NULL OR attempt_started_at = $6)`,
		id, string(next.Status), microPointer(next.NextAttemptAt), nullToken(next.JobToken), a.At.Add(a.Duration).UnixMicro(),
		a.At.UnixMicro())
}

// HoldPending implements WebhookTx.
func (t *tx) HoldPending(ctx context.Context, webhookName string, at time.Time) (int64, error) {
	return t.q.exec(ctx, `UPDATE hookgate_delivery SET status = 'held', job_token = NULL, updated_at = $2
		WHERE webhook = $1 AND status = 'pending' AND attempt_started_at IS NULL`, webhookName, at.UnixMicro())
}

// Restartable implements WebhookTx.
func (t *tx) Restartable(ctx context.Context, webhookName string, at time.Time) ([]string, error) {
	return scanStrings(t.q.query(ctx, `SELECT id FROM hookgate_delivery WHERE webhook = $1
		AND (status = 'held' OR (status = 'pending' AND next_attempt_at > $2 AND attempt_started_at IS NULL)) ORDER BY id`,
		webhookName, at.UnixMicro()))
}

// PendingDeliveries implements WebhookTx.
func (t *tx) PendingDeliveries(ctx context.Context) ([]Delivery, error) {
	r, err := t.q.query(ctx, `SELECT id, next_attempt_at FROM hookgate_delivery WHERE status = 'pending' ORDER BY id`)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	var list []Delivery
	for r.Next() {
		var d Delivery
		var next *int64
		if err := r.Scan(&d.ID, &next); err != nil {
			return nil, err
		}
		d.NextAttemptAt = timePointer(next)
		list = append(list, d)
	}
	return list, r.Err()
}

// Webhook implements Store.
func (d *db) Webhook(ctx context.Context, name string) (*WebhookRecord, error) {
	list, err := scanWebhooks(d.pool.query(ctx, `SELECT `+webhookColumns+` FROM hookgate_webhook WHERE name = $1`, name))
	if err != nil {
		return nil, err
	}
	if len(list) == 0 {
		return nil, ErrNotFound
	}
	return &list[0], nil
}

// Webhooks implements Store.
func (d *db) Webhooks(ctx context.Context) ([]WebhookRecord, error) { return listWebhooks(ctx, d.pool) }

// Webhooks implements Tx.
func (t *tx) Webhooks(ctx context.Context) ([]WebhookRecord, error) { return listWebhooks(ctx, t.q) }

// listWebhooks reads every stored webhook, by name.
func listWebhooks(ctx context.Context, q querier) ([]WebhookRecord, error) {
	return scanWebhooks(q.query(ctx, `SELECT `+webhookColumns+` FROM hookgate_webhook ORDER BY name`))
}

// scanWebhooks reads the rows of a query of webhookColumns and closes them.
func scanWebhooks(r rows, err error) ([]WebhookRecord, error) {
	if err != nil {
		return nil, err
	}
	defer r.Close()
	var list []WebhookRecord
	for r.Next() {
		var (
			w                   WebhookRecord
			definition          *string
			state               string
			generated, failures int64
			expires, last       *int64
			created, updated    int64
		)
		if err := r.Scan(&w.ID, &w.Name, &w.Source, &definition, &state, &w.URL, &w.Secret, &generated, &w.PreviousSecret,
			&expires, &failures, &last, &created, &updated); err != nil {
			return nil, err
		}
		if definition != nil {
			if w.Definition, err = decodeDefinition(*definition); err != nil {
				return nil, fmt.Errorf("webhook %s: definition: %v", w.Name, err)
			}
			w.Definition.Name, w.Definition.URL = w.Name, w.URL
		}
		w.State, w.SecretGenerated, w.ConsecutiveFailures = webhook.State(state), generated != 0, int(failures)
		w.PreviousSecretExpiresAt, w.LastSuccess = timePointer(expires), timePointer(last)
		w.CreatedAt, w.UpdatedAt = fromMicro(created), fromMicro(updated)
		list = append(list, w)
	}
	return list, r.Err()
}

// Delivery implements Store.
func (d *db) Delivery(ctx context.Context, id string) (*Delivery, error) {
	return getDelivery(ctx, d.pool, id, "")
}

// Delivery implements WebhookTx.
func (t *tx) Delivery(ctx context.Context, id string) (*Delivery, error) {
	return getDelivery(ctx, t.q, id, t.db.forUpdate())
}

// getDelivery reads a delivery; lock ends the query.
func getDelivery(ctx context.Context, q querier, id, lock string) (*Delivery, error) {
	list, err := scanDeliveries(q.query(ctx, `SELECT `+deliveryColumns+` FROM hookgate_delivery WHERE id = $1`+lock, id))
	if err != nil {
		return nil, err
	}
	if len(list) == 0 {
		return nil, ErrNotFound
	}
	return &list[0], nil
}

// RetryDelivery implements WebhookTx.
func (t *tx) RetryDelivery(ctx context.Context, id string, token int64, at time.Time) (bool, error) {
	n, err := t.q.exec(ctx, `UPDATE hookgate_delivery SET status = 'pending', job_token = $2, next_attempt_at = $3, updated_at = $3
		WHERE id = $1 AND attempt_started_at IS NULL`, id, token, at.UnixMicro())
	return n == 1, err
}

// Deliveries implements Store.
func (d *db) Deliveries(ctx context.Context, webhookName string, f DeliveryFilter) ([]Delivery, error) {
	args := []any{webhookName}
	q := `SELECT ` + deliveryColumns + ` FROM hookgate_delivery WHERE webhook = $1`
	if f.Status != "" {
		args = append(args, string(f.Status))
		q += ` AND status = $2`
	}
	if f.ActionID != "" {
		args = append(args, f.ActionID)
		q += fmt.Sprintf(" AND action_id = $%d", len(args))
	}
	limit := f.Limit
	if limit <= 0 || limit > maxLimit {
		limit = maxLimit
	}
	order := "id DESC"
	if f.ActionID != "" {
		order = "sequence DESC, id DESC" // the order of the action's index (hookgate_delivery_chain)
	}
	args = append(args, int64(limit), int64(max(f.Offset, 0)))
	q += fmt.Sprintf(" ORDER BY %s LIMIT $%d OFFSET $%d", order, len(args)-1, len(args))
	list, err := scanDeliveries(d.pool.query(ctx, q, args...))
	if err != nil || len(list) == 0 {
		return list, err
	}
	return list, d.addAttempts(ctx, list)
}

// addAttempts reads the attempts of the deliveries in list.
func (d *db) addAttempts(ctx context.Context, list []Delivery) error {
	index := make(map[string]*Delivery, len(list))
	marks := make([]string, len(list))
	args := make([]any, len(list))
	for i := range list {
		index[list[i].ID] = &list[i]
		marks[i] = "$" + strconv.Itoa(i+1)
		args[i] = list[i].ID
	}
	r, err := d.pool.query(ctx, `SELECT delivery_id, number, at, duration_ms, url, status_code, error, response
		FROM hookgate_attempt WHERE delivery_id IN (`+strings.Join(marks, ", ")+`) ORDER BY delivery_id, number`, args...)
	if err != nil {
		return err
	}
	defer r.Close()
	for r.Next() {
		var (
			id             string
			a              Attempt
			number, at, ms int64
			status         *int64
		)
		if err := r.Scan(&id, &number, &at, &ms, &a.URL, &status, &a.Error, &a.Response); err != nil {
			return err
		}
		a.Number, a.At, a.Duration = int(number), fromMicro(at), time.Duration(ms)*time.Millisecond
		if status != nil {
			a.StatusCode = int(*status)
		}
		dl := index[id]
		dl.Attempts = append(dl.Attempts, a)
	}
	return r.Err()
}

// scanDeliveries reads the rows of a query of deliveryColumns and closes them.
func scanDeliveries(r rows, err error) ([]Delivery, error) {
	if err != nil {
		return nil, err
	}
	defer r.Close()
	var list []Delivery
	for r.Next() {
		var (
			d                  Delivery
			status, values     string
			headers            *string
			sequence, attempts int64
			next, job          *int64
			created, updated   int64
		)
		if err := r.Scan(&d.ID, &d.Webhook, &d.EventID, &d.EventType, &d.ActionID, &sequence, &status, &d.Body, &values,
			&headers, &attempts, &next, &job, &created, &updated); err != nil {
			return nil, err
		}
		if err := json.Unmarshal([]byte(values), &d.Values); err != nil {
			return nil, fmt.Errorf("delivery %s: placeholder values: %v", d.ID, err)
		}
		if headers != nil {
			if err := json.Unmarshal([]byte(*headers), &d.Headers); err != nil {
				return nil, fmt.Errorf("delivery %s: headers: %v", d.ID, err)
			}
		}
		d.Sequence, d.Status, d.AttemptCount = int(sequence), webhook.DeliveryStatus(status), int(attempts)
		d.NextAttemptAt, d.CreatedAt, d.UpdatedAt = timePointer(next), fromMicro(created), fromMicro(updated)
		if job != nil {
			d.JobToken = *job
		}
		d.Attempts = []Attempt{}
		list = append(list, d)
	}
	return list, r.Err()
}

// DeliveryCounts implements Store.
func (d *db) DeliveryCounts(ctx context.Context) ([]DeliveryCount, error) {
	r, err := d.pool.query(ctx, `SELECT webhook, status, count(*) FROM hookgate_delivery GROUP BY webhook, status`)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	var counts []DeliveryCount
	for r.Next() {
		var c DeliveryCount
		var status string
		if err := r.Scan(&c.Webhook, &status, &c.N); err != nil {
			return nil, err
		}
		c.Status = webhook.DeliveryStatus(status)
		counts = append(counts, c)
	}
	return counts, r.Err()
}

// deleteFinishedDeliveries deletes the deliveries that ended before a
// time, with their attempts.
func deleteFinishedDeliveries(ctx context.Context, q querier, before time.Time) error {
	if _, err := q.exec(ctx, `DELETE FROM hookgate_attempt WHERE delivery_id IN (SELECT id FROM hookgate_delivery
		WHERE status IN ('succeeded', 'failed') AND updated_at < $1)`, before.UnixMicro()); err != nil {
		return err
	}
	_, err := q.exec(ctx, `DELETE FROM hookgate_delivery WHERE status IN ('succeeded', 'failed') AND updated_at < $1`, before.UnixMicro())
	return err
}

// microPointer is an optional time as a query argument.
func microPointer(t *time.Time) any {
	if t == nil {
		return nil
	}
	return t.UnixMicro()
}

// nullJob is a job ID as a query argument, NULL when 0.
func nullToken(id int64) any {
	if id == 0 {
		return nil
	}
	return id
}

// nullStatus is an HTTP status as a query argument, NULL when 0.
func nullStatus(code int) any {
	if code == 0 {
		return nil
	}
	return int64(code)
}

// nonNil is b, or an empty slice for a NOT NULL column.
func nonNil(b []byte) []byte {
	if b == nil {
		return []byte{}
	}
	return b
}

// OldestHeld implements Store.
func (d *db) OldestHeld(ctx context.Context, webhookName string) (*Delivery, error) {
	list, err := scanDeliveries(d.pool.query(ctx, `SELECT `+deliveryColumns+` FROM hookgate_delivery
		WHERE webhook = $1 AND status = 'held' ORDER BY id LIMIT 1`, webhookName))
	if err != nil || len(list) == 0 {
		return nil, err
	}
	return &list[0], nil
}
