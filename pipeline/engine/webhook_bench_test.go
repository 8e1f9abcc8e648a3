package engine

import (
	"context"
	"net/http"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hookgate/hookgate/pipeline/store"
	"github.com/hookgate/hookgate/pipeline/webhook"
)

// rejectedOnly subscribes a webhook to hook.rejected only.
var rejectedOnly = []webhook.EventType{{Type: webhook.TypeHookRejected}}

// prefill records n hook.rejected events, 1,000 per transaction: one
// delivery each for every webhook subscribed.
func prefill(b *testing.B, e *Engine, n int) {
	b.Helper()
	ctx := context.Background()
	for n > 0 {
		batch := min(n, 1000)
		events := make([]webhook.Event, batch)
		now := time.Now()
		for i := range events {
			events[i] = webhook.Event{ID: webhook.NewEventID(now), Type: webhook.TypeHookRejected, Time: now, Sequence: 1,
				Rejection: &webhook.Rejection{Hook: "github", Reason: "signature_invalid", RemoteIP: "203.0.113.1"}}
		}
		if err := e.inTx(ctx, func(ctx context.Context, tx store.Tx) ([]deliveryRef, error) { return e.recordEvents(ctx, tx, events) }); err != nil {
			b.Fatal(err)
		}
		n -= batch
	}
}

// openBenchWebhook opens an engine, started or not, with a webhook
// "bench" subscribed to hook.rejected, whose receiver answers 204 at once.
func openBenchWebhook(b *testing.B, be backend, start bool) *Engine {
	b.Helper()
	e := open(b, be.config(b), start, benchPipeline)
	rc := newReceiver(b, testSecret)
	rc.setAnswer(answerStatus(http.StatusNoContent))
	configureWebhooks(b, e, WebhookConfig{Webhooks: []webhook.Definition{
		{Name: "bench", URL: rc.srv.URL, Secrets: []string{testSecret}, EventTypes: rejectedOnly},
	}})
	return e
}

// BenchmarkDeliveries measures delivery attempts per second to a local
// receiver that answers 204 at once: b.N deliveries are stored pending
// first, then the workers start and the clock runs until the last
// success is stored.
func BenchmarkDeliveries(b *testing.B) {
	for _, be := range backends {
		b.Run(be.name, func(b *testing.B) {
			e := openBenchWebhook(b, be, false)
			prefill(b, e, b.N)
			b.ResetTimer()
			start := time.Now()
			if err := e.Start(); err != nil {
				b.Fatal(err)
			}
			waitFor(b, "every delivery to succeed", func() bool {
				st, err := e.Stats(context.Background())
				return err == nil && st.Webhooks["bench"].Succeeded == int64(b.N)
			})
			b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "deliveries/s")
		})
	}
}

// BenchmarkDeliveriesLive measures delivery attempts per second while
// the events arrive: 16 callers per core record hook.rejected events, one
// per call, as fast as they are taken, with the workers running; the clock
// runs from the first call until the last success is stored.
func BenchmarkDeliveriesLive(b *testing.B) {
	for _, be := range backends {
		b.Run(be.name, func(b *testing.B) {
			e := openBenchWebhook(b, be, true)
			r := HookRejected{Hook: "github", Reason: "signature_invalid", RemoteIP: "203.0.113.1"}
			b.SetParallelism(16)
			b.ResetTimer()
			start := time.Now()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if err := e.Reject(context.Background(), r); err != nil {
						b.Error(err)
						return
					}
				}
			})
			waitFor(b, "every delivery to succeed", func() bool {
				st, err := e.Stats(context.Background())
				return err == nil && st.Webhooks["bench"].Succeeded == int64(b.N)
			})
			b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "deliveries/s")
		})
	}
}

// BenchmarkDeliveryLatency measures the time from a Trigger call to the
// arrival of its action.queued event at a local receiver, with triggers
// paced at 200 per second (the actions run /bin/true meanwhile), and
// reports its median and 99th percentile.
func BenchmarkDeliveryLatency(b *testing.B) {
	for _, be := range backends {
		b.Run(be.name, func(b *testing.B) {
			e := open(b, be.config(b), false, benchPipeline)
			a := newArrivals(b, func(r *http.Request) string { return r.URL.Query().Get("a") })
			configureWebhooks(b, e, WebhookConfig{Webhooks: []webhook.Definition{{Name: "bench", URL: a.url + "/?a=:action_id:",
				Secrets: []string{testSecret}, EventTypes: []webhook.EventType{{Type: webhook.TypeActionQueued}}}}})
			if err := e.Start(); err != nil {
				b.Fatal(err)
			}
			a.paced(b, func() string { return trigger(b, e, "bench", map[string]any{"ref": "main"}) })
		})
	}
}

// arrivals is a local receiver that answers 204 at once and notes when
// each delivery arrived, by the ID its key function reads off the request.
type arrivals struct {
	url string
	mu  sync.Mutex
	at  map[string]time.Time
}

// newArrivals starts a receiver that notes arrivals by key(request).
func newArrivals(b *testing.B, key func(*http.Request) string) *arrivals {
	a := &arrivals{at: make(map[string]time.Time, b.N)}
	rc := newReceiver(b, testSecret)
	rc.setAnswer(func(w http.ResponseWriter, r *http.Request) int {
		now := time.Now()
		a.mu.Lock()
		a.at[key(r)] = now
		a.mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
		return http.StatusNoContent
	})
	a.url = rc.srv.URL
	return a
}

// paced calls send b.N times, 200 per second, each in a goroutine of its
// own (send answers the ID the receiver will see), waits for every
// arrival, and reports the median and 99th percentile of the times from
// sending to arrival.
func (a *arrivals) paced(b *testing.B, send func() string) {
	var mu sync.Mutex
	sent := make(map[string]time.Time, b.N)
	var wg sync.WaitGroup
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	b.ResetTimer()
	for range b.N {
		<-tick.C
		wg.Go(func() {
			t0 := time.Now()
			id := send()
			mu.Lock()
			sent[id] = t0
			mu.Unlock()
		})
	}
	wg.Wait()
	waitFor(b, "every delivery to arrive", func() bool {
		a.mu.Lock()
		defer a.mu.Unlock()
		return len(a.at) >= b.N
	})
	b.StopTimer()
	latencies := make([]time.Duration, 0, len(sent))
	for id, t0 := range sent {
		latencies = append(latencies, a.at[id].Sub(t0))
	}
	slices.Sort(latencies)
	ms := func(q float64) float64 {
		return float64(latencies[int(q*float64(len(latencies)-1))]) / float64(time.Millisecond)
	}
	b.ReportMetric(ms(0.5), "p50-ms")
	b.ReportMetric(ms(0.99), "p99-ms")
}

// BenchmarkHeldMemory stores 100,000 deliveries for a failed webhook
// (held), starts the engine, reads the webhook's counts and reports the
// process's resident set and Go heap. Run it with -benchtime=1x.
func BenchmarkHeldMemory(b *testing.B) {
	const held = 100_000
	for range b.N {
		e := open(b, backends[0].config(b), false, benchPipeline)
		rc := newReceiver(b, testSecret)
		configureWebhooks(b, e, WebhookConfig{Webhooks: []webhook.Definition{
			{Name: "down", URL: rc.srv.URL, Secrets: []string{testSecret}, EventTypes: rejectedOnly},
		}})
		ctx := context.Background()
		if err := e.store.InTx(ctx, func(tx store.Tx) error {
			return tx.SetWebhookState(ctx, "down", webhook.StateFailed, time.Now())
		}); err != nil {
			b.Fatal(err)
		}
		prefill(b, e, held)
		if err := e.Start(); err != nil {
			b.Fatal(err)
		}
		info := webhookState(b, e, "down")
		if info.Held != held {
			b.Fatalf("held %d, want %d", info.Held, held)
		}
		time.Sleep(time.Second)
		runtime.GC()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		b.ReportMetric(float64(ms.HeapInuse)/(1<<20), "heap-MB")
		b.ReportMetric(rssMB(b), "rss-MB")
		if len(rc.all()) != 0 {
			b.Fatal("held deliveries were attempted")
		}
	}
}

// rssMB is the process's resident set size in MiB, from /proc.
func rssMB(b *testing.B) float64 {
	raw, err := os.ReadFile("/proc/self/status")
	if err != nil {
		b.Skip("no /proc/self/status")
	}
	for line := range strings.SplitSeq(string(raw), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, _ := strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(rest), " kB"))
			return float64(kb) / 1024
		}
	}
	b.Skip("no VmRSS")
	return 0
}
