package engine

import (
	"fmt"
	"slices"
	"testing"
	"time"
)

// Deliveries due now share jobs, deliveriesPerJob at most and of one
// webhook each, in the order they were made due; one due later has a job
// of its own.
func TestGroupDeliveries(t *testing.T) {
	now := time.Now()
	var refs []deliveryRef
	for i := range deliveriesPerJob + 2 {
		for _, w := range []string{"slow", "fast"} {
			refs = append(refs, deliveryRef{DeliveryID: fmt.Sprintf("%s-%02d", w, i), At: now, Webhook: w})
		}
	}
	refs = append(refs, deliveryRef{DeliveryID: "later", At: now.Add(time.Hour), Webhook: "fast"})

	var got [][]string
	for _, job := range groupDeliveries(refs) {
		ids := []string{job.DeliveryID}
		for _, ref := range job.More {
			ids = append(ids, ref.DeliveryID)
		}
		got = append(got, ids)
	}
	ids := func(w string, from, to int) []string {
		var list []string
		for i := from; i < to; i++ {
			list = append(list, fmt.Sprintf("%s-%02d", w, i))
		}
		return list
	}
	want := [][]string{
		ids("slow", 0, deliveriesPerJob), ids("fast", 0, deliveriesPerJob),
		ids("slow", deliveriesPerJob, deliveriesPerJob+2), ids("fast", deliveriesPerJob, deliveriesPerJob+2),
		{"later"},
	}
	if !slices.EqualFunc(got, want, slices.Equal) {
		t.Errorf("jobs:\n%v\nwant\n%v", got, want)
	}
}
