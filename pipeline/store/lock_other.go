//go:build !unix

package store

// lockFile does nothing where flock does not exist: keeping to one
// process per SQLite database is then the operator's business.
func lockFile(string) (func(), error) { return func() {}, nil }
