package loadtest

import (
	"context"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"runtime"
	"sync"
	"testing"
	"time"
)

// Against a server that answers every request after exactly 20 ms, the median latency is
// 20 ms: the tester adds less than a millisecond of its own (1.5 ms under the race
// detector, which slows both ends of every round trip).
func TestFixedDelayMedian(t *testing.T) {
	p := loadTraffic(t)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		end := time.Now().Add(20 * time.Millisecond)
		_, _ = io.Copy(io.Discard, r.Body)
		holdUntil(end)
		w.WriteHeader(http.StatusNoContent)
	}))
	defer srv.Close()
	noLeaks(t)
	res, err := Run(context.Background(), Config{Targets: []string{srv.URL}, QPS: 100, Duration: time.Second, Traffic: p.Traffic, Seed: 5})
	if err != nil {
		t.Fatal(err)
	}
	tol := 1.0
	if raceEnabled {
		tol = 1.5
	}
	t.Logf("p50 %.3f ms, p99 %.3f ms", res.Latency.P50, res.Latency.P99)
	if res.Answered != 100 || math.Abs(res.Latency.P50-20) > tol {
		t.Errorf("answered %d, p50 %.3f ms: want 100 answered and a p50 within %g ms of 20 ms (latency %+v)", res.Answered, res.Latency.P50, tol, res.Latency)
	}
}

// When the server stops answering for a second in the middle of the run, requests keep
// starting at the scheduled rate (open loop): no 100 ms slot of the run sees fewer than
// half its 20 starts, and the stall shows in the latency.
func TestStallDoesNotSlowStarts(t *testing.T) {
	p := loadTraffic(t)
	const qps, run = 200, 2200 * time.Millisecond
	var mu sync.Mutex
	var starts []time.Time
	var first time.Time
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		now := time.Now()
		mu.Lock()
		if first.IsZero() {
			first = now
		}
		starts = append(starts, now)
		f := first
		mu.Unlock()
		_, _ = io.Copy(io.Discard, r.Body)
		// Every request that arrives between 0.6 s and 1.6 s waits until 1.6 s.
		if since := now.Sub(f); since >= 600*time.Millisecond && since < 1600*time.Millisecond {
			time.Sleep(1600*time.Millisecond - since)
		}
		w.WriteHeader(http.StatusNoContent)
	}))
	defer srv.Close()
	noLeaks(t)
	res, err := Run(context.Background(), Config{Targets: []string{srv.URL}, QPS: qps, Duration: run, Traffic: p.Traffic, Seed: 6})
	if err != nil {
		t.Fatal(err)
	}
	if res.Answered != 440 {
		t.Fatalf("answered %d of 440: %+v", res.Answered, res)
	}
	slots := make([]int, int(run/(100*time.Millisecond)))
	mu.Lock()
	for _, s := range starts {
		if i := int(s.Sub(first) / (100 * time.Millisecond)); i < len(slots) {
			slots[i]++
		}
	}
	mu.Unlock()
	for i, n := range slots[:len(slots)-1] { // the last slot may be cut short
		if n < 10 {
			t.Errorf("slot %d (%d-%d ms) saw %d request starts, want about 20 (slots %v)", i, 100*i, 100*i+100, n, slots)
		}
	}
	if res.Latency.Max < 900 || res.Latency.P90 < 500 {
		t.Errorf("latency %+v: the 1 s stall does not show", res.Latency)
	}
}

// holdUntil returns at t, as closely as it can: a sleep (which wakes late on a loaded
// machine) to a millisecond before, then yields until t.
func holdUntil(t time.Time) {
	time.Sleep(time.Until(t) - time.Millisecond)
	for time.Now().Before(t) {
		runtime.Gosched()
	}
}
