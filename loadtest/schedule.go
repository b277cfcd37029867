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
// finished, with the context's error when it stopped early. Requests are made before the
// clock starts, up to preMadeBytes of bodies, so that making them takes no CPU from the run
// (BenchmarkProfilesStream: about 6 µs a request, 4% of a core at 6,000 requests/s, with
// its garbage); the rest, in a long run, are made ahead on their own goroutine.
func schedule(ctx context.Context, cfg *Config, client *http.Client, m *meter, res *Result, total int64) error {
	interval := float64(time.Second) / cfg.QPS
	spin := min(maxSpin, time.Duration(interval/10))
	genCtx, stopGen := context.WithCancel(ctx)
	defer stopGen()
	next := cfg.Source.Stream(cfg.Seed)
	var pre []Request
	for bytes := 0; int64(len(pre)) < total && bytes < preMadeBytes; {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		r := next()
		bytes += len(r.Body)
		pre = append(pre, r)
	}
	reqs := make(chan Request, 4096)
	go func() {
		defer close(reqs)
		for range total - int64(len(pre)) {
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
		if i < int64(len(pre)) {
			r, pre[i] = pre[i], Request{} // the body is the request's now: let it go after
		} else {
			select {
			case r = <-reqs:
			case <-ctx.Done():
				return ctx.Err()
			}
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

// preMadeBytes bounds the request bodies made before a run starts: 256 MiB, about 300,000
// of the simulator's requests (840 bytes each; 50 s at 6,000/s). A variable for the test
// that runs past it.
var preMadeBytes = 256 << 20

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
