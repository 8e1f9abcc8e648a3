package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// binary is the Caddy binary built from this package for the tests that
// run it as a user does: as a process that can be killed.
var binary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "hookgate-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binary = filepath.Join(dir, "caddy")
	build := exec.Command("go", "build", "-o", binary, ".")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "building caddy:", err)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// freePort is a TCP port on 127.0.0.1 that nothing listens on.
func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// caddyProcess is a running Caddy binary.
type caddyProcess struct {
	t    *testing.T
	name string
	cmd  *exec.Cmd
	base string // http://127.0.0.1:<port>
	done chan struct{}
}

// startCaddy runs the binary on a Caddyfile whose {PORT} is replaced
// with a free port, with a home of its own under dir, and waits until it
// answers. The process is killed when the test ends.
func startCaddy(t *testing.T, name, dir, caddyfile string) *caddyProcess {
	t.Helper()
	port := freePort(t)
	home := filepath.Join(dir, name)
	if err := os.MkdirAll(home, 0o755); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(home, "Caddyfile")
	if err := os.WriteFile(file, []byte(strings.ReplaceAll(caddyfile, "{PORT}", strconv.Itoa(port))), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(binary, "run", "--config", file, "--adapter", "caddyfile")
	cmd.Env = append(os.Environ(), "HOME="+home, "XDG_DATA_HOME="+home, "XDG_CONFIG_HOME="+home)
	logs, err := os.Create(filepath.Join(home, "caddy.log"))
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = logs, logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &caddyProcess{t: t, name: name, cmd: cmd, base: fmt.Sprintf("http://127.0.0.1:%d", port), done: make(chan struct{})}
	go func() { cmd.Wait(); logs.Close(); close(p.done) }()
	t.Cleanup(func() {
		p.kill()
		if t.Failed() {
			p.dumpLog(filepath.Join(home, "caddy.log"))
		}
	})
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get(p.base + "/ready")
		if err == nil {
			resp.Body.Close()
			return p
		}
		select {
		case <-p.done:
			p.dumpLog(filepath.Join(home, "caddy.log"))
			t.Fatalf("caddy %s exited at start", name)
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("caddy %s does not answer on %s", name, p.base)
		}
	}
}

// dumpLog prints the end of the process's log, to see why a test failed.
func (p *caddyProcess) dumpLog(file string) {
	b, _ := os.ReadFile(file)
	if len(b) > 8000 {
		b = b[len(b)-8000:]
	}
	p.t.Logf("caddy %s log (end):\n%s", p.name, b)
}

// kill kills the process with SIGKILL, as a crash or an OOM killer does,
// and waits for it to be gone.
func (p *caddyProcess) kill() {
	p.cmd.Process.Signal(syscall.SIGKILL)
	<-p.done
}

// stop stops the process gracefully (SIGTERM), which lets running
// actions finish, and waits for it to exit.
func (p *caddyProcess) stop() {
	p.t.Helper()
	p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(90 * time.Second):
		p.t.Fatalf("caddy %s did not stop", p.name)
	}
}

// hookClient sends hooks without keeping connections across a killed
// process.
var hookClient = &http.Client{Timeout: 30 * time.Second}

// sendHook posts a hook to /hook; it returns the action id of a 202
// answer, or "" with the error or unexpected answer.
func sendHook(base string, n int) (string, error) {
	return sendHookTo(base+"/hook", n)
}

// accepted collects the action ids answered 202.
type accepted struct {
	mu  sync.Mutex
	ids []string
}

func (a *accepted) add(id string) int {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.ids = append(a.ids, id)
	return len(a.ids)
}

func (a *accepted) list() []string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]string(nil), a.ids...)
}

// metric reads one sample from the process's metrics endpoint, or -1.
func (p *caddyProcess) metric(sample string) float64 {
	resp, err := http.Get(p.base + "/metrics")
	if err != nil {
		return -1
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		if rest, ok := bytes.CutPrefix(sc.Bytes(), []byte(sample+" ")); ok {
			v, err := strconv.ParseFloat(string(rest), 64)
			if err == nil {
				return v
			}
		}
	}
	return -1
}

// waitUntil polls cond every 100ms until it holds, or fails the test
// after limit.
func waitUntil(t *testing.T, limit time.Duration, what string, cond func() bool) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), limit)
	defer cancel()
	for !cond() {
		select {
		case <-ctx.Done():
			t.Fatalf("timed out after %s waiting for %s", limit, what)
		case <-time.After(100 * time.Millisecond):
		}
	}
}
