package gateway

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bidsieve/bidsieve/config"

	"github.com/prebid/openrtb/v19/openrtb2"
)

// fakeWaits stands for the scheduler's record: while behind is set, the p99 wait is 30 ms,
// past the tests' max_wait but short of a quarter of their auctions' budget (where the
// auction could not be served in time at all, TestAuctionsReadAfterAStall), and the
// process uses all its cores.
type fakeWaits struct{ behind atomic.Bool }

func (f *fakeWaits) sample() waitSample {
	if f.behind.Load() {
		return waitSample{p99: 30 * time.Millisecond, waits: 100, busy: 1}
	}
	return waitSample{waits: 100, busy: 0.5}
}

// overloadGateway is a test gateway whose overload control reads fw at every arrival.
func overloadGateway(t *testing.T, cfg *config.Config) (*testGateway, *fakeWaits) {
	tg := newTestGateway(t, cfg)
	fw := &fakeWaits{}
	tg.g.load.every, tg.g.load.sample = 0, fw.sample
	return tg, fw
}

type shedAnswer struct {
	status     int
	retryAfter string
	body       []byte
}

func (tg *testGateway) postRaw(t *testing.T, body any) shedAnswer {
	t.Helper()
	raw, _ := json.Marshal(body)
	resp, err := tg.client.Post(tg.srv.URL+"/openrtb2/auction", "application/json", bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return shedAnswer{resp.StatusCode, resp.Header.Get("Retry-After"), b}
}

func prebidRequest(id string) *openrtb2.BidRequest {
	r := request(id, 0.5)
	r.Ext = json.RawMessage(`{"prebid":{}}`)
	return r
}

// TestShedWhileTheCoresAreBehind: while the scheduler's waits stay past max_wait the
// rate of admitted auctions is cut again and again and new auctions are refused at once,
// before any DSP hears of them: a plain client gets 503 with Retry-After, a Prebid client
// 200 with an empty seatbid, nbr 1 and Retry-After. Some still get through (so recovery
// is seen), and once the waits are short again the limit rises until nothing is shed.
func TestShedWhileTheCoresAreBehind(t *testing.T) {
	dsp := newFakeDSP(t, bidOn(2, nil))
	cfg := testConfig(dsp)
	cfg.Overload.MaxWait, cfg.Overload.RetryAfter = 5*time.Millisecond, 2*time.Second
	tg, fw := overloadGateway(t, cfg)

	// Cuts of 10% at most every 30 ms take the limit to its floor (3% of the arrivals)
	// in about a second: 1.5 s behind, then count the answers of the last 300 ms.
	fw.behind.Store(true)
	status := map[int]int{}
	var plain shedAnswer
	var posted int
	for t0 := time.Now(); time.Since(t0) < 1500*time.Millisecond; posted++ {
		a := tg.postRaw(t, request(fmt.Sprintf("r%d", posted), 0.5))
		if time.Since(t0) > 1200*time.Millisecond {
			status[a.status]++
		}
		if a.status == http.StatusServiceUnavailable {
			plain = a
		}
	}
	last := status[503] + status[200] + status[204]
	if last < 20 || status[503] < last*80/100 || status[200]+status[204] < 1 {
		t.Errorf("after 1.2 s behind, the next %d auctions were answered %v; want over 80%% shed (503), some served", last, status)
	}
	if plain.retryAfter != "2" {
		t.Errorf("503 without Retry-After 2: %q", plain.retryAfter)
	}
	var pb shedAnswer
	for i := range 20 {
		if pb = tg.postRaw(t, prebidRequest(fmt.Sprintf("pb-%d", i))); pb.status != http.StatusNoContent && len(pb.body) > 0 && pb.retryAfter != "" {
			break
		}
	}
	var nb struct {
		ID      string            `json:"id"`
		SeatBid []json.RawMessage `json:"seatbid"`
		NBR     *int              `json:"nbr"`
	}
	if err := json.Unmarshal(pb.body, &nb); err != nil || pb.status != http.StatusOK || pb.retryAfter != "2" ||
		nb.SeatBid == nil || len(nb.SeatBid) != 0 || nb.NBR == nil || *nb.NBR != nbrTechnicalError {
		t.Errorf("Prebid client shed: status %d, Retry-After %q, body %s (%v); want 200, 2, seatbid [], nbr 1",
			pb.status, pb.retryAfter, pb.body, err)
	}
	shed := tg.g.Shed()["wait"]
	if served := int64(len(dsp.requests())); served+shed < int64(posted) || served > int64(posted+20)-shed {
		t.Errorf("DSP got %d requests for %d auctions not shed: shed auctions must reach no DSP", served, int64(posted+20)-shed)
	}
	if n := tg.metric(t, "bidsieve_shed_total", "reason", "wait"); n != shed {
		t.Errorf("bidsieve_shed_total{reason=wait} = %d, Shed() %d", n, shed)
	}
	if n := tg.metric(t, "bidsieve_auctions_total", "result", "shed"); n != shed {
		t.Errorf("bidsieve_auctions_total{result=shed} = %d, want %d", n, shed)
	}
	if l := tg.g.Load(); l.Auctions < int64(posted) || l.ShedTotal() != shed {
		t.Errorf("Load() = %+v; want %d+ auctions, %d shed", l, posted, shed)
	}

	// Short waits again: the limit rises 0.5% a sample (here every arrival) until it is
	// well past the arrivals, then ends: 50 in a row served, then none shed.
	fw.behind.Store(false)
	run := 0
	for i, end := 0, time.Now().Add(10*time.Second); run < 50; i++ {
		if time.Now().After(end) {
			t.Fatalf("10 s after the waits came down, auctions are still shed (%d served in a row)", run)
		}
		if a := tg.postRaw(t, request(fmt.Sprintf("calm-%d", i), 0.5)); a.status == http.StatusOK {
			run++
		} else {
			run = 0
		}
	}
	before := tg.g.Shed()["wait"]
	for i := range 50 {
		if a := tg.postRaw(t, request(fmt.Sprintf("after-%d", i), 0.5)); a.status != http.StatusOK {
			t.Fatalf("after the waits came down: auction %d status %d, want 200", i, a.status)
		}
	}
	if n := tg.g.Shed()["wait"]; n != before {
		t.Errorf("%d auctions shed after recovery", n-before)
	}
}

// TestSchedulerWaitsSeeSaturatedCores: the real sampler reports waits past max_wait when
// more goroutines want to run than there are cores, which is the gateway's signal.
func TestSchedulerWaitsSeeSaturatedCores(t *testing.T) {
	sample := newSchedSampler()
	sample()
	stop := make(chan struct{})
	var wg sync.WaitGroup
	// 8 goroutines per core, each busy 2 ms at a time then back in the queue: each waits
	// about 14 ms for its turn.
	for range 8 * runtime.GOMAXPROCS(0) {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				for t0 := time.Now(); time.Since(t0) < 2*time.Millisecond; {
				}
				runtime.Gosched()
			}
		})
	}
	time.Sleep(300 * time.Millisecond)
	close(stop)
	wg.Wait()
	// The cores' share is what the process got: test packages run side by side, so it
	// is only asked to show that it used CPU (the gate itself is tested with injected
	// samples in shedcontrol_test.go).
	w := sample()
	if w.waits < minWaits || w.p99 <= 5*time.Millisecond || w.busy <= 0.01 || w.busy > 1.5 {
		t.Errorf("with 8 busy goroutines per core for 300 ms the sampler reports a p99 wait of %s over %d waits, %.0f%% of the cores busy; want past 5ms and some CPU used",
			w.p99, w.waits, 100*w.busy)
	}
}

// TestShedPastTheInflightCap: with overload.max_inflight auctions waiting on a stalled
// DSP, one more is refused with 503 at once, not queued behind them.
func TestShedPastTheInflightCap(t *testing.T) {
	stall := make(chan struct{})
	dsp := newFakeDSP(t, func(req *openrtb2.BidRequest) answer {
		<-stall
		return answer{}
	})
	cfg := testConfig(dsp)
	cfg.Overload.MaxInflight = 2
	tg := newTestGateway(t, cfg)

	var wg sync.WaitGroup
	for i := range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			tg.post(t, request("stalled-"+string(rune('a'+i)), 0.5))
		}()
	}
	deadline := time.Now().Add(5 * time.Second)
	for tg.g.load.inflight.Load() < 2 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	t0 := time.Now()
	a := tg.postRaw(t, request("third", 0.5))
	took := time.Since(t0)
	close(stall)
	wg.Wait()
	if a.status != http.StatusServiceUnavailable || a.retryAfter != "1" {
		t.Errorf("third auction: status %d, Retry-After %q; want 503 and 1", a.status, a.retryAfter)
	}
	if took > 100*time.Millisecond {
		t.Errorf("the refusal took %s: it must come at once, not after the others' deadline", took)
	}
	if got := tg.g.Shed(); got["inflight"] != 1 {
		t.Errorf("Shed() = %v, want inflight 1", got)
	}
	// The handlers record after answering, so the count reaches 0 a moment after the
	// answers.
	for end := time.Now().Add(5 * time.Second); tg.g.load.inflight.Load() != 0 && time.Now().Before(end); {
		time.Sleep(time.Millisecond)
	}
	if n := tg.g.load.inflight.Load(); n != 0 {
		t.Errorf("%d auctions still counted in flight 5 s after all were answered", n)
	}
}

// TestOverloadOffNeverSheds: max_inflight -1 and max_wait 0 take every auction, however
// far behind the cores are.
func TestOverloadOffNeverSheds(t *testing.T) {
	dsp := newFakeDSP(t, bidOn(2, nil))
	cfg := testConfig(dsp)
	cfg.Overload.MaxInflight, cfg.Overload.MaxWait = -1, 0
	tg, fw := overloadGateway(t, cfg)
	fw.behind.Store(true)
	for i := range 40 {
		if s, _ := tg.post(t, request(fmt.Sprintf("r%d", i), 0.5)); s != http.StatusOK {
			t.Fatalf("auction %d with overload control off: status %d, want 200", i, s)
		}
	}
	if got := tg.g.Shed(); got["wait"]+got["inflight"] != 0 {
		t.Errorf("Shed() = %v with overload control off", got)
	}
}

// TestAuctionsReadAfterAStall: the process's own queue comes off an auction's budget. A
// request read after the cores were behind by a p99 wait w has waited about w in its
// socket and its answer will wait about as long, so the DSPs are given tmax - margin - 2w;
// when that would take more than half the budget the auction cannot be served in time
// and is shed at once. Once the waits are short the DSPs get the whole budget again.
func TestAuctionsReadAfterAStall(t *testing.T) {
	dsp := newFakeDSP(t, bidOn(2, nil))
	cfg := testConfig(dsp)
	cfg.DSPs[0].Timeout = time.Second // the auction's budget, not the DSP's timeout, sets its tmax
	// A max_wait past the waits below: the limit on admissions stays out of it.
	cfg.Overload.MaxWait = 200 * time.Millisecond
	tg := newTestGateway(t, cfg)
	var p99 atomic.Int64
	tg.g.load.every = 0
	tg.g.load.sample = func() waitSample { return waitSample{p99: time.Duration(p99.Load()), waits: 100, busy: 0.5} }

	// request() asks tmax 300; the default margin keeps 15 ms back: a 285 ms budget.
	dspTMax := func(wait time.Duration) (int, int64) {
		p99.Store(int64(wait))
		n := len(dsp.requests())
		a := tg.postRaw(t, request(fmt.Sprintf("w%d", wait.Milliseconds()), 0.5))
		reqs := dsp.requests()
		if len(reqs) == n {
			return a.status, -1
		}
		return a.status, reqs[len(reqs)-1].TMax
	}
	for _, c := range []struct {
		wait     time.Duration
		status   int
		min, max int64 // the DSP's tmax; -1: the DSP is not called
	}{
		{0, http.StatusOK, 270, 285},
		{40 * time.Millisecond, http.StatusOK, 190, 205},               // 285 - 80
		{80 * time.Millisecond, http.StatusServiceUnavailable, -1, -1}, // 160 ms of 285: more than half
		{0, http.StatusOK, 270, 285},
	} {
		status, tmax := dspTMax(c.wait)
		if status != c.status || tmax < c.min || tmax > c.max {
			t.Errorf("p99 wait %v: status %d, DSP tmax %d; want %d and a tmax in [%d, %d]", c.wait, status, tmax, c.status, c.min, c.max)
		}
	}
	// A tmax within the safety margin asks no DSP, queue or not: a no-bid, never shed.
	for _, wait := range []time.Duration{0, 40 * time.Millisecond} {
		p99.Store(int64(wait))
		r := request(fmt.Sprintf("short-%d", wait.Milliseconds()), 0.5)
		r.TMax = 10
		if a := tg.postRaw(t, r); a.status != http.StatusNoContent {
			t.Errorf("tmax 10 ms with a p99 wait of %v: status %d; want 204 (no DSP has time, nothing to shed)", wait, a.status)
		}
	}
	if n := tg.g.Shed()["wait"]; n != 1 {
		t.Errorf("%d auctions shed for the wait; want 1", n)
	}
}
