package loadtest

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bidsieve/bidsieve/dsp/sim/dspserver"
	"github.com/prebid/openrtb/v19/openrtb2"
)

// scriptedGateway is a stand-in for a gateway: every auction is counted on its /metrics
// (offset by figures from before the run) and in the dsp-sim stats it shares, and
// answered by answer(n) for the n-th auction (from 0).
type scriptedGateway struct {
	dsp    string
	n      atomic.Int64
	mu     sync.Mutex
	ids    []string
	answer func(w http.ResponseWriter, n int64, id string)
	sim    *fakeSim
}

func (g *scriptedGateway) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == "/metrics" {
		n := g.n.Load()
		// 1,000 auctions before the run; each costs 250 µs of CPU and is offered to the
		// DSP, which the model withholds one time in four.
		fmt.Fprintf(w, "# TYPE process_cpu_seconds_total counter\nprocess_cpu_seconds_total %g\n", 0.25+float64(n)*250e-6)
		fmt.Fprintf(w, "# TYPE bidsieve_dsp_requests_total counter\nbidsieve_dsp_requests_total{dsp=%q} %d\n", g.dsp, 750+n-n/4)
		fmt.Fprintf(w, "# TYPE bidsieve_dsp_decisions_total counter\nbidsieve_dsp_decisions_total{decision=\"sent\",dsp=%q} %d\nbidsieve_dsp_decisions_total{decision=\"filtered\",dsp=%q} %d\n",
			g.dsp, 750+n-n/4, g.dsp, 250+n/4)
		fmt.Fprintf(w, "# TYPE bidsieve_dsp_latency_seconds histogram\nbidsieve_dsp_latency_seconds_bucket{dsp=%q,le=\"+Inf\"} %d\nbidsieve_dsp_latency_seconds_sum{dsp=%q} 1\nbidsieve_dsp_latency_seconds_count{dsp=%q} %d\n", g.dsp, n, g.dsp, g.dsp, n)
		return
	}
	var req openrtb2.BidRequest
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	g.mu.Lock()
	g.ids = append(g.ids, req.ID)
	g.mu.Unlock()
	g.sim.count(g.dsp)
	g.answer(w, g.n.Add(1)-1, req.ID)
}

// fakeSim is dsp-sim's /stats, counting the requests each DSP received.
type fakeSim struct {
	mu  sync.Mutex
	got map[string]int64
}

func (s *fakeSim) count(dsp string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.got[dsp]++
}

func (s *fakeSim) ServeHTTP(w http.ResponseWriter, _ *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := dspserver.Stats{DSPs: map[string]dspserver.DSPStats{}}
	for _, d := range []string{"alpha", "beta"} {
		st.DSPs[d] = dspserver.DSPStats{Requests: 100 + s.got[d]}
	}
	_ = json.NewEncoder(w).Encode(st)
}

// Compare against two scripted gateways: A bids 2 CPM from alpha on every auction; B
// sheds one auction in four with a 503 and one in four with a no-bid carrying
// Retry-After, and bids 1 CPM from beta on the others. Each side gets the same requests,
// and its own figures.
func TestCompareTwoGateways(t *testing.T) {
	p := loadTraffic(t)
	sim := &fakeSim{got: map[string]int64{}}
	bid := func(w http.ResponseWriter, id, seat string, price float64) {
		_ = json.NewEncoder(w).Encode(openrtb2.BidResponse{ID: id, SeatBid: []openrtb2.SeatBid{{Seat: seat, Bid: []openrtb2.Bid{{ID: "b", ImpID: "1", Price: price}}}}})
	}
	a := &scriptedGateway{dsp: "alpha", sim: sim, answer: func(w http.ResponseWriter, _ int64, id string) { bid(w, id, "alpha", 2) }}
	b := &scriptedGateway{dsp: "beta", sim: sim, answer: func(w http.ResponseWriter, n int64, id string) {
		switch n % 4 {
		case 0:
			w.Header().Set("Retry-After", "1")
			w.WriteHeader(http.StatusServiceUnavailable)
		case 1:
			w.Header().Set("Retry-After", "1")
			w.WriteHeader(http.StatusNoContent)
		default:
			bid(w, id, "beta", 1)
		}
	}}
	srvA, srvB, srvSim := httptest.NewServer(a), httptest.NewServer(b), httptest.NewServer(sim)
	defer srvA.Close()
	defer srvB.Close()
	defer srvSim.Close()
	noLeaks(t)
	c, err := Compare(context.Background(), Config{QPS: 80, Duration: 500 * time.Millisecond, Traffic: p.Traffic, Seed: 9},
		Side{Name: "off", Targets: []string{srvA.URL + "/auction"}, Metrics: srvA.URL + "/metrics", DSPStats: srvSim.URL},
		Side{Name: "filter", Targets: []string{srvB.URL + "/auction"}, Metrics: srvB.URL + "/metrics", DSPStats: srvSim.URL})
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(a.ids)
	slices.Sort(b.ids)
	if !slices.Equal(a.ids, b.ids) || len(a.ids) != 40 {
		t.Errorf("the sides got different requests (%d and %d)", len(a.ids), len(b.ids))
	}
	ra, rb := c.ResultA, c.ResultB
	if ra.Seats["alpha"] != (Seat{Bids: 40, RevenueMicros: 80_000_000}) || ra.Shed != 0 || ra.BidShare() != 1 {
		t.Errorf("side A: seats %v, shed %d, bid share %g; want alpha 40 bids of 2 CPM, none shed", ra.Seats, ra.Shed, ra.BidShare())
	}
	if rb.Seats["beta"] != (Seat{Bids: 20, RevenueMicros: 20_000_000}) || rb.Shed != 20 || rb.ShedShare() != 0.5 || rb.Status[503] != 10 {
		t.Errorf("side B: seats %v, shed %d (%v); want beta 20 bids of 1 CPM, 20 shed", rb.Seats, rb.Shed, rb.Status)
	}
	for _, s := range []struct {
		r   *Result
		dsp string
	}{{ra, "alpha"}, {rb, "beta"}} {
		g := s.r.Gateway
		if g == nil || g.DSPs[s.dsp] == nil {
			t.Fatalf("%s: no gateway figures: %+v", s.dsp, g)
		}
		if d := g.DSPs[s.dsp]; d.Requests != 30 || d.WithheldShare() != 0.25 || (g.CPUPerAuctionUS < 249 || g.CPUPerAuctionUS > 251) {
			t.Errorf("%s: gateway figures %+v %+v: want 30 requests, 25%% withheld, 250 µs per auction", s.dsp, g, d)
		}
		other := map[string]string{"alpha": "beta", "beta": "alpha"}[s.dsp]
		if s.r.DSPSim[s.dsp].Requests != 40 || s.r.DSPSim[other].Requests != 0 {
			t.Errorf("%s: dsp-sim figures %+v: want 40 requests to it, none to %s", s.dsp, s.r.DSPSim, other)
		}
	}
	var out strings.Builder
	if err := c.Print(&out); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"off  filter", "shed share  0.00%  50.00%", "alpha: revenue kept, CPM  80.0000  0.0000", "gateway CPU per auction  250.0 µs  250.0 µs", "beta: withheld  -  25.00%"} {
		if !strings.Contains(squeeze(out.String()), want) {
			t.Errorf("the side-by-side table lacks %q:\n%s", want, out.String())
		}
	}
}

// squeeze turns every run of spaces into two, so that a test can look for a table row.
func squeeze(s string) string {
	for strings.Contains(s, "   ") {
		s = strings.ReplaceAll(s, "   ", "  ")
	}
	return s
}
