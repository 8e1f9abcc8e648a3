package store

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/riverqueue/river/riverdriver"
	"github.com/riverqueue/river/rivermigrate"
)

// schema is hookgate's own schema, as migrations in order: a migration's
// version is its index plus one. Each backend has its own text; BLOB
// stands for the backend's binary type.
var schema = [][]string{
	{
		`CREATE TABLE hookgate_action (
			id TEXT PRIMARY KEY,
			pipeline TEXT NOT NULL,
			hook TEXT NOT NULL,
			delivery_id TEXT,
			status TEXT NOT NULL,
			reason TEXT NOT NULL DEFAULT '',
			detail TEXT NOT NULL DEFAULT '',
			variables TEXT NOT NULL,
			payload BLOB,
			remote_ip TEXT NOT NULL DEFAULT '',
			job_id BIGINT,
			created_at BIGINT NOT NULL,
			started_at BIGINT,
			finished_at BIGINT
		)`,
		`CREATE UNIQUE INDEX hookgate_action_delivery ON hookgate_action (hook, delivery_id) WHERE delivery_id IS NOT NULL`,
		`CREATE INDEX hookgate_action_pipeline_status ON hookgate_action (pipeline, status)`,
		`CREATE INDEX hookgate_action_finished ON hookgate_action (finished_at)`,
		`CREATE TABLE hookgate_step (
			action_id TEXT NOT NULL,
			position INTEGER NOT NULL,
			name TEXT NOT NULL,
			kind TEXT NOT NULL,
			status TEXT NOT NULL,
			exit_code INTEGER,
			http_status INTEGER,
			duration_ms BIGINT NOT NULL,
			output BLOB NOT NULL,
			output_truncated INTEGER NOT NULL DEFAULT 0,
			error TEXT NOT NULL DEFAULT '',
			PRIMARY KEY (action_id, position)
		)`,
	},
	{
		`CREATE TABLE hookgate_webhook (
			name TEXT PRIMARY KEY,
			state TEXT NOT NULL,
			url TEXT NOT NULL,
			secret TEXT NOT NULL DEFAULT '',
			consecutive_failures INTEGER NOT NULL DEFAULT 0,
			last_success_at BIGINT,
			created_at BIGINT NOT NULL,
			updated_at BIGINT NOT NULL
		)`,
		`CREATE TABLE hookgate_delivery (
			id TEXT PRIMARY KEY,
			webhook TEXT NOT NULL,
			event_id TEXT NOT NULL,
			event_type TEXT NOT NULL,
			action_id TEXT NOT NULL DEFAULT '',
			sequence INTEGER NOT NULL,
			status TEXT NOT NULL,
			body BLOB NOT NULL,
			placeholder_values TEXT NOT NULL,
			attempts INTEGER NOT NULL DEFAULT 0,
			next_attempt_at BIGINT,
			job_token BIGINT,
			created_at BIGINT NOT NULL,
			updated_at BIGINT NOT NULL
		)`,
		`CREATE UNIQUE INDEX hookgate_delivery_event ON hookgate_delivery (webhook, event_id)`,
		`CREATE INDEX hookgate_delivery_chain ON hookgate_delivery (webhook, action_id, sequence)`,
		`CREATE INDEX hookgate_delivery_status ON hookgate_delivery (webhook, status, id)`,
		`CREATE INDEX hookgate_delivery_updated ON hookgate_delivery (updated_at)`,
		`CREATE TABLE hookgate_attempt (
			delivery_id TEXT NOT NULL,
			number INTEGER NOT NULL,
			at BIGINT NOT NULL,
			duration_ms BIGINT NOT NULL,
			url TEXT NOT NULL,
			status_code INTEGER,
			error TEXT NOT NULL DEFAULT '',
			response BLOB NOT NULL,
			PRIMARY KEY (delivery_id, number)
		)`,
	},
	{
		// The start of the attempt in flight of a pending delivery: a
		// hold or a restart leaves such a delivery to its attempt.
		`ALTER TABLE hookgate_delivery ADD COLUMN attempt_started_at BIGINT`,
	},
	{
		// Incoming hooks created through the management API.
		`CREATE TABLE hookgate_hook (
			id TEXT PRIMARY KEY,
			name TEXT NOT NULL UNIQUE,
			pipeline TEXT NOT NULL,
			definition TEXT NOT NULL,
			secret TEXT NOT NULL DEFAULT '',
			created_at BIGINT NOT NULL,
			updated_at BIGINT NOT NULL
		)`,
		`CREATE INDEX hookgate_hook_pipeline ON hookgate_hook (pipeline, created_at)`,
		// Outgoing webhooks created through the management API: the
		// definition of a configured one is the configuration's.
		`ALTER TABLE hookgate_webhook ADD COLUMN id TEXT`,
		`UPDATE hookgate_webhook SET id = name`,
		`CREATE UNIQUE INDEX hookgate_webhook_id ON hookgate_webhook (id)`,
		`ALTER TABLE hookgate_webhook ADD COLUMN source TEXT NOT NULL DEFAULT 'config'`,
		`ALTER TABLE hookgate_webhook ADD COLUMN definition TEXT`,
		`ALTER TABLE hookgate_webhook ADD COLUMN secret_generated INTEGER NOT NULL DEFAULT 0`,
		`ALTER TABLE hookgate_webhook ADD COLUMN previous_secret TEXT NOT NULL DEFAULT ''`,
		`ALTER TABLE hookgate_webhook ADD COLUMN previous_secret_expires_at BIGINT`,
		// Counts the changes made through the management API, for other
		// instances to notice.
		`CREATE TABLE hookgate_revision (revision BIGINT NOT NULL)`,
		`INSERT INTO hookgate_revision (revision) VALUES (0)`,
	},
	{
		// The hooks of relay hooks, kept as hook.received events (SPEC
		// 7.1); a dedup id seen twice for a hook is a duplicate.
		`CREATE TABLE hookgate_event (
			id TEXT PRIMARY KEY,
			type TEXT NOT NULL,
			hook TEXT NOT NULL,
			pipeline TEXT NOT NULL DEFAULT '',
			action_id TEXT NOT NULL DEFAULT '',
			delivery_id TEXT NOT NULL DEFAULT '',
			dedup_id TEXT,
			remote_ip TEXT NOT NULL DEFAULT '',
			content_type TEXT NOT NULL DEFAULT '',
			headers TEXT NOT NULL,
			variables TEXT NOT NULL,
			body BLOB NOT NULL,
			created_at BIGINT NOT NULL
		)`,
		`CREATE UNIQUE INDEX hookgate_event_dedup ON hookgate_event (hook, dedup_id) WHERE dedup_id IS NOT NULL`,
		`CREATE INDEX hookgate_event_created ON hookgate_event (created_at)`,
		// Headers a delivery adds to its webhook's: the Content-Type of a
		// raw payload and the forwarded headers of a relayed hook.
		`ALTER TABLE hookgate_delivery ADD COLUMN headers TEXT`,
	},
	{
		// Instance leases (PostgreSQL): a row per instance, keyed by its
		// River client id; lease changes each time the instance acquires
		// it again. Times are microseconds of the database's clock.
		`CREATE TABLE hookgate_instance (
			id TEXT PRIMARY KEY,
			lease TEXT NOT NULL UNIQUE,
			host TEXT NOT NULL DEFAULT '',
			acquired_at BIGINT NOT NULL,
			renewed_at BIGINT NOT NULL,
			expires_at BIGINT NOT NULL
		)`,
		// The lease under which a running action was claimed: its writes
		// are refused once another instance took it over (fencing).
		`ALTER TABLE hookgate_action ADD COLUMN claimed_by TEXT`,
		`CREATE INDEX hookgate_action_status ON hookgate_action (status)`,
	},
	{
		// The dashboard's lists, newest first, a page at a time, and its
		// stats over a time window.
		// hookgate_action_pipeline_status and hookgate_action_status are
		// prefixes of new ones.
		`DROP INDEX hookgate_action_pipeline_status`,
		`CREATE INDEX hookgate_action_pipeline_status ON hookgate_action (pipeline, status, id)`,
		`CREATE INDEX hookgate_action_pipeline_id ON hookgate_action (pipeline, id)`,
		`DROP INDEX hookgate_action_status`,
		`CREATE INDEX hookgate_action_status_id ON hookgate_action (status, id)`,
		`CREATE INDEX hookgate_delivery_webhook_id ON hookgate_delivery (webhook, id)`,
		// Covering the stats' columns: a window is read from the index alone.
		`CREATE INDEX hookgate_action_created ON hookgate_action (status, created_at, started_at, finished_at)`,
		`CREATE INDEX hookgate_attempt_at ON hookgate_attempt (at, duration_ms, status_code)`,
	},
}

// migrateRiver applies River's migrations, each in its own transaction
// (PostgreSQL cannot use an enum value in the transaction that adds it).
func migrateRiver[TTx any](ctx context.Context, driver riverdriver.Driver[TTx]) error {
	migrator, err := rivermigrate.New(driver, &rivermigrate.Config{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		return fmt.Errorf("river migrations: %v", err)
	}
	if _, err := migrator.Migrate(ctx, rivermigrate.DirectionUp, nil); err != nil {
		return fmt.Errorf("river migrations: %v", err)
	}
	return nil
}

// migrateOwn applies hookgate's migrations in one transaction. blob is
// the backend's binary type.
func (d *db) migrateOwn(ctx context.Context, blob string) error {
	return d.InTx(ctx, func(t Tx) error {
		q := t.(*tx).q
		if _, err := q.exec(ctx, `CREATE TABLE IF NOT EXISTS hookgate_migration (
			version INTEGER PRIMARY KEY, applied_at BIGINT NOT NULL)`); err != nil {
			return fmt.Errorf("hookgate migrations: %v", err)
		}
		var version int64
		if err := queryOne(ctx, q, `SELECT coalesce(max(version), 0) FROM hookgate_migration`, nil, &version); err != nil {
			return fmt.Errorf("hookgate migrations: %v", err)
		}
		if int(version) > len(schema) {
			return fmt.Errorf("hookgate migrations: the database is at version %d, newer than this hookgate knows (%d)", version, len(schema))
		}
		for i := int(version); i < len(schema); i++ {
			for _, stmt := range schema[i] {
				if _, err := q.exec(ctx, strings.ReplaceAll(stmt, "BLOB", blob)); err != nil {
					return fmt.Errorf("hookgate migration %d: %v", i+1, err)
				}
			}
			if _, err := q.exec(ctx, `INSERT INTO hookgate_migration (version, applied_at) VALUES ($1, $2)`,
				int64(i+1), time.Now().UnixMicro()); err != nil {
				return fmt.Errorf("hookgate migration %d: %v", i+1, err)
			}
		}
		return nil
	})
}
