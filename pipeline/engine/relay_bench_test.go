package engine

import (
	"bytes"
	"context"
	"net/http"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/hookgate/hookgate/pipeline/store"
	"github.com/hookgate/hookgate/pipeline/webhook"
)

// benchHook is a relayed hook of about 1 KB.
func benchHook() webhook.Received {
	body := append([]byte(`{"ref":"refs/heads/main","pad":"`), bytes.Repeat([]byte("x"), 1000)...)
	return relayedHook(string(append(body, `"}`...)), "")
}

// BenchmarkRelayLatency measures the time from a Relay call to the
// arrival of the hook at a local receiver that answers 204 at once (raw
// payload), with relays paced at 200 per second, and reports its median
// and 99th percentile.
func BenchmarkRelayLatency(b *testing.B) {
	for _, be := range backends {
		b.Run(be.name, func(b *testing.B) {
			e := open(b, be.config(b), false)
			a := newArrivals(b, func(r *http.Request) string { return r.Header.Get("webhook-id") })
			configureWebhooks(b, e, WebhookConfig{Webhooks: []webhook.Definition{{Name: "app", URL: a.url,
				Secrets: []string{testSecret}, EventTypes: []webhook.EventType{{Type: webhook.TypeHookReceived}}, RawPayload: true}}})
			if err := e.Start(); err != nil {
				b.Fatal(err)
			}
			hook := benchHook()
			a.paced(b, func() string {
				res, err := e.Relay(context.Background(), Relay{Hook: hook})
				if err != nil {
					b.Error(err)
				}
				return res.EventID
			})
		})
	}
}

// BenchmarkRelayHeldMemory relays 100,000 hooks of about 1 KB to an app
// whose webhook is failed (every delivery held), starts the engine, reads
// the webhook's counts and reports the process's resident set and Go
// heap. Run it with -benchtime=1x.
func BenchmarkRelayHeldMemory(b *testing.B) {
	const held = 100_000
	for _, be := range backends {
		b.Run(be.name, func(b *testing.B) {
			for range b.N {
				e := open(b, be.config(b), false)
				rc := newReceiver(b, testSecret)
				configureWebhooks(b, e, WebhookConfig{Webhooks: []webhook.Definition{{Name: "down", URL: rc.srv.URL,
					Secrets: []string{testSecret}, EventTypes: []webhook.EventType{{Type: webhook.TypeHookReceived}}, RawPayload: true,
					RecoverEvery: time.Hour}}})
				ctx := context.Background()
				if err := e.store.InTx(ctx, func(tx store.Tx) error {
					return tx.SetWebhookState(ctx, "down", webhook.StateFailed, time.Now())
				}); err != nil {
					b.Fatal(err)
				}
				hook := benchHook()
				var wg sync.WaitGroup
				next := make(chan struct{})
				go func() {
					for range held {
						next <- struct{}{}
					}
					close(next)
				}()
				for range 64 {
					wg.Go(func() {
						for range next {
							if _, err := e.Relay(ctx, Relay{Hook: hook}); err != nil {
								b.Error(err)
								return
							}
						}
					})
				}
				wg.Wait()
				if err := e.Start(); err != nil {
					b.Fatal(err)
				}
				if info := webhookState(b, e, "down"); info.Held != held {
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
		})
	}
}

// BenchmarkRelay measures relays stored per second (b.N hooks of about
// 1 KB, 64 callers) with their deliveries to a local receiver that
// answers 204 at once going on meanwhile, and then the hooks forwarded
// per second, from the first call until the last success is stored.
func BenchmarkRelay(b *testing.B) {
	for _, be := range backends {
		b.Run(be.name, func(b *testing.B) {
			e := open(b, be.config(b), false)
			rc := newReceiver(b, testSecret)
			rc.setAnswer(answerStatus(http.StatusNoContent))
			configureWebhooks(b, e, WebhookConfig{Webhooks: []webhook.Definition{{Name: "app", URL: rc.srv.URL,
				Secrets: []string{testSecret}, EventTypes: []webhook.EventType{{Type: webhook.TypeHookReceived}}, RawPayload: true}}})
			if err := e.Start(); err != nil {
				b.Fatal(err)
			}
			hook := benchHook()
			b.SetParallelism(32)
			b.ResetTimer()
			start := time.Now()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if _, err := e.Relay(context.Background(), Relay{Hook: hook}); err != nil {
						b.Error(err)
						return
					}
				}
			})
			b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "accepted/s")
			waitFor(b, "every hook to be forwarded", func() bool {
				st, err := e.Stats(context.Background())
				return err == nil && st.Webhooks["app"].Succeeded == int64(b.N)
			})
			b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "forwarded/s")
		})
	}
}
