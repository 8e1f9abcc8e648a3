package caddymodule

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/hookgate/hookgate/pipeline/action"
	"github.com/hookgate/hookgate/pipeline/engine"
	"github.com/hookgate/hookgate/pipeline/webhook"
)

// hooksTotal counts hooks by hook and result: the error or status of the
// answer (signature_invalid, skipped, queued, duplicate, ...), or passed
// for hooks handed to the next handler.
var hooksTotal = prometheus.NewCounterVec(prometheus.CounterOpts{
	Namespace: "hookgate",
	Name:      "hooks_total",
	Help:      "Incoming hooks by hook and result.",
}, []string{"hook", "result"})

// actionDuration is shared by every config, as the engine that observes
// it outlives reloads.
var actionDuration = prometheus.NewHistogramVec(prometheus.HistogramOpts{
	Namespace: "hookgate",
	Name:      "action_duration_seconds",
	Help:      "Duration of the actions that ran on this instance, from start to end, by pipeline and status.",
	Buckets:   prometheus.ExponentialBuckets(0.01, 4, 10),
}, []string{"pipeline", "status"})

// deliveriesTotal counts delivery attempts by webhook and outcome.
var deliveriesTotal = prometheus.NewCounterVec(prometheus.CounterOpts{
	Namespace: "hookgate",
	Name:      "deliveries_total",
	Help:      "Outgoing webhook delivery attempts made by this instance, by webhook and outcome (succeeded, failed, refused).",
}, []string{"webhook", "outcome"})

// deliveryLatency is the time from an event to its successful delivery.
var deliveryLatency = prometheus.NewHistogramVec(prometheus.HistogramOpts{
	Namespace: "hookgate",
	Name:      "delivery_latency_seconds",
	Help:      "Time from an event to its successful delivery, retries included, by webhook.",
	Buckets:   prometheus.ExponentialBuckets(0.005, 4, 12),
}, []string{"webhook"})

// observeDelivered records a delivery attempt.
func observeDelivered(d engine.Delivered) {
	deliveriesTotal.WithLabelValues(d.Webhook, d.Outcome).Inc()
	if d.Outcome == "succeeded" {
		deliveryLatency.WithLabelValues(d.Webhook).Observe(d.Latency.Seconds())
	}
}

// observeRan records the duration of an action that ran.
func observeRan(r engine.Ran) {
	actionDuration.WithLabelValues(r.Pipeline, string(r.Status)).Observe(r.Duration.Seconds())
}

// registerOnce guards against registering the shared collectors twice in
// one registry (several handlers provision in one config).
var registerOnce sync.Mutex

// registerMetrics registers hookgate's collectors in Caddy's registry, so
// that Caddy's metrics handler serves them.
func registerMetrics(registry *prometheus.Registry, app *App) error {
	registerOnce.Lock()
	defer registerOnce.Unlock()
	for _, c := range []prometheus.Collector{hooksTotal, actionDuration, deliveriesTotal, deliveryLatency, &engineCollector{app: app}} {
		if err := registry.Register(c); err != nil {
			var already prometheus.AlreadyRegisteredError
			if !errors.As(err, &already) {
				return err
			}
		}
	}
	return nil
}

// engineCollector reads the actions by state and the queue depths from
// the store when metrics are scraped, so they hold across instances and
// restarts.
type engineCollector struct{ app *App }

var (
	actionsDesc = prometheus.NewDesc("hookgate_actions", "Stored actions by pipeline and state.", []string{"pipeline", "state"}, nil)
	queueDesc   = prometheus.NewDesc("hookgate_queue_depth", "Actions waiting to run, by pipeline.", []string{"pipeline"}, nil)
	stateDesc   = prometheus.NewDesc("hookgate_webhook_state", "1 for each webhook's current state (INTEGRATION_NEW, INTEGRATION_ACTIVE, INTEGRATION_FAILED, INTEGRATION_DEACTIVATED).", []string{"webhook", "state"}, nil)
	scopeDesc   = prometheus.NewDesc("hookgate_webhook_scope", "1 for each webhook's scope (global, pipelines, default), once per pipeline it is scoped to.", []string{"webhook", "scope", "pipeline"}, nil)
	pendingDesc = prometheus.NewDesc("hookgate_webhook_deliveries", "Stored deliveries of each webhook by state: pending (to attempt now or at a retry), waiting (behind an earlier event of the same action), held (while the webhook is failed).", []string{"webhook", "state"}, nil)
)

// collectScope sends the scope of a webhook: one series per pipeline it
// is scoped to, or one with an empty pipeline for a global or default
// webhook.
func collectScope(ch chan<- prometheus.Metric, def webhook.Definition) {
	switch {
	case def.Default:
		ch <- prometheus.MustNewConstMetric(scopeDesc, prometheus.GaugeValue, 1, def.Name, webhook.ScopeDefault, "")
	case len(def.Pipelines) == 0:
		ch <- prometheus.MustNewConstMetric(scopeDesc, prometheus.GaugeValue, 1, def.Name, webhook.ScopeGlobal, "")
	}
	for _, p := range def.Pipelines {
		ch <- prometheus.MustNewConstMetric(scopeDesc, prometheus.GaugeValue, 1, def.Name, webhook.ScopePipelines, p)
	}
}

// Describe implements prometheus.Collector.
func (c *engineCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- actionsDesc
	ch <- queueDesc
	ch <- pendingDesc
	ch <- stateDesc
	ch <- scopeDesc
}

// Collect implements prometheus.Collector.
func (c *engineCollector) Collect(ch chan<- prometheus.Metric) {
	e := c.app.engine.Load()
	if e == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	stats, err := e.Stats(ctx)
	if err != nil {
		return
	}
	for pipeline, s := range stats.Pipelines {
		for state, n := range map[action.Status]int64{
			action.StatusQueued: s.Queued, action.StatusRunning: s.Running, action.StatusSucceeded: s.Succeeded,
			action.StatusFailed: s.Failed, action.StatusCancelled: s.Cancelled,
		} {
			ch <- prometheus.MustNewConstMetric(actionsDesc, prometheus.GaugeValue, float64(n), pipeline, string(state))
		}
		ch <- prometheus.MustNewConstMetric(queueDesc, prometheus.GaugeValue, float64(s.Queued), pipeline)
	}
	if hooks, err := e.Webhooks(ctx); err == nil {
		for _, w := range hooks {
			ch <- prometheus.MustNewConstMetric(stateDesc, prometheus.GaugeValue, 1, w.Definition.Name, string(w.State))
			collectScope(ch, w.Definition)
		}
	}
	for name, s := range stats.Webhooks {
		for state, n := range map[string]int64{"pending": s.Pending, "waiting": s.Waiting, "held": s.Held} {
			ch <- prometheus.MustNewConstMetric(pendingDesc, prometheus.GaugeValue, float64(n), name, state)
		}
	}
}
