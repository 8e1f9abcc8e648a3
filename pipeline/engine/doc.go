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
// set: at once after a change of its own; on PostgreSQL, at once after
// another instance's too, as the change's commit notifies every instance
// (LISTEN/NOTIFY). No event waits for that: the transaction that records
// an event reads the revision and recompiles the set when it is behind,
// and a delivery carries the revision it was recorded at, so that the
// instance that attempts it reloads an older set first. A poll (every
// second) stays as the backstop. Reads of hooks and webhooks go to the
// store, and show every instance's changes at once.
//
// Leases (PostgreSQL). Each instance holds a lease in the database,
// renewed every fifth of its duration (StorageConfig.Lease, 15 s by
// default) and compared on the database's clock only. Every action is
// claimed under the lease of the instance that runs it. Every fifth of
// the lease, one instance at a time (an advisory lock) hands out again the
// River jobs last attempted under an expired lease, as River's rescuer
// would, and every instance ends the actions running under an expired
// lease failed with reason interrupted: the work of a dead instance is
// taken over within about 1.2 leases, whatever the pipelines' timeouts.
// Fencing: an instance that has not renewed its lease for half of it
// (the database is slow or cut, or the process was stopped) or finds it
// expired kills its steps' process groups and claims nothing until it
// holds a new lease; its late step results and outcomes are refused for
// actions taken over meanwhile, so a stalled instance that wakes up
// never overwrites them.
//
// Interrupted actions. An action whose process was killed with its
// instance (kill -9, a crash, a stop that could not wait) is failed with
// reason interrupted, never run twice and never left running:
//
//   - On SQLite, one process holds the database (a lock file enforces
//     it), so every action still running when it opens belonged to a dead
//     process: Open fails them at once.
//   - On PostgreSQL, the take-over above ends them within about 1.2
//     leases.
//   - On both backends, River hands a job out again only after its attempt
//     ended without completing, after its rescuer found it running longer
//     than the job's timeout (the pipeline's, plus a grace), or after a
//     take-over. A worker that is handed an action already running takes
//     it over only if the lease it runs under is no longer live (there is
//     none on SQLite), and fails it as interrupted instead of running it
//     again; otherwise the action runs elsewhere and the job ends.
package engine
