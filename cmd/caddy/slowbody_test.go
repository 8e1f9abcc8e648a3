package main

import (
	"bufio"
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// slowBodyCaddyfile is a gateway with a GitHub hook that passes on to a
// respond handler, with hookgate's defaults except the read timeout
// (short, so that the test is) and MAXBUFFERED.
const slowBodyCaddyfile = `{
	admin off
	hookgate {
		storage sqlite DIR/hookgate.db
		MAXBUFFERED
	}
}
http://127.0.0.1:{PORT} {
	handle /hook {
		hookgate slow {
			signature github
			secret ` + slowSecret + `
			read_timeout 3s
		}
		respond "passed"
	}
	handle {
		respond "ready"
	}
}
`

const slowSecret = "slow-body-secret"

// declared is what every slow client announces: GitHub's cap, 25 MiB.
const declared = 25 << 20

// slowClient opens a connection and sends the headers of a hook that
// announces a 25 MiB body, and first the bytes of prefix.
func slowClient(t *testing.T, base string, prefix []byte) net.Conn {
	t.Helper()
	conn, err := net.Dial("tcp", strings.TrimPrefix(base, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	fmt.Fprintf(conn, "POST /hook HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"+
		"X-Hub-Signature-256: sha256=00\r\nContent-Length: %d\r\n\r\n", declared)
	if _, err := conn.Write(prefix); err != nil {
		t.Fatal(err)
	}
	return conn
}

// signedHook posts a small signed hook and answers its status.
func signedHook(base string, n int) (int, error) {
	body := []byte(fmt.Sprintf(`{"n": %d}`, n))
	mac := hmac.New(sha256.New, []byte(slowSecret))
	mac.Write(body)
	req, _ := http.NewRequest(http.MethodPost, base+"/hook", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Hub-Signature-256", "sha256="+hex.EncodeToString(mac.Sum(nil)))
	resp, err := hookClient.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	io.Copy(io.Discard, resp.Body)
	return resp.StatusCode, nil
}

// rssMB is the process's resident memory, from /proc/<pid>/status.
func rssMB(t *testing.T, pid int) float64 {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Skipf("no /proc to measure memory: %v", err)
	}
	for line := range strings.SplitSeq(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, _ := strconv.Atoi(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")))
			return float64(kb) / 1024
		}
	}
	t.Fatal("no VmRSS in /proc status")
	return 0
}

// TestSlowBodiesKeepMemoryFlat: 100 connections each announce a 25 MiB
// body and trickle a byte every 100 ms. Memory stays under 150 MB (it
// grew to 2.4 GB when buffers were sized by Content-Length), signed hooks
// keep being answered meanwhile, and each slow body is answered 408 once
// the read timeout (3s here) passes.
func TestSlowBodiesKeepMemoryFlat(t *testing.T) {
	const (
		conns    = 100
		limitMB  = 150
		trickle  = 100 * time.Millisecond
		duration = 4 * time.Second
	)
	dir := t.TempDir()
	caddyfile := strings.NewReplacer("DIR", dir, "MAXBUFFERED", "").Replace(slowBodyCaddyfile)
	p := startCaddy(t, "slow", dir, caddyfile)
	pid := p.cmd.Process.Pid
	before := rssMB(t, pid)

	slow := make([]net.Conn, conns)
	for i := range slow {
		slow[i] = slowClient(t, p.base, []byte("{"))
	}
	answers := make(chan string, conns)
	for _, c := range slow {
		go func() {
			resp, err := http.ReadResponse(bufio.NewReader(c), nil)
			if err != nil {
				answers <- err.Error()
				return
			}
			resp.Body.Close()
			answers <- resp.Status
		}()
	}
	var wg sync.WaitGroup
	wg.Go(func() {
		for end := time.Now().Add(duration); time.Now().Before(end); time.Sleep(trickle) {
			for _, c := range slow {
				c.SetWriteDeadline(time.Now().Add(time.Second))
				c.Write([]byte(" "))
			}
		}
	})
	peak, hooks := before, 0
	for end := time.Now().Add(duration); time.Now().Before(end); time.Sleep(50 * time.Millisecond) {
		status, err := signedHook(p.base, hooks)
		if err != nil || status != http.StatusOK {
			t.Fatalf("signed hook %d while bodies trickle: %d %v", hooks, status, err)
		}
		hooks++
		peak = max(peak, rssMB(t, pid))
	}
	wg.Wait()
	t.Logf("RSS %.1f MB before, peak %.1f MB with %d connections trickling 25 MiB bodies for %s; %d signed hooks answered meanwhile",
		before, peak, conns, duration, hooks)
	if peak > limitMB {
		t.Errorf("RSS peaked at %.1f MB, want under %d MB", peak, limitMB)
	}
	timedOut := 0
	for range conns {
		select {
		case a := <-answers:
			if strings.HasPrefix(a, "408") {
				timedOut++
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("%d slow bodies answered 408, the others not at all", timedOut)
		}
	}
	if timedOut != conns {
		t.Errorf("%d of %d slow bodies answered 408", timedOut, conns)
	}
}

// TestBufferedBytesCapped: with max_buffered 1MiB, two bodies of 300 KB
// that stall hold the budget (their buffers have grown to 512 KiB each),
// so a new hook is answered 503 with Retry-After; once those connections
// close their buffers are given back and hooks are answered again.
func TestBufferedBytesCapped(t *testing.T) {
	dir := t.TempDir()
	caddyfile := strings.NewReplacer("DIR", dir, "MAXBUFFERED", "max_buffered 1MiB").Replace(slowBodyCaddyfile)
	p := startCaddy(t, "capped", dir, caddyfile)

	var stalled []net.Conn
	for range 2 {
		stalled = append(stalled, slowClient(t, p.base, bytes.Repeat([]byte(" "), 300<<10)))
	}
	var status int
	var retryAfter string
	waitUntil(t, 5*time.Second, "a hook answered 503 while a stalled body holds the buffers", func() bool {
		req, _ := http.NewRequest(http.MethodPost, p.base+"/hook", strings.NewReader(`{"n": 1}`))
		resp, err := hookClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		status, retryAfter = resp.StatusCode, resp.Header.Get("Retry-After")
		return status == http.StatusServiceUnavailable
	})
	if retryAfter == "" {
		t.Errorf("503 without Retry-After")
	}
	for _, c := range stalled {
		c.Close()
	}
	waitUntil(t, 5*time.Second, "a signed hook answered once the stalled body is gone", func() bool {
		status, err := signedHook(p.base, 2)
		return err == nil && status == http.StatusOK
	})
}
