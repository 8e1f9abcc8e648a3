package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/tidwall/gjson"

	"github.com/hookgate/hookgate/pipeline/action"
	"github.com/hookgate/hookgate/pipeline/hook"
)

// querier runs SQL on a pool or in a transaction of either backend. The
// SQL is written with PostgreSQL's $n placeholders; the SQLite querier
// turns them into SQLite's equivalent ?n.
type querier interface {
	exec(ctx context.Context, query string, args ...any) (int64, error)
	query(ctx context.Context, query string, args ...any) (rows, error)
}

// rows are the rows of a query, as database/sql and pgx both give them.
type rows interface {
	Next() bool
	Scan(dest ...any) error
	Err() error
	Close()
}

// nativeTx is a transaction of either backend.
type nativeTx interface {
	querier
	// later runs a statement whose result nobody reads: on PostgreSQL it
	// is sent with the next statement that is read, or with the commit,
	// in one round trip (an error then fails that statement or the
	// commit, and so the transaction); on SQLite it runs now.
	later(ctx context.Context, query string, args ...any) error
	native() any
	commit(ctx context.Context) error
	rollback(ctx context.Context) error
}

// db is a Store over either backend: they differ only in how they connect,
// begin transactions and lock.
type db struct {
	backend string
	pool    querier
	handle  any
	begin   func(ctx context.Context) (nativeTx, error)
	lock    func(ctx context.Context, q querier, key string) error
	// unique reports whether an error is the violation of a unique
	// constraint.
	unique func(err error) bool
	// clock is the SQL expression of the database's clock, in
	// microseconds since the epoch: leases are compared on it only.
	clock string
	close func() error
}

// forUpdate is the clause that locks the rows a query reads until the end
// of the transaction: on PostgreSQL; SQLite has a single writer anyway.
func (d *db) forUpdate() string {
	if d.backend == "postgres" {
		return " FOR UPDATE"
	}
	return ""
}

// exists turns the violation of a unique constraint into ErrExists.
func (d *db) exists(err error) error {
	if err != nil && d.unique(err) {
		return ErrExists
	}
	return err
}

// tx is a Tx of a db.
type tx struct {
	q  nativeTx
	db *db
	// succeeded are the webhooks whose success RecordWebhookResult
	// recorded in this transaction, with the state it left, until
	// another write to them.
	succeeded map[string]success
}

// actionColumns are the columns scanned by scanAction, in its order.
const actionColumns = `id, pipeline, hook, delivery_id, status, reason, detail, variables, payload, remote_ip, created_at, started_at, finished_at`

// stepColumns are the columns of a step result, in the order addSteps
// scans them and AddStep writes them.
const stepColumns = `action_id, position, name, kind, status, exit_code, http_status, duration_ms, output, output_truncated, error`

// maxLimit is the most actions a list returns.
const maxLimit = 1000

// Backend implements Store.
func (d *db) Backend() string { return d.backend }

// Native implements Store.
func (d *db) Native() any { return d.handle }

// Close implements Store.
func (d *db) Close() error { return d.close() }

// InTx implements Store.
func (d *db) InTx(ctx context.Context, fn func(Tx) error) error {
	t, err := d.begin(ctx)
	if err != nil {
		return err
	}
	if err := fn(&tx{q: t, db: d}); err != nil {
		// The transaction's own error, if any, says less than fn's.
		_ = t.rollback(context.WithoutCancel(ctx))
		return err
	}
	return t.commit(ctx)
}

// Native implements Tx.
func (t *tx) Native() any { return t.q.native() }

// LockPipeline implements Tx.
func (t *tx) LockPipeline(ctx context.Context, pipeline string) error {
	return t.db.lock(ctx, t.q, "hookgate_pipeline:"+pipeline)
}

// CountQueued implements Tx.
func (t *tx) CountQueued(ctx context.Context, pipeline string, limit int) (int, error) {
	var n int64
	err := queryOne(ctx, t.q, `SELECT count(*) FROM (SELECT 1 FROM hookgate_action
		WHERE pipeline = $1 AND status = 'queued' LIMIT $2) q`, []any{pipeline, int64(limit)}, &n)
	return int(n), err
}

// DeliveryAction implements Tx.
func (t *tx) DeliveryAction(ctx context.Context, hook, deliveryID string) (string, error) {
	var id string
	err := queryOne(ctx, t.q, `SELECT id FROM hookgate_action WHERE hook = $1 AND delivery_id = $2`,
		[]any{hook, deliveryID}, &id)
	if errors.Is(err, ErrNotFound) {
		return "", nil
	}
	return id, err
}

// Insert implements Tx.
func (t *tx) Insert(ctx context.Context, a *action.Action) (string, error) {
	vars, err := json.Marshal(a.Variables)
	if err != nil {
		return "", fmt.Errorf("variables: %v", err)
	}
	insert := `INSERT INTO hookgate_action
		(id, pipeline, hook, delivery_id, status, variables, payload, remote_ip, created_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
		ON CONFLICT (hook, delivery_id) WHERE delivery_id IS NOT NULL DO NOTHING`
	args := []any{a.ID, a.Pipeline, a.Hook, nullString(a.DeliveryID), string(a.Status), string(vars),
		a.Payload, a.RemoteIP, a.CreatedAt.UnixMicro()}
	if a.DeliveryID == "" {
		// Nothing to deduplicate: no result to wait for.
		return "", t.q.later(ctx, insert, args...)
	}
	n, err := t.q.exec(ctx, insert, args...)
	if err != nil || n == 1 {
		return "", err
	}
	existing, err := t.DeliveryAction(ctx, a.Hook, a.DeliveryID)
	if err == nil && existing == "" {
		err = fmt.Errorf("action %s was not stored and has no duplicate", a.ID)
	}
	return existing, err
}

// Action implements Store.
func (d *db) Action(ctx context.Context, id string) (*action.Action, error) {
	return getAction(ctx, d.pool, id)
}

// Action implements Tx.
func (t *tx) Action(ctx context.Context, id string) (*action.Action, error) {
	return getAction(ctx, t.q, id)
}

// getAction reads an action with its step results.
func getAction(ctx context.Context, q querier, id string) (*action.Action, error) {
	r, err := q.query(ctx, `SELECT `+actionColumns+` FROM hookgate_action WHERE id = $1`, id)
	if err != nil {
		return nil, err
	}
	list, err := scanActions(r)
	if err != nil {
		return nil, err
	}
	if len(list) == 0 {
		return nil, ErrNotFound
	}
	if err := addSteps(ctx, q, list); err != nil {
		return nil, err
	}
	return &list[0], nil
}

// Actions implements Store.
func (d *db) Actions(ctx context.Context, f Filter) ([]action.Action, error) {
	where, args := f.where()
	q := `SELECT ` + actionColumns + ` FROM hookgate_action` + where
	limit := f.Limit
	if limit <= 0 || limit > maxLimit {
		limit = maxLimit
	}
	args = append(args, int64(limit), int64(max(f.Offset, 0)))
	q += fmt.Sprintf(" ORDER BY id DESC LIMIT $%d OFFSET $%d", len(args)-1, len(args))
	r, err := d.pool.query(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	list, err := scanActions(r)
	if err != nil {
		return nil, err
	}
	return list, addSteps(ctx, d.pool, list)
}

// where is the WHERE clause of the actions f selects (empty when it
// selects all), with its arguments, numbered from $1.
func (f Filter) where() (string, []any) {
	var conds []string
	var args []any
	if f.Pipeline != "" {
		args = append(args, f.Pipeline)
		conds = append(conds, "pipeline = $"+strconv.Itoa(len(args)))
	}
	if f.Status != "" {
		args = append(args, string(f.Status))
		conds = append(conds, "status = $"+strconv.Itoa(len(args)))
	}
	if len(conds) == 0 {
		return "", nil
	}
	return " WHERE " + strings.Join(conds, " AND "), args
}

// addSteps reads the step results of the actions in list.
func addSteps(ctx context.Context, q querier, list []action.Action) error {
	if len(list) == 0 {
		return nil
	}
	index := make(map[string]*action.Action, len(list))
	marks := make([]string, len(list))
	args := make([]any, len(list))
	for i := range list {
		index[list[i].ID] = &list[i]
		marks[i] = "$" + strconv.Itoa(i+1)
		args[i] = list[i].ID
	}
	r, err := q.query(ctx, `SELECT `+stepColumns+` FROM hookgate_step
		WHERE action_id IN (`+strings.Join(marks, ", ")+`) ORDER BY action_id, position`, args...)
	if err != nil {
		return err
	}
	defer r.Close()
	for r.Next() {
		var (
			id                 string
			position           int64
			s                  action.StepResult
			exitCode, httpCode *int64
			output             []byte
			truncated          int64
		)
		if err := r.Scan(&id, &position, &s.Name, &s.Kind, &s.Status, &exitCode, &httpCode,
			&s.DurationMS, &output, &truncated, &s.Error); err != nil {
			return err
		}
		s.ExitCode, s.HTTPStatus = intPointer(exitCode), intPointer(httpCode)
		s.Output, s.OutputTruncated = string(output), truncated != 0
		a := index[id]
		a.Steps = append(a.Steps, s)
	}
	return r.Err()
}

// scanActions reads rows of actionColumns and closes them.
func scanActions(r rows) ([]action.Action, error) {
	defer r.Close()
	var list []action.Action
	for r.Next() {
		var (
			a                 action.Action
			deliveryID        *string
			vars              string
			created           int64
			started, finished *int64
		)
		if err := r.Scan(&a.ID, &a.Pipeline, &a.Hook, &deliveryID, &a.Status, &a.Reason, &a.Detail,
			&vars, &a.Payload, &a.RemoteIP, &created, &started, &finished); err != nil {
			return nil, err
		}
		if deliveryID != nil {
			a.DeliveryID = *deliveryID
		}
		a.Variables = decodeVariables(vars)
		a.CreatedAt = fromMicro(created)
		a.StartedAt, a.FinishedAt = timePointer(started), timePointer(finished)
		a.Steps = []action.StepResult{}
		list = append(list, a)
	}
	return list, r.Err()
}

// Claim implements Tx.
func (t *tx) Claim(ctx context.Context, id string, jobID int64, at time.Time, lease string) (bool, error) {
	n, err := t.q.exec(ctx, `UPDATE hookgate_action SET status = 'running', job_id = $2, started_at = $3, claimed_by = nullif($4, '')
		WHERE id = $1 AND status = 'queued' AND ($4 = '' OR `+t.db.liveLease("$4")+`)`, id, jobID, at.UnixMicro(), lease)
	if err != nil || n == 1 || lease == "" {
		return n == 1, err
	}
	var live int64
	if err := queryOne(ctx, t.q, `SELECT CASE WHEN `+t.db.liveLease("$1")+` THEN 1 ELSE 0 END`, []any{lease}, &live); err != nil {
		return false, err
	}
	if live == 0 {
		return false, ErrFenced
	}
	return false, nil
}

// Finish implements Tx.
func (t *tx) Finish(ctx context.Context, id string, from action.Status, o action.Outcome, at time.Time, lease string) (bool, error) {
	n, err := t.q.exec(ctx, `UPDATE hookgate_action SET status = $3, reason = $4, detail = $5, finished_at = $6
		WHERE id = $1 AND status = $2 AND ($7 = '' OR claimed_by = $7)`,
		id, string(from), string(o.Status), string(o.Reason), o.Detail, at.UnixMicro(), lease)
	return n == 1, err
}

// TakeOver implements Tx.
func (t *tx) TakeOver(ctx context.Context, id string, lease string) (bool, error) {
	n, err := t.q.exec(ctx, `UPDATE hookgate_action SET claimed_by = nullif($2, '')
		WHERE id = $1 AND status = 'running' AND (claimed_by IS NULL OR NOT `+t.db.liveLease("hookgate_action.claimed_by")+`)`, id, lease)
	return n == 1, err
}

// liveLease is the SQL condition that the lease named by the SQL
// expression lease is held and unexpired, on the database's clock.
func (d *db) liveLease(lease string) string {
	return `EXISTS (SELECT 1 FROM hookgate_instance l WHERE l.lease = ` + lease + ` AND l.expires_at > ` + d.clock + `)`
}

// AddStep implements Store.
func (d *db) AddStep(ctx context.Context, id string, index int, s action.StepResult, lease string) error {
	truncated := int64(0)
	if s.OutputTruncated {
		truncated = 1
	}
	n, err := d.pool.exec(ctx, `INSERT INTO hookgate_step (`+stepColumns+`)
		SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11
		WHERE $12 = '' OR EXISTS (SELECT 1 FROM hookgate_action WHERE id = $1 AND claimed_by = $12)`,
		id, int64(index), s.Name, string(s.Kind), string(s.Status), nullInt(s.ExitCode), nullInt(s.HTTPStatus),
		s.DurationMS, []byte(s.Output), truncated, s.Error, lease)
	if err == nil && n == 0 {
		return ErrFenced
	}
	return err
}

// Cancel implements Tx.
func (t *tx) Cancel(ctx context.Context, id string, at time.Time) (Cancellation, error) {
	n, err := t.q.exec(ctx, `UPDATE hookgate_action SET status = 'cancelled', reason = 'cancelled',
		detail = 'cancelled before it started', finished_at = $2 WHERE id = $1 AND status = 'queued'`, id, at.UnixMicro())
	if err != nil {
		return Cancellation{}, err
	}
	if n == 1 {
		return Cancellation{Status: action.StatusCancelled, Changed: true}, nil
	}
	var c Cancellation
	var jobID *int64
	err = queryOne(ctx, t.q, `SELECT status, job_id FROM hookgate_action WHERE id = $1`, []any{id}, &c.Status, &jobID)
	if jobID != nil {
		c.JobID = *jobID
	}
	return c, err
}

// InterruptRunning implements Tx.
func (t *tx) InterruptRunning(ctx context.Context, at time.Time) ([]string, error) {
	return scanStrings(t.q.query(ctx, `UPDATE hookgate_action SET status = 'failed', reason = 'interrupted',
		detail = 'hookgate stopped while the action was running', finished_at = $1
		WHERE status = 'running' RETURNING id`, at.UnixMicro()))
}

// scanStrings reads the rows of a query of one text column and closes
// them.
func scanStrings(r rows, err error) ([]string, error) {
	if err != nil {
		return nil, err
	}
	defer r.Close()
	var list []string
	for r.Next() {
		var s string
		if err := r.Scan(&s); err != nil {
			return nil, err
		}
		list = append(list, s)
	}
	return list, r.Err()
}

// DeleteFinished implements Store.
func (d *db) DeleteFinished(ctx context.Context, before time.Time) (int64, error) {
	var n int64
	err := d.InTx(ctx, func(t Tx) error {
		q := t.(*tx).q
		if _, err := q.exec(ctx, `DELETE FROM hookgate_step WHERE action_id IN
			(SELECT id FROM hookgate_action WHERE finished_at < $1)`, before.UnixMicro()); err != nil {
			return err
		}
		var err error
		if n, err = q.exec(ctx, `DELETE FROM hookgate_action WHERE finished_at < $1`, before.UnixMicro()); err != nil {
			return err
		}
		if err := deleteFinishedDeliveries(ctx, q, before); err != nil {
			return err
		}
		return deleteOldEvents(ctx, q, before)
	})
	return n, err
}

// Counts implements Store.
func (d *db) Counts(ctx context.Context) ([]Count, error) {
	r, err := d.pool.query(ctx, `SELECT pipeline, status, count(*) FROM hookgate_action GROUP BY pipeline, status`)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	var counts []Count
	for r.Next() {
		var c Count
		if err := r.Scan(&c.Pipeline, &c.Status, &c.N); err != nil {
			return nil, err
		}
		counts = append(counts, c)
	}
	return counts, r.Err()
}

// queryOne scans the first row of a query into dest, or returns ErrNotFound.
func queryOne(ctx context.Context, q querier, query string, args []any, dest ...any) error {
	r, err := q.query(ctx, query, args...)
	if err != nil {
		return err
	}
	defer r.Close()
	if !r.Next() {
		if err := r.Err(); err != nil {
			return err
		}
		return ErrNotFound
	}
	if err := r.Scan(dest...); err != nil {
		return err
	}
	return nil
}

// decodeVariables decodes stored variables, keeping integers as int64
// (as the hook extracted them) and other numbers as float64. Each value is
// decoded on its own, and one that the JSON decoder refuses (nested
// deeper than it allows) is kept as its JSON text: what one action stored
// never makes it, or a list of actions, unreadable.
func decodeVariables(s string) map[string]any {
	vars := map[string]any{}
	gjson.Parse(s).ForEach(func(key, value gjson.Result) bool {
		dec := json.NewDecoder(strings.NewReader(value.Raw))
		dec.UseNumber()
		var v any
		if err := dec.Decode(&v); err != nil {
			vars[key.String()] = value.Raw
			return true
		}
		vars[key.String()] = numbers(v, true)
		return true
	})
	return vars
}

// numbers replaces the json.Numbers in v: at the top level an integer
// becomes an int64; every other number is as the hook decoded it, a
// float64 or, for an integer too big for one, its exact text.
func numbers(v any, top bool) any {
	switch v := v.(type) {
	case json.Number:
		if top {
			if i, err := v.Int64(); err == nil {
				return i
			}
		}
		f, _ := v.Float64()
		return hook.Number(v.String(), f)
	case map[string]any:
		for k, e := range v {
			v[k] = numbers(e, false)
		}
	case []any:
		for i, e := range v {
			v[i] = numbers(e, false)
		}
	}
	return v
}

// fromMicro is a stored time.
func fromMicro(us int64) time.Time { return time.UnixMicro(us).UTC() }

// timePointer is a stored nullable time.
func timePointer(us *int64) *time.Time {
	if us == nil {
		return nil
	}
	t := fromMicro(*us)
	return &t
}

// intPointer is a stored nullable int.
func intPointer(v *int64) *int {
	if v == nil {
		return nil
	}
	i := int(*v)
	return &i
}

// nullInt is an optional int as a query argument.
func nullInt(v *int) any {
	if v == nil {
		return nil
	}
	return int64(*v)
}

// nullString is a string as a query argument, NULL when empty.
func nullString(s string) any {
	if s == "" {
		return nil
	}
	return s
}
