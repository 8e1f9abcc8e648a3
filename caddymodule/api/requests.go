package api

import (
	"net/http"
	"strings"
	"time"

	"github.com/hookgate/hookgate/caddymodule"
	"github.com/hookgate/hookgate/pipeline/engine"
)

// listRequests answers GET /requests?hook=&result=&since=: the request
// log of this instance, newest first (SPEC 8). result is a result code
// (signature_invalid, queued, passed, ...), or rejected / accepted.
func (h *APIHandler) listRequests(w http.ResponseWriter, r *http.Request, _ *engine.Engine) error {
	p, err := parsePage(r)
	if err != nil {
		return err
	}
	q := r.URL.Query()
	since, err := parseSince(q.Get("since"), time.Time{})
	if err != nil {
		return err
	}
	list := h.app.Requests().Requests(caddymodule.RequestFilter{Hook: q.Get("hook"), Result: q.Get("result"), Since: since})
	pg, err := pageOf(p, list)
	if err != nil {
		return err
	}
	return reply(w, http.StatusOK, pg)
}

// parseSince reads a since= parameter: an RFC 3339 time, or a duration
// back from now (24h, 15m); empty is def.
func parseSince(raw string, def time.Time) (time.Time, error) {
	if raw == "" {
		return def, nil
	}
	if t, err := time.Parse(time.RFC3339, raw); err == nil {
		return t, nil
	}
	d, err := time.ParseDuration(strings.TrimPrefix(raw, "-"))
	if err != nil || d <= 0 {
		return time.Time{}, badRequest("invalid_query", "since %q: want an RFC 3339 time (2026-01-02T15:04:05Z) or a duration back from now (24h)", raw)
	}
	return time.Now().Add(-d), nil
}
