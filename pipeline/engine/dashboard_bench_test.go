package engine

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/hookgate/hookgate/pipeline/action"
	"github.com/hookgate/hookgate/pipeline/webhook"
)

// dashboardRows is how many actions, and deliveries, BenchmarkDashboard
// stores before it measures.
const dashboardRows = 100_000

// BenchmarkDashboard measures, on SQLite holding 100,000 actions (with a
// step each) and 100,000 deliveries (with an attempt each) spread over
// the last 24 hours, the engine calls behind each list the dashboard
// reads, as the API makes them for one page, and reports their p95 in
// milliseconds. Run it with
//
//	go test -run NONE -bench BenchmarkDashboard -benchtime 50x ./pipeline/engine/
func BenchmarkDashboard(b *testing.B) {
	ctx := context.Background()
	e := open(b, backends[0].config(b), false, benchPipeline, action.Pipeline{Name: "other", Steps: benchPipeline.Steps})
	info, _, err := e.CreateWebhook(ctx, webhook.Definition{Name: "bench-status", URL: "https://example.com/status"})
	if err != nil {
		b.Fatal(err)
	}
	seed := time.Now()
	if err := seedDashboard(ctx, e.store.Native().(*sql.DB), info.Definition.Name, time.Now()); err != nil {
		b.Fatal(err)
	}
	b.Logf("stored %d actions and %d deliveries in %v", dashboardRows, dashboardRows, time.Since(seed).Round(time.Millisecond))
	someAction := fmt.Sprintf("act_%08d", dashboardRows/2)
	// The calls each API route makes (caddymodule/api): a page of 20.
	for _, route := range []struct {
		name string
		call func() error
	}{
		{"GET_actions", func() error { return actionsPage(ctx, e, ActionFilter{Limit: 20}) }},
		{"GET_actions?pipeline&status", func() error {
			return actionsPage(ctx, e, ActionFilter{Pipeline: "bench", Status: action.StatusFailed, Limit: 20})
		}},
		{"GET_actions?page=500", func() error { return actionsPage(ctx, e, ActionFilter{Limit: 20, Offset: 499 * 20}) }},
		{"GET_actions/{id}", func() error { _, err := e.Action(ctx, someAction); return err }},
		{"GET_webhooks", func() error { _, err := e.Webhooks(ctx); return err }},
		{"GET_webhooks/{id}/deliveries", func() error { return deliveriesPage(ctx, e, info.ID, DeliveryFilter{Limit: 20}) }},
		{"GET_webhooks/{id}/deliveries?status=failed", func() error {
			return deliveriesPage(ctx, e, info.ID, DeliveryFilter{Status: webhook.DeliveryFailed, Limit: 20})
		}},
		{"GET_webhooks/{id}/deliveries?page=500", func() error {
			return deliveriesPage(ctx, e, info.ID, DeliveryFilter{Limit: 20, Offset: 499 * 20})
		}},
		{"GET_webhooks/{id}/deliveries?action=", func() error {
			return deliveriesPage(ctx, e, info.ID, DeliveryFilter{ActionID: someAction, Limit: 20})
		}},
		{"GET_stats?since=24h", func() error {
			_, err := e.Window(ctx, time.Now().Add(-24*time.Hour).Truncate(time.Hour), time.Hour)
			return err
		}},
	} {
		b.Run(route.name, func(b *testing.B) {
			var took []time.Duration
			for b.Loop() {
				start := time.Now()
				if err := route.call(); err != nil {
					b.Fatal(err)
				}
				took = append(took, time.Since(start))
			}
			slices.Sort(took)
			b.ReportMetric(float64(took[len(took)*95/100].Microseconds())/1000, "p95-ms")
		})
	}
}

// actionsPage is what GET /actions reads: the count (for the page
// amount) and a page.
func actionsPage(ctx context.Context, e *Engine, f ActionFilter) error {
	if _, err := e.CountActions(ctx, f); err != nil {
		return err
	}
	_, err := e.Actions(ctx, f)
	return err
}

// deliveriesPage is what GET /webhooks/{id}/deliveries reads: the
// webhook with its counts, and a page.
func deliveriesPage(ctx context.Context, e *Engine, id string, f DeliveryFilter) error {
	if _, err := e.Webhook(ctx, id); err != nil {
		return err
	}
	_, err := e.Deliveries(ctx, id, f)
	return err
}

// seedDashboard stores dashboardRows finished actions of two pipelines,
// one step each, and as many deliveries to the webhook, one attempt each,
// one in ten failed, created over the 24 hours before now.
func seedDashboard(ctx context.Context, db *sql.DB, webhookName string, now time.Time) error {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	stmts := map[string]string{
		"action": `INSERT INTO hookgate_action (id, pipeline, hook, status, reason, variables, created_at, started_at, finished_at)
			VALUES (?1, ?2, 'github', ?3, ?4, '{"ref":"refs/heads/main"}', ?5, ?5 + 1000, ?5 + 2000000)`,
		"step": `INSERT INTO hookgate_step (action_id, position, name, kind, status, exit_code, duration_ms, output)
			VALUES (?1, 0, 'build', 'exec', ?2, 0, 2000, X'6F6B0A')`,
		"delivery": `INSERT INTO hookgate_delivery (id, webhook, event_id, event_type, action_id, sequence, status, body,
			placeholder_values, attempts, created_at, updated_at)
			VALUES (?1, ?2, ?3, 'action.succeeded', ?4, 3, ?5, X'7B7D', '{}', 1, ?6, ?6)`,
		"attempt": `INSERT INTO hookgate_attempt (delivery_id, number, at, duration_ms, url, status_code, error, response)
			VALUES (?1, 1, ?2, ?3, 'https://example.com/status', ?4, '', X'')`,
	}
	prepared := make(map[string]*sql.Stmt, len(stmts))
	for name, q := range stmts {
		if prepared[name], err = tx.PrepareContext(ctx, q); err != nil {
			return fmt.Errorf("%s: %v", name, err)
		}
	}
	step := 24 * time.Hour / dashboardRows
	for i := range dashboardRows {
		at := now.Add(-24*time.Hour + time.Duration(i)*step).UnixMicro()
		id := fmt.Sprintf("act_%08d", i)
		pipeline, status, reason, outcome, code := "bench", "succeeded", "", "succeeded", 200
		if i%2 == 1 {
			pipeline = "other"
		}
		if i%10 == 0 {
			status, reason, outcome, code = "failed", "exit_status", "failed", 500
		}
		for name, args := range map[string][]any{
			"action":   {id, pipeline, status, reason, at},
			"step":     {id, status},
			"delivery": {fmt.Sprintf("dlv_%08d", i), webhookName, fmt.Sprintf("msg_%08d", i), id, outcome, at},
			"attempt":  {fmt.Sprintf("dlv_%08d", i), at, int64(5 + i%200), code},
		} {
			if _, err := prepared[name].ExecContext(ctx, args...); err != nil {
				return fmt.Errorf("%s %d: %v", name, i, err)
			}
		}
	}
	return tx.Commit()
}
