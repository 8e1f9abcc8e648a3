package engine

import (
	"context"
	"net/http"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/hookgate/hookgate/pipeline/webhook"
)

// raceReceiver answers by the role of the action a request is for (the
// :role: placeholder): a "slow" role's first request is held open until
// the test releases it and then accepted; the others fail (the "later"
// role asking for a retry in a second) until the receiver is fixed. It
// counts the requests arriving, as they arrive.
type raceReceiver struct {
	mu       sync.Mutex
	fixed    bool
	arrivals map[string]int
	release  map[string]chan struct{}
}

func (rr *raceReceiver) answer(w http.ResponseWriter, r *http.Request) int {
	role := r.URL.Query().Get("role")
	rr.mu.Lock()
	rr.arrivals[role]++
	first, fixed, release := rr.arrivals[role] == 1, rr.fixed, rr.release[role]
	rr.mu.Unlock()
	switch {
	case release != nil && first:
		<-release
	case fixed:
	case role == "later":
		w.Header().Set("Retry-After", "1")
		fallthrough
	default:
		w.WriteHeader(http.StatusInternalServerError)
		return http.StatusInternalServerError
	}
	w.WriteHeader(http.StatusOK)
	return http.StatusOK
}

// total is how many requests arrived so far.
func (rr *raceReceiver) total() int {
	rr.mu.Lock()
	defer rr.mu.Unlock()
	n := 0
	for _, c := range rr.arrivals {
		n += c
	}
	return n
}

// arrived is how many requests of a role arrived so far.
func (rr *raceReceiver) arrived(role string) int {
	rr.mu.Lock()
	defer rr.mu.Unlock()
	return rr.arrivals[role]
}

// The webhook fails while attempts of other deliveries are in flight or
// wait for their retry: nothing is attempted while it is failed; an
// attempt in flight that succeeds while it is failed ends its delivery and
// moves its action's next delivery up (held), the webhook staying failed;
// a restart does not send again a delivery whose attempt is still in
// flight. Every event arrives once, in order per action.
func TestWebhookFailsWithAttemptsInFlight(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		e := open(t, b.config(t), false, okPipeline)
		rr := &raceReceiver{arrivals: make(map[string]int),
			release: map[string]chan struct{}{"slow1": make(chan struct{}), "slow2": make(chan struct{})}}
		rc := newReceiver(t, testSecret)
		rc.setAnswer(rr.answer)
		var releaseOnce sync.Map
		releaseRole := func(role string) {
			if _, done := releaseOnce.LoadOrStore(role, true); !done {
				close(rr.release[role])
			}
		}
		// Registered last, run first: the engine stops after the held
		// requests are let go.
		t.Cleanup(func() { releaseRole("slow1"); releaseRole("slow2") })
		policy := webhook.Policy{Schedule: []time.Duration{20 * time.Millisecond, 20 * time.Millisecond, 20 * time.Millisecond,
			20 * time.Millisecond, 20 * time.Millisecond, 20 * time.Millisecond}, FailAfter: 3, Timeout: 20 * time.Second}
		configureWebhooks(t, e, WebhookConfig{VariableNames: []string{"role"}, Policy: policy, Webhooks: []webhook.Definition{
			{Name: "status", URL: rc.srv.URL + "/?role=:role:", Secrets: []string{testSecret}}}})
		if err := e.Start(); err != nil {
			t.Fatal(err)
		}
		ctx := context.Background()
		ids := make(map[string]string)
		for _, role := range []string{"slow1", "slow2", "later"} {
			ids[role] = trigger(t, e, "deploy", map[string]any{"role": role})
			waitFor(t, role+"'s first request", func() bool { return rr.arrived(role) == 1 })
		}
		waitFor(t, "later's failure to be stored", func() bool { return webhookState(t, e, "status").ConsecutiveFailures == 1 })
		laterFailed := time.Now()
		ids["failing"] = trigger(t, e, "deploy", map[string]any{"role": "failing"})
		waitFor(t, "the webhook to fail", func() bool { return webhookState(t, e, "status").State == webhook.StateFailed })
		failedAt := rr.total()

		// slow1's attempt, in flight when the webhook failed, succeeds.
		releaseRole("slow1")
		first := func(role string) *deliveryOf {
			return findDelivery(t, e, ids[role], 1)
		}
		waitFor(t, "slow1's result to be stored", func() bool { return first("slow1").Status == webhook.DeliverySucceeded })
		waitFor(t, "slow1's next delivery to be held", func() bool { return findDelivery(t, e, ids["slow1"], 2).Status == webhook.DeliveryHeld })
		info := webhookState(t, e, "status")
		if info.State != webhook.StateFailed || info.Pending != 1 || info.LastSuccessfulMessageDelivery == nil {
			t.Errorf("after an attempt in flight succeeded on a failed webhook: %+v", info)
		}
		// later's retry was due a second after its failure.
		time.Sleep(time.Until(laterFailed.Add(1300 * time.Millisecond)))
		if n := rr.total(); n != failedAt {
			t.Errorf("%d attempts while the webhook was failed", n-failedAt)
		}

		rr.mu.Lock()
		rr.fixed = true
		rr.mu.Unlock()
		n, err := e.RestartWebhook(ctx, "status")
		if err != nil || n != 3 {
			t.Errorf("restart: %d, %v; want the 3 held heads (slow2's attempt is in flight)", n, err)
		}
		waitFor(t, "the restarted deliveries", func() bool { return len(rc.accepted()) >= 3*3 })
		time.Sleep(100 * time.Millisecond)
		if got := rr.arrived("slow2"); got != 1 {
			t.Errorf("slow2's delivery sent %d times while its first attempt is in flight", got)
		}
		releaseRole("slow2")
		got := rc.waitAccepted(t, 4*3)
		waitFor(t, "the results to be stored", func() bool {
			info := webhookState(t, e, "status")
			return info.Pending+info.Waiting+info.Held == 0
		})
		time.Sleep(100 * time.Millisecond)
		got = rc.accepted()
		seqs := make(map[string][]int)
		seen := make(map[string]bool)
		for _, r := range got {
			if !r.SignatureOK || seen[r.ID] {
				t.Errorf("delivery %s: signature %v, accepted before %v", r.ID, r.SignatureOK, seen[r.ID])
			}
			seen[r.ID] = true
			seqs[r.Envelope.Data.Action.ID] = append(seqs[r.Envelope.Data.Action.ID], r.Envelope.Sequence)
		}
		for role, id := range ids {
			if !slices.Equal(seqs[id], []int{1, 2, 3}) {
				t.Errorf("%s: sequences %v, want 1 2 3", role, seqs[id])
			}
		}
		if info := webhookState(t, e, "status"); info.State != webhook.StateActive {
			t.Errorf("after the restart: %+v", info)
		}
	})
}

// deliveryOf is a delivery's status, as findDelivery reads it.
type deliveryOf struct {
	Status webhook.DeliveryStatus
}

// findDelivery is the status of the delivery of an action's event of a
// sequence to the webhook "status" ("" while there is none).
func findDelivery(t *testing.T, e *Engine, actionID string, sequence int) *deliveryOf {
	t.Helper()
	list, err := e.Deliveries(context.Background(), "status", DeliveryFilter{})
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range list {
		if d.ActionID == actionID && d.Sequence == sequence {
			return &deliveryOf{Status: d.Status}
		}
	}
	return &deliveryOf{}
}
