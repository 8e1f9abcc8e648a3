package engine

import (
	"context"
	"errors"
	"io"
	"net"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/hookgate/hookgate/pipeline/action"
)

// proxy forwards TCP connections from 127.0.0.1 to a target until closed,
// so that a test can take the database away from an engine.
type proxy struct {
	ln    net.Listener
	mu    sync.Mutex
	conns []net.Conn
}

// newProxy starts a proxy to target.
func newProxy(t *testing.T, target string) *proxy {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &proxy{ln: ln}
	t.Cleanup(p.close)
	go func() {
		for {
			in, err := ln.Accept()
			if err != nil {
				return
			}
			out, err := net.Dial("tcp", target)
			if err != nil {
				in.Close()
				continue
			}
			p.mu.Lock()
			p.conns = append(p.conns, in, out)
			p.mu.Unlock()
			go func() { io.Copy(out, in); out.Close() }()
			go func() { io.Copy(in, out); in.Close() }()
		}
	}()
	return p
}

// close stops the proxy and cuts its connections.
func (p *proxy) close() {
	p.ln.Close()
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range p.conns {
		c.Close()
	}
}

// TestDatabaseLost takes PostgreSQL away from a running engine: Trigger
// fails with ErrUnavailable, and nothing is half-written.
func TestDatabaseLost(t *testing.T) {
	dsn := backends[1].config(t).DSN
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatal(err)
	}
	p := newProxy(t, u.Host)
	u.Host = p.ln.Addr().String()
	e := open(t, StorageConfig{Driver: "postgres", DSN: u.String()}, false,
		action.Pipeline{Name: "deploy", Steps: []action.Step{helperStep("ok", "args")}})
	trigger(t, e, "deploy", nil)

	p.close()
	ctx, cancel := context.WithTimeout(context.Background(), deadline)
	defer cancel()
	_, err = e.Trigger(ctx, Trigger{Pipeline: "deploy", Hook: "test", DeliveryID: "lost"})
	if !errors.Is(err, ErrUnavailable) {
		t.Fatalf("Trigger without a database: %v, want ErrUnavailable", err)
	}

	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var actions, jobs int
	if err := conn.QueryRow(ctx, `SELECT (SELECT count(*) FROM hookgate_action), (SELECT count(*) FROM river_job WHERE kind = 'hookgate_action')`).Scan(&actions, &jobs); err != nil {
		t.Fatal(err)
	}
	if actions != 1 || jobs != 1 {
		t.Errorf("%d actions and %d jobs stored, want 1 and 1", actions, jobs)
	}
	stopCtx, stop := context.WithTimeout(context.Background(), 5*time.Second)
	defer stop()
	e.Stop(stopCtx)
}
