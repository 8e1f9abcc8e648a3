// Package engine runs pipelines: it accepts triggers durably (the action
// and its job are stored in one transaction before Trigger returns), keeps
// the hooks of relay hooks (Relay: the hook.received event and its
// deliveries in one transaction, shared with triggers by group commit),
// routes each event to the webhooks whose scope and condition let it
// through, re-attempts the held deliveries of failed webhooks that have a
// recovery interval, runs
// actions on River workers, one River queue per pipeline, and answers for
// them: wait, cancel, list, stats. It works on SQLite (one instance) and
// PostgreSQL (several instances sharing the work) and knows nothing of
// Caddy.
//
// Changes through the management API. Incoming hooks and outgoing
// webhooks created through the API are kept in the store, and every
// change of them counts in a revision, in its transaction. Each instance
// compiles the API's webhooks with the configured ones into its current
// set: at once after a change of its own, and after another instance's
// when its poll (every second) finds a new revision, or when a delivery
// names a webhook it does not have. Reads of hooks and webhooks go to the
// store, and show every instance's changes at once.
//
// Interrupted actions. An action whose process was killed with its
// instance (kill -9, a crash, a stop that could not wait) is failed with
// reason interrupted, never run twice and never left running:
//
//   - On SQLite, one process holds the database (a lock file enforces
//     it), so every action still running when it opens belonged to a dead
//     process: Open fails them at once.
//   - On both backends, River hands a job out again only after its attempt
//     ended without completing, or after its rescuer found it running
//     longer than the job's timeout (the pipeline's, plus a grace). A live
//     worker always ends its action before that timeout, so a worker that
//     is handed an action already running knows the run before it died:
//     it fails the action as interrupted instead of running it again. On
//     PostgreSQL this is how the actions of a dead instance end, without
//     any instance touching the actions of another live one.
package engine
