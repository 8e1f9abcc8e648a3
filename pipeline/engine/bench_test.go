package engine

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/hookgate/hookgate/pipeline/action"
)

// benchPipeline runs /bin/true.
var benchPipeline = action.Pipeline{Name: "bench", Concurrency: 4, Steps: []action.Step{
	{Name: "true", Exec: &action.Exec{Argv: []string{"/bin/true", "{vars.ref}"}}},
}}

// BenchmarkTrigger measures durable triggers per second: each Trigger
// returns once its action and job are committed. 64 callers per core
// trigger at once, as concurrent hooks would; the workers are not started,
// so the database does nothing else.
func BenchmarkTrigger(b *testing.B) {
	for _, be := range backends {
		b.Run(be.name, func(b *testing.B) {
			e := open(b, be.config(b), false, benchPipeline)
			vars := map[string]any{"ref": "refs/heads/main", "commit_hash": "0123456789abcdef0123456789abcdef01234567"}
			payload := make([]byte, 2048)
			b.SetParallelism(64)
			b.ResetTimer()
			start := time.Now()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if _, err := e.Trigger(context.Background(), Trigger{Pipeline: "bench", Hook: "github", Vars: vars, Payload: payload}); err != nil {
						b.Error(err)
						return
					}
				}
			})
			b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "hooks/s")
		})
	}
}

// BenchmarkStartLatency measures the time from a Trigger call to its
// action's start (the claim that marks it running) on an idle engine, one
// action at a time, and reports its median and 99th percentile.
func BenchmarkStartLatency(b *testing.B) {
	for _, be := range backends {
		b.Run(be.name, func(b *testing.B) {
			e := open(b, be.config(b), true, benchPipeline)
			latencies := make([]time.Duration, 0, b.N)
			b.ResetTimer()
			for range b.N {
				t0 := time.Now()
				id := trigger(b, e, "bench", map[string]any{"ref": "main"})
				a := wait(b, e, id)
				if a.Status != action.StatusSucceeded {
					b.Fatalf("action %+v", a)
				}
				latencies = append(latencies, a.StartedAt.Sub(t0))
			}
			b.StopTimer()
			slices.Sort(latencies)
			ms := func(q float64) float64 {
				return float64(latencies[int(q*float64(len(latencies)-1))]) / float64(time.Millisecond)
			}
			b.ReportMetric(ms(0.5), "p50-ms")
			b.ReportMetric(ms(0.99), "p99-ms")
		})
	}
}
