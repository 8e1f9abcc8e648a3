package store

import (
	"context"
	"database/sql"
	"sync"
)

// maxStatements bounds how many statements a stmtCache keeps prepared;
// those met after it is full are parsed each time they run.
const maxStatements = 256

// stmtCache keeps SQLite statements prepared, so that one run again is not
// parsed again: for most of ours, parsing costs more than running. SQLite
// has a single connection here, so a statement can be prepared only while
// no transaction holds it: one first met in a transaction runs unprepared
// there and is prepared once the transaction has ended.
type stmtCache struct {
	pool   *sql.DB
	mu     sync.Mutex
	stmts  map[string]*sql.Stmt
	wanted map[string]bool
}

// newStmtCache makes an empty cache of the statements of pool.
func newStmtCache(pool *sql.DB) *stmtCache {
	return &stmtCache{pool: pool, stmts: make(map[string]*sql.Stmt), wanted: make(map[string]bool)}
}

// lookup returns the prepared statement of query, or nil, in which case
// query is prepared after the current transaction.
func (c *stmtCache) lookup(query string) *sql.Stmt {
	c.mu.Lock()
	defer c.mu.Unlock()
	s := c.stmts[query]
	if s == nil && len(c.stmts)+len(c.wanted) < maxStatements {
		c.wanted[query] = true
	}
	return s
}

// prepare returns the prepared statement of query, preparing it now when
// it is not, or nil when that fails or the cache is full: the query then
// runs unprepared, and reports its own error. The connection must be free.
func (c *stmtCache) prepare(ctx context.Context, query string) *sql.Stmt {
	if s := c.lookup(query); s != nil {
		return s
	}
	c.prepareWanted(ctx)
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.stmts[query]
}

// prepareWanted prepares the statements met in transactions. The
// connection must be free; the cache is not locked meanwhile, as a
// transaction may have the connection and look up statements.
func (c *stmtCache) prepareWanted(ctx context.Context) {
	c.mu.Lock()
	queries := make([]string, 0, len(c.wanted))
	for query := range c.wanted {
		queries = append(queries, query)
	}
	clear(c.wanted)
	c.mu.Unlock()
	for _, query := range queries {
		s, err := c.pool.PrepareContext(ctx, query)
		if err != nil {
			continue
		}
		c.mu.Lock()
		if c.stmts[query] == nil {
			c.stmts[query], s = s, nil
		}
		c.mu.Unlock()
		if s != nil {
			s.Close()
		}
	}
}

// close closes the prepared statements.
func (c *stmtCache) close() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for query, s := range c.stmts {
		s.Close()
		delete(c.stmts, query)
	}
}
