package dspserver

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bidsieve/bidsieve/bidlog"
	"github.com/bidsieve/bidsieve/dsp/sim"
	"github.com/bidsieve/bidsieve/dsp/sim/offline"
	"github.com/bidsieve/bidsieve/dsp/sim/simtest"
	"github.com/bidsieve/bidsieve/dsp/sim/traffic"
	"github.com/prebid/openrtb/v19/openrtb2"
)

// clock is an injected clock that tests move by hand.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time  { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Set(t time.Time) { c.mu.Lock(); c.t = t; c.mu.Unlock() }

// sleeps records the waits instead of sleeping.
type sleeps struct {
	mu sync.Mutex
	d  []time.Duration
}

func (s *sleeps) Sleep(_ context.Context, d time.Duration) {
	s.mu.Lock()
	s.d = append(s.d, d)
	s.mu.Unlock()
}
func (s *sleeps) last() time.Duration { s.mu.Lock(); defer s.mu.Unlock(); return s.d[len(s.d)-1] }

type fixture struct {
	p     *sim.Profiles
	clock *clock
	sl    *sleeps
	srv   *Server
	ts    *httptest.Server
}

func newFixture(t *testing.T, opts Options) *fixture {
	t.Helper()
	base := runtime.NumGoroutine()
	f := &fixture{p: simtest.LoadExample(t), clock: &clock{t: time.Date(2024, 3, 4, 15, 0, 0, 0, time.UTC)}, sl: &sleeps{}}
	if opts.Now == nil {
		opts.Now = f.clock.Now
	}
	if opts.Sleep == nil {
		opts.Sleep = f.sl.Sleep
	}
	f.srv = New(f.p, opts)
	f.ts = httptest.NewServer(f.srv)
	t.Cleanup(func() {
		f.ts.Close()
		http.DefaultClient.CloseIdleConnections()
		// No goroutine outlives the server.
		deadline := time.Now().Add(2 * time.Second)
		for runtime.NumGoroutine() > base && time.Now().Before(deadline) {
			time.Sleep(10 * time.Millisecond)
		}
		if n := runtime.NumGoroutine(); n > base {
			t.Errorf("%d goroutines left after the server closed, %d before", n, base)
		}
	})
	return f
}

func (f *fixture) post(t *testing.T, dsp string, req *openrtb2.BidRequest) (int, *openrtb2.BidResponse) {
	t.Helper()
	body, err := json.Marshal(req)
	if err != nil {
		t.Fatal(err)
	}
	return f.postRaw(t, dsp, body, "")
}

func (f *fixture) postRaw(t *testing.T, dsp string, body []byte, encoding string) (int, *openrtb2.BidResponse) {
	t.Helper()
	hr, err := http.NewRequest(http.MethodPost, f.ts.URL+"/bid/"+dsp, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	hr.Header.Set("Content-Type", "application/json")
	if encoding != "" {
		hr.Header.Set("Content-Encoding", encoding)
	}
	resp, err := http.DefaultClient.Do(hr)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK {
		return resp.StatusCode, nil
	}
	var br openrtb2.BidResponse
	if err := json.Unmarshal(data, &br); err != nil {
		t.Fatalf("bid response is not JSON: %v\n%s", err, data)
	}
	return resp.StatusCode, &br
}

func (f *fixture) get(t *testing.T, url string) int {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}

func TestBidResponsesAndNotices(t *testing.T) {
	f := newFixture(t, Options{Seed: 1})
	gen := traffic.New(f.p.Traffic, 1)
	bids, responses, nobids := 0, 0, 0
	for range 400 {
		req := gen.Next()
		code, br := f.post(t, "alpha", req)
		switch code {
		case http.StatusNoContent:
			nobids++
			continue
		case http.StatusOK:
		case http.StatusInternalServerError:
			continue
		default:
			t.Fatalf("status %d", code)
		}
		responses++
		if br.ID != req.ID || br.Cur != "USD" || len(br.SeatBid) != 1 || br.SeatBid[0].Seat != "alpha" {
			t.Fatalf("response %+v to request %s", br, req.ID)
		}
		seen := map[string]bool{}
		for _, b := range br.SeatBid[0].Bid {
			bids++
			var imp *openrtb2.Imp
			for i := range req.Imp {
				if req.Imp[i].ID == b.ImpID {
					imp = &req.Imp[i]
				}
			}
			if imp == nil || seen[b.ImpID] {
				t.Fatalf("bid on unknown or repeated imp %q", b.ImpID)
			}
			seen[b.ImpID] = true
			if b.Price < imp.BidFloor || b.Price <= 0 || b.AdM == "" || b.ID == "" || len(b.ADomain) == 0 {
				t.Fatalf("bid %+v on imp with floor %g", b, imp.BidFloor)
			}
			for _, u := range []string{b.NURL, b.BURL} {
				if !strings.HasPrefix(u, f.ts.URL+"/") || !strings.Contains(u, "${AUCTION_PRICE}") {
					t.Fatalf("notice URL %q does not point back with the price macro", u)
				}
			}
			if !strings.Contains(b.LURL, "${AUCTION_LOSS}") {
				t.Fatalf("loss URL %q has no loss macro", b.LURL)
			}
			// The gateway substitutes the macros and fires the notices.
			win := strings.NewReplacer("${AUCTION_ID}", req.ID, "${AUCTION_IMP_ID}", b.ImpID, "${AUCTION_PRICE}", "1.5").Replace(b.NURL)
			loss := strings.NewReplacer("${AUCTION_ID}", req.ID, "${AUCTION_IMP_ID}", b.ImpID, "${AUCTION_LOSS}", "102").Replace(b.LURL)
			if f.get(t, win) != http.StatusNoContent || f.get(t, loss) != http.StatusNoContent {
				t.Fatal("notice not accepted")
			}
		}
	}
	if bids == 0 || nobids == 0 {
		t.Fatalf("%d bids, %d no-bids: want both", bids, nobids)
	}
	st := f.srv.Stats().DSPs["alpha"]
	// A timeout is a late 204 too.
	if st.Requests != 400 || st.Bids != int64(bids) || st.BidResponses != int64(responses) || st.NoBids+st.Timeouts != int64(nobids) ||
		st.Wins != int64(bids) || st.Losses != int64(bids) || math.Abs(st.SpendCPM-1.5*float64(bids)) > 1e-6 {
		t.Errorf("stats %+v; sent %d bids in %d responses, %d 204s", st, bids, responses, nobids)
	}
	if st.Requests != st.BidResponses+st.NoBids+st.Timeouts+st.Errors {
		t.Errorf("requests %d != responses + nobids + timeouts + errors: %+v", st.Requests, st)
	}
	// GET /stats serves the same counts.
	resp, err := http.Get(f.ts.URL + "/stats")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var got Stats
	if err := json.NewDecoder(resp.Body).Decode(&got); err != nil {
		t.Fatal(err)
	}
	if got.DSPs["alpha"] != st || len(got.DSPs) != len(f.p.DSPs) {
		t.Errorf("GET /stats %+v, want %+v for alpha and every DSP", got.DSPs["alpha"], st)
	}
	if f.get(t, f.ts.URL+"/win/zulu") != http.StatusNotFound {
		t.Error("a notice for an unknown DSP is accepted")
	}
}

// The HTTP simulator and simulate agree: the same requests at the same simulated times,
// with the same seed, get the same answers, bid for bid and price for price, from every
// DSP; and the bids received match the sum of true_p within the 99% bound.
func TestAgreesWithSimulate(t *testing.T) {
	const perDay, seed = 1500, 9
	day := time.Date(2024, 3, 4, 0, 0, 0, 0, time.UTC)
	dir := t.TempDir()
	p := simtest.LoadExample(t)
	if _, err := offline.Run(context.Background(), offline.Config{
		Profiles: p, OutDir: dir, RequestsPerDay: perDay, Start: day, Days: 1, Seed: seed,
	}); err != nil {
		t.Fatal(err)
	}
	type key struct{ req, imp, dsp string }
	rows := map[key]bidlog.Row{}
	r, err := bidlog.OpenDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]bidlog.Row, 1024)
	for {
		n, err := r.Read(buf)
		for _, row := range buf[:n] {
			rows[key{row.RequestID, row.ImpID, row.DSP}] = row
		}
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
	}

	f := newFixture(t, Options{Seed: seed, QPSWindow: time.Hour})
	gen := traffic.New(p.Traffic, seed)
	compared := 0
	for ts := range traffic.DayTimes(day, perDay) {
		req := gen.Next()
		f.clock.Set(ts)
		for _, d := range p.DSPs {
			code, br := f.post(t, d.Name, req)
			got := map[string]float64{}
			if br != nil {
				for _, b := range br.SeatBid[0].Bid {
					got[b.ImpID] = b.Price
				}
			}
			for _, imp := range req.Imp {
				row, ok := rows[key{req.ID, imp.ID, d.Name}]
				if !ok {
					t.Fatalf("no simulate row for request %s imp %s dsp %s", req.ID, imp.ID, d.Name)
				}
				compared++
				want := map[string]int{
					bidlog.OutcomeTimeout: http.StatusNoContent, bidlog.OutcomeError: http.StatusInternalServerError,
				}[row.Outcome]
				switch {
				case row.Outcome == bidlog.OutcomeBid:
					if got[imp.ID] != row.BidCPM {
						t.Fatalf("%s on %s/%s: HTTP bid %g, simulate bid %g", d.Name, req.ID, imp.ID, got[imp.ID], row.BidCPM)
					}
				case want != 0 && code != want:
					t.Fatalf("%s on %s: simulate says %s, HTTP status %d", d.Name, req.ID, row.Outcome, code)
				case got[imp.ID] != 0:
					t.Fatalf("%s on %s/%s: HTTP bid %g, simulate says %s", d.Name, req.ID, imp.ID, got[imp.ID], row.Outcome)
				}
			}
		}
	}
	if compared != len(rows) {
		t.Errorf("compared %d (imp, DSP) pairs, simulate wrote %d rows", compared, len(rows))
	}
	for name, st := range f.srv.Stats().DSPs {
		// Bids received against their expectation; the variance bound sum p(1-p) <= sum p.
		if z := (float64(st.Bids) - st.SumTrueP) / math.Sqrt(st.SumTrueP); math.Abs(z) > 2.576 {
			t.Errorf("%s: %d bids over HTTP, sum of true_p %.1f", name, st.Bids, st.SumTrueP)
		}
	}
}

func TestHourComesFromTheClock(t *testing.T) {
	f := newFixture(t, Options{Seed: 1})
	gen := traffic.New(f.p.Traffic, 3)
	req := gen.Next()
	fox := f.p.DSP("foxtrot") // hour terms +0.8 at 0-12h, -0.4 at 13-23h, paced by half at 14-18h
	sumAt := func(hour int) float64 {
		f.srv.Reset()
		f.clock.Set(time.Date(2024, 3, 4, hour, 30, 0, 0, time.UTC))
		f.post(t, "foxtrot", req)
		return f.srv.Stats().DSPs["foxtrot"].SumTrueP
	}
	want := func(hour int) float64 {
		s := 0.0
		for i := range req.Imp {
			a := sim.ParseAttrs(req, &req.Imp[i], time.Date(2024, 3, 4, hour, 0, 0, 0, time.UTC))
			s += fox.Evaluate(&a).TrueP
		}
		return s
	}
	for _, h := range []int{3, 13, 15} {
		if got := sumAt(h); math.Abs(got-want(h)) > 1e-5 {
			t.Errorf("at %dh: sum of true_p %g, want %g", h, got, want(h))
		}
	}
	if !(want(3) > want(13) && want(13) > want(15)) {
		t.Errorf("hour terms not applied: %g, %g, %g", want(3), want(13), want(15))
	}
}

func TestQPSLimit(t *testing.T) {
	// alpha allows 3000 requests a second; a 1 ms window holds 3.
	f := newFixture(t, Options{Seed: 1, QPSWindow: time.Millisecond})
	req := traffic.New(f.p.Traffic, 1).Next()
	codes := func(n int) []int {
		var c []int
		for range n {
			code, _ := f.post(t, "alpha", req)
			c = append(c, code)
		}
		return c
	}
	got := codes(4)
	if got[0] == http.StatusTooManyRequests || got[2] == http.StatusTooManyRequests || got[3] != http.StatusTooManyRequests {
		t.Fatalf("statuses %v at one instant: want 3 answers then 429", got)
	}
	f.clock.Set(f.clock.Now().Add(time.Millisecond)) // refills 3 tokens
	if got := codes(4); got[2] == http.StatusTooManyRequests || got[3] != http.StatusTooManyRequests {
		t.Fatalf("statuses %v after 1 ms: want 3 answers then 429", got)
	}
	st := f.srv.Stats().DSPs["alpha"]
	if st.Throttled != 2 || st.Requests != 8 || st.Imps != 6*int64(len(req.Imp)) {
		t.Errorf("stats %+v: want 2 throttled of 8, imps counted for the 6 handled", st)
	}
}

// findRequest returns a generated request whose fate for dsp is the wanted one.
func findRequest(t *testing.T, p *sim.Profiles, dsp string, seed uint64, fate sim.Fate) *openrtb2.BidRequest {
	t.Helper()
	gen := traffic.New(p.Traffic, 77)
	d := p.DSP(dsp)
	for range 100000 {
		req := gen.Next()
		if f, _ := d.DrawRequest(seed, req.ID, int(req.TMax)); f == fate {
			return req
		}
	}
	t.Fatalf("no request with fate %v", fate)
	return nil
}

func TestTimeoutsErrorsAndLatency(t *testing.T) {
	f := newFixture(t, Options{Seed: 4})
	d := f.p.DSP("delta")

	req := findRequest(t, f.p, "delta", 4, sim.TimedOut)
	code, _ := f.post(t, "delta", req)
	if code != http.StatusNoContent || f.sl.last() <= time.Duration(req.TMax)*time.Millisecond {
		t.Errorf("timeout: status %d after %v, want 204 after the tmax of %d ms", code, f.sl.last(), req.TMax)
	}

	req = findRequest(t, f.p, "delta", 4, sim.Failed)
	code, _ = f.post(t, "delta", req)
	if code != http.StatusInternalServerError {
		t.Errorf("error: status %d, want 500", code)
	}

	req = findRequest(t, f.p, "delta", 4, sim.Answered)
	f.post(t, "delta", req)
	_, lat := d.DrawRequest(4, req.ID, int(req.TMax))
	if got := f.sl.last(); got != ms(lat) || got <= 0 {
		t.Errorf("answered after %v, want the drawn latency %v", got, ms(lat))
	}
	st := f.srv.Stats().DSPs["delta"]
	if st.Timeouts != 1 || st.Errors != 1 || st.Bids+st.NoBids == 0 {
		t.Errorf("stats %+v", st)
	}
}

func TestRealSleepStopsWhenTheClientLeaves(t *testing.T) {
	p := simtest.LoadExample(t)
	srv := httptest.NewServer(New(p, Options{Seed: 4}))
	defer srv.Close()
	req := findRequest(t, p, "delta", 4, sim.TimedOut)
	req.TMax = 5000 // the DSP would answer after 5 s
	body, _ := json.Marshal(req)
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	hr, _ := http.NewRequestWithContext(ctx, http.MethodPost, srv.URL+"/bid/delta", bytes.NewReader(body))
	start := time.Now()
	if resp, err := http.DefaultClient.Do(hr); err == nil {
		resp.Body.Close()
		t.Fatal("a request that times out was answered in time")
	}
	if el := time.Since(start); el > 2*time.Second {
		t.Fatalf("client waited %v", el)
	}
}

func TestBadRequests(t *testing.T) {
	f := newFixture(t, Options{Seed: 1})
	tests := []struct {
		name, dsp, body string
		gzip            bool
		status          int
	}{
		{"not JSON", "alpha", "{", false, http.StatusBadRequest},
		{"no id", "alpha", `{"imp":[{"id":"1","banner":{"w":300,"h":250}}]}`, false, http.StatusBadRequest},
		{"no imp", "alpha", `{"id":"x"}`, false, http.StatusBadRequest},
		{"imp without id", "alpha", `{"id":"x","imp":[{"banner":{"w":300,"h":250}}]}`, false, http.StatusBadRequest},
		{"bad gzip", "alpha", "not gzip", true, http.StatusBadRequest},
		{"unknown DSP", "zulu", `{"id":"x","imp":[{"id":"1"}]}`, false, http.StatusNotFound},
		{"too large", "alpha", `{"id":"` + strings.Repeat("x", 2<<20) + `"}`, false, http.StatusBadRequest},
	}
	for _, tt := range tests {
		body := []byte(tt.body)
		enc := ""
		if tt.gzip {
			enc = "gzip"
		}
		if code, _ := f.postRaw(t, tt.dsp, body, enc); code != tt.status {
			t.Errorf("%s: status %d, want %d", tt.name, code, tt.status)
		}
	}
	if got := f.srv.Stats().DSPs["alpha"].BadRequests; got != 6 {
		t.Errorf("bad requests %d, want 6", got)
	}

	// A gzip body is fine.
	req := traffic.New(f.p.Traffic, 1).Next()
	plain, _ := json.Marshal(req)
	var zb bytes.Buffer
	zw := gzip.NewWriter(&zb)
	zw.Write(plain)
	zw.Close()
	if code, _ := f.postRaw(t, "echo", zb.Bytes(), "gzip"); code >= 400 && code != http.StatusInternalServerError {
		t.Errorf("gzip request: status %d", code)
	}
	resp, err := http.Get(f.ts.URL + "/bid/alpha")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("GET /bid/alpha: status %d, want 405", resp.StatusCode)
	}
}

func BenchmarkServeBid(b *testing.B) {
	p := simtest.LoadExample(b)
	srv := New(p, Options{Seed: 1, Sleep: func(context.Context, time.Duration) {}, QPSWindow: time.Hour})
	gen := traffic.New(p.Traffic, 1)
	bodies := make([][]byte, 1000)
	for i := range bodies {
		bodies[i], _ = json.Marshal(gen.Next())
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		d := p.DSPs[i%len(p.DSPs)].Name
		r := httptest.NewRequest(http.MethodPost, "/bid/"+d, bytes.NewReader(bodies[i%len(bodies)]))
		w := httptest.NewRecorder()
		srv.ServeHTTP(w, r)
		if w.Code >= 400 && w.Code != 500 {
			b.Fatal(fmt.Sprint(w.Code))
		}
		i++
	}
}

// POST /truth says, for every DSP, how many imps it would bid on; sending the same request
// to each DSP gets exactly those bids (0 mismatches over a day of traffic), and the counts
// add up: bids == would_bid, offered == requests.
func TestTruthIsWhatItWouldHaveBid(t *testing.T) {
	const n, seed = 600, 3
	day := time.Date(2024, 3, 4, 0, 0, 0, 0, time.UTC)
	f := newFixture(t, Options{Seed: seed, QPSWindow: time.Hour})
	gen := traffic.New(f.p.Traffic, seed)
	mismatches, would := 0, 0
	for ts := range traffic.DayTimes(day, n) {
		req := gen.Next()
		f.clock.Set(ts)
		body, err := json.Marshal(req)
		if err != nil {
			t.Fatal(err)
		}
		resp, err := http.Post(f.ts.URL+"/truth", "application/json", bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		var truth map[string]int
		err = json.NewDecoder(resp.Body).Decode(&truth)
		resp.Body.Close()
		if err != nil || resp.StatusCode != http.StatusOK {
			t.Fatalf("POST /truth: %d, %v", resp.StatusCode, err)
		}
		if len(truth) != len(f.p.DSPs) {
			t.Fatalf("truth for %d DSPs, want %d: %v", len(truth), len(f.p.DSPs), truth)
		}
		for _, d := range f.p.DSPs {
			_, br := f.post(t, d.Name, req)
			got := 0
			if br != nil {
				got = len(br.SeatBid[0].Bid)
			}
			would += truth[d.Name]
			if got != truth[d.Name] {
				mismatches++
				t.Logf("%s on %s: %d bids, truth %d", d.Name, req.ID, got, truth[d.Name])
			}
		}
	}
	if mismatches > 0 {
		t.Errorf("%d (request, DSP) mismatches between the truth and the bids", mismatches)
	}
	if would < n/10 {
		t.Fatalf("only %d would-bids in %d requests: the test says nothing", would, n)
	}
	for name, st := range f.srv.Stats().DSPs {
		if st.Offered != n || st.Bids != st.WouldBid {
			t.Errorf("%s: offered %d (want %d), bids %d, would_bid %d", name, st.Offered, n, st.Bids, st.WouldBid)
		}
	}
	if code := f.get(t, f.ts.URL+"/truth"); code != http.StatusMethodNotAllowed {
		t.Errorf("GET /truth: %d, want 405", code)
	}
}
