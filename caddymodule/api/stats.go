package api

import (
	"cmp"
	"net/http"
	"slices"
	"time"

	"github.com/hookgate/hookgate/pipeline/engine"
	"github.com/hookgate/hookgate/pipeline/store"
)

// statsIntervals are the interval lengths GET /stats picks from: the
// shortest that cuts the window into at most maxStatsIntervals.
var statsIntervals = []time.Duration{time.Minute, 5 * time.Minute, 15 * time.Minute, time.Hour, 6 * time.Hour, 24 * time.Hour, 7 * 24 * time.Hour}

// maxStatsIntervals is the most intervals a stats answer has.
const maxStatsIntervals = 60

// statsJSON is the answer of GET /stats.
type statsJSON struct {
	// Since and Until bound the window; Interval is each interval's
	// length in seconds. Series have one entry per interval, oldest first.
	Since    string `json:"since"`
	Until    string `json:"until"`
	Interval int64  `json:"intervalSeconds"`
	// Hooks counts the incoming requests by result, from this instance's
	// request log (behind a load balancer, each instance has its own).
	Hooks hookStatsJSON `json:"hooks"`
	// Actions counts the actions created in the window by state.
	Actions actionStatsJSON `json:"actions"`
	// Deliveries counts the delivery attempts made in the window by
	// outcome, with their latency.
	Deliveries deliveryStatsJSON `json:"deliveries"`
}

// hookStatsJSON is the incoming requests' part of the stats.
type hookStatsJSON struct {
	Total  map[string]int64   `json:"total"`
	Series []map[string]int64 `json:"series"`
}

// actionStatsJSON is the actions' part of the stats.
type actionStatsJSON struct {
	Total map[string]int64 `json:"total"`
	// AvgDurationMs is the mean run time of those that ran and ended.
	AvgDurationMs float64            `json:"avgDurationMs"`
	Series        []map[string]int64 `json:"series"`
}

// deliveryStatsJSON is the deliveries' part of the stats.
type deliveryStatsJSON struct {
	Succeeded int64            `json:"succeeded"`
	Failed    int64            `json:"failed"`
	LatencyMs latencyJSON      `json:"latencyMs"`
	Series    []attemptsWindow `json:"series"`
}

// latencyJSON are percentiles of attempt durations, in milliseconds.
type latencyJSON struct {
	P50 int64 `json:"p50"`
	P95 int64 `json:"p95"`
}

// attemptsWindow is one interval of delivery attempts.
type attemptsWindow struct {
	Succeeded int64 `json:"succeeded"`
	Failed    int64 `json:"failed"`
	latencyJSON
}

// getStats answers GET /stats?since=: what the dashboard's overview
// charts, over the window from since (default 24h) to now.
func (h *APIHandler) getStats(w http.ResponseWriter, r *http.Request, e *engine.Engine) error {
	until := time.Now()
	since, err := parseSince(r.URL.Query().Get("since"), until.Add(-24*time.Hour))
	if err != nil {
		return err
	}
	if !since.Before(until) {
		return badRequest("invalid_query", "since %s is not in the past", timestamp(since))
	}
	interval := statsIntervals[len(statsIntervals)-1]
	for _, d := range statsIntervals {
		if until.Sub(since) <= d*maxStatsIntervals {
			interval = d
			break
		}
	}
	since = since.Truncate(interval)
	n := int(until.Sub(since)/interval) + 1
	out := statsJSON{Since: timestamp(since), Until: timestamp(until), Interval: int64(interval / time.Second),
		Hooks:      hookStatsJSON{Total: map[string]int64{}, Series: make([]map[string]int64, n)},
		Actions:    actionStatsJSON{Total: map[string]int64{}, Series: make([]map[string]int64, n)},
		Deliveries: deliveryStatsJSON{Series: make([]attemptsWindow, n)},
	}
	for i := range n {
		out.Hooks.Series[i], out.Actions.Series[i] = map[string]int64{}, map[string]int64{}
	}
	for _, c := range h.app.Requests().Counts(since, interval) {
		if c.Interval < int64(n) {
			out.Hooks.Series[c.Interval][c.Result] += c.N
			out.Hooks.Total[c.Result] += c.N
		}
	}
	window, err := e.Window(r.Context(), since, interval)
	if err != nil {
		return err
	}
	var finished, runMicros int64
	for _, b := range window.Actions {
		if b.Interval >= 0 && int(b.Interval) < n {
			out.Actions.Series[b.Interval][string(b.Status)] += b.N
		}
		out.Actions.Total[string(b.Status)] += b.N
		finished, runMicros = finished+b.Finished, runMicros+b.RunMicros
	}
	if finished > 0 {
		out.Actions.AvgDurationMs = float64(runMicros) / float64(finished) / 1000
	}
	var all []store.DurationCount
	for _, b := range window.Attempts {
		if b.Interval >= 0 && int(b.Interval) < n {
			out.Deliveries.Series[b.Interval] = attemptsWindow{b.Succeeded, b.Failed, percentiles(b.Durations)}
		}
		out.Deliveries.Succeeded += b.Succeeded
		out.Deliveries.Failed += b.Failed
		all = append(all, b.Durations...)
	}
	slices.SortFunc(all, func(a, b store.DurationCount) int { return cmp.Compare(a.Ms, b.Ms) })
	out.Deliveries.LatencyMs = percentiles(all)
	return reply(w, http.StatusOK, out)
}

// percentiles are the p50 and p95 of attempts counted by duration,
// shortest first.
func percentiles(counts []store.DurationCount) latencyJSON {
	var total int64
	for _, c := range counts {
		total += c.N
	}
	at := func(p float64) int64 {
		rank, seen := int64(p*float64(total)), int64(0)
		for _, c := range counts {
			if seen += c.N; seen > rank {
				return c.Ms
			}
		}
		return 0
	}
	return latencyJSON{P50: at(0.50), P95: at(0.95)}
}
