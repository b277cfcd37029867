package loadtest

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prebid/openrtb/v19/openrtb2"
)

// rateServer answers a bid at once while it has seen at most limit requests a second
// (over the last 500 ms), and calls over when it has seen more.
func rateServer(limit float64, over func(w http.ResponseWriter)) *httptest.Server {
	var mu sync.Mutex
	var recent []time.Time
	return httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		now := time.Now()
		mu.Lock()
		recent = append(recent, now)
		for len(recent) > 0 && now.Sub(recent[0]) > 500*time.Millisecond {
			recent = recent[1:]
		}
		busy := float64(len(recent)) > limit/2
		mu.Unlock()
		if busy {
			over(w)
			return
		}
		writeBid(w)
	}))
}

// writeBid answers one bid of 1 CPM from seat a.
func writeBid(w http.ResponseWriter) {
	_ = json.NewEncoder(w).Encode(openrtb2.BidResponse{ID: "x", SeatBid: []openrtb2.SeatBid{{Seat: "a", Bid: []openrtb2.Bid{{ID: "b", ImpID: "1", Price: 1}}}}})
}

// The ramp finds the knee of a server that slows down past 200 requests a second (its
// answers late past the 150 ms bound), and of one that stops bidding past it.
func TestRampFindsTheKnee(t *testing.T) {
	p := loadTraffic(t)
	for _, c := range []struct {
		name, why string
		over      func(w http.ResponseWriter)
	}{
		{"slows down", "late", func(w http.ResponseWriter) { time.Sleep(300 * time.Millisecond); writeBid(w) }},
		{"stops bidding", "bid share", func(w http.ResponseWriter) { w.WriteHeader(http.StatusNoContent) }},
	} {
		t.Run(c.name, func(t *testing.T) {
			noLeaks(t)
			attempts(t, 3, func() error {
				srv := rateServer(200, c.over)
				defer srv.Close()
				var lines []string
				rr, err := RunRamp(context.Background(), Config{
					Targets: []string{srv.URL}, Duration: 400 * time.Millisecond, Traffic: p.Traffic, Seed: 7,
					LatencyBound: 150 * time.Millisecond,
				}, Ramp{From: 50, To: 450, Step: 100}, func(s Step) { lines = append(lines, s.Line()) })
				if err != nil {
					return err
				}
				all := strings.Join(lines, "\n")
				if rr.Best != 150 || rr.Knee != 250 || len(rr.Steps) != 3 || len(lines) != 3 {
					return fmt.Errorf("best %g, knee %g, %d steps: want 150, 250 and 3 steps\n%s", rr.Best, rr.Knee, len(rr.Steps), all)
				}
				if !strings.Contains(rr.Steps[2].Why, c.why) || !strings.Contains(lines[2], "fails: ") || !strings.HasSuffix(lines[1], "holds") {
					return fmt.Errorf("the failing step says %q, want %q:\n%s", rr.Steps[2].Why, c.why, all)
				}
				var out strings.Builder
				if err := rr.Print(&out); err != nil || !strings.Contains(out.String(), "highest rate that holds: 150/s; 250/s fails") {
					return fmt.Errorf("answer %q (%v)", out.String(), err)
				}
				return nil
			})
		})
	}
}

// Every step of a ramp sends the same requests, To x Duration of them, so that their bid
// shares compare.
func TestRampStepsSendTheSameRequests(t *testing.T) {
	noLeaks(t)
	p := loadTraffic(t)
	var mu sync.Mutex
	var ids []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var req openrtb2.BidRequest
		if err := json.NewDecoder(r.Body).Decode(&req); err != nil || len(req.Imp) == 0 {
			http.Error(w, "bad request", http.StatusBadRequest)
			return
		}
		mu.Lock()
		ids = append(ids, req.ID)
		mu.Unlock()
		writeBid(w)
	}))
	defer srv.Close()
	var steps [][]string
	_, err := RunRamp(context.Background(), Config{Targets: []string{srv.URL}, Duration: 200 * time.Millisecond, Traffic: p.Traffic, Seed: 3},
		Ramp{From: 100, To: 300, Step: 100}, func(Step) {
			mu.Lock()
			got := slices.Clone(ids)
			ids = ids[:0]
			mu.Unlock()
			slices.Sort(got)
			steps = append(steps, got)
		})
	if err != nil {
		t.Fatal(err)
	}
	if len(steps) != 3 {
		t.Fatalf("%d steps, want 3", len(steps))
	}
	for i, st := range steps {
		if len(st) != 60 {
			t.Errorf("step %d sent %d requests, want 300/s x 200 ms = 60", i, len(st))
		}
		if len(slices.Compact(slices.Clone(st))) != len(st) {
			t.Errorf("step %d sent a request id twice", i)
		}
		if i > 0 && !slices.Equal(st, steps[0]) {
			t.Errorf("step %d sent other requests than step 0", i)
		}
	}
}

func TestParseRamp(t *testing.T) {
	r, err := ParseRamp("200:3000:100")
	if err != nil || r != (Ramp{From: 200, To: 3000, Step: 100}) {
		t.Errorf("ParseRamp = %+v, %v", r, err)
	}
	for _, bad := range []string{"200:3000", "a:1:1", "200:100:10", "0:100:10", "1:2:-1"} {
		if _, err := ParseRamp(bad); err == nil {
			t.Errorf("ParseRamp(%q) took it", bad)
		}
	}
}
