package engine

import (
	"hash/fnv"
	"strconv"
	"strings"

	"go.uber.org/zap"
)

// queueName is the River queue of a pipeline. River queue names are lower
// case: a name with capitals gets a hash of itself so that "Deploy" and
// "deploy" stay apart.
func queueName(pipeline string) string {
	lower := strings.ToLower(pipeline)
	if lower == pipeline {
		return "hg_" + pipeline
	}
	h := fnv.New32a()
	h.Write([]byte(pipeline))
	return "hg_" + lower + "_" + strconv.FormatUint(uint64(h.Sum32()), 16)
}

// syncQueues gives each configured pipeline its River queue, with as many
// workers as its concurrency. A new queue is added at once; a queue whose
// concurrency changed is re-created in the background, once its running
// actions have finished (River cannot resize a queue). Queues of removed
// pipelines stay, so that their queued actions still end. e.mu is held.
func (e *Engine) syncQueues() error {
	for name, plan := range *e.plans.Load() {
		q := queueName(name)
		have, want := e.queues[q], plan.Pipeline.Concurrency
		switch {
		case have == 0:
			if err := e.queue.addQueue(q, want); err != nil {
				return err
			}
			e.queues[q] = want
		case have != want && !e.resizing[q]:
			e.resizing[q] = true
			e.resizers.Add(1)
			go e.resize(name)
		}
	}
	return nil
}

// resize re-creates the queue of a pipeline until its MaxWorkers is the
// pipeline's current concurrency.
func (e *Engine) resize(pipeline string) {
	defer e.resizers.Done()
	q := queueName(pipeline)
	for {
		e.mu.Lock()
		plan := e.plan(pipeline)
		have := e.queues[q]
		if e.stopped || plan == nil || plan.Pipeline.Concurrency == have {
			e.resizing[q] = false
			e.mu.Unlock()
			return
		}
		want := plan.Pipeline.Concurrency
		e.mu.Unlock()

		err := e.queue.removeQueue(e.runCtx, q)
		e.mu.Lock()
		if err == nil {
			err = e.queue.addQueue(q, want)
		}
		if err != nil {
			e.resizing[q] = false
			e.mu.Unlock()
			if e.runCtx.Err() == nil {
				e.logger.Error("changing the concurrency of a pipeline", zap.String("pipeline", pipeline), zap.Error(err))
			}
			return
		}
		e.queues[q] = want
		e.mu.Unlock()
		e.logger.Info("pipeline concurrency changed", zap.String("pipeline", pipeline), zap.Int("concurrency", want))
	}
}
