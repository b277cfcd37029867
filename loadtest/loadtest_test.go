package loadtest

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bidsieve/bidsieve/dsp/sim"
	"github.com/bidsieve/bidsieve/dsp/sim/dspserver"
	"github.com/prebid/openrtb/v19/openrtb2"
	"go.uber.org/goleak"
)

func loadTraffic(t *testing.T) *sim.Profiles {
	t.Helper()
	p, err := sim.Load("../dsp/sim/testdata/example.yaml")
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// noLeaks checks, once the test and its deferred closes are done, that no goroutine it
// started is left.
func noLeaks(t *testing.T) {
	opt := goleak.IgnoreCurrent()
	t.Cleanup(func() { goleak.VerifyNone(t, opt) })
}

func TestCountsStatusesAndBids(t *testing.T) {
	p := loadTraffic(t)
	var seen sync.Map
	var valid atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var req openrtb2.BidRequest
		if err := json.NewDecoder(r.Body).Decode(&req); err != nil || req.ID == "" || len(req.Imp) == 0 {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		if _, dup := seen.LoadOrStore(req.ID, true); !dup {
			valid.Add(1)
		}
		switch r.URL.Path {
		case "/bid":
			json.NewEncoder(w).Encode(openrtb2.BidResponse{ID: req.ID, SeatBid: []openrtb2.SeatBid{{Bid: []openrtb2.Bid{
				{ID: "a", ImpID: "1", Price: 1.5}, {ID: "b", ImpID: "1", Price: 0.5}}}}})
		default:
			w.WriteHeader(http.StatusNoContent)
		}
	}))
	defer srv.Close()
	noLeaks(t)
	res, err := Run(context.Background(), Config{
		Targets: []string{srv.URL + "/bid", srv.URL + "/nobid"}, QPS: 400, Duration: 500 * time.Millisecond,
		Traffic: p.Traffic, Seed: 1,
	})
	if err != nil {
		t.Fatal(err)
	}
	if res.Scheduled != 200 || res.Sent != 200 || res.Answered != 200 || res.Dropped != 0 {
		t.Fatalf("result %+v: want 200 scheduled, sent and answered", res)
	}
	if valid.Load() != 200 {
		t.Errorf("the server saw %d distinct valid requests, want 200", valid.Load())
	}
	if res.Status[200] != 100 || res.Status[204] != 100 {
		t.Errorf("status %v, want 100 of each (targets in turn)", res.Status)
	}
	if res.Bids != 200 || res.BidResps != 100 || res.BidCPMSum != 200 {
		t.Errorf("bids %d in %d responses summing %g CPM, want 200 in 100 summing 200", res.Bids, res.BidResps, res.BidCPMSum)
	}
	l := res.Latency
	if !(l.P50 > 0 && l.P50 <= l.P90 && l.P90 <= l.P99 && l.P99 <= l.P999 && l.P999 <= l.Max) {
		t.Errorf("percentiles out of order: %+v", l)
	}
	var sb strings.Builder
	if err := res.Print(&sb); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(sb.String(), "status: 200=100 204=100") {
		t.Errorf("summary:\n%s", sb.String())
	}
	b, err := json.Marshal(res)
	if err != nil || !strings.Contains(string(b), `"p99_9"`) || !strings.Contains(string(b), `"duration_s":0.5`) {
		t.Errorf("JSON %s (%v)", b, err)
	}
}

// A server that stalls for 400 ms at the start: every request scheduled during the
// stall waits for it, and open-loop measurement from the schedule shows it (a closed-loop
// tester would see one slow request).
func TestLatencyCountsFromTheSchedule(t *testing.T) {
	p := loadTraffic(t)
	gate := make(chan struct{})
	var once sync.Once
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		once.Do(func() { time.AfterFunc(400*time.Millisecond, func() { close(gate) }) })
		io.Copy(io.Discard, r.Body)
		<-gate
		w.WriteHeader(http.StatusNoContent)
	}))
	defer srv.Close()
	noLeaks(t)
	res, err := Run(context.Background(), Config{
		Targets: []string{srv.URL}, QPS: 200, Duration: time.Second, Traffic: p.Traffic, Seed: 2,
	})
	if err != nil {
		t.Fatal(err)
	}
	// About 40% of the requests were scheduled during the stall, waiting 0-400 ms.
	if res.Latency.P90 < 150 || res.Latency.Max < 300 || res.Latency.P50 > 100 {
		t.Errorf("latency %+v: the stall does not show", res.Latency)
	}
}

func TestInFlightCapAndTimeouts(t *testing.T) {
	p := loadTraffic(t)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-time.After(time.Second):
		case <-r.Context().Done():
		}
	}))
	defer srv.Close()
	noLeaks(t)
	res, err := Run(context.Background(), Config{
		Targets: []string{srv.URL}, QPS: 100, Duration: 300 * time.Millisecond, Traffic: p.Traffic,
		Timeout: 200 * time.Millisecond, MaxInFlight: 5,
	})
	if err != nil {
		t.Fatal(err)
	}
	if res.Dropped == 0 || res.Sent+res.Dropped != res.Scheduled || res.Timeouts != res.Sent || res.Answered != 0 {
		t.Errorf("result %+v: want drops past 5 in flight and every sent request timed out", res)
	}
}

func TestCancel(t *testing.T) {
	p := loadTraffic(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var n atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if n.Add(1) == 10 {
			cancel()
		}
		w.WriteHeader(http.StatusNoContent)
	}))
	defer srv.Close()
	noLeaks(t)
	res, err := Run(ctx, Config{Targets: []string{srv.URL}, QPS: 100, Duration: time.Hour, Traffic: p.Traffic})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err %v", err)
	}
	if res == nil || res.Answered < 10 || res.Answered > 12 || res.Sent != res.Answered {
		t.Errorf("result after a cancel at the 10th request: %+v", res)
	}
}

// Against the simulated DSPs: every request is answered, and the bids come back.
func TestAgainstDSPSim(t *testing.T) {
	p := loadTraffic(t)
	dsps := dspserver.New(p, dspserver.Options{Seed: 1, Sleep: func(context.Context, time.Duration) {}})
	srv := httptest.NewServer(dsps)
	defer srv.Close()
	noLeaks(t)
	res, err := Run(context.Background(), Config{
		Targets: []string{srv.URL + "/bid/alpha"}, QPS: 500, Duration: 400 * time.Millisecond, Traffic: p.Traffic, Seed: 3,
	})
	if err != nil {
		t.Fatal(err)
	}
	st := dsps.Stats().DSPs["alpha"]
	if res.Answered != 200 || st.Requests != 200 || res.Bids != st.Bids || res.Status[200] != st.BidResponses {
		t.Errorf("load test %+v, simulator %+v", res, st)
	}
}

// A run longer than the bodies made before the clock starts sends the same requests, in
// the same order, as one made wholly beforehand: the pre-made and the streamed requests
// are one seeded stream.
func TestRequestsPastThePreMadeOnes(t *testing.T) {
	p := loadTraffic(t)
	run := func() []string {
		var mu sync.Mutex
		var ids []string
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			var req openrtb2.BidRequest
			if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
				w.WriteHeader(http.StatusBadRequest)
				return
			}
			mu.Lock()
			ids = append(ids, req.ID)
			mu.Unlock()
			w.WriteHeader(http.StatusNoContent)
		}))
		defer srv.Close()
		res, err := Run(context.Background(), Config{
			Targets: []string{srv.URL}, QPS: 400, Duration: 250 * time.Millisecond, Traffic: p.Traffic, Seed: 3,
		})
		if err != nil {
			t.Fatal(err)
		}
		if res.Answered != 100 || res.Status[204] != 100 {
			t.Fatalf("answered %d, status %v: want 100 no-bids", res.Answered, res.Status)
		}
		mu.Lock()
		defer mu.Unlock()
		slices.Sort(ids) // requests overlap on the wire, so arrival order is not send order
		return ids
	}
	noLeaks(t)
	whole := run()
	old := preMadeBytes
	preMadeBytes = 4 << 10 // about five requests, the other 95 made during the run
	t.Cleanup(func() { preMadeBytes = old })
	streamed := run()
	if !slices.Equal(whole, streamed) || len(slices.Compact(slices.Clone(whole))) != 100 {
		t.Errorf("requests made during the run differ from the pre-made ones:\n%v\n%v", whole, streamed)
	}
}
