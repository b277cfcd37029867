package loadtest

import (
	"context"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

// schedule sends total requests at fixed intervals from start, whatever the server does
// (open loop), each on its own goroutine; it returns when every request it sent has
// finished, with the context's error when it stopped early. Requests are made ahead, off
// the scheduling goroutine.
func schedule(ctx context.Context, cfg *Config, client *http.Client, m *meter, res *Result, total int64) error {
	interval := float64(time.Second) / cfg.QPS
	spin := min(maxSpin, time.Duration(interval/10))
	genCtx, stopGen := context.WithCancel(ctx)
	defer stopGen()
	next := cfg.Source.Stream(cfg.Seed)
	reqs := make(chan Request, 4096)
	// The first requests are made before the clock starts.
	ahead := min(total, int64(cap(reqs)/2))
	for range ahead {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		reqs <- next()
	}
	go func() {
		defer close(reqs)
		for range total - ahead {
			select {
			case reqs <- next():
			case <-genCtx.Done():
				return
			}
		}
	}()

	var sent atomic.Int64
	stopProgress := progress(cfg.Progress, &sent, total)
	defer stopProgress()
	var wg sync.WaitGroup
	var inFlight atomic.Int64
	start := time.Now()
	var maxLag time.Duration
	var err error
	defer func() {
		wg.Wait()
		res.Elapsed = time.Since(start)
		res.MaxLagMS = ms(maxLag)
	}()
	for i := range total {
		due := start.Add(time.Duration(float64(i) * interval))
		if err = waitUntil(ctx, due, spin); err != nil {
			return err
		}
		var r Request
		select {
		case r = <-reqs:
		case <-ctx.Done():
			return ctx.Err()
		}
		res.Scheduled++
		sent.Store(res.Scheduled)
		if inFlight.Load() >= int64(cfg.MaxInFlight) {
			res.Dropped++
			continue
		}
		if lag := time.Since(due); lag > maxLag {
			maxLag = lag
		}
		res.Sent++
		inFlight.Add(1)
		wg.Add(1)
		target := cfg.Targets[i%int64(len(cfg.Targets))]
		go func() {
			defer wg.Done()
			defer inFlight.Add(-1)
			m.do(client, target, r, due, cfg.Timeout)
		}()
	}
	return nil
}

// maxSpin is the longest a schedule waits in a busy loop before a request's due time
// instead of sleeping: a timer wakes up to a millisecond late on Linux, and that lateness
// would count in every latency. A schedule spins at most a tenth of its interval, so at
// most a tenth of a core.
const maxSpin = time.Millisecond

// waitUntil sleeps until spin before due, then waits in a busy loop until due (yielding
// would put the schedule behind every runnable goroutine, such as a burst of answers),
// or returns the context's error.
func waitUntil(ctx context.Context, due time.Time, spin time.Duration) error {
	if wait := time.Until(due) - spin; wait > 0 {
		t := time.NewTimer(wait)
		defer t.Stop()
		select {
		case <-t.C:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	for time.Now().Before(due) {
		// a busy wait
	}
	return ctx.Err()
}

// progressEvery is how often a run reports its progress.
const progressEvery = 200 * time.Millisecond

// progress calls report with the requests scheduled so far every progressEvery, from its
// own goroutine, so that the schedule never waits for a display; the returned stop
// makes the last call and ends it.
func progress(report func(done, total int64), done *atomic.Int64, total int64) (stop func()) {
	if report == nil {
		return func() {}
	}
	quit, finished := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(finished)
		t := time.NewTicker(progressEvery)
		defer t.Stop()
		for {
			select {
			case <-t.C:
				report(done.Load(), total)
			case <-quit:
				report(done.Load(), total)
				return
			}
		}
	}()
	return func() { close(quit); <-finished }
}
