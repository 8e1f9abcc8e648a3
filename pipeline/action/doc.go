// Package action holds what a pipeline is and what one run of it, an
// action, does: the pipeline configuration and its compiled plan, the
// action's states and reasons, and the steps that run commands (without a
// shell, in their own process group) and call HTTP endpoints. It knows
// nothing of Caddy, of storage or of the job queue.
package action
