package webhook

import (
	"math/rand/v2"
	"time"
)

// Defaults of delivery.
const (
	// DefaultTimeout bounds one attempt, from dialing to the end of the answer.
	DefaultTimeout = 15 * time.Second
	// DefaultFailAfter is how many consecutive unsuccessful attempts make
	// a webhook failed.
	DefaultFailAfter = 5
)

// DefaultSchedule is the time before each retry: after the first failed
// attempt 5s, then 5m, 30m, 2h, 5h and 10h; then the delivery is given up.
var DefaultSchedule = []time.Duration{5 * time.Second, 5 * time.Minute, 30 * time.Minute, 2 * time.Hour, 5 * time.Hour, 10 * time.Hour}

// Policy says how deliveries are attempted.
type Policy struct {
	// Schedule is the time before each retry, the first after the first
	// failed attempt; a delivery is given up after its last retry fails.
	// Each wait is jittered by up to ±10%. Default: DefaultSchedule.
	Schedule []time.Duration
	// FailAfter is how many consecutive unsuccessful attempts set a
	// webhook failed. Default: 5.
	FailAfter int
	// Timeout bounds one attempt. Default: 15s.
	Timeout time.Duration
}

// WithDefaults is p with its zero fields set to the defaults.
func (p Policy) WithDefaults() Policy {
	if len(p.Schedule) == 0 {
		p.Schedule = DefaultSchedule
	}
	if p.FailAfter <= 0 {
		p.FailAfter = DefaultFailAfter
	}
	if p.Timeout <= 0 {
		p.Timeout = DefaultTimeout
	}
	return p
}

// maxRetryAfter is the longest Retry-After honoured.
const maxRetryAfter = 10 * time.Hour

// Retry is the wait before the next attempt of a delivery whose attempts
// so far (failed, at least 1) all failed, the last answered with a
// Retry-After of retryAfter (0 when absent). The schedule's wait is
// jittered by ±10%; a longer Retry-After is honoured, up to 10 hours. It
// reports false when the schedule is exhausted.
func (p Policy) Retry(failed int, retryAfter time.Duration) (time.Duration, bool) {
	if failed < 1 || failed > len(p.Schedule) {
		return 0, false
	}
	d := p.Schedule[failed-1]
	d += time.Duration((rand.Float64()*0.2 - 0.1) * float64(d))
	return max(d, min(retryAfter, maxRetryAfter)), true
}
