package store

import (
	"context"
	"testing"

	"github.com/hookgate/hookgate/pipeline/store/storetest"
	"github.com/hookgate/hookgate/pipeline/webhook"
)

// Migration 4 keeps the webhooks stored before it, configured ones with
// their name as their ID.
func TestMigrationWebhookID(t *testing.T) {
	ctx := context.Background()
	for name, opener := range map[string]func(t *testing.T) func() (Store, error){
		"sqlite": func(t *testing.T) func() (Store, error) {
			path := storetest.SQLitePath(t)
			return func() (Store, error) { return OpenSQLite(ctx, path) }
		},
		"postgres": func(t *testing.T) func() (Store, error) {
			dsn := storetest.PostgresDSN(t)
			return func() (Store, error) { return OpenPostgres(ctx, dsn) }
		},
	} {
		t.Run(name, func(t *testing.T) {
			open := opener(t)
			full := schema
			schema = full[:3]
			s, err := open()
			schema = full
			if err != nil {
				t.Fatal(err)
			}
			if _, err := s.(*db).pool.exec(ctx, `INSERT INTO hookgate_webhook (name, state, url, secret, created_at, updated_at)
				VALUES ('old', 'INTEGRATION_ACTIVE', 'https://example.com', 'whsec_x', 1, 1)`); err != nil {
				t.Fatal(err)
			}
			s.Close()
			if s, err = open(); err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			w, err := s.FindWebhook(ctx, "old")
			if err != nil || w.ID != "old" || w.Source != SourceConfig || w.Definition != nil || w.State != webhook.StateActive || w.Secret != "whsec_x" {
				t.Errorf("migrated webhook %+v, %v", w, err)
			}
			if rev, err := s.Revision(ctx); err != nil || rev != 0 {
				t.Errorf("revision %d, %v", rev, err)
			}
		})
	}
}
