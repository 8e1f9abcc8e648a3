package action

import "time"

// Status is the state of an action: queued → running → succeeded, failed
// or cancelled.
type Status string

// The states of an action.
const (
	// StatusQueued: stored, waiting for a worker.
	StatusQueued Status = "queued"
	// StatusRunning: its steps are running.
	StatusRunning Status = "running"
	// StatusSucceeded: every step succeeded or was skipped.
	StatusSucceeded Status = "succeeded"
	// StatusFailed: a step failed, or the action timed out or was
	// interrupted; Reason says which.
	StatusFailed Status = "failed"
	// StatusCancelled: cancelled through the API, before or while running.
	StatusCancelled Status = "cancelled"
)

// Statuses lists every status, in the order an action goes through them.
var Statuses = []Status{StatusQueued, StatusRunning, StatusSucceeded, StatusFailed, StatusCancelled}

// Finished reports whether s is a final state.
func (s Status) Finished() bool {
	return s == StatusSucceeded || s == StatusFailed || s == StatusCancelled
}

// Valid reports whether s is one of the known states.
func (s Status) Valid() bool {
	switch s {
	case StatusQueued, StatusRunning, StatusSucceeded, StatusFailed, StatusCancelled:
		return true
	}
	return false
}

// Reason says why an action ended as it did. It is empty for an action
// that succeeded or has not ended.
type Reason string

// The reasons an action ends without succeeding.
const (
	// ReasonTimeout: the action or one of its steps ran out of time; its
	// process group was killed.
	ReasonTimeout Reason = "timeout"
	// ReasonExitStatus: a command exited with a status other than 0.
	ReasonExitStatus Reason = "exit_status"
	// ReasonExecNotFound: a command does not exist or is not executable.
	ReasonExecNotFound Reason = "exec_not_found"
	// ReasonExecError: a command could not be started for another reason.
	ReasonExecError Reason = "exec_error"
	// ReasonHTTPStatus: an HTTP step was answered with a status other than 2xx.
	ReasonHTTPStatus Reason = "http_status"
	// ReasonHTTPError: an HTTP step got no answer (connection refused, DNS, TLS...).
	ReasonHTTPError Reason = "http_error"
	// ReasonExpression: a step's when or body expression failed to evaluate.
	ReasonExpression Reason = "expression_error"
	// ReasonInterrupted: the action was running when its instance stopped
	// or died; its process was killed with it.
	ReasonInterrupted Reason = "interrupted"
	// ReasonCancelled: the action was cancelled through the API.
	ReasonCancelled Reason = "cancelled"
	// ReasonUnknownPipeline: the action's pipeline is no longer configured.
	ReasonUnknownPipeline Reason = "unknown_pipeline"
)

// Action is one run of a pipeline, as stored and as shown by the API.
type Action struct {
	// ID is unique across instances and sorts by creation time.
	ID string `json:"id"`
	// Pipeline is the name of the pipeline the action runs.
	Pipeline string `json:"pipeline"`
	// Hook is the name of the hook (or API caller) that triggered it.
	Hook string `json:"hook"`
	// Status is the action's current state.
	Status Status `json:"status"`
	// Reason says why a failed or cancelled action ended; empty otherwise.
	Reason Reason `json:"reason,omitempty"`
	// Detail is a human-readable explanation of Reason.
	Detail string `json:"detail,omitempty"`
	// Variables are the hook's variables the action runs with.
	Variables map[string]any `json:"variables"`
	// DeliveryID is the provider's delivery id, used to drop redeliveries.
	DeliveryID string `json:"delivery_id,omitempty"`
	// RemoteIP is the address the triggering hook came from.
	RemoteIP string `json:"remote_ip,omitempty"`
	// CreatedAt is when the action was accepted and stored.
	CreatedAt time.Time `json:"created_at"`
	// StartedAt is when it started running; nil while queued.
	StartedAt *time.Time `json:"started_at"`
	// FinishedAt is when it ended; nil until then.
	FinishedAt *time.Time `json:"finished_at"`
	// Steps are the results of the steps that ran (or were skipped), in order.
	Steps []StepResult `json:"steps"`
	// Payload is the incoming hook's body, kept for outgoing webhooks; it
	// is not part of the action's JSON.
	Payload []byte `json:"-"`
}

// StepStatus is the outcome of one step.
type StepStatus string

// The outcomes of a step.
const (
	// StepSucceeded: the command exited 0, or the endpoint answered 2xx.
	StepSucceeded StepStatus = "succeeded"
	// StepFailed: the step failed and ended the action.
	StepFailed StepStatus = "failed"
	// StepSkipped: the step's when was false.
	StepSkipped StepStatus = "skipped"
)

// StepResult is what one step of an action did.
type StepResult struct {
	// Name is the step's name.
	Name string `json:"name"`
	// Kind is exec or http.
	Kind Kind `json:"kind"`
	// Status is the step's outcome.
	Status StepStatus `json:"status"`
	// ExitCode is the command's exit code (exec steps that ran; -1 when
	// killed by a signal).
	ExitCode *int `json:"exit_code,omitempty"`
	// HTTPStatus is the answer's status code (http steps that got one).
	HTTPStatus *int `json:"http_status,omitempty"`
	// DurationMS is how long the step took, in milliseconds.
	DurationMS int64 `json:"duration_ms"`
	// Output is the first 64 KiB of the command's stdout and stderr, or of
	// the HTTP answer's body.
	Output string `json:"output"`
	// OutputTruncated is set when Output was cut at 64 KiB.
	OutputTruncated bool `json:"output_truncated,omitempty"`
	// Error explains a failure; empty when the step succeeded.
	Error string `json:"error,omitempty"`
}

// Outcome is how an action ended.
type Outcome struct {
	// Status is succeeded, failed or cancelled.
	Status Status
	// Reason says why it did not succeed.
	Reason Reason
	// Detail explains Reason.
	Detail string
}
