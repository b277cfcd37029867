package gateway

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bidsieve/bidsieve/bidlog"
)

type slowWriter struct {
	mu      sync.Mutex
	rows    int
	release chan struct{}
}

func (w *slowWriter) Write(rows []bidlog.Row) error {
	if w.release != nil {
		<-w.release
	}
	w.mu.Lock()
	w.rows += len(rows)
	w.mu.Unlock()
	return nil
}

func TestAsyncBidLogDrainsOnClose(t *testing.T) {
	w := &slowWriter{}
	a := NewAsyncBidLog(w, AsyncOptions{Queue: 100})
	for range 50 {
		a.Log(make([]bidlog.Row, 3))
	}
	if err := a.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if w.rows != 150 {
		t.Errorf("%d rows written, want all 150 queued before Close", w.rows)
	}
	a.Log(make([]bidlog.Row, 1)) // after Close: dropped, no panic
}

func TestAsyncBidLogNeverBlocks(t *testing.T) {
	w := &slowWriter{release: make(chan struct{})}
	a := NewAsyncBidLog(w, AsyncOptions{Queue: 2})
	start := time.Now()
	for range 100 {
		a.Log(make([]bidlog.Row, 1))
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("Log blocked for %v behind a stuck writer", d)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if err := a.Close(ctx); err == nil {
		t.Error("Close with a stuck writer returned before its deadline without error")
	}
	close(w.release)
	<-a.done
	if w.rows > 3 { // one in the writer, two in the queue
		t.Errorf("%d rows written with a queue of 2 batches", w.rows)
	}
}

type rollingWriter struct {
	slowWriter
	rolls atomic.Int64
}

func (w *rollingWriter) Roll() error { w.rolls.Add(1); return nil }

func TestAsyncBidLogRollsOnATimer(t *testing.T) {
	w := &rollingWriter{}
	a := NewAsyncBidLog(w, AsyncOptions{Queue: 10, RollInterval: 10 * time.Millisecond})
	a.Log(make([]bidlog.Row, 2))
	deadline := time.Now().Add(5 * time.Second)
	for w.rolls.Load() < 3 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if err := a.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if n := w.rolls.Load(); n < 3 {
		t.Errorf("%d rolls, want one every 10ms", n)
	}
	// Without a roll interval, no timed roll.
	w2 := &rollingWriter{}
	a2 := NewAsyncBidLog(w2, AsyncOptions{Queue: 10})
	time.Sleep(30 * time.Millisecond)
	if err := a2.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if n := w2.rolls.Load(); n != 0 {
		t.Errorf("%d rolls without a roll interval", n)
	}
}
