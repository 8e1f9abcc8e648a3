package api

import (
	"net/http"

	"github.com/hookgate/hookgate/pipeline/engine"
)

// instanceJSON is an instance sharing the database, as GET /instances
// shows it.
type instanceJSON struct {
	// ID is the instance's River client id.
	ID string `json:"id"`
	// Host is its machine's host name and its PID.
	Host string `json:"host"`
	// Live is false once its lease expired: its work is taken over.
	Live bool `json:"live"`
	// Lease is the lease it holds ("" on SQLite, which has none).
	Lease string `json:"lease"`
	// AcquiredAt is when it acquired the lease, on the database's clock
	// (null on SQLite).
	AcquiredAt *string `json:"acquired_at"`
	// RenewedAt is when it last renewed the lease (null on SQLite).
	RenewedAt *string `json:"renewed_at"`
	// ExpiresAt is when the lease expires unless renewed (null on
	// SQLite).
	ExpiresAt *string `json:"expires_at"`
	// Running are the actions running under its lease.
	Running []runningJSON `json:"running"`
}

// runningJSON is an action running on an instance.
type runningJSON struct {
	// ID is the action's ID.
	ID string `json:"id"`
	// Pipeline is its pipeline.
	Pipeline string `json:"pipeline"`
	// StartedAt is when it started.
	StartedAt string `json:"started_at"`
}

// listInstances answers GET /instances: the instances sharing the
// database, live or whose lease expired within the last hour, with their
// leases and running actions.
func (h *APIHandler) listInstances(w http.ResponseWriter, r *http.Request, e *engine.Engine) error {
	p, err := parsePage(r)
	if err != nil {
		return err
	}
	list, err := e.Instances(r.Context())
	if err != nil {
		return err
	}
	items := make([]instanceJSON, 0, len(list))
	for _, in := range list {
		j := instanceJSON{ID: in.ID, Host: in.Host, Live: in.Live, Lease: in.Lease, Running: []runningJSON{}}
		if in.Lease != "" {
			j.AcquiredAt, j.RenewedAt, j.ExpiresAt = timestampPtr(&in.AcquiredAt), timestampPtr(&in.RenewedAt), timestampPtr(&in.ExpiresAt)
		}
		for _, a := range in.Running {
			j.Running = append(j.Running, runningJSON{ID: a.ID, Pipeline: a.Pipeline, StartedAt: timestamp(a.StartedAt)})
		}
		items = append(items, j)
	}
	pg, err := pageOf(p, items)
	if err != nil {
		return err
	}
	return reply(w, http.StatusOK, pg)
}
