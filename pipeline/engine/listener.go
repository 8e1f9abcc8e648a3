package engine

import (
	"context"
	"encoding/json"

	"github.com/riverqueue/river/riverdriver"
	"github.com/riverqueue/river/riverdriver/riversqlite"
)

// insertTopic is River's notification topic for inserted jobs.
const insertTopic = "river_insert"

// wakingDriver is River's SQLite driver with a listener that local
// inserts can wake. River's SQLite listener polls its notification table
// every 50 ms, which would make every action wait 25 ms on average before
// it starts; jobs inserted by this process need not wait for the poll.
type wakingDriver struct {
	*riversqlite.Driver
	wake chan string
}

// newWakingDriver wraps River's SQLite driver.
func newWakingDriver(d *riversqlite.Driver) *wakingDriver {
	return &wakingDriver{Driver: d, wake: make(chan string, 64)}
}

// GetListener implements riverdriver.Driver.
func (d *wakingDriver) GetListener(params *riverdriver.GetListenenerParams) riverdriver.Listener {
	return &wakingListener{Listener: d.Driver.GetListener(params), wake: d.wake}
}

// notifyInsert tells the listener that jobs were committed in a queue. It
// never blocks: a wake-up that does not fit waits for the next poll.
func (d *wakingDriver) notifyInsert(queue string) {
	select {
	case d.wake <- queue:
	default:
	}
}

// wakingListener returns River's insert notification for a queue as soon
// as it is woken, and the SQLite listener's own notifications otherwise.
// River calls WaitForNotification from one goroutine at a time.
type wakingListener struct {
	riverdriver.Listener
	wake chan string
	// pending is a notification the SQLite listener returned while a
	// wake-up was being answered.
	pending *riverdriver.Notification
}

// WaitForNotification implements riverdriver.Listener.
func (l *wakingListener) WaitForNotification(ctx context.Context) (*riverdriver.Notification, error) {
	if n := l.pending; n != nil {
		l.pending = nil
		return n, nil
	}
	select {
	case q := <-l.wake:
		return insertNotification(q), nil
	default:
	}
	inner, cancel := context.WithCancel(ctx)
	defer cancel()
	type answer struct {
		n   *riverdriver.Notification
		err error
	}
	done := make(chan answer, 1)
	go func() {
		n, err := l.Listener.WaitForNotification(inner)
		done <- answer{n, err}
	}()
	select {
	case a := <-done:
		return a.n, a.err
	case q := <-l.wake:
		cancel()
		if a := <-done; a.err == nil {
			l.pending = a.n
		}
		return insertNotification(q), nil
	}
}

// insertNotification is River's notification of jobs inserted in a queue.
func insertNotification(queue string) *riverdriver.Notification {
	payload, _ := json.Marshal(struct {
		Queue string `json:"queue"`
	}{queue})
	return &riverdriver.Notification{Topic: insertTopic, Payload: string(payload)}
}
