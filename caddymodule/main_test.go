package caddymodule

import (
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/hookgate/hookgate/caddymodule/internal/hooktest"
)

// TestMain keeps Caddy's data and config out of the home directory, and
// has caddytest load every config on a connection of its own.
func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "hookgate-test-")
	if err != nil {
		panic(err)
	}
	os.Setenv("XDG_DATA_HOME", filepath.Join(dir, "data"))
	os.Setenv("XDG_CONFIG_HOME", filepath.Join(dir, "config"))
	hooktest.FreshAdminConnections()
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// serverOptions are the global options every caddytest config of this
// package starts with: its admin address and ports (see TestMain), and no
// trust store or grace period to wait for.
const serverOptions = `	admin localhost:2999
	skip_install_trust
	grace_period 1ns
	http_port 9080
	https_port 9443
`

// globalOptions is the whole global options block of a config that needs
// nothing more of the hookgate app.
const globalOptions = `{
` + serverOptions + `	hookgate
}
`

// upstream is a real HTTP server standing in for the app behind Caddy.
// It records every request it gets.
type upstream struct {
	*httptest.Server
	mu       sync.Mutex
	requests []recorded
}

// recorded is one request the upstream got.
type recorded struct {
	header http.Header
	body   []byte
}

func newUpstream(t testing.TB) *upstream {
	u := &upstream{}
	u.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		u.mu.Lock()
		u.requests = append(u.requests, recorded{header: r.Header.Clone(), body: body})
		u.mu.Unlock()
		w.Write([]byte("upstream"))
	}))
	t.Cleanup(u.Close)
	return u
}

// hostPort is the upstream's address for reverse_proxy.
func (u *upstream) hostPort() string { return strings.TrimPrefix(u.URL, "http://") }

// last returns the last request the upstream got, or fails.
func (u *upstream) last(t testing.TB) recorded {
	t.Helper()
	u.mu.Lock()
	defer u.mu.Unlock()
	if len(u.requests) == 0 {
		t.Fatal("the upstream got no request")
	}
	return u.requests[len(u.requests)-1]
}

// count is how many requests the upstream got.
func (u *upstream) count() int {
	u.mu.Lock()
	defer u.mu.Unlock()
	return len(u.requests)
}
