// Package store keeps actions and their step results, on SQLite (one
// instance, a file) or PostgreSQL (several instances). Both backends run
// the same SQL behind one Store interface; opening one applies River's
// migrations and hookgate's own, so that the job queue and the actions
// live in one database and can be written in one transaction.
package store
