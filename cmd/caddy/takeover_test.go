package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/hookgate/hookgate/pipeline/store/storetest"
)

// takeoverCaddyfile is one of three instances on one PostgreSQL database
// with a short lease (LEASE): long runs actions of ten minutes, work
// short ones. Each step appends "<action id> <instance>" to ran.log and
// the PID of what it runs to pids, so that the test can tell who ran
// what and kill what a killed instance left behind.
const takeoverCaddyfile = `{
	admin off
	hookgate {
		storage postgres "DSN"
		lease LEASE
		allow_targets 127.0.0.0/8
		pipeline long {
			concurrency 2
			timeout 10m
			env INSTANCE NAME
			step sleep exec /bin/sh -c "echo $1 $INSTANCE >> DIR/ran.log; echo $$ >> DIR/pids; exec sleep 600" sh {action.id}
		}
		pipeline work {
			concurrency 2
			timeout 10m
			env INSTANCE NAME
			step record exec /bin/sh -c "echo $1 $INSTANCE >> DIR/ran.log; sleep 0.05" sh {action.id}
		}
		webhook status {
			url RECEIVER/events
			events action.succeeded
		}
	}
}
http://127.0.0.1:{PORT} {
	handle /hook/long {
		hookgate long {
			insecure_no_signature
			var n n int required
			pipeline long
		}
	}
	handle /hook/work {
		hookgate work {
			insecure_no_signature
			var n n int required
			pipeline work
		}
	}
	handle_path /api/* {
		hookgate_api {
			token test-admin-token write
		}
	}
	handle /metrics {
		metrics
	}
	handle {
		respond "ready"
	}
}
`

// deliveredActions counts the action.succeeded events a receiver got, by
// action id.
type deliveredActions struct {
	*httptest.Server
	mu sync.Mutex
	n  map[string]int
}

func newDeliveredActions(t *testing.T) *deliveredActions {
	d := &deliveredActions{n: make(map[string]int)}
	d.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var ev struct {
			Data struct {
				Action struct {
					ID string `json:"id"`
				} `json:"action"`
			} `json:"data"`
		}
		body, _ := io.ReadAll(r.Body)
		json.Unmarshal(body, &ev)
		d.mu.Lock()
		d.n[ev.Data.Action.ID]++
		d.mu.Unlock()
	}))
	t.Cleanup(d.Close)
	return d
}

func (d *deliveredActions) count(id string) int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.n[id]
}

// runs reads ran.log: for each action, the instances that ran it.
func runs(t *testing.T, dir string) map[string][]string {
	t.Helper()
	b, _ := os.ReadFile(filepath.Join(dir, "ran.log"))
	m := make(map[string][]string)
	for line := range strings.Lines(string(b)) {
		if f := strings.Fields(line); len(f) == 2 {
			m[f[0]] = append(m[f[0]], f[1])
		}
	}
	return m
}

// killLeftovers kills the steps that killed instances left running.
func killLeftovers(dir string) {
	b, _ := os.ReadFile(filepath.Join(dir, "pids"))
	for _, f := range strings.Fields(string(b)) {
		if pid, err := strconv.Atoi(f); err == nil && pid > 1 {
			syscall.Kill(pid, syscall.SIGKILL)
		}
	}
}

// actionState is the status, and reason, of an action read through p's
// API.
func actionState(t *testing.T, p *caddyProcess, id string) string {
	t.Helper()
	var a struct {
		Status string `json:"status"`
		Reason string `json:"reason"`
	}
	callAPI(t, p, "GET", "/actions/"+id, "", 200, &a)
	if a.Reason != "" {
		return a.Status + "/" + a.Reason
	}
	return a.Status
}

// startTakeoverInstance starts one instance of takeoverCaddyfile.
func startTakeoverInstance(t *testing.T, name, dir, dsn, receiver, lease string) *caddyProcess {
	t.Helper()
	return startCaddy(t, name, dir, strings.NewReplacer("DSN", dsn, "DIR", dir, "NAME", name,
		"RECEIVER", receiver, "LEASE", lease).Replace(takeoverCaddyfile))
}

// TestTakeOverWithinLease runs three Caddy processes on one PostgreSQL
// database, with a lease of 2 s. Long actions (ten minutes) run on all
// three while short ones pour in; one instance is killed (SIGKILL). Its
// running long actions end failed/interrupted, as another instance's API
// shows, long before their timeout (within 30 s, the target with the
// default lease), and run nowhere again; every accepted short action runs
// exactly once (or, if it was running on the dead instance, ends
// interrupted), and every success is delivered at least once. Then
// another instance is stopped (SIGSTOP) past its lease and continued:
// its actions, taken over meanwhile, keep the outcome the survivor gave
// them, and it runs new work again by itself.
func TestTakeOverWithinLease(t *testing.T) {
	const (
		long  = 6
		short = 60
	)
	dsn := freshDatabase(t)
	dir := t.TempDir()
	t.Cleanup(func() { killLeftovers(dir) })
	rcv := newDeliveredActions(t)
	procs := []*caddyProcess{
		startTakeoverInstance(t, "a", dir, dsn, rcv.URL, "2s"),
		startTakeoverInstance(t, "b", dir, dsn, rcv.URL, "2s"),
		startTakeoverInstance(t, "c", dir, dsn, rcv.URL, "2s"),
	}
	a, b, c := procs[0], procs[1], procs[2]

	var longIDs []string
	for i := range long {
		id, err := sendHookTo(procs[i%3].base+"/hook/long", i)
		if err != nil {
			t.Fatal(err)
		}
		longIDs = append(longIDs, id)
	}
	waitUntil(t, 60*time.Second, "every long action to run", func() bool { return len(runs(t, dir)) == long })
	ranOn := func(instance string, ids []string) []string {
		r := runs(t, dir)
		var on []string
		for _, id := range ids {
			if len(r[id]) > 0 && r[id][0] == instance {
				on = append(on, id)
			}
		}
		return on
	}
	onA := ranOn("a", longIDs)
	if len(onA) == 0 {
		t.Fatalf("no long action runs on a: %v", runs(t, dir))
	}
	seen := instances(t, c)
	running := 0
	for _, in := range seen {
		if !in.Live {
			t.Errorf("instance %+v not live", in)
		}
		running += len(in.Running)
	}
	if len(seen) != 3 || running != long {
		t.Fatalf("GET /instances: %+v; want 3 live instances running %d actions", seen, long)
	}
	if n := c.metric(`hookgate_instances{host="` + seen[0].Host + `",instance="` + seen[0].ID + `",state="live"}`); n != 1 {
		t.Errorf("hookgate_instances of %s = %v, want 1", seen[0].ID, n)
	}

	// Short actions pour in through all three; a is killed half-way.
	var ok accepted
	var next atomic.Int64
	var aDead atomic.Bool
	var killed time.Time
	var killA sync.Once
	var wg sync.WaitGroup
	for range 6 {
		wg.Go(func() {
			for n := int(next.Add(1)); n <= short; n = int(next.Add(1)) {
				target := procs[n%3]
				if target == a && aDead.Load() {
					target = b
				}
				id, err := sendHookTo(target.base+"/hook/work", n)
				if err != nil && target == a {
					id, err = sendHookTo(b.base+"/hook/work", n) // the balancer tries another one
				}
				if err != nil {
					t.Errorf("hook %d: %v", n, err)
					continue
				}
				if ok.add(id) == short/2 {
					killA.Do(func() { aDead.Store(true); a.kill(); killed = time.Now() })
				}
			}
		})
	}
	wg.Wait()
	if t.Failed() {
		return
	}

	waitUntil(t, 30*time.Second, "the dead instance's long actions to end interrupted, seen through b", func() bool {
		for _, id := range onA {
			if actionState(t, b, id) != "failed/interrupted" {
				return false
			}
		}
		return true
	})
	t.Logf("%d long actions of the killed instance ended interrupted %s after the kill", len(onA), time.Since(killed).Round(100*time.Millisecond))
	live := 0
	for _, in := range instances(t, b) {
		if in.Live {
			live++
		} else if len(in.Running) != 0 {
			t.Errorf("the dead instance still runs %+v", in.Running)
		}
	}
	if live != 2 {
		t.Errorf("%d live instances after the kill, want 2", live)
	}

	shortIDs := ok.list()
	waitUntil(t, 60*time.Second, "every short action to end", func() bool {
		for _, id := range shortIDs {
			if s := actionState(t, c, id); s == "queued" || s == "running" {
				return false
			}
		}
		return true
	})
	r := runs(t, dir)
	var succeeded []string
	for _, id := range shortIDs {
		state := actionState(t, c, id)
		switch {
		case state == "succeeded" && len(r[id]) == 1:
			succeeded = append(succeeded, id)
		case state == "failed/interrupted" && (len(r[id]) == 0 || len(r[id]) == 1 && r[id][0] == "a"):
		default:
			t.Errorf("short action %s ended %s after running on %v", id, state, r[id])
		}
	}
	for _, id := range longIDs {
		if len(r[id]) != 1 {
			t.Errorf("long action %s ran on %v", id, r[id])
		}
	}
	waitUntil(t, 60*time.Second, "every success to be delivered", func() bool {
		for _, id := range succeeded {
			if rcv.count(id) == 0 {
				return false
			}
		}
		return true
	})

	// b is stopped past its lease: c takes its long actions over; b,
	// continued, must leave their outcome alone and work again.
	onB := ranOn("b", longIDs)
	b.cmd.Process.Signal(syscall.SIGSTOP)
	stopped := time.Now()
	waitUntil(t, 30*time.Second, "the stopped instance's long actions to end interrupted, seen through c", func() bool {
		for _, id := range onB {
			if actionState(t, c, id) != "failed/interrupted" {
				return false
			}
		}
		return true
	})
	t.Logf("%d long actions of the stopped instance taken over %s after SIGSTOP", len(onB), time.Since(stopped).Round(100*time.Millisecond))
	b.cmd.Process.Signal(syscall.SIGCONT)
	var after []string
	for n := range 10 {
		id, err := sendHookTo(b.base+"/hook/work", short+1+n)
		if err != nil {
			t.Fatal(err)
		}
		after = append(after, id)
	}
	waitUntil(t, 30*time.Second, "the continued instance's new actions to succeed", func() bool {
		for _, id := range after {
			if actionState(t, b, id) != "succeeded" {
				return false
			}
		}
		return true
	})
	r = runs(t, dir)
	for _, id := range onB {
		if s := actionState(t, b, id); s != "failed/interrupted" || len(r[id]) != 1 {
			t.Errorf("long action %s of the stopped instance: %s after running on %v", id, s, r[id])
		}
	}
}

// instance is an instance as GET /instances shows it.
type instance struct {
	ID      string `json:"id"`
	Host    string `json:"host"`
	Live    bool   `json:"live"`
	Running []struct {
		ID string `json:"id"`
	} `json:"running"`
}

// instances lists the instances through p's API.
func instances(t *testing.T, p *caddyProcess) []instance {
	t.Helper()
	var pg struct {
		Items []instance `json:"items"`
	}
	callAPI(t, p, "GET", "/instances", "", 200, &pg)
	return pg.Items
}

// sendHookTo posts hook number n to url; it returns the action id of a
// 202 answer, or "" with the error or unexpected answer.
func sendHookTo(url string, n int) (string, error) {
	resp, err := hookClient.Post(url, "application/json", strings.NewReader(fmt.Sprintf(`{"n":%d}`, n)))
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	var queued struct {
		Status   string `json:"status"`
		ActionID string `json:"action_id"`
	}
	if resp.StatusCode != http.StatusAccepted || json.Unmarshal(body, &queued) != nil || queued.Status != "queued" || queued.ActionID == "" {
		return "", fmt.Errorf("answer %d %s", resp.StatusCode, body)
	}
	return queued.ActionID, nil
}

// TestDatabaseCutUnderLoad cuts the PostgreSQL database away from three
// instances (lease 2 s) for 20 s while hooks keep coming. Hooks answered
// meanwhile get 503 and store nothing; every hook answered 202, before or
// after, runs exactly once (or ends interrupted, if it was running when
// its instance lost its lease), every success is delivered, and the
// instances resume by themselves: all three hold a lease again and run
// new work.
func TestDatabaseCutUnderLoad(t *testing.T) {
	proxied, proxy := storetest.ProxyDSN(t, freshDatabase(t))
	dir := t.TempDir()
	rcv := newDeliveredActions(t)
	var procs []*caddyProcess
	for _, name := range []string{"a", "b", "c"} {
		procs = append(procs, startTakeoverInstance(t, name, dir, proxied, rcv.URL, "2s"))
	}

	var ok accepted
	var refused atomic.Int64
	var n atomic.Int64
	var stop atomic.Bool
	var wg sync.WaitGroup
	for range 3 {
		wg.Go(func() {
			for ; !stop.Load(); time.Sleep(20 * time.Millisecond) {
				i := int(n.Add(1))
				id, err := sendHookTo(procs[i%3].base+"/hook/work", i)
				if err != nil {
					refused.Add(1)
					continue
				}
				ok.add(id)
			}
		})
	}
	time.Sleep(2 * time.Second)
	before := len(ok.list())
	proxy.Cut()
	time.Sleep(20 * time.Second)
	during := len(ok.list()) - before
	proxy.Restore()
	restored := time.Now()
	waitUntil(t, 60*time.Second, "hooks to be accepted again", func() bool { return len(ok.list()) > before+during+30 })
	stop.Store(true)
	wg.Wait()
	t.Logf("accepted %d before the cut, %d during it (in flight), %d after; %d refused; accepting again %s after the database came back",
		before, during, len(ok.list())-before-during, refused.Load(), time.Since(restored).Round(100*time.Millisecond))
	if before == 0 || refused.Load() == 0 {
		t.Fatalf("the load did not span the cut: %d accepted before, %d refused", before, refused.Load())
	}

	ids := ok.list()
	waitUntil(t, 90*time.Second, "every accepted action to end", func() bool {
		for _, id := range ids {
			if s := actionState(t, procs[0], id); s == "queued" || s == "running" {
				return false
			}
		}
		return true
	})
	r := runs(t, dir)
	var succeeded []string
	counts := make(map[string]int)
	for _, id := range ids {
		state := actionState(t, procs[0], id)
		counts[state]++
		switch {
		case state == "succeeded" && len(r[id]) == 1:
			succeeded = append(succeeded, id)
		case state == "failed/interrupted" && len(r[id]) <= 1:
		default:
			t.Errorf("action %s ended %s after running on %v", id, state, r[id])
		}
	}
	t.Logf("outcomes: %v", counts)
	waitUntil(t, 90*time.Second, "every success to be delivered", func() bool {
		for _, id := range succeeded {
			if rcv.count(id) == 0 {
				return false
			}
		}
		return true
	})
	waitUntil(t, 30*time.Second, "every instance to hold a lease again", func() bool {
		live := 0
		for _, in := range instances(t, procs[1]) {
			if in.Live {
				live++
			}
		}
		return live == 3
	})
	for i, p := range procs {
		id, err := sendHookTo(p.base+"/hook/work", 1_000_000+i)
		if err != nil {
			t.Fatal(err)
		}
		waitUntil(t, 30*time.Second, "new work to run after the cut", func() bool { return actionState(t, p, id) == "succeeded" })
	}
}
