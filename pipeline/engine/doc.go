// Package engine runs pipelines: it accepts triggers durably (the action
// and its job are stored in one transaction before Trigger returns), runs
// actions on River workers, one River queue per pipeline, and answers for
// them: wait, cancel, list, stats. It works on SQLite (one instance) and
// PostgreSQL (several instances sharing the work) and knows nothing of
// Caddy.
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
