package gateway

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/prebid/openrtb/v19/openrtb2"
)

// gateScorer blocks the first auction it scores until open is closed, holding its worker;
// entered is closed once it is blocked.
type gateScorer struct {
	once    sync.Once
	entered chan struct{}
	open    chan struct{}
}

func newGateScorer() *gateScorer {
	return &gateScorer{entered: make(chan struct{}), open: make(chan struct{})}
}

func (s *gateScorer) Score(_ context.Context, in *ScoreInput, dst []float64) error {
	first := false
	s.once.Do(func() { first = true })
	if first {
		close(s.entered)
		<-s.open
	}
	for k := range in.Pairs {
		dst[k] = 1
	}
	return nil
}

func (s *gateScorer) Version() string { return "gate" }

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

// TestShedOnTheWaitForAWorker: with the only worker held by an auction, the next ones wait
// overload.max_wait and are refused at once, before any DSP hears of them: a plain client
// gets 503 with Retry-After, a Prebid client 200 with an empty seatbid, nbr 1 and
// Retry-After. The auction that held the worker is served in full.
func TestShedOnTheWaitForAWorker(t *testing.T) {
	dsp := newFakeDSP(t, bidOn(2, nil))
	cfg := testConfig(dsp)
	cfg.Overload.Workers, cfg.Overload.MaxWait, cfg.Overload.RetryAfter = 1, 20*time.Millisecond, 2*time.Second
	sc := newGateScorer()
	tg := newTestGateway(t, cfg, func(o *Options) { o.Scorer = sc })

	first := make(chan int, 1)
	go func() {
		s, _ := tg.post(t, request("held", 0.5))
		first <- s
	}()
	<-sc.entered

	plain := tg.postRaw(t, request("plain", 0.5))
	if plain.status != http.StatusServiceUnavailable || plain.retryAfter != "2" {
		t.Errorf("plain client shed: status %d, Retry-After %q; want 503 and 2", plain.status, plain.retryAfter)
	}
	pb := tg.postRaw(t, prebidRequest("pb-1"))
	var nb struct {
		ID      string            `json:"id"`
		SeatBid []json.RawMessage `json:"seatbid"`
		NBR     *int              `json:"nbr"`
	}
	if err := json.Unmarshal(pb.body, &nb); err != nil || pb.status != http.StatusOK || pb.retryAfter != "2" ||
		nb.ID != "pb-1" || nb.SeatBid == nil || len(nb.SeatBid) != 0 || nb.NBR == nil || *nb.NBR != nbrTechnicalError {
		t.Errorf("Prebid client shed: status %d, Retry-After %q, body %s (%v); want 200, 2, id pb-1, seatbid [], nbr 1",
			pb.status, pb.retryAfter, pb.body, err)
	}
	close(sc.open)
	if s := <-first; s != http.StatusOK {
		t.Errorf("the auction holding the worker: status %d, want 200 (it was accepted and keeps its deadline)", s)
	}
	if n := len(dsp.requests()); n != 1 {
		t.Errorf("DSP got %d requests, want 1: shed auctions reach no DSP", n)
	}
	if got := tg.g.Shed(); got["wait"] != 2 || got["inflight"] != 0 {
		t.Errorf("Shed() = %v, want wait 2", got)
	}
	if n := tg.metric(t, "bidsieve_shed_total", "reason", "wait"); n != 2 {
		t.Errorf("bidsieve_shed_total{reason=wait} = %d, want 2", n)
	}
	if n := tg.metric(t, "bidsieve_auctions_total", "result", "shed"); n != 2 {
		t.Errorf("bidsieve_auctions_total{result=shed} = %d, want 2", n)
	}
	// Free again: the next auction is served.
	if s, _ := tg.post(t, request("after", 0.5)); s != http.StatusOK {
		t.Errorf("after the worker came free: status %d, want 200", s)
	}
	if l := tg.g.Load(); l.Auctions != 4 || l.ShedTotal() != 2 || l.ShedShare() != 0.5 || l.Inflight != 0 {
		t.Errorf("Load() = %+v; want 4 auctions, 2 shed (share 0.5), none in flight", l)
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
	if n := tg.g.load.inflight.Load(); n != 0 {
		t.Errorf("%d auctions still counted in flight after all answered", n)
	}
}

// TestOverloadOffNeverSheds: max_inflight -1 and max_wait 0 take every auction.
func TestOverloadOffNeverSheds(t *testing.T) {
	dsp := newFakeDSP(t, bidOn(2, nil))
	cfg := testConfig(dsp)
	cfg.Overload.MaxInflight, cfg.Overload.MaxWait, cfg.Overload.Workers = -1, 0, 1
	sc := newGateScorer()
	tg := newTestGateway(t, cfg, func(o *Options) { o.Scorer = sc })
	first := make(chan int, 1)
	go func() {
		s, _ := tg.post(t, request("held", 0.5))
		first <- s
	}()
	<-sc.entered
	if s, _ := tg.post(t, request("second", 0.5)); s != http.StatusOK {
		t.Errorf("second auction with overload control off: status %d, want 200", s)
	}
	close(sc.open)
	<-first
	if got := tg.g.Shed(); got["wait"]+got["inflight"] != 0 {
		t.Errorf("Shed() = %v with overload control off", got)
	}
}
