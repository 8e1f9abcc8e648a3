package webhook

// State is the state of a webhook, with 1NCE's names.
type State string

// The states of a webhook.
const (
	// StateNew: created, or its URL changed, and nothing delivered to it since.
	StateNew State = "INTEGRATION_NEW"
	// StateActive: its last attempt, or its last test, succeeded.
	StateActive State = "INTEGRATION_ACTIVE"
	// StateFailed: too many consecutive attempts failed; its deliveries
	// are held until it is restarted.
	StateFailed State = "INTEGRATION_FAILED"
	// StateDeactivated: switched off by its owner; it gets no deliveries.
	StateDeactivated State = "INTEGRATION_DEACTIVATED"
)

// DeliveryStatus is the state of one delivery of an event to a webhook.
type DeliveryStatus string

// The states of a delivery.
const (
	// DeliveryPending: to be attempted now or, after a failure, at its
	// next attempt time.
	DeliveryPending DeliveryStatus = "pending"
	// DeliveryWaiting: behind an earlier delivery of the same action to
	// the same webhook; it becomes pending when that one ends.
	DeliveryWaiting DeliveryStatus = "waiting"
	// DeliveryHeld: kept, not attempted, while its webhook is failed (or
	// no longer configured); a restart sends it.
	DeliveryHeld DeliveryStatus = "held"
	// DeliverySucceeded: answered with a 2xx status.
	DeliverySucceeded DeliveryStatus = "succeeded"
	// DeliveryFailed: given up: its when or body expression failed, or
	// every attempt of the retry schedule failed.
	DeliveryFailed DeliveryStatus = "failed"
)

// Open reports whether a delivery in status s may still be attempted.
func (s DeliveryStatus) Open() bool {
	return s == DeliveryPending || s == DeliveryWaiting || s == DeliveryHeld
}
